"""Lesson 06 §6 (Three runtimes, side by side): the benchmark's bar charts and the int8 sweep's curve."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from course.timing import Timing

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from course.lessons.edge.benchmark import EdgeResult
    from course.lessons.edge.sweep import SweepPoint


def _quartile_bars(timings: Sequence[Timing], scale: float) -> list[list[float]]:
    """Error bars from the first to the third quartile around each median (matplotlib's 2 x N form)."""
    low, high = [], []
    for t in timings:
        q1, q3 = t.quartiles
        low.append((t.median - q1) * scale)
        high.append((q3 - t.median) * scale)
    return [low, high]


def plot_results(results: Sequence[EdgeResult]) -> Figure:
    """Bar charts of size, load time, warm latency, tokens/s and exact-match per runtime.

    Times carry bars from the first to the third quartile.
    """
    import matplotlib.pyplot as plt

    names = [r.name for r in results]
    ms = 1e3
    colours = ["#4c72b0", "#dd8452", "#55a868", "#c44e52"][: len(results)]
    panels = [
        ("file size (MB)", [r.size_bytes / 1e6 for r in results], None),
        ("load time (ms)", [r.load.median * ms for r in results], _quartile_bars([r.load for r in results], ms)),
        ("latency (ms)", [r.latency.median * ms for r in results], _quartile_bars([r.latency for r in results], ms)),
        ("generation (tokens/s)", [r.tokens_per_second for r in results], None),
        ("task exact-match (%)", [r.exact_match * 100 for r in results], None),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.1 * len(panels), 3.2))
    for ax, (title, values, errors) in zip(axes, panels, strict=True):
        ax.bar(names, values, yerr=errors, color=colours, capsize=4)
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        for x, value in enumerate(values):
            label = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
            ax.annotate(
                label,
                (x, 0),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8,
                color="white",
                fontweight="bold",
            )
    axes[-1].set_ylim(0, 110)
    fig.suptitle("Same model, three runtimes (lower is better for size and time, higher for tokens/s)")
    fig.tight_layout()
    return fig


def plot_sweep(points: Sequence[SweepPoint]) -> Figure:
    """int8-over-fp32 speed-up of one matrix multiplication against the weight size."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot([p.size for p in points], [p.speedup for p in points], marker="o")
    ax.axhline(1.0, color="grey", linestyle="--", label="same speed")
    ax.set_xscale("log", base=2)
    ax.set_xticks([p.size for p in points], labels=[str(p.size) for p in points])
    ax.set_xlabel("weight matrix size n (n x n)")
    ax.set_ylabel("fp32 time / int8 time")
    ax.set_title("When does int8 pay off? One MatMul in ONNX Runtime")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
