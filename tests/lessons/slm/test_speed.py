"""Lesson 02 §3: the matrix-vector against matrix-matrix products behind the bandwidth bound
(the arithmetic is tested; the timings only for being measured)."""

import matplotlib
import pytest

from course.lessons.slm import speed

matplotlib.use("Agg")


def test_product_arithmetic():
    # a 8192 x 8192 float32 matrix (268 MB) times one vector in 25 ms, and times 128 vectors in 800 ms
    vector = speed.ProductTiming(columns=1, matrix_bytes=8192 * 8192 * 4, seconds=0.025)
    assert vector.flops == 2 * 8192 * 8192
    assert vector.intensity == 0.5  # 2 operations per 4-byte weight
    assert vector.weight_gb_s == pytest.approx(268.435456 / 25)
    assert vector.gflops == pytest.approx(2 * 8192 * 8192 / 0.025 / 1e9)
    matrix = speed.ProductTiming(columns=128, matrix_bytes=8192 * 8192 * 4, seconds=0.8)
    assert matrix.intensity == 64 and matrix.gflops == pytest.approx(128 * vector.gflops * 0.025 / 0.8)


def test_measure_products_times_each_width_and_restores_the_threads():
    import torch

    threads = torch.get_num_threads()
    timings = speed.measure_products(size=256, columns=(1, 8), repeats=1, threads=1)
    assert [t.columns for t in timings] == [1, 8]
    assert all(t.matrix_bytes == 256 * 256 * 4 and t.seconds > 0 for t in timings)
    assert torch.get_num_threads() == threads


def test_roofline_draws_the_measurements_and_the_decoding_lines():
    timings = [speed.ProductTiming(1, 4 * 2**20, 0.001), speed.ProductTiming(64, 4 * 2**20, 0.004)]
    ax = speed.plot_roofline(timings, peak_gflops=100, decode_points={"decode bf16": 1.0})
    assert len(ax.lines) == 1 + 2 + 1  # roofline, two measurements, one decoding line
    assert "4.2 GB/s" in ax.get_title()
