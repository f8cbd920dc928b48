"""ONNX export, ONNX Runtime generation, int8 quantisation and the side-by-side benchmark."""

from __future__ import annotations

import numpy as np
import pytest

from course.lessons import edge
from course.timing import Timing


@pytest.fixture(scope="module")
def tiny_model():
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    torch.manual_seed(0)
    config = MistralConfig(
        vocab_size=64, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, max_position_embeddings=64,
    )
    return MistralForCausalLM(config).eval()


@pytest.fixture(scope="module")
def files(tiny_model):
    return edge.export_all(tiny_model)


def test_export_all_writes_three_forms_and_int8_is_smaller(files):
    assert (files.pytorch / "config.json").is_file()
    fp32, int8 = edge.size_bytes(files.onnx_fp32), edge.size_bytes(files.onnx_int8)
    assert fp32 > 0 and int8 > 0
    assert fp32 / int8 > 1.4, "int8 matrices take a quarter of the bytes of fp32 ones"


def test_export_all_reuses_the_cache(tiny_model, files, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the export should come from the cache")

    monkeypatch.setattr(edge, "export_onnx", fail)
    assert edge.export_all(tiny_model).folder == files.folder


def test_fingerprint_follows_the_weights(tiny_model):
    import copy

    import torch

    other = copy.deepcopy(tiny_model)
    assert edge.fingerprint(other) == edge.fingerprint(tiny_model)
    with torch.no_grad():
        other.model.norm.weight[0] += 1
    assert edge.fingerprint(other) != edge.fingerprint(tiny_model)


@pytest.mark.parametrize("shape", [(1, 3), (1, 17), (2, 9)])
def test_onnx_fp32_matches_pytorch_for_any_batch_and_length(tiny_model, files, shape):
    ids = np.random.default_rng(1).integers(0, 64, size=shape, dtype=np.int64)
    reference = edge.torch_logits(tiny_model)(ids)
    exported = edge.ort_logits(edge.load_session(files.onnx_fp32))(ids)
    assert exported.shape == (*shape, 64)
    assert np.max(np.abs(exported - reference)) < 1e-4


def test_int8_is_close_but_not_identical(tiny_model, files):
    prompts = [[1, 5, 9, 12], list(range(3, 30))]
    reference = edge.torch_logits(tiny_model)
    fp32 = edge.max_logit_difference(reference, edge.ort_logits(edge.load_session(files.onnx_fp32)), prompts)
    int8 = edge.max_logit_difference(reference, edge.ort_logits(edge.load_session(files.onnx_int8)), prompts)
    assert fp32 < 1e-4
    assert fp32 < int8 < 0.5


def test_greedy_generation_is_the_same_in_pytorch_and_onnx_runtime(tiny_model, files):
    prompt = [1, 7, 3, 22]
    torch_tokens = edge.greedy_generate(edge.torch_logits(tiny_model), prompt, 10)
    ort_tokens = edge.greedy_generate(edge.ort_logits(edge.load_session(files.onnx_fp32)), prompt, 10)
    assert len(torch_tokens) == 10
    assert ort_tokens == torch_tokens


def _counting_model(vocab: int = 10):
    """Logits that always favour (last token + 1) mod vocab."""

    def run(ids: np.ndarray) -> np.ndarray:
        logits = np.zeros((*ids.shape, vocab), dtype=np.float32)
        for b in range(ids.shape[0]):
            for t in range(ids.shape[1]):
                logits[b, t, (ids[b, t] + 1) % vocab] = 1.0
        return logits

    return run


def test_greedy_generate_follows_argmax_and_stops_at_eos():
    run = _counting_model()
    assert edge.greedy_generate(run, [3], 4) == [4, 5, 6, 7]
    assert edge.greedy_generate(run, [3], 10, eos_id=6) == [4, 5]
    assert edge.greedy_generate(run, [3], 0) == []
    with pytest.raises(ValueError, match="empty"):
        edge.greedy_generate(run, [], 3)
    with pytest.raises(ValueError, match="max_new_tokens"):
        edge.greedy_generate(run, [1], -1)


def test_max_logit_difference_finds_the_largest_gap():
    base = _counting_model()

    def shifted(ids):
        out = base(ids)
        out[0, -1, 0] += 0.25
        return out

    assert edge.max_logit_difference(base, shifted, [[1, 2], [4]]) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        edge.max_logit_difference(base, shifted, [])


def _result(name, size, latency, tokens, em):
    return edge.EdgeResult(name, size, Timing((0.1, 0.1)), Timing((latency,) * 3), tokens, 0.0, em)


def test_ratios_choose_runtime_and_table():
    results = [
        _result("PyTorch fp32", 4000, 0.010, 100.0, 0.9),
        _result("ORT fp32", 4000, 0.004, 250.0, 0.9),
        _result("ORT int8", 1000, 0.002, 500.0, 0.85),
    ]
    r = edge.ratios(results)
    assert r["ORT int8"]["smaller"] == pytest.approx(4.0)
    assert r["ORT int8"]["faster_latency"] == pytest.approx(5.0)
    assert r["ORT int8"]["faster_tokens"] == pytest.approx(5.0)
    assert r["ORT int8"]["exact_match_change"] == pytest.approx(-0.05)
    assert edge.choose_runtime(results).name == "ORT fp32", "int8 lost 5 points of exact-match"
    assert edge.choose_runtime(results, max_exact_match_drop=0.05).name == "ORT int8", "smallest that qualifies"
    slow_int8 = [*results[:2], _result("ORT int8", 1000, 0.02, 50.0, 0.9)]
    assert edge.choose_runtime(slow_int8).name == "ORT fp32", "slower than the reference: does not qualify"
    assert edge.choose_runtime(results[:1]).name == "PyTorch fp32", "nothing else: the reference stays"
    same_size = [results[0], _result("a", 1000, 0.01, 200.0, 0.9), _result("b", 1000, 0.01, 300.0, 0.9)]
    assert edge.choose_runtime(same_size).name == "b", "same size: the faster one"
    with pytest.raises(KeyError):
        edge.ratios(results, baseline="TensorRT")
    with pytest.raises(ValueError):
        edge.choose_runtime([])
    table = edge.format_table(results)
    assert "ORT int8" in table and "85.0%" in table


def test_benchmark_measures_every_runtime(files):
    import matplotlib

    matplotlib.use("Agg")
    calls = []

    def score(logits_fn):
        calls.append(logits_fn)
        return 0.5

    results = edge.benchmark(files, [[1, 2, 3, 4], [5, 6, 7]], score, new_tokens=4, repeats=3)
    assert [r.name for r in results] == list(edge.BACKENDS)
    assert len(calls) == 3
    pytorch, ort32, ort8 = results
    assert pytorch.max_logit_diff == 0.0
    assert ort32.max_logit_diff < 1e-4 < ort8.max_logit_diff
    assert ort8.size_bytes < ort32.size_bytes
    assert all(r.tokens_per_second > 0 and len(r.latency.samples) == 3 for r in results)
    fig = edge.plot_results(results)
    assert len(fig.axes) == 5


def test_missing_files_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="export_all"):
        edge.load_session(tmp_path / "absent.onnx")
    with pytest.raises(FileNotFoundError, match="export_all"):
        edge.size_bytes(tmp_path / "absent.onnx")


