"""Lesson 06 §6: the int8 matrix-multiplication sweep and its plot."""

from __future__ import annotations

import pytest

from course.lessons.edge import plots, sweep


def test_int8_matmul_sweep_times_both_precisions():
    import matplotlib

    matplotlib.use("Agg")
    points = sweep.int8_matmul_sweep([16, 64], tokens=4, repeats=3)
    assert [p.size for p in points] == [16, 64]
    assert all(p.fp32.median > 0 and p.int8.median > 0 and len(p.int8.samples) == 3 for p in points)
    assert points[0].speedup == pytest.approx(points[0].fp32.median / points[0].int8.median)
    assert plots.plot_sweep(points).axes
    with pytest.raises(ValueError):
        sweep.int8_matmul_sweep([])
