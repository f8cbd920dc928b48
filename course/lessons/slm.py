"""Lesson 02: what a small language model costs in memory, time and tokens, on a laptop.

Sizes and memory come from the real configs in ``course.models``; speed is
measured on tiny models built from the real classes; token counts come from
the real Mistral tokenizers on the course's own passage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from course.models.configs import MODEL_NAMES, model_card
from course.models.memory import BYTES_PER_PARAM, GIB, kv_cache_bytes, weight_bytes
from course.models.params import count_parameters
from course.text.tokenizers import count_tokens

PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "int8", "int4")

#: The challenge's laptop: a small GPU with 8 GiB of memory and 256 GB/s of bandwidth
#: (the class of an RTX 4060 Laptop GPU: 128-bit GDDR6 at 16 Gbit/s per pin).
LAPTOP_GPU_GIB = 8.0
LAPTOP_GPU_BANDWIDTH_GBS = 256.0
#: Memory the runtime needs besides weights and KV cache (CUDA context, activations, buffers): an assumption.
RUNTIME_HEADROOM_GIB = 1.0
#: Context the translation tool must handle: a long document plus its translation.
CHALLENGE_CONTEXT = 4096

#: The tokenizer each model was trained with, where ``mistral-common`` ships it offline.
MODEL_TOKENIZER: dict[str, str] = {
    "mistral-7b": "mistral-7b-v0.3",
    "mixtral-8x7b": "mistral-7b-v0.1",
    "mistral-nemo-12b": "tekken",
    "mistral-small": "tekken",
}

#: Mistral's published claim (Mistral NeMo announcement, https://mistral.ai/news/mistral-nemo/, July 2024):
#: Tekken is "~30% more efficient at compressing source code, Chinese, Italian, French, German, Spanish,
#: and Russian. It is also 2x and 3x more efficient at compressing Korean and Arabic, respectively",
#: compared with the SentencePiece tokenizer of previous Mistral models.
TEKKEN_CLAIM: dict[str, float] = {
    "source code": 1.3, "Chinese": 1.3, "Italian": 1.3, "French": 1.3, "German": 1.3,
    "Spanish": 1.3, "Russian": 1.3, "Korean": 2.0, "Arabic": 3.0,
}


# --- sizes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSize:
    """A model's computed size next to the size its publisher states."""

    name: str
    display_name: str
    total: int
    active: int
    published_total: float
    published_active: float | None

    @property
    def relative_error(self) -> float:
        """(computed - published) / published, for the total."""
        return self.total / self.published_total - 1


def size_table(names: Iterable[str] = MODEL_NAMES) -> list[ModelSize]:
    """Computed and published parameter counts of the course's real models."""
    rows = []
    for name in names:
        card, count = model_card(name), count_parameters(name)
        published = card.published_total, card.published_active
        rows.append(ModelSize(name, card.display_name, count.total, count.active, *published))
    return rows


def plot_sizes(rows: Sequence[ModelSize], ax=None):
    """Horizontal bars: total parameters, and the active ones for Mixture-of-Experts models."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 4))[1]
    labels = [row.name for row in rows]
    ax.barh(labels, [row.total / 1e9 for row in rows], color="#9ecae1", label="total parameters")
    ax.barh(labels, [row.active / 1e9 for row in rows], color="#3182bd", height=0.4, label="active per token")
    ax.set_xlabel("billions of parameters (computed from the config)")
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return ax


def plot_breakdown(names: Sequence[str], ax=None):
    """Stacked bars: where each model's parameters live (embeddings, attention, MLP or experts, ...)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(8, 4))[1]
    counts = {name: count_parameters(name) for name in names}
    parts = sorted({part for count in counts.values() for part in count.by_part}, key=lambda p: -sum(
        count.by_part.get(p, 0) for count in counts.values()))
    left = [0.0] * len(names)
    for part in parts:
        share = [counts[name].by_part.get(part, 0) / counts[name].total * 100 for name in names]
        ax.barh(list(names), share, left=left, label=part)
        left = [a + b for a, b in zip(left, share, strict=True)]
    ax.set_xlabel("share of the model's parameters (%)")
    ax.invert_yaxis()
    ax.legend(bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=8)
    return ax


# --- memory --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryNeed:
    """Bytes to run a model for inference: weights, KV cache, and the runtime's headroom."""

    weights: int
    kv_cache: int
    headroom: int

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.headroom


def memory_need(
    name: str, precision: str, context_length: int, batch: int = 1, headroom_gib: float = RUNTIME_HEADROOM_GIB
) -> MemoryNeed:
    """Weights at ``precision``, a bf16 KV cache for ``batch`` x ``context_length`` tokens, and headroom."""
    return MemoryNeed(
        weights=weight_bytes(count_parameters(name).total, precision),
        kv_cache=kv_cache_bytes(name, context_length, batch, "bf16"),
        headroom=int(headroom_gib * GIB),
    )