def test_exported_graphs_carry_no_debug_notes_and_int8_uses_integer_matmuls(files):
    import onnx

    fp32, int8 = edge.op_types(files.onnx_fp32), edge.op_types(files.onnx_int8)
    assert fp32["MatMul"] > 0 and "MatMulInteger" not in fp32
    assert int8["MatMulInteger"] > 0 and int8["DynamicQuantizeLinear"] > 0
    assert not any(node.metadata_props for node in onnx.load(str(files.onnx_fp32)).graph.node)


def test_task_exact_match_compares_decoded_words():
    from course.text.vocab import build_word_tokenizer

    tokenizer = build_word_tokenizer(["a b c d"])  # ids: 4 special tokens, then a=4, b=5, c=6, d=7
    run = _counting_model(vocab=8)  # after d comes 0 (<pad>), 1 (<s>), then 2 (</s>) stops
    examples = [("a", "b c d"), ("b", "c d"), ("c", "d a")]
    assert edge.task_exact_match(run, tokenizer, examples) == pytest.approx(2 / 3)
    assert edge.task_exact_match(run, tokenizer, examples, max_new_tokens=1) == 0.0
    with pytest.raises(ValueError, match="task_examples"):
        edge.task_exact_match(run, tokenizer, [])


def test_int8_matmul_sweep_times_both_precisions():
    import matplotlib

    matplotlib.use("Agg")
    points = edge.int8_matmul_sweep([16, 64], tokens=4, repeats=3)
    assert [p.size for p in points] == [16, 64]
    assert all(p.fp32.median > 0 and p.int8.median > 0 and len(p.int8.samples) == 3 for p in points)
    assert points[0].speedup == pytest.approx(points[0].fp32.median / points[0].int8.median)
    assert edge.plot_sweep(points).axes
    with pytest.raises(ValueError):
        edge.int8_matmul_sweep([])
