"""The plots of lesson 03; each function returns a matplotlib Figure.

Lesson 03 §2 (shared and per-expert parameters), §3 (sizes and speed bounds, batches), §4 (training, loads,
routing) and §5 (latency).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from course.languages import say
from course.timing import Timing

if TYPE_CHECKING:
    from course.lessons.moe.training import RoutingRun


def plot_breakdown(
    labels: Sequence[str],
    shared: Sequence[float],
    per_expert: Sequence[float],
    experts: Sequence[int],
    top_k: Sequence[int],
) -> Figure:
    """One panel per MoE model, three stacked bars (billions of parameters): what E copies of a dense model (the
    shared parts and one expert) would hold, the real total (the shared parts once, every expert) and what one token
    uses (the shared parts and its k experts)."""
    fig, axes = plt.subplots(1, len(labels), figsize=(5 * len(labels), 3.8), sharey=True, squeeze=False)
    bars = [say("moe.bar_copies"), say("moe.bar_total"), say("moe.bar_active")]
    for axis, label, s, p, e, k in zip(axes[0], labels, shared, per_expert, experts, top_k, strict=True):
        shared_parts = [e * s / 1e9, s / 1e9, s / 1e9]
        expert_parts = [e * p / 1e9, e * p / 1e9, k * p / 1e9]
        axis.bar(bars, shared_parts, color=["lightgrey", "grey", "grey"], hatch=["//", "", ""], edgecolor="white")
        axis.bar(bars, expert_parts, bottom=shared_parts, color="tab:blue")
        for x, (low, high) in enumerate(zip(shared_parts, expert_parts, strict=True)):
            axis.text(x, low + high, f"{low + high:.1f}B", ha="center", va="bottom", fontsize=8)
        axis.set_title(label, fontsize=10)
        axis.tick_params(axis="x", labelsize=8)
    axes[0][0].set_ylabel(say("moe.axis_parameters"))
    axes[0][0].set_ylim(0, max(e * (s + p) for e, s, p in zip(experts, shared, per_expert, strict=True)) / 1e9 * 1.2)
    handles = [
        plt.Rectangle((0, 0), 1, 1, color="lightgrey", hatch="//", ec="white", label=say("moe.legend_shared_counted")),
        plt.Rectangle((0, 0), 1, 1, color="grey", label=say("moe.legend_shared")),
        plt.Rectangle((0, 0), 1, 1, color="tab:blue", label=say("moe.legend_experts")),
    ]
    fig.legend(handles=handles, fontsize=8, loc="upper center", ncol=3)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def plot_sizes(
    labels: Sequence[str],
    total: Sequence[float],
    active: Sequence[float],
    tokens_per_s: Sequence[float],
    device: str,
) -> Figure:
    """Total vs active parameters (billions), and the batch-1 decode bound in tokens/s on ``device``, per model."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    x = range(len(labels))
    left.bar([i - 0.2 for i in x], [t / 1e9 for t in total], width=0.4, label=say("moe.legend_total_memory"))
    left.bar([i + 0.2 for i in x], [a / 1e9 for a in active], width=0.4, label=say("moe.legend_active_read"))
    left.set_ylabel(say("moe.axis_parameters"))
    left.set_ylim(0, max(total) / 1e9 * 1.3)  # room for the legend above the bars
    left.legend(fontsize=8, loc="upper left")
    right.bar(list(x), list(tokens_per_s), color="tab:green")
    right.set_ylabel(say("moe.axis_tokens_per_s", device=device))
    for axis in (left, right):
        axis.set_xticks(list(x), labels, rotation=15, fontsize=8)
    fig.tight_layout()
    return fig


def plot_batch_reads(batches: Sequence[int], read_gb: dict[str, Sequence[float]], total_gb: dict[str, float]) -> Figure:
    """Gigabytes a decode step reads against the batch size, per model, with each model's whole weights dashed."""
    fig, axis = plt.subplots(figsize=(7.5, 3.6))
    for n, (label, reads) in enumerate(read_gb.items()):
        colour = f"C{n}"
        axis.plot(
            batches, reads, marker="o", markersize=4, color=colour, label=say("moe.legend_read_per_step", label=label)
        )
        axis.axhline(
            total_gb[label], color=colour, linestyle="--", linewidth=1, label=say("moe.legend_all_weights", label=label)
        )
    axis.set_xscale("log", base=2)
    axis.set_xticks(list(batches), [str(b) for b in batches])
    axis.set_xlabel(say("moe.axis_batch_size"))
    axis.set_ylabel(say("moe.axis_gb_per_step"))
    axis.set_ylim(0, max(total_gb.values()) * 1.15)
    axis.legend(fontsize=7, loc="lower right")
    axis.grid(alpha=0.3)
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
        axis.set_xlabel(say("moe.axis_expert"))
    fig.suptitle(title, fontsize=10)
    fig.colorbar(image, ax=axes[0].tolist(), label=say("moe.axis_routing_weight"), shrink=0.8)
    return fig


def plot_loads(loads: dict[str, Sequence[float]], title: str) -> Figure:
    """Share of routing slots per expert, one group of bars per run, with the fair share as a line."""
    fig, axis = plt.subplots(figsize=(9, 3.2))
    width = 0.8 / len(loads)
    for n, (label, load) in enumerate(loads.items()):
        offset = (n - (len(loads) - 1) / 2) * width
        axis.bar([e + offset for e in range(len(load))], load, width=width, label=label)
    experts = len(next(iter(loads.values())))
    axis.axhline(1 / experts, color="black", linestyle="--", linewidth=1, label=say("moe.legend_fair_share"))
    axis.set_xticks(range(experts))
    axis.set_xlabel(say("moe.axis_expert"))
    axis.set_ylabel(say("moe.axis_share_of_slots"))
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
    left.axhline(1.0, color="black", linestyle="--", linewidth=1, label=say("moe.legend_perfectly_even"))
    left.set_xlabel(say("moe.axis_training_step"))
    left.set_ylabel(say("moe.axis_busiest_over_fair"))
    right.set_xlabel(say("moe.axis_training_step"))
    right.set_ylabel(say("moe.axis_lm_loss"))
    for axis in (left, right):
        axis.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_latency(labels: Sequence[str], timings: Sequence[Timing], flops: Sequence[float]) -> Figure:
    """Measured forward time (median, IQR as error bar) next to the FLOPs each model needs per token."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
    x = list(range(len(labels)))
    left.bar(x, [t.median * 1e3 for t in timings], yerr=[t.spread * 1e3 for t in timings], capsize=4)
    left.set_ylabel(say("moe.axis_forward_ms"))
    right.bar(x, [f / 1e6 for f in flops], color="tab:green")
    right.set_ylabel(say("moe.axis_mflops_per_token"))
    for axis in (left, right):
        axis.set_xticks(x, labels, rotation=12, fontsize=8)
    fig.tight_layout()
    return fig