def fits(name: str, precision: str, memory_gib: float, context_length: int, batch: int = 1) -> bool:
    """Whether weights, KV cache and headroom fit in ``memory_gib`` GiB."""
    return memory_need(name, precision, context_length, batch).total <= memory_gib * GIB


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
        fitting = [f"{name} at {precision}" for name in names for precision in PRECISIONS
                   if fits(name, precision, memory_gib, context_length, batch)]
        print("Fits:", ", ".join(fitting) if fitting else "nothing")

    return widgets.interactive(
        show,
        memory_gib=widgets.FloatSlider(value=LAPTOP_GPU_GIB, min=2, max=48, step=1, description="GPU GiB"),
        context_length=widgets.SelectionSlider(options=[512, 2048, 4096, 8192, 32768, 131072], value=4096,
                                               description="context"),
        batch=widgets.IntSlider(value=1, min=1, max=16, description="batch"),
    )


# --- speed ---------------------------------------------------------------------------------------

#: Sizes of the tiny models timed in the lesson: hidden size, layers, MLP width.
SPEED_SIZES: dict[str, tuple[int, int, int]] = {
    "small": (128, 2, 384),
    "medium": (256, 4, 768),
    "large": (384, 6, 1024),
}
SPEED_HEADS = 8


def speed_model(name: str, size: str):
    """A tiny ``name`` model (real class, real GQA ratio) of one of the ``SPEED_SIZES``."""
    from course.models.configs import load_config
    from course.models.tiny import build_tiny, tiny_config_dict

    hidden, layers, intermediate = SPEED_SIZES[size]
    real = load_config(name)
    ratio = real["num_attention_heads"] // (real.get("num_key_value_heads") or real["num_attention_heads"])
    overrides: dict[str, Any] = dict(
        hidden_size=hidden, num_hidden_layers=layers, intermediate_size=intermediate,
        num_attention_heads=SPEED_HEADS, num_key_value_heads=max(1, SPEED_HEADS // ratio),
    )
    if "head_dim" in tiny_config_dict(name):
        overrides["head_dim"] = hidden // SPEED_HEADS
    return build_tiny(name, **overrides)


@dataclass(frozen=True)
class SpeedResult:
    """Measured speed of one tiny model."""

    name: str
    size: str
    params: int
    prefill_tokens_per_s: float
    decode_tokens_per_s: float


def measure_speed(
    names: Sequence[str] = ("phi-3.5-mini", "mistral-7b"),
    sizes: Sequence[str] = tuple(SPEED_SIZES),
    prompt_tokens: int = 32,
    new_tokens: int = 8,
    repeats: int = 2,
) -> list[SpeedResult]:
    """Time prompt processing (one forward pass over the prompt) and generation (greedy, with KV cache)."""
    import torch
    from tqdm.auto import tqdm

    from course.runtime import device
    from course.timing import measure

    results = []
    for name, size in tqdm([(n, s) for n in names for s in sizes], desc="timing tiny models"):
        model = speed_model(name, size)
        vocab = model.config.vocab_size
        prompt = torch.randint(3, vocab, (1, prompt_tokens), generator=torch.Generator().manual_seed(0))
        prompt = prompt.to(device())
        short = prompt[:, :4]

        def prefill(model=model, prompt=prompt):
            with torch.inference_mode():
                model(prompt)

        def generate(model=model, short=short):
            with torch.inference_mode():
                model.generate(short, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                               pad_token_id=0)

        prefill_time = measure(prefill, repeats=repeats, warmup=1).median
        generate_time = measure(generate, repeats=repeats, warmup=1).median
        params = sum(p.numel() for p in model.parameters())
        speeds = prompt_tokens / prefill_time, new_tokens / generate_time
        results.append(SpeedResult(name, size, params, *speeds))
    return results


def plot_speed(results: Sequence[SpeedResult]):
    """Two panels: prompt processing and generation speed against model size, one line per architecture."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for name in dict.fromkeys(r.name for r in results):
        rows = [r for r in results if r.name == name]
        label, millions = model_card(name).architecture, [r.params / 1e6 for r in rows]
        axes[0].plot(millions, [r.prefill_tokens_per_s for r in rows], "o-", label=label)
        axes[1].plot(millions, [r.decode_tokens_per_s for r in rows], "o-", label=label)
    for ax, title in zip(axes, ["prompt processing (prefill)", "generation (decode)"], strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("parameters (millions)")
        ax.set_ylabel("tokens per second")
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def decode_tokens_per_second_bound(n_params: int, precision: str, bandwidth_gb_s: float) -> float:
    """Upper bound on generation speed when every token must read every weight once from memory."""
    if bandwidth_gb_s <= 0:
        raise ValueError("bandwidth_gb_s must be positive (GB/s).")
    return bandwidth_gb_s * 1e9 / weight_bytes(n_params, precision)


def measure_copy_bandwidth(megabytes: int = 128, repeats: int = 3) -> float:
    """This machine's memory bandwidth in GB/s, from copying a ``megabytes`` MB tensor (read + write)."""
    import torch

    from course.runtime import device
    from course.timing import measure

    source = torch.empty(megabytes * 1_000_000 // 4, dtype=torch.float32, device=device())
    target = torch.empty_like(source)

    def copy() -> None:
        target.copy_(source)
        if source.is_cuda:
            torch.cuda.synchronize()

    seconds = measure(copy, repeats=repeats, warmup=1).median
    return 2 * source.numel() * 4 / seconds / 1e9


# --- tokens --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenCount:
    """How one tokenizer cuts one text."""

    lang: str
    tokenizer: str
    characters: int
    tokens: int

    @property
    def chars_per_token(self) -> float:
        return self.characters / self.tokens

    def cost(self, dollars_per_million: float) -> float:
        """Dollars to process these tokens at a rate per million tokens."""
        return self.tokens * dollars_per_million / 1_000_000


def token_counts(texts: dict[str, str], tokenizers: Sequence[str]) -> list[TokenCount]:
    """Token counts of each text (by language) under each tokenizer."""
    return [
        TokenCount(lang, name, len(text), count_tokens(text, name))
        for lang, text in texts.items()
        for name in tokenizers
    ]


def lookup(counts: Sequence[TokenCount], lang: str, tokenizer: str) -> TokenCount:
    """The count for one language and tokenizer."""
    for count in counts:
        if count.lang == lang and count.tokenizer == tokenizer:
            return count
    raise KeyError(f"No count for language {lang!r} with tokenizer {tokenizer!r}.")


def plot_tokens(counts: Sequence[TokenCount], languages: dict[str, str]):
    """Two panels: tokens for the same passage per language, and characters per token."""
    import matplotlib.pyplot as plt
    import numpy as np

    tokenizers = list(dict.fromkeys(c.tokenizer for c in counts))
    langs = list(dict.fromkeys(c.lang for c in counts))
    x = np.arange(len(langs))
    width = 0.8 / len(tokenizers)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, name in enumerate(tokenizers):
        offset = x + (i - (len(tokenizers) - 1) / 2) * width
        axes[0].bar(offset, [lookup(counts, lang, name).tokens for lang in langs], width, label=name)
        axes[1].bar(offset, [lookup(counts, lang, name).chars_per_token for lang in langs], width, label=name)
    ylabels = ["tokens for the passage", "characters per token (higher is cheaper)"]
    for ax, ylabel in zip(axes, ylabels, strict=True):
        ax.set_xticks(x, [languages[lang] for lang in langs])
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("The same passage, three languages, real Mistral tokenizers")
    fig.tight_layout()
    return fig


# --- challenge -----------------------------------------------------------------------------------


def deployment_problems(
    choice: dict[str, str],
    texts: dict[str, str],
    memory_gib: float = LAPTOP_GPU_GIB,
    context_length: int = CHALLENGE_CONTEXT,
) -> list[str]:
    """Why a {model, tokenizer, precision} choice would fail the laptop translation tool (empty: it works).

    The choice must fit the GPU (weights, KV cache, headroom), use the model's own tokenizer, and that
    tokenizer must need the fewest tokens, among the tokenizers available offline, for every non-English
    language in ``texts``.
    """
    missing = {"model", "tokenizer", "precision"} - set(choice)
    if missing:
        return [f"the choice needs the keys {sorted(missing)}"]
    model, tokenizer, precision = choice["model"], choice["tokenizer"], choice["precision"]
    if model not in MODEL_TOKENIZER:
        return [f"{model!r} has no tokenizer that ships offline; choose one of {sorted(MODEL_TOKENIZER)}"]
    if precision not in BYTES_PER_PARAM:
        return [f"unknown precision {precision!r}; choose one of {list(BYTES_PER_PARAM)}"]
    problems = []
    if tokenizer != MODEL_TOKENIZER[model]:
        problems.append(f"{model} was trained with the {MODEL_TOKENIZER[model]} tokenizer, not {tokenizer}")
    need = memory_need(model, precision, context_length)
    if need.total > memory_gib * GIB:
        needed = need.total / GIB
        problems.append(f"{model} at {precision} needs {needed:.1f} GiB; the GPU has {memory_gib:g} GiB")
    candidates = sorted(set(MODEL_TOKENIZER.values()))
    for lang, text in texts.items():
        if lang == "en":
            continue
        tokens = {name: count_tokens(text, name) for name in candidates}
        mine, best = MODEL_TOKENIZER[model], min(tokens, key=tokens.get)
        if tokens[mine] > tokens[best]:
            problems.append(f"for {lang}, {mine} needs {tokens[mine]} tokens; {best} needs {tokens[best]}")
    return problems
