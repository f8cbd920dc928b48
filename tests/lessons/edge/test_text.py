"""Lesson 06's tables in Korean and Japanese: headers padded by display columns, English unchanged."""

from __future__ import annotations

import pytest

from course.lessons.edge import benchmark, budget
from course.lessons.edge.text import columns, pad
from course.timing import Timing


def test_pad_counts_wide_characters_as_two_columns():
    assert columns("runtime") == 7 and columns("런타임") == 6 and columns("ランタイム") == 10
    assert pad("ab", 5) == "ab   " and pad("ab", 5, ">") == "   ab"
    assert pad("모델", 6) == "모델  " and pad("精度", 6, ">") == "  精度"
    assert pad("longer than", 4) == "longer than"


def _results():
    timing = Timing((0.001, 0.002, 0.003))
    return [benchmark.EdgeResult(name, 1_234_567, timing, timing, 123.4, 0.01, 0.85) for name in benchmark.BACKENDS]


@pytest.mark.parametrize("lang", ["ko", "ja"])
def test_translated_tables_keep_their_columns(monkeypatch, lang):
    monkeypatch.setenv("COURSE_LANG", lang)
    rows = budget.laptop_budget(16, 6)
    for table in (benchmark.format_table(_results()), budget.format_budget(rows, 60, 250)):
        header, rule, *body = table.splitlines()
        assert columns(header) == len(rule) == max(columns(line) for line in body)
    assert budget.placement_label(budget.NO_FIT) != budget.NO_FIT
    assert budget.placement_label(budget.GPU) == budget.GPU


def test_english_tables_read_as_before(monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "en")
    table = benchmark.format_table(_results())
    assert table.splitlines()[0].startswith("runtime         size MB  load ms  latency ms  IQR ms")
    rows = budget.laptop_budget(16, 6)
    assert budget.format_budget(rows, 60, 250).splitlines()[0].startswith("model                   prec  weights GiB")
    assert budget.find_row(rows, "phi-3.5-moe", "Q4_K_M").runtime.startswith("nothing on this laptop")
