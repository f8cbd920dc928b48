"""Lesson 06 §6 (Six runtimes, side by side): the benchmark's bar charts; §7: the one-token decoding sweep."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from course.languages import say
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
    load_bars = _quartile_bars([r.load for r in results], ms)
    latency_bars = _quartile_bars([r.latency for r in results], ms)
    palette = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c"]
    colours = [palette[index % len(palette)] for index in range(len(results))]
    panels = [
        (say("edge.panel_size"), [r.size_bytes / 1e6 for r in results], None),
        (say("edge.panel_load"), [r.load.median * ms for r in results], load_bars),
        (say("edge.panel_latency"), [r.latency.median * ms for r in results], latency_bars),
        (say("edge.panel_generation"), [r.tokens_per_second for r in results], None),
        (say("edge.panel_exact_match"), [r.exact_match * 100 for r in results], None),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 3.6))
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
    fig.suptitle(say("edge.results_title"))
    fig.tight_layout()
    return fig


def plot_sweep(points: Sequence[SweepPoint], bandwidth_gb_s: float | None = None) -> Figure:
    """Decoding one token through one ``n x n`` weight: tokens/s-equivalent (products per second) per format against
    the weight size (left), and the weight bytes read per second (right), beside the machine's measured bandwidth."""
    import matplotlib.pyplot as plt

    from course.lessons.edge.sweep import SWEEP_FORMATS

    fig, (speed, rate) = plt.subplots(1, 2, figsize=(10, 3.6))
    megabytes = [p.weight_bytes["fp32"] / 1e6 for p in points]
    for fmt in SWEEP_FORMATS:
        speed.plot(megabytes, [p.tokens_per_second(fmt) for p in points], marker="o", label=fmt)
        rate.plot(megabytes, [p.gb_per_second(fmt) for p in points], marker="o", label=fmt)
    if bandwidth_gb_s is not None:
        rate.axhline(bandwidth_gb_s, color="grey", linestyle="--", label=say("edge.measured_bandwidth"))
    for ax in (speed, rate):
        ax.set_xscale("log")
        ax.set_xlabel(say("edge.sweep_xlabel"))
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    speed.set_yscale("log")
    speed.set_ylabel(say("edge.sweep_speed_ylabel"))
    rate.set_ylabel(say("edge.sweep_rate_ylabel"))
    speed.set_title(say("edge.sweep_speed_title"), fontsize=10)
    rate.set_title(say("edge.sweep_rate_title"), fontsize=10)
    fig.tight_layout()
    return fig
