"""Repeated timings: median and spread, and contenders measured in turns."""

import pytest

from course.timing import Timing, measure, measure_interleaved


def test_timing_median_and_interquartile_range():
    timing = Timing((1.0, 2.0, 3.0, 4.0, 5.0))
    assert timing.median == 3.0 and timing.spread == 2.0
    assert Timing((7.0,)).spread == 0.0


def test_measure_interleaved_takes_turns_after_warm_up():
    calls = []
    timings = measure_interleaved([lambda: calls.append("a"), lambda: calls.append("b")], repeats=3, warmup=1)
    assert calls == ["a", "b"] + ["a", "b"] * 3, "warm-up of each, then one call of each per round"
    assert [len(t.samples) for t in timings] == [3, 3]
    assert all(s >= 0 for t in timings for s in t.samples)
    with pytest.raises(ValueError):
        measure_interleaved([lambda: None], repeats=0)
    with pytest.raises(ValueError):
        measure(lambda: None, repeats=0)
