"""Lesson 02 §3 (Speed against size, measured) and lesson 06 §8: why decoding is bound by memory bandwidth, measured on
this machine: a matrix far larger than the caches multiplied by one vector (decoding) and by many (a prompt), on a
roofline (the bound itself is ``course.models.bandwidth``; :mod:`course.lessons.slm.decode` times a real model
against it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from course.languages import say

#: The challenge's laptop GPU (8 GiB, ``fit.LAPTOP_GPU_GIB``) has 256 GB/s of memory bandwidth
#: (the class of an RTX 4060 Laptop GPU: 128-bit GDDR6 at 16 Gbit/s per pin).
LAPTOP_GPU_BANDWIDTH_GBS = 256.0


@dataclass(frozen=True)
class ProductTiming:
    """One timed product of a large float32 weight matrix with ``columns`` input vectors (1: a matrix-vector
    product, what decoding one token does to every weight matrix; more: a matrix-matrix product, what a prompt's
    tokens do together)."""

    columns: int
    matrix_bytes: int
    seconds: float  # median

    @property
    def flops(self) -> float:
        """2 operations (a multiply and an add) per weight and column."""
        return 2 * self.matrix_bytes / 4 * self.columns

    @property
    def intensity(self) -> float:
        """Operations per byte of the matrix read (the matrix is read once per product)."""
        return self.flops / self.matrix_bytes

    @property
    def gflops(self) -> float:
        return self.flops / self.seconds / 1e9

    @property
    def weight_gb_s(self) -> float:
        """Bytes of the matrix used per second: the memory bandwidth when each weight is used once."""
        return self.matrix_bytes / self.seconds / 1e9


def measure_products(
    size: int = 8192, columns: Sequence[int] = (1, 128), repeats: int = 3, threads: int = 2
) -> list[ProductTiming]:
    """Time a ``size`` x ``size`` float32 matrix (8192: 268 MB, far larger than any CPU cache, so it streams from
    RAM every time) multiplied by ``columns`` vectors at once, on ``threads`` threads; the median of ``repeats``."""
    import torch
    from tqdm.auto import tqdm

    from course.runtime import device
    from course.timing import measure

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        weights = torch.full((size, size), 0.5, device=device())
        results = []
        for count in tqdm(columns, desc=say("slm.products_desc")):
            inputs = torch.full((count, size), 0.25, device=device())

            def product(inputs=inputs) -> None:
                torch.nn.functional.linear(inputs, weights)  # what a model's linear layer does
                if weights.is_cuda:
                    torch.cuda.synchronize()

            seconds = measure(product, repeats=repeats, warmup=1).median
            results.append(ProductTiming(count, weights.numel() * weights.element_size(), seconds))
        return results
    finally:
        torch.set_num_threads(previous)


def plot_roofline(timings: Sequence[ProductTiming], peak_gflops: float, decode_points: dict[str, float], ax=None):
    """The roofline of this machine: operations per second against operations per byte read, bounded by the
    measured bandwidth (the slope, from the matrix-vector product) and the peak GFLOP/s (flat); the measured products
    as points and, as vertical lines, the intensity of decoding real weights in a few formats (``decode_points``:
    label -> operations per byte)."""
    import matplotlib.pyplot as plt
    import numpy as np

    from course.models.bandwidth import attainable_gflops

    bandwidth = min(timings, key=lambda t: t.columns).weight_gb_s
    ax = ax or plt.subplots(figsize=(7.5, 4))[1]
    lowest = min([*[t.intensity for t in timings], *decode_points.values()]) / 2
    highest = max(t.intensity for t in timings) * 2
    x = np.geomspace(lowest, highest, 200)
    ax.plot(x, [attainable_gflops(i, peak_gflops, bandwidth) for i in x], color="black", label=say("slm.roofline"))
    for timing in timings:
        label = (
            say("slm.roofline_vector") if timing.columns == 1 else say("slm.roofline_matrix", columns=timing.columns)
        )
        ax.plot(timing.intensity, timing.gflops, "o", markersize=8, label=label)
    for label, intensity in decode_points.items():
        ax.axvline(intensity, linestyle=":", color="grey")
        ax.text(intensity, peak_gflops * 1.15, label, rotation=90, fontsize=7, va="bottom", ha="right")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(top=peak_gflops * 8)
    ax.set_xlabel(say("slm.roofline_axis_intensity"))
    ax.set_ylabel("GFLOP/s")
    ax.set_title(say("slm.roofline_title", bandwidth=bandwidth, peak=peak_gflops), fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower right")
    return ax
