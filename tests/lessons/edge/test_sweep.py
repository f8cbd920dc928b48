"""Lesson 06 §7: the one-token decoding sweep (fp32, int8, int4 in ONNX Runtime) and its plot."""

from __future__ import annotations

import pytest

from course.lessons.edge import plots, sweep
from course.references.edge import quantize_int8


def test_decode_sweep_times_three_formats_and_int4_goes_through_matmul_nbits(tmp_path):
    import matplotlib

    from course.lessons.edge.export import op_types

    matplotlib.use("Agg")
    points = sweep.decode_sweep([64, 128], quantize_int8, repeats=3)
    assert [p.size for p in points] == [64, 128]
    for point in points:
        assert set(point.timings) == set(sweep.SWEEP_FORMATS)
        assert all(len(t.samples) == 3 and t.median > 0 for t in point.timings.values())
        fp32, int8, int4 = (point.weight_bytes[fmt] for fmt in sweep.SWEEP_FORMATS)
        assert fp32 == 4 * point.size**2 and fp32 / 4 <= int8 < fp32 / 3.5 and fp32 / 8 < int4 < int8
    assert points[0].speedup("int8") == pytest.approx(
        points[0].timings["fp32"].median / points[0].timings["int8"].median
    )
    assert plots.plot_sweep(points, bandwidth_gb_s=10.0).axes
    sweep.quantize_int4(sweep.matmul_model(64, tmp_path / "m.onnx"), tmp_path / "m4.onnx")
    assert op_types(tmp_path / "m4.onnx") == {"MatMulNBits": 1}
    with pytest.raises(ValueError, match="multiple of"):
        sweep.decode_sweep([], quantize_int8)
    with pytest.raises(ValueError, match="multiple of"):
        sweep.decode_sweep([40], quantize_int8)
