"""Lesson 06 §6: the benchmark, its comparisons, table and plot."""

from __future__ import annotations

import pytest

from course.languages.monospace import columns
from course.lessons.edge import benchmark, plots
from course.references.edge import choose_runtime, ort_greedy
from course.timing import Timing


def _result(name, size, latency, tokens, em):
    return benchmark.EdgeResult(name, size, Timing((0.1, 0.1)), Timing((latency,) * 3), tokens, 0.0, em)


def test_ratios_choose_runtime_and_table():
    results = [
        _result("PyTorch fp32", 4000, 0.010, 100.0, 0.9),
        _result("ORT fp32", 4000, 0.004, 250.0, 0.9),
        _result("ORT int8", 1000, 0.002, 500.0, 0.85),
    ]
    r = benchmark.ratios(results)
    assert r["ORT int8"]["smaller"] == pytest.approx(4.0)
    assert r["ORT int8"]["faster_latency"] == pytest.approx(5.0)
    assert r["ORT int8"]["faster_tokens"] == pytest.approx(5.0)
    assert r["ORT int8"]["exact_match_change"] == pytest.approx(-0.05)
    assert choose_runtime(results).name == "ORT fp32", "int8 lost 5 points of exact-match"
    assert choose_runtime(results, max_exact_match_drop=0.05).name == "ORT int8", "smallest that qualifies"
    slow_int8 = [*results[:2], _result("ORT int8", 1000, 0.02, 50.0, 0.9)]
    assert choose_runtime(slow_int8).name == "ORT fp32", "slower than the reference: does not qualify"
    assert choose_runtime(results[:1]).name == "PyTorch fp32", "nothing else: the reference stays"
    same_size = [results[0], _result("a", 1000, 0.01, 200.0, 0.9), _result("b", 1000, 0.01, 300.0, 0.9)]
    assert choose_runtime(same_size).name == "b", "same size: the faster one"
    with pytest.raises(KeyError):
        benchmark.ratios(results, baseline="TensorRT")
    with pytest.raises(ValueError):
        choose_runtime([])
    table = benchmark.format_table(results)
    assert "ORT int8" in table and "85.0%" in table


def test_benchmark_measures_every_runtime(files):
    import matplotlib

    matplotlib.use("Agg")
    calls = []

    def score(logits_fn):
        calls.append(logits_fn)
        return 0.5

    results = benchmark.benchmark(files, [[1, 2, 3, 4], [5, 6, 7]], score, ort_greedy, new_tokens=4, repeats=3)
    assert [r.name for r in results] == list(benchmark.BACKENDS)
    assert len(calls) == 3
    pytorch, ort32, ort8 = results
    assert pytorch.max_logit_diff == 0.0
    assert ort32.max_logit_diff < 1e-4 < ort8.max_logit_diff
    assert ort8.size_bytes < ort32.size_bytes
    assert all(r.tokens_per_second > 0 and len(r.latency.samples) == 3 for r in results)
    fig = plots.plot_results(results)
    assert len(fig.axes) == 5


@pytest.mark.parametrize("lang", ["en", "ko", "ja"])
def test_the_table_keeps_its_columns_in_every_language(monkeypatch, lang):
    """Translated headers are padded by the columns they take on screen (course.languages.monospace)."""
    monkeypatch.setenv("COURSE_LANG", lang)
    results = [_result(name, 1_234_567, 0.002, 123.4, 0.85) for name in benchmark.BACKENDS]
    header, rule, *body = benchmark.format_table(results).splitlines()
    assert columns(header) == len(rule) == max(columns(line) for line in body)
    if lang == "en":
        assert header.startswith("runtime         size MB  load ms  latency ms  IQR ms")
