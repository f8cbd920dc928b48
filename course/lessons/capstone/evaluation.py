"""The capstone's side-by-side measurement: quality, tokens, latency and money for every pipeline.

Lesson 07 §2-5. Scoring one answer, exactly and softly, is the lesson's Exercise 1 (``score_answer``), so
:func:`measure` takes the scoring function; the break-even volume between two pipelines is Exercise 3
(``break_even``), so the plot takes the volumes the student's function computed.

Tokens are billed with a real tokenizer (Tekken, Mistral NeMo's), as in lesson 01. Every price here is an
*example* the student sets in the lesson (:class:`Prices`), not a quote from any provider.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from course.languages import say
from course.lessons.capstone.pipelines import Answers, stopped
from course.lessons.prompting.costs import Rates
from course.lessons.prompting.helpdesk import Prompted

BILLED_TOKENIZER = "tekken"

#: ``score(prediction, answer) -> (exact, f1)`` (the lesson's Exercise 1).
Scorer = Callable[[str, str], tuple[bool, float]]

#: The lesson's pipelines by the English names its code uses, and the text key of the name a reader sees.
PIPELINE_LABELS = {
    "zero-shot": "pipeline_zero_shot",
    "few-shot, 4": "pipeline_few_shot",
    "fine-tuned": "pipeline_fine_tuned",
    "fine-tuned + RAG": "pipeline_fine_tuned_rag",
    "RAG (notes edited)": "pipeline_rag_edited",
    "fine-tuned (not retrained)": "pipeline_fine_tuned_stale",
    "fine-tuned + RAG (notes edited)": "pipeline_fine_tuned_rag_edited",
    "fine-tuned again": "pipeline_fine_tuned_again",
}


def label(name: str) -> str:
    """A pipeline's name in the reader's language (names such as ``RAG`` and ``3C`` read the same in all)."""
    key = PIPELINE_LABELS.get(name)
    return say(f"capstone.{key}") if key else name


@dataclass(frozen=True)
class Measured:
    """One pipeline on the held-out requests: its mean scores (raw output, and cut at the stop sequence), mean
    billed tokens per request (output tokens after the stop sequence) and median seconds per request."""

    pipeline: str
    exact_raw: float
    soft_raw: float
    exact: float
    input_tokens: float
    output_tokens: float
    seconds: float
    correct: tuple[bool, ...]  # exact after the stop sequence, request by request


def measure(name: str, prompted: Sequence[Prompted], answers: Answers, score: Scorer) -> Measured:
    """Score ``answers`` (what a pipeline generated for ``prompted``) with ``score``, and count their tokens."""
    import statistics

    from course.lessons.prompting.prompts import render
    from course.text.tokenizers import count_tokens

    if not prompted or len(prompted) != len(answers.texts):
        raise ValueError("measure needs one answer per prompt, and at least one prompt.")
    raw = [score(text, p.request.answer) for text, p in zip(answers.texts, prompted, strict=True)]
    cut = [score(stopped(text), p.request.answer) for text, p in zip(answers.texts, prompted, strict=True)]
    n = len(prompted)
    return Measured(
        pipeline=name,
        exact_raw=sum(bool(exact) for exact, _ in raw) / n,
        soft_raw=sum(float(f1) for _, f1 in raw) / n,
        exact=sum(bool(exact) for exact, _ in cut) / n,
        input_tokens=sum(count_tokens(render(p), BILLED_TOKENIZER) for p in prompted) / n,
        output_tokens=sum(count_tokens(stopped(t), BILLED_TOKENIZER) for t in answers.texts) / n,
        seconds=statistics.median(answers.seconds),
        correct=tuple(bool(exact) for exact, _ in cut),
    )


@dataclass(frozen=True)
class Prices:
    """What the student assumes: per-token ``rates`` of the hosted base model, the factor by which a provider
    bills a fine-tuned model above it, the price of preparing one question-answer pair, and of an hour of the
    machine that trains."""

    rates: Rates
    tuned_rate_factor: float = 2.0
    dollars_per_example: float = 0.5
    dollars_per_machine_hour: float = 3.0

    def __post_init__(self) -> None:
        if self.tuned_rate_factor <= 0 or self.dollars_per_example < 0 or self.dollars_per_machine_hour < 0:
            raise ValueError(say("capstone.error_prices"))

    def per_request(self, measured: Measured, tuned: bool) -> float:
        """Dollars per request: billed input and output tokens at the base model's rates, or the tuned ones."""
        rates = self.rates.scaled(self.tuned_rate_factor) if tuned else self.rates
        return (measured.input_tokens * rates.input + measured.output_tokens * rates.output) / 1_000_000

    def fine_tuning(self, examples: int, seconds: float) -> float:
        """The one-off dollars of a fine-tune: preparing ``examples`` pairs, and ``seconds`` of training."""
        return examples * self.dollars_per_example + seconds / 3600 * self.dollars_per_machine_hour


@dataclass(frozen=True)
class Costed:
    """A measured pipeline with its money: one-off dollars and dollars per request."""

    measured: Measured
    upfront: float
    per_request: float

    @property
    def name(self) -> str:
        return self.measured.pipeline


def markdown_table(rows: Sequence[Costed]) -> str:
    """Every pipeline side by side: quality (exact and soft on the raw output, exact after the stop sequence),
    tokens, latency and money."""
    columns = ["pipeline", "exact_raw", "soft_raw", "exact_stop", "input_tokens", "ms_per_request", "one_off"]
    header = [say(f"capstone.col_{column}") for column in columns + ["per_1000"]]
    lines = ["| " + " | ".join(header) + " |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        m = row.measured
        lines.append(
            f"| {label(m.pipeline)} | {m.exact_raw:.0%} | {m.soft_raw:.2f} | {m.exact:.0%} | {m.input_tokens:.0f} "
            f"| {m.seconds * 1000:.1f} | ${row.upfront:,.2f} | ${row.per_request * 1000:.3f} |"
        )
    return "\n".join(lines)


def plot_side_by_side(rows: Sequence[Costed], volumes: dict[tuple[str, str], int | None], horizon: int):
    """Two panels: exact match (with stop) against dollars per 1,000 requests, and each pipeline's total cost
    over ``horizon`` requests with the break-even ``volumes`` (from the student's ``break_even``) marked."""
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import StrMethodFormatter

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    for row in rows:
        left.scatter(row.per_request * 1000, row.measured.exact, s=30)
        left.annotate(label(row.name), (row.per_request * 1000, row.measured.exact), xytext=(4, 3),
                      textcoords="offset points", fontsize=7)  # fmt: skip
    left.set_xlabel(say("capstone.axis_dollars_per_1000"))
    left.set_ylabel(say("capstone.axis_exact_held_out"))
    left.set_ylim(-0.05, 1.1)
    left.grid(alpha=0.3)
    n = np.linspace(0, horizon, 200)
    for row in rows:
        right.plot(n, row.upfront + n * row.per_request, label=label(row.name))
    for (a, b), volume in volumes.items():
        if volume and volume <= horizon:
            right.axvline(volume, color="grey", linestyle=":", linewidth=0.8)
            pair = f"{label(a)} / {label(b)}"
            right.annotate(pair, (volume, 0), xytext=(3, 3), textcoords="offset points", fontsize=6, rotation=90)
    right.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    right.set_xlabel(say("capstone.axis_requests_served"))
    right.set_ylabel(say("capstone.axis_total_cost"))
    right.legend(fontsize=7)
    fig.tight_layout()
    return fig
