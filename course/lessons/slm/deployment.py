"""Lesson 02 §6 (Challenge task 1: a multilingual translator on a laptop): the options the lesson weighs, judged by
the student's ``feasible``, and what each one costs.

Nothing here decides whether a model fits: :func:`judge` and :func:`longest_context` call the function they are
given (the student's ``feasible`` from Exercise 3) and only arrange its answers. An option that keeps the token
embeddings in RAM (llama.cpp does: a token reads one row of them) is judged on a GPU larger by the embeddings' bytes,
and its weights are shown without them. :func:`recommend` weighs quality: among the options that fit, the one whose
format costs the least perplexity in llama.cpp's own table (``course.models.quant.perplexity_increase``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from course.languages import say
from course.models.configs import load_config
from course.models.memory import GIB, model_weight_bytes
from course.models.quant import perplexity_increase

#: Context the translation tool must handle: a long document plus its translation.
CHALLENGE_CONTEXT = 4096

#: The tokenizer each model was trained with, where ``mistral-common`` ships it offline.
MODEL_TOKENIZER: dict[str, str] = {
    "mistral-7b": "mistral-7b-v0.3",
    "mixtral-8x7b": "mistral-7b-v0.1",
    "mistral-nemo-12b": "tekken",
    "mistral-small": "tekken",
}
#: Where the tokenizer above is a stand-in: Mistral Small 3 (2501) uses a later Tekken file (v7, also 131,072
#: entries) that ``mistral-common`` does not ship, so its counts are those of Mistral NeMo's Tekken, an approximation.
#: The value is the key of the note that says so (``say(APPROXIMATE_TOKENIZER[model])``, in the reader's language).
APPROXIMATE_TOKENIZER: dict[str, str] = {"mistral-small": "slm.approximate_small"}

FeasibleFn = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Option:
    """One way to run a model for the translation tool."""

    model: str
    precision: str
    kv_precision: str = "bf16"
    context_length: int = CHALLENGE_CONTEXT
    embeddings_in_ram: bool = False  # llama.cpp's default: the token embeddings stay in RAM, off the GPU

    @property
    def label(self) -> str:
        where = ", embeddings in RAM" if self.embeddings_in_ram else ""
        return f"{self.model} {self.precision}, {self.kv_precision} KV, {self.context_length:,} tokens{where}"

    @property
    def embeddings_bytes_in_ram(self) -> float:
        """Bytes of weights this option keeps off the GPU: the token embeddings when they stay in RAM (an untied
        matrix; a tied one is also the output head, which every token reads in full, so it stays on the GPU)."""
        return model_weight_bytes(self.model, self.precision).embeddings if self.embeddings_in_ram else 0

    def gpu_gib_for_feasible(self, gpu_gib: float) -> float:
        """The GPU size to hand ``feasible`` (which counts every weight): larger by what stays in RAM."""
        return gpu_gib + self.embeddings_bytes_in_ram / GIB

    @property
    def perplexity_increase(self) -> float | None:
        """llama.cpp's perplexity increase for this option's format (None where its table has no figure)."""
        return perplexity_increase(self.precision)


#: The options §6 weighs: Mistral NeMo in the usual 4-bit files, with the mitigations (an 8-bit KV cache, a shorter
#: context, the smaller Q4_0 file), and its neighbours Mistral 7B and Mistral Small.
CHALLENGE_OPTIONS: tuple[Option, ...] = (
    Option("mistral-nemo-12b", "Q4_K_M"),
    Option("mistral-nemo-12b", "GPTQ-4bit"),
    Option("mistral-nemo-12b", "Q4_K_M", "q8_0"),
    Option("mistral-nemo-12b", "Q4_K_M", "q8_0", 1024),
    Option("mistral-nemo-12b", "Q4_K_M", "q8_0", embeddings_in_ram=True),
    Option("mistral-nemo-12b", "Q4_0"),
    Option("mistral-nemo-12b", "Q4_0", "q8_0"),
    Option("mistral-7b", "Q4_K_M"),
    Option("phi-3.5-mini", "Q4_K_M"),
    Option("mistral-small", "Q4_K_M", "q8_0"),
)


def judge(feasible: FeasibleFn, options: Sequence[Option], gpu_gib: float) -> list[dict[str, Any]]:
    """``feasible``'s answer for each option on a GPU of ``gpu_gib`` GiB; for an option that keeps the embeddings in
    RAM, its answer on a GPU larger by them, with its weights and total shown without them."""
    needs = []
    for o in options:
        need = dict(
            feasible(
                load_config(o.model), o.precision, o.context_length, o.gpu_gib_for_feasible(gpu_gib), o.kv_precision
            )
        )
        off_gpu = o.embeddings_bytes_in_ram
        need["weights"], need["total"] = need["weights"] - off_gpu, need["total"] - off_gpu
        needs.append(need)
    return needs


def recommend(options: Sequence[Option], needs: Sequence[dict[str, Any]], model: str) -> Option:
    """Among ``model``'s options that fit (``needs``: :func:`judge`'s answers), the one whose format loses the least
    perplexity in llama.cpp's table, then the one with the most memory left; options without a figure come last."""
    fitting = [(o, n) for o, n in zip(options, needs, strict=True) if o.model == model and n["fits"]]
    if not fitting:
        raise ValueError(f"No option of {model} fits: nothing to recommend.")
    unknown = float("inf")
    return min(
        fitting,
        key=lambda pair: (
            pair[0].perplexity_increase if pair[0].perplexity_increase is not None else unknown,
            pair[1]["total"],
        ),
    )[0]


def longest_context(feasible: FeasibleFn, model: str, precision: str, gpu_gib: float, kv_precision: str) -> int:
    """The longest context (in tokens) that still fits, from ``feasible``'s answers at 0 and 1 token: the memory
    left beside the weights and headroom, divided by the cache one token adds (0 when nothing is left)."""
    config = load_config(model)
    empty = feasible(config, precision, 0, gpu_gib, kv_precision)
    per_token = feasible(config, precision, 1, gpu_gib, kv_precision)["kv_cache"]
    left = gpu_gib * GIB - empty["total"]
    return max(0, int(left // per_token))


def plot_options(options: Sequence[Option], needs: Sequence[dict[str, Any]], gpu_gib: float, ax=None):
    """Stacked bars for each option (weights, KV cache, headroom, from ``feasible``'s answers) against the GPU."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(9, 0.45 * len(options) + 1.6))[1]
    labels = [o.label for o in options]
    weights = [n["weights"] / GIB for n in needs]
    kv = [n["kv_cache"] / GIB for n in needs]
    headroom = [(n["total"] - n["weights"] - n["kv_cache"]) / GIB for n in needs]
    ax.barh(labels, weights, color="#4c72b0", label=say("slm.options_weights"))
    ax.barh(labels, kv, left=weights, color="#dd8452", label=say("slm.options_kv"))
    ax.barh(
        labels,
        headroom,
        left=[w + k for w, k in zip(weights, kv, strict=True)],
        color="#bbbbbb",
        label=say("slm.options_headroom"),
    )
    ax.axvline(gpu_gib, color="black", linestyle="--", label=say("slm.options_gpu", gib=gpu_gib))
    for y, need in enumerate(needs):
        ax.text(
            need["total"] / GIB,
            y,
            "  " + say("slm.options_fits" if need["fits"] else "slm.options_too_big"),
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, max(max(n["total"] for n in needs) / GIB, gpu_gib) * 1.15)
    ax.invert_yaxis()
    ax.set_xlabel("GiB")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax
