"""Lesson 02 §2 (Memory: weights, formats and KV cache) and §6 (the challenge): which model fits the laptop's GPU.

Lesson 02's assumptions (the challenge's 8 GiB GPU, a fixed headroom for the runtime) on top of the course's one
memory model (``course.models.memory``, ``course.models.fit``); the plots and the sliders of §2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from course.languages import say
from course.models import fit
from course.models.configs import MODEL_NAMES
from course.models.fit import MemoryNeed, inference_memory
from course.models.memory import GIB, model_weight_bytes

#: The formats the lesson's charts compare: as published, 8-bit and the usual 4-bit GGUF file.
SHOWN_FORMATS: tuple[str, ...] = ("bf16", "Q8_0", "Q4_K_M")

#: The challenge's laptop: a small GPU with 8 GiB of memory (its bandwidth: ``speed.LAPTOP_GPU_BANDWIDTH_GBS``).
LAPTOP_GPU_GIB = 8.0
#: Memory the runtime needs besides weights and KV cache (CUDA context, activations, buffers): an assumption.
RUNTIME_HEADROOM_GIB = 1.0


def memory_need(
    name: str,
    precision: str,
    context_length: int,
    batch: int = 1,
    kv_precision: str = "bf16",
    headroom_gib: float = RUNTIME_HEADROOM_GIB,
) -> MemoryNeed:
    """Weights in format ``precision``, a ``kv_precision`` KV cache for ``batch`` x ``context_length`` tokens, and
    the runtime's headroom."""
    return inference_memory(name, precision, context_length, batch, kv_precision, headroom_gib)


def fits(
    name: str, precision: str, memory_gib: float, context_length: int, batch: int = 1, kv_precision: str = "bf16"
) -> bool:
    """Whether weights, KV cache and headroom fit in ``memory_gib`` GiB."""
    return fit.fits(memory_need(name, precision, context_length, batch, kv_precision).total, memory_gib)


def plot_formats(name: str, precisions: Sequence[str], memory_gib: float = LAPTOP_GPU_GIB, ax=None):
    """Stacked bars: one model's weights in each format, split into decoder layers, embeddings and head, against a
    GPU's memory."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(8, 3.6))[1]
    sizes = [model_weight_bytes(name, precision) for precision in precisions]
    left = [0.0] * len(sizes)
    for part, colour in (("layers", "#4c72b0"), ("embeddings", "#dd8452"), ("head", "#55a868")):
        widths = [getattr(size, part) / GIB for size in sizes]
        ax.barh(list(precisions), widths, left=left, color=colour, label=say(f"slm.formats_{part}"))
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.axvline(memory_gib, color="black", linestyle="--", label=say("slm.gpu_memory", gib=memory_gib))
    ax.invert_yaxis()
    ax.set_xlabel(say("slm.formats_axis"))
    ax.set_title(say("slm.formats_title", name=name), fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_memory(
    names: Sequence[str],
    total_bytes: Callable[[str, str], float],
    memory_gib: float,
    context_length: int,
    precisions: Sequence[str] = SHOWN_FORMATS,
    ax=None,
):
    """Grouped bars of the memory each model needs in each format (``total_bytes(name, precision)``: weights, KV
    cache and headroom), against a GPU's memory line; bars that do not fit are faded."""
    import matplotlib.pyplot as plt
    import numpy as np

    ax = ax or plt.subplots(figsize=(9, 4))[1]
    x = np.arange(len(names))
    width = 0.8 / len(precisions)
    for i, precision in enumerate(precisions):
        needs = [total_bytes(name, precision) / GIB for name in names]
        bars = ax.bar(x + (i - (len(precisions) - 1) / 2) * width, needs, width, label=precision)
        for bar, need in zip(bars, needs, strict=True):
            if need > memory_gib:
                bar.set_alpha(0.35)
    ax.axhline(memory_gib, color="black", linestyle="--", label=say("slm.gpu_memory", gib=memory_gib))
    ax.set_yscale("log")
    ax.set_xticks(x, list(names), rotation=30, ha="right")
    ax.set_ylabel(say("slm.memory_axis"))
    ax.set_title(say("slm.memory_title", context=context_length, headroom=RUNTIME_HEADROOM_GIB), fontsize=10)
    ax.legend(fontsize=8, ncol=2)
    return ax


def memory_explorer(names: Sequence[str] = MODEL_NAMES):
    """Sliders for GPU memory, context, weight format and KV-cache format; redraws which model fits (with the
    course's memory model, so the MoE and vision models are there too)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from course.models.quant import KV_FORMATS, weight_formats

    def show(memory_gib: float, context_length: int, precision: str, kv_precision: str) -> None:
        def total(name: str, shown: str) -> int:
            return memory_need(name, shown, context_length, kv_precision=kv_precision).total

        plot_memory(names, total, memory_gib, context_length, precisions=(precision,))
        plt.show()
        fitting = [name for name in names if fits(name, precision, memory_gib, context_length, 1, kv_precision)]
        models = ", ".join(fitting) if fitting else say("slm.explorer_nothing")
        print(say("slm.explorer_fits", precision=precision, kv_precision=kv_precision, models=models))

    return widgets.interactive(
        show,
        memory_gib=widgets.FloatSlider(
            value=LAPTOP_GPU_GIB, min=2, max=48, step=1, description=say("slm.explorer_gpu")
        ),
        context_length=widgets.SelectionSlider(
            options=[512, 2048, 4096, 8192, 32768, 131072], value=4096, description=say("slm.explorer_context")
        ),
        precision=widgets.Dropdown(
            options=list(weight_formats()), value="Q4_K_M", description=say("slm.explorer_weights")
        ),
        kv_precision=widgets.Dropdown(options=list(KV_FORMATS), value="bf16", description=say("slm.explorer_kv")),
    )


def self_attention_config(config: dict) -> dict:
    """``config`` (a text config) with only the layers that cache the text's keys and values. Llama 3.2 Vision's
    ``cross_attention_layers`` attend to the image: they cache the image's keys and values (once per image, whatever
    the text's length), not the text's, so counting them per text token would overstate its cache by a quarter
    (8 of its 40 layers). Other models' configs come back unchanged."""
    cross = config.get("cross_attention_layers") or []
    return dict(config, num_hidden_layers=config["num_hidden_layers"] - len(cross))
