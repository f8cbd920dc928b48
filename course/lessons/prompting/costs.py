"""Cost = tokens x rate, and the volume at which fine-tuning pays for itself.

Lesson 01 §3 (Cost = tokens × rate) and §5 (When fine-tuning pays off). The cost of a request and the
break-even volume are the lesson's Exercises 2 and 4; the lesson computes them with the student's functions and
this module only holds the rates, the fine-tuning plan and the plot.

Rates are in dollars per million tokens, the unit providers bill in. The rates and
GPU figures here are *examples* for the lesson's sliders, not quotes from any provider.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

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


def cumulative_costs(
    requests: Sequence[float] | np.ndarray,
    upfront: float,
    prompting_per_request: float,
    tuned_per_request: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Total dollars spent after each number of ``requests``: (prompting path, fine-tuned path)."""
    n = np.asarray(requests, dtype=float)
    return n * prompting_per_request, upfront + n * tuned_per_request


def plot_break_even(
    ax, upfront: float, prompting_per_request: float, tuned_per_request: float, volume: int | None
) -> None:
    """Plot both cumulative costs on ``ax`` and mark the break-even ``volume`` (``None``: never), which the lesson
    computes with the student's ``break_even_volume`` (Exercise 4)."""
    from matplotlib.ticker import StrMethodFormatter

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
