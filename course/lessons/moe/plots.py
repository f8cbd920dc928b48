"""The plots of lesson 03; each function returns a matplotlib Figure.

Lesson 03 §2 (sizes), §3 (training, loads, routing) and §4 (latency).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from course.timing import Timing

if TYPE_CHECKING:
    from course.lessons.moe.training import RoutingRun


def plot_sizes(
    labels: Sequence[str], total: Sequence[float], active: Sequence[float], flops: Sequence[float]
) -> Figure:
    """Total vs active parameters (billions) and forward GFLOPs per token, side by side per model."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    x = range(len(labels))
    left.bar([i - 0.2 for i in x], [t / 1e9 for t in total], width=0.4, label="total (must sit in memory)")
    left.bar([i + 0.2 for i in x], [a / 1e9 for a in active], width=0.4, label="active per token (does work)")
    left.set_ylabel("parameters (billions)")
    left.set_ylim(0, max(total) / 1e9 * 1.3)  # room for the legend above the bars
    left.legend(fontsize=8, loc="upper left")
    right.bar(list(x), [f / 1e9 for f in flops], color="tab:green")
    right.set_ylabel("forward GFLOPs per token")
    for axis in (left, right):
        axis.set_xticks(list(x), labels, rotation=15, fontsize=8)
    fig.tight_layout()
    return fig


def plot_routing(sentences: Sequence[tuple[Sequence[str], torch.Tensor]], title: str) -> Figure:
    """One heatmap per sentence: a row per token, a column per expert, colour = routing weight."""
    rows = max(len(tokens) for tokens, _ in sentences)
    size = (3.6 * len(sentences), 0.25 * rows + 1.6)
    fig, axes = plt.subplots(1, len(sentences), figsize=size, squeeze=False)
    for axis, (tokens, table) in zip(axes[0], sentences, strict=True):
        image = axis.imshow(table.numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
        axis.set_yticks(range(len(tokens)), tokens, fontsize=8)
        axis.set_xticks(range(0, table.shape[1], 2))
        axis.tick_params(axis="x", labelsize=7)
        axis.set_xlabel("expert")
    fig.suptitle(title, fontsize=10)
    fig.colorbar(image, ax=axes[0].tolist(), label="routing weight", shrink=0.8)
    return fig


def plot_loads(loads: dict[str, Sequence[float]], title: str) -> Figure:
    """Share of routing slots per expert, one group of bars per run, with the fair share as a line."""
    fig, axis = plt.subplots(figsize=(9, 3.2))
    width = 0.8 / len(loads)
    for n, (label, load) in enumerate(loads.items()):
        offset = (n - (len(loads) - 1) / 2) * width
        axis.bar([e + offset for e in range(len(load))], load, width=width, label=label)
    experts = len(next(iter(loads.values())))
    axis.axhline(1 / experts, color="black", linestyle="--", linewidth=1, label="fair share")
    axis.set_xticks(range(experts))
    axis.set_xlabel("expert")
    axis.set_ylabel("share of routing slots")
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_training(runs: dict[str, RoutingRun]) -> Figure:
    """Balance on held-out text (busiest expert / fair share) and language-model loss, per training run."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
    for label, run in runs.items():
        mean = [sum(r) / len(r) for r in run.imbalance]
        left.plot(run.eval_steps, mean, marker="o", markersize=3, label=label)
        right.plot(range(1, len(run.lm_loss) + 1), run.lm_loss, label=label, alpha=0.8)
    left.axhline(1.0, color="black", linestyle="--", linewidth=1, label="perfectly even")
    left.set_xlabel("training step")
    left.set_ylabel("busiest expert / fair share")
    right.set_xlabel("training step")
    right.set_ylabel("language-model loss")
    for axis in (left, right):
        axis.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_latency(labels: Sequence[str], timings: Sequence[Timing], flops: Sequence[float]) -> Figure:
    """Measured forward time (median, IQR as error bar) next to the FLOPs each model needs per token."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
    x = list(range(len(labels)))
    left.bar(x, [t.median * 1e3 for t in timings], yerr=[t.spread * 1e3 for t in timings], capsize=4)
    left.set_ylabel("forward pass (ms, median)")
    right.bar(x, [f / 1e6 for f in flops], color="tab:green")
    right.set_ylabel("MFLOPs per token")
    for axis in (left, right):
        axis.set_xticks(x, labels, rotation=12, fontsize=8)
    fig.tight_layout()
    return fig
