"""Lesson 02 §3 (Speed against size, measured): prefill and decode speed of tiny models built from the
real classes, and why decoding is bound by memory bandwidth: a matrix far larger than the caches multiplied by one
vector (decoding) and by many (a prompt), on a roofline (the bound itself is ``course.models.bandwidth``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from course.languages import say
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
    for name, size in tqdm([(n, s) for n in names for s in sizes], desc=say("slm.speed_timing")):
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
    for ax, title in zip(axes, [say("slm.speed_prefill"), say("slm.speed_decode")], strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(say("slm.speed_axis_params"))
        ax.set_ylabel(say("slm.speed_axis_tokens"))
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class ProductTiming:
    """One timed product of a large float32 weight matrix with ``columns`` input vectors (1: a matrix-vector
    product, what decoding one token does to every weight matrix; more: a matrix-matrix product, what a prompt's
    tokens do together)."""

    columns: int
    matrix_bytes: int
    seconds: float  # median

    @property
    def flops(self) -> float:
        """2 operations (a multiply and an add) per weight and column."""
        return 2 * self.matrix_bytes / 4 * self.columns

    @property
    def intensity(self) -> float:
        """Operations per byte of the matrix read (the matrix is read once per product)."""
        return self.flops / self.matrix_bytes

    @property
    def gflops(self) -> float:
        return self.flops / self.seconds / 1e9

    @property
    def weight_gb_s(self) -> float:
        """Bytes of the matrix used per second: the memory bandwidth when each weight is used once."""
        return self.matrix_bytes / self.seconds / 1e9


def measure_products(
    size: int = 8192, columns: Sequence[int] = (1, 128), repeats: int = 3, threads: int = 2
) -> list[ProductTiming]:
    """Time a ``size`` x ``size`` float32 matrix (8192: 268 MB, far larger than any CPU cache, so it streams from
    RAM every time) multiplied by ``columns`` vectors at once, on ``threads`` threads; the median of ``repeats``."""
    import torch
    from tqdm.auto import tqdm

    from course.runtime import device
    from course.timing import measure

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        weights = torch.full((size, size), 0.5, device=device())
        results = []
        for count in tqdm(columns, desc=say("slm.products_desc")):
            inputs = torch.full((count, size), 0.25, device=device())

            def product(inputs=inputs) -> None:
                torch.nn.functional.linear(inputs, weights)  # what a model's linear layer does
                if weights.is_cuda:
                    torch.cuda.synchronize()

            seconds = measure(product, repeats=repeats, warmup=1).median
            results.append(ProductTiming(count, weights.numel() * weights.element_size(), seconds))
        return results
    finally:
        torch.set_num_threads(previous)


def plot_roofline(timings: Sequence[ProductTiming], peak_gflops: float, decode_points: dict[str, float], ax=None):
    """The roofline of this machine: operations per second against operations per byte read, bounded by the
    measured bandwidth (the slope, from the matrix-vector product) and the peak GFLOP/s (flat); the measured products
    as points and, as vertical lines, the intensity of decoding real weights in a few formats (``decode_points``:
    label -> operations per byte)."""
    import matplotlib.pyplot as plt
    import numpy as np

    from course.models.bandwidth import attainable_gflops

    bandwidth = min(timings, key=lambda t: t.columns).weight_gb_s
    ax = ax or plt.subplots(figsize=(7.5, 4))[1]
    lowest = min([*[t.intensity for t in timings], *decode_points.values()]) / 2
    highest = max(t.intensity for t in timings) * 2
    x = np.geomspace(lowest, highest, 200)
    ax.plot(x, [attainable_gflops(i, peak_gflops, bandwidth) for i in x], color="black", label=say("slm.roofline"))
    for timing in timings:
        label = (
            say("slm.roofline_vector") if timing.columns == 1 else say("slm.roofline_matrix", columns=timing.columns)
        )
        ax.plot(timing.intensity, timing.gflops, "o", markersize=8, label=label)
    for label, intensity in decode_points.items():
        ax.axvline(intensity, linestyle=":", color="grey")
        ax.text(intensity, peak_gflops * 1.15, label, rotation=90, fontsize=7, va="bottom", ha="right")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(top=peak_gflops * 8)
    ax.set_xlabel(say("slm.roofline_axis_intensity"))
    ax.set_ylabel("GFLOP/s")
    ax.set_title(say("slm.roofline_title", bandwidth=bandwidth, peak=peak_gflops), fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower right")
    return ax
