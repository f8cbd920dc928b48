"""Cost = tokens x rate, what fine-tuning costs up front, and how a fine-tuned model is billed afterwards.

Lesson 01 §5 (the cost half of the decision) and §6 (When fine-tuning pays off). The cost of 1,000 requests and
the break-even volume are the lesson's Exercises 2 and 3: the lesson computes them with the student's functions,
and this module holds the rates, the one-off cost of fine-tuning, the billing of the tuned model and the plot.

Rates are in dollars per million tokens, the unit providers bill in. Every rate, GPU figure and price here is an
*example* for the lesson's parameters, not a quote from any provider.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PER_MILLION = 1_000_000
#: Training FLOPs per parameter per token for a forward and a backward pass (the usual 6·N·D estimate).
FLOPS_PER_PARAM_TOKEN = 6


@dataclass(frozen=True)
class Rates:
    """Dollars per million input and output tokens."""

    input: float
    output: float

    def __post_init__(self) -> None:
        if not (0 <= self.input < math.inf and 0 <= self.output < math.inf):
            raise ValueError(f"Rates must be finite and not negative (got input={self.input}, output={self.output}).")

    def scaled(self, factor: float) -> Rates:
        return Rates(self.input * factor, self.output * factor)


#: Example rates: illustrative, not quotes.
EXAMPLE_RATES = {
    "large general model": Rates(input=2.0, output=8.0),
    "small model": Rates(input=0.2, output=0.6),
}
#: Example sustained training throughput of one data-centre GPU (FLOP/s), its memory and an hourly price.
EXAMPLE_GPU_FLOPS = 4e14
EXAMPLE_GPU_MEMORY_BYTES = 80e9
EXAMPLE_GPU_HOUR_RATE = 3.0


@dataclass(frozen=True)
class FineTuningPlan:
    """The one-off cost of fine-tuning: compute for every trial run (6·N·D each), plus preparing the data."""

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
        """Hours of one GPU at ``gpu_flops``: an ideal lower bound (no idle time, no memory limit)."""
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


def full_fine_tuning_bytes(n_params: int) -> int:
    """Memory that full fine-tuning with AdamW in mixed precision needs before any activation: 16-bit weights
    and gradients, and an fp32 master copy and two fp32 moments per parameter (16 bytes per parameter, as in
    Rajbhandari et al., 2020, "ZeRO", §3.1). Lesson 05 breaks it down (``course.lessons.finetune.memory``)."""
    from course.lessons.finetune.memory import training_memory

    return training_memory(n_params, n_params, precision="bf16").total


@dataclass(frozen=True)
class TunedBilling:
    """How the fine-tuned model is paid for, request by request.

    ``per_token``: a provider hosts it and bills tokens, often at a higher rate than the same base model
    (``rates``). ``hosted``: you rent a dedicated machine by the hour, whatever the traffic, so a request costs
    ``dollars_per_hour * 24 / requests_per_day``.
    """

    kind: str
    rates: Rates | None = None
    dollars_per_hour: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("per_token", "hosted"):
            raise ValueError(f"Billing is 'per_token' or 'hosted', not {self.kind!r}.")
        if self.kind == "per_token" and self.rates is None:
            raise ValueError("Per-token billing needs its rates: TunedBilling('per_token', rates=Rates(...)).")
        if self.dollars_per_hour < 0:
            raise ValueError("An hourly price cannot be negative.")

    def per_request(self, cost_per_1000: float, requests_per_day: float) -> float:
        """Dollars per request: ``cost_per_1000`` (the student's cost of 1,000 requests at this billing's
        rates) for per-token billing, or the day's hosting shared by the day's requests."""
        if requests_per_day <= 0:
            raise ValueError("requests_per_day must be positive.")
        if self.kind == "per_token":
            return cost_per_1000 / 1000
        return self.dollars_per_hour * 24 / requests_per_day


def cumulative_costs(
    requests: Sequence[float] | np.ndarray, upfront: float, prompting_per_request: float, tuned_per_request: float
) -> tuple[np.ndarray, np.ndarray]:
    """Total dollars spent after each number of ``requests``: (prompting path, fine-tuned path)."""
    n = np.asarray(requests, dtype=float)
    return n * prompting_per_request, upfront + n * tuned_per_request


def plot_break_even(
    ax, upfront: float, prompting_per_request: float, tuned_per_request: float, volume: int | None, label: str = ""
) -> None:
    """Both cumulative costs on ``ax``, with the break-even ``volume`` marked (``None``: never), which the lesson
    computes with the student's ``break_even_volume`` (Exercise 3)."""
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    from course.languages import say

    horizon = 2 * volume if volume else 1_000_000
    n = np.linspace(0, horizon, 200)
    prompting, tuned = cumulative_costs(n, upfront, prompting_per_request, tuned_per_request)
    ax.plot(n, prompting, label=say("prompting.prompting"))
    ax.plot(n, tuned, label=say("prompting.fine_tuned"))
    if volume:
        ax.axvline(volume, color="grey", linestyle=":")
        marked = say("prompting.break_even_at", volume=volume)
        ax.annotate(marked, (volume, volume * prompting_per_request), xytext=(6, -14), textcoords="offset points")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))  # long tick labels such as 2,000,000 must not overlap
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel(say("prompting.requests_served"))
    ax.set_ylabel(say("prompting.cumulative_cost_dollars"))
    ax.set_title(label or say("prompting.cumulative_cost"), fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
