"""A laptop budget: which real models fit a given RAM and VRAM, in which file format, with their KV cache.

Lesson 06 §8 (A laptop budget for real models), on the course's one memory model (lesson 02's): weights in the
formats real files use, with their real bits per weight (``course.models.quant``; by default the GGUF files
``Q8_0`` and ``Q4_K_M`` that llama.cpp and Ollama run), the KV cache, where a row fits
(``course.models.fit.place``) and its speed bound (``course.models.bandwidth``).

Sizes come from the published configs in ``course.models`` (parameters counted from the shapes, shipped in
``course/models/configs/sizes.json``). What is left out: activations, the runtime itself and, on the CPU side, the
operating system and other programs (``reserve_gib`` stands in for those).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from course.languages import say
from course.languages.monospace import columns, pad
from course.models.bandwidth import decode_bytes_per_token, decode_tokens_per_second_bound
from course.models.configs import MODEL_NAMES, model_card
from course.models.fit import CPU, GPU, NO_FIT, inference_memory, place
from course.models.memory import GIB
from course.models.params import count_parameters

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure


#: The runtime this course would pick for each placement (keys of the course's text, ``course.languages.say``).
RUNTIMES = {GPU: "edge.runtime_gpu", CPU: "edge.runtime_cpu", NO_FIT: "edge.runtime_no_fit"}


def placement_label(placement: str) -> str:
    """Where a row runs, in the reader's language (``GPU (VRAM)`` and ``CPU (RAM)`` read the same in every one)."""
    return say("edge.no_fit") if placement == NO_FIT else placement


@dataclass(frozen=True)
class BudgetRow:
    """One model in one weight format, with its KV cache, against one laptop."""

    model: str
    display_name: str
    precision: str
    total_params: int
    active_params: int
    weight_bytes: int
    kv_bytes: int
    read_per_token: int  # what generating one token reads: the active weights and the whole KV cache
    placement: str

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.kv_bytes

    @property
    def runtime(self) -> str:
        """The runtime this course would pick for the placement, in the reader's language."""
        return say(RUNTIMES[self.placement])

    def decode_tokens_per_second(self, bandwidth_gb_s: float) -> float:
        """An upper bound on generation speed: each new token reads the active weights and the KV cache once.

        Decoding one token at a time is limited by memory bandwidth, not arithmetic; real runtimes reach
        perhaps half of this bound (see ``course.models.bandwidth``).
        """
        return decode_tokens_per_second_bound(self.read_per_token, bandwidth_gb_s)


def laptop_budget(
    ram_gib: float,
    vram_gib: float,
    context_length: int = 8192,
    precisions: Sequence[str] = ("Q8_0", "Q4_K_M"),
    models: Sequence[str] = MODEL_NAMES,
    kv_precision: str = "fp16",
    reserve_gib: float = 2.0,
) -> list[BudgetRow]:
    """One row per model and weight format: weights, KV cache for ``context_length`` tokens, and placement.

    A Mixture-of-Experts model must hold every expert in memory even though a token uses only a
    few, so the budget uses the total parameters; speed depends on the active ones.
    """
    if context_length < 1:
        raise ValueError("context_length must be at least 1 token.")
    rows = []
    for name in models:
        count = count_parameters(name)
        for precision in precisions:
            need = inference_memory(name, precision, context_length, batch=1, kv_precision=kv_precision)
            rows.append(
                BudgetRow(
                    model=name,
                    display_name=model_card(name).display_name,
                    precision=precision,
                    total_params=count.total,
                    active_params=count.active,
                    weight_bytes=need.weights,
                    kv_bytes=need.kv_cache,
                    read_per_token=decode_bytes_per_token(name, precision, context_length, kv_precision),
                    placement=place(need.total, vram_gib, ram_gib, reserve_gib),
                )
            )
    return rows


def find_row(rows: Sequence[BudgetRow], model: str, precision: str) -> BudgetRow:
    """The row of ``model`` at ``precision``."""
    for row in rows:
        if row.model == model and row.precision == precision:
            return row
    have = sorted({(r.model, r.precision) for r in rows})
    raise KeyError(f"No row for {model!r} at {precision!r}; have {have}")


def speed_bound(row: BudgetRow, ram_bandwidth_gb_s: float, vram_bandwidth_gb_s: float) -> float | None:
    """The tokens/s bound at the bandwidth of the memory the model is placed in (None if it does not fit)."""
    if row.placement == NO_FIT:
        return None
    return row.decode_tokens_per_second(vram_bandwidth_gb_s if row.placement == GPU else ram_bandwidth_gb_s)


def format_budget(rows: Sequence[BudgetRow], ram_bandwidth_gb_s: float, vram_bandwidth_gb_s: float) -> str:
    """The budget as a fixed-width text table, with the bandwidth bound on tokens/s where the model fits."""
    header = (
        f"{pad(say('edge.col_model'), 22)}{pad(say('edge.col_precision'), 6, '>')}"
        f"{pad(say('edge.col_weights_gib'), 13, '>')}{'KV GiB':>8}{pad(say('edge.col_total_gib'), 11, '>')}  "
        f"{pad(say('edge.col_runs_on'), 14)}{'<= tok/s':>9}"
    )
    lines = [header, "-" * columns(header)]
    for r in rows:
        bound = speed_bound(r, ram_bandwidth_gb_s, vram_bandwidth_gb_s)
        runs_on = pad(placement_label(r.placement), 14)
        lines.append(
            f"{r.model:<22}{r.precision:>6}{r.weight_bytes / GIB:>13.2f}{r.kv_bytes / GIB:>8.2f}"
            f"{r.total_bytes / GIB:>11.2f}  {runs_on}{'-' if bound is None else f'{bound:.1f}':>9}"
        )
    return "\n".join(lines)


def plot_budget(rows: Sequence[BudgetRow], ram_gib: float, vram_gib: float, reserve_gib: float = 2.0) -> Figure:
    """Horizontal bars (weights + KV cache) per model and precision, with the VRAM and usable-RAM lines."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    labels = [f"{r.model} · {r.precision}" for r in rows]
    weights = [r.weight_bytes / GIB for r in rows]
    kv = [r.kv_bytes / GIB for r in rows]
    colours = {GPU: "#55a868", CPU: "#4c72b0", NO_FIT: "#c44e52"}
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(rows) + 2.0))
    ax.barh(labels, weights, color=[colours[r.placement] for r in rows])
    ax.barh(labels, kv, left=weights, color="#bbbbbb")
    usable = ram_gib - reserve_gib
    ax.axvline(vram_gib, color=colours[GPU], linestyle="--")
    ax.axvline(usable, color=colours[CPU], linestyle="--")
    ax.invert_yaxis()
    ax.set_xlabel(say("edge.budget_xlabel"))
    handles: list[Artist] = [
        Patch(color=colour, label=say("edge.budget_weights_on", place=placement_label(place)))
        for place, colour in colours.items()
    ]
    handles.append(Patch(color="#bbbbbb", label=say("edge.kv_cache")))
    handles.append(plt.Line2D([], [], color=colours[GPU], linestyle="--", label=f"VRAM {vram_gib:g} GiB"))
    handles.append(plt.Line2D([], [], color=colours[CPU], linestyle="--", label=say("edge.usable_ram", usable=usable)))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, fontsize=8)
    ax.set_title(say("edge.budget_title"))
    fig.tight_layout()
    return fig
