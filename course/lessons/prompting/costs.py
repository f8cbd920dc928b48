"""Cost = tokens x rate, and the volume at which fine-tuning pays for itself.

Lesson 01 §3 (Cost = tokens × rate) and §5 (When fine-tuning pays off).

Rates are in dollars per million tokens, the unit providers bill in. The rates and
GPU figures here are *examples* for the lesson's sliders, not quotes from any provider.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from course.text.tokenizers import count_tokens

PER_MILLION = 1_000_000
#: Training FLOPs per parameter per token for a forward and backward pass (the usual 6·N·D rule).
FLOPS_PER_PARAM_TOKEN = 6


@dataclass(frozen=True)
class Rates:
    """Dollars per million input and output tokens."""

    input: float
    output: float

    def __post_init__(self) -> None:
        if self.input < 0 or self.output < 0:
            raise ValueError(f"Rates cannot be negative (got input={self.input}, output={self.output}).")


#: Example rates for the sliders' starting positions: illustrative, not quotes.
EXAMPLE_RATES = {
    "large general model": Rates(input=2.0, output=8.0),
    "small fine-tuned model": Rates(input=0.2, output=0.6),
}
#: Example sustained training throughput of one data-centre GPU (FLOP/s), and an example hourly price.
EXAMPLE_GPU_FLOPS = 4e14
EXAMPLE_GPU_HOUR_RATE = 3.0


def request_cost(input_tokens: int, output_tokens: int, rates: Rates) -> float:
    """Dollars for one request: input and output tokens, each times its rate."""
    if input_tokens < 0 or output_tokens < 0:
        raise ValueError("Token counts cannot be negative.")
    return (input_tokens * rates.input + output_tokens * rates.output) / PER_MILLION


def cost_per_1000(prompt: str, answer: str, tokenizer: str, rates: Rates) -> float:
    """Dollars for 1,000 requests that send ``prompt`` and get ``answer`` back, counted with ``tokenizer``."""
    return 1000 * request_cost(count_tokens(prompt, tokenizer), count_tokens(answer, tokenizer), rates)


@dataclass(frozen=True)
class FineTuningPlan:
    """The one-off cost of fine-tuning: compute for every trial run, plus preparing the data."""

    n_params: int
    examples: int
    tokens_per_example: float
    epochs: int = 3
    runs: int = 3
    gpu_flops: float = EXAMPLE_GPU_FLOPS
    gpu_hour_rate: float = EXAMPLE_GPU_HOUR_RATE
    cost_per_example: float = 0.5

    def __post_init__(self) -> None:
        sizes = ("n_params", "examples", "tokens_per_example", "epochs", "runs", "gpu_flops")
        bad = [name for name in sizes if getattr(self, name) <= 0]
        if bad:
            raise ValueError(f"A fine-tuning plan needs positive sizes; check {', '.join(bad)}.")
        if self.gpu_hour_rate < 0 or self.cost_per_example < 0:
            raise ValueError("Prices cannot be negative.")

    @property
    def training_tokens(self) -> float:
        return self.examples * self.tokens_per_example * self.epochs

    @property
    def training_flops(self) -> float:
        """6 x parameters x tokens, for every trial run (full fine-tuning)."""
        return FLOPS_PER_PARAM_TOKEN * self.n_params * self.training_tokens * self.runs

    @property
    def gpu_hours(self) -> float:
        return self.training_flops / self.gpu_flops / 3600

    @property
    def compute_cost(self) -> float:
        return self.gpu_hours * self.gpu_hour_rate

    @property
    def data_cost(self) -> float:
        return self.examples * self.cost_per_example

    @property
    def total(self) -> float:
        return self.compute_cost + self.data_cost


def break_even_requests(upfront: float, prompting_per_request: float, tuned_per_request: float) -> int | None:
    """Fewest requests after which fine-tuning (``upfront`` + tuned cost) is no dearer than prompting.

    ``None`` when the fine-tuned path saves nothing per request, so it never pays off.
    """
    if upfront < 0 or prompting_per_request < 0 or tuned_per_request < 0:
        raise ValueError("Costs cannot be negative.")
    saving = prompting_per_request - tuned_per_request
    if saving <= 0:
        return None
    # round away float noise (e.g. 0.3 - 0.2) before taking the ceiling
    return math.ceil(round(upfront / saving, 9))


def cumulative_costs(
    requests: Sequence[float] | np.ndarray,
    upfront: float,
    prompting_per_request: float,
    tuned_per_request: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Total dollars spent after each number of ``requests``: (prompting path, fine-tuned path)."""
    n = np.asarray(requests, dtype=float)
    return n * prompting_per_request, upfront + n * tuned_per_request


def plot_break_even(ax, upfront: float, prompting_per_request: float, tuned_per_request: float) -> int | None:
    """Plot both cumulative costs on ``ax`` and mark the break-even volume, which is returned."""
    from matplotlib.ticker import StrMethodFormatter

    volume = break_even_requests(upfront, prompting_per_request, tuned_per_request)
    horizon = 2 * volume if volume else 1_000_000
    n = np.linspace(0, horizon, 200)
    prompting, tuned = cumulative_costs(n, upfront, prompting_per_request, tuned_per_request)
    ax.plot(n, prompting, label="prompting (few-shot, large model)")
    ax.plot(n, tuned, label="fine-tuned (short prompt, small model)")
    if volume:
        ax.axvline(volume, color="grey", linestyle=":")
        ax.annotate(
            f"break-even: {volume:,} requests",
            (volume, volume * prompting_per_request),
            textcoords="offset points",
            xytext=(8, -14),
        )
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel("requests served")
    ax.set_ylabel("cumulative cost ($)")
    ax.legend(loc="upper left")
    return volume
