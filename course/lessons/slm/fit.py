"""Lesson 02 §2 (Memory: weights and KV cache) and §6 (the challenge): which model fits the laptop's GPU.

Lesson 02's assumptions (a bf16 KV cache, a fixed headroom for the runtime) on top of the course's one
fit model, ``course.models.fit``; the plot and the sliders of §2.
"""

from __future__ import annotations

from collections.abc import Sequence

from course.models import fit
from course.models.configs import MODEL_NAMES
from course.models.fit import MemoryNeed, inference_memory
from course.models.memory import GIB

PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "int8", "int4")

#: The challenge's laptop: a small GPU with 8 GiB of memory (its bandwidth: ``speed.LAPTOP_GPU_BANDWIDTH_GBS``).
LAPTOP_GPU_GIB = 8.0
#: Memory the runtime needs besides weights and KV cache (CUDA context, activations, buffers): an assumption.
RUNTIME_HEADROOM_GIB = 1.0


def memory_need(
    name: str, precision: str, context_length: int, batch: int = 1, headroom_gib: float = RUNTIME_HEADROOM_GIB
) -> MemoryNeed:
    """Weights at ``precision``, a bf16 KV cache for ``batch`` x ``context_length`` tokens, and headroom."""
    return inference_memory(name, precision, context_length, batch, kv_precision="bf16", headroom_gib=headroom_gib)


def fits(name: str, precision: str, memory_gib: float, context_length: int, batch: int = 1) -> bool:
    """Whether weights, KV cache and headroom fit in ``memory_gib`` GiB."""
    return fit.fits(memory_need(name, precision, context_length, batch).total, memory_gib)


def plot_memory(
    names: Sequence[str],
    memory_gib: float,
    context_length: int,
    batch: int = 1,
    precisions: Sequence[str] = PRECISIONS,
    ax=None,
):
    """Grouped bars of the memory each model needs at each precision, against a GPU's memory line."""
    import matplotlib.pyplot as plt
    import numpy as np

    ax = ax or plt.subplots(figsize=(9, 4))[1]
    x = np.arange(len(names))
    width = 0.8 / len(precisions)
    for i, precision in enumerate(precisions):
        needs = [memory_need(name, precision, context_length, batch).total / GIB for name in names]
        bars = ax.bar(x + (i - (len(precisions) - 1) / 2) * width, needs, width, label=precision)
        for bar, need in zip(bars, needs, strict=True):
            if need > memory_gib:
                bar.set_alpha(0.35)
    ax.axhline(memory_gib, color="black", linestyle="--", label=f"GPU memory: {memory_gib:g} GiB")
    ax.set_yscale("log")
    ax.set_xticks(x, list(names), rotation=30, ha="right")
    ax.set_ylabel("GiB needed (log scale)")
    ax.set_title(
        f"Weights + KV cache ({context_length:,} tokens x {batch}) + {RUNTIME_HEADROOM_GIB:g} GiB headroom"
        "\nfaded bars do not fit",
        fontsize=10,
    )
    ax.legend(fontsize=8, ncol=2)
    return ax


def memory_explorer(names: Sequence[str] = MODEL_NAMES):
    """Sliders for GPU memory, context and batch; redraws which model and precision fits."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(memory_gib: float, context_length: int, batch: int) -> None:
        plot_memory(names, memory_gib, context_length, batch)
        plt.show()
        fitting = [
            f"{name} at {precision}"
            for name in names
            for precision in PRECISIONS
            if fits(name, precision, memory_gib, context_length, batch)
        ]
        print("Fits:", ", ".join(fitting) if fitting else "nothing")

    return widgets.interactive(
        show,
        memory_gib=widgets.FloatSlider(value=LAPTOP_GPU_GIB, min=2, max=48, step=1, description="GPU GiB"),
        context_length=widgets.SelectionSlider(
            options=[512, 2048, 4096, 8192, 32768, 131072], value=4096, description="context"
        ),
        batch=widgets.IntSlider(value=1, min=1, max=16, description="batch"),
    )
