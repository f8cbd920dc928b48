"""Lesson 02 §3 (Speed against size, measured): prefill and decode speed of tiny models built from the
real classes, and this machine's memory bandwidth (the bound itself is ``course.models.bandwidth``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from course.models.configs import model_card

#: The challenge's laptop GPU (8 GiB, ``fit.LAPTOP_GPU_GIB``) has 256 GB/s of memory bandwidth
#: (the class of an RTX 4060 Laptop GPU: 128-bit GDDR6 at 16 Gbit/s per pin).
LAPTOP_GPU_BANDWIDTH_GBS = 256.0

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
        hidden_size=hidden,
        num_hidden_layers=layers,
        intermediate_size=intermediate,
        num_attention_heads=SPEED_HEADS,
        num_key_value_heads=max(1, SPEED_HEADS // ratio),
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
                model.generate(
                    short, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False, pad_token_id=0
                )

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
