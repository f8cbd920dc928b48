"""Ways to prompt, measured on the held-out set: accuracy, tokens per request, and what 1,000 requests cost.

Lesson 01 §3 (zero-shot, 3C, few-shot, and how often a few-shot prompt shows the answer), §4 (RAG and similar
examples) and §5 (the quality and cost table); the capstone (lesson 07) measures its own pipelines the same way.

Quality is measured on the course's tiny model (``course.lessons.prompting.model``); tokens are counted with a
real tokenizer (Tekken, Mistral NeMo's), since that is what a hosted model would bill for the same prompt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from course.languages import say
from course.lessons.prompting import prompts
from course.lessons.prompting.helpdesk import Company, Document, Prompted, Request, held_out_requests, solved_examples

BILLED_TOKENIZER = "tekken"


@dataclass(frozen=True)
class Measured:
    """One strategy on the held-out set: which requests it got right, and its mean tokens per request."""

    strategy: str
    kinds: tuple[str, ...]
    correct: tuple[bool, ...]
    input_tokens: float
    output_tokens: float

    def accuracy(self, kind: str | None = None) -> float:
        """Share right, over every request or over the requests of one ``kind`` (``route`` or ``answer``)."""
        picked = [ok for k, ok in zip(self.kinds, self.correct, strict=True) if kind in (None, k)]
        if not picked:
            raise ValueError(f"No request of kind {kind!r} was measured.")
        return sum(picked) / len(picked)


def lesson_strategies(
    company: Company,
    retrieve: Callable[[str, int], list[Document]],
    similar: Callable[[Request, int], list[Request]],
    shots: Sequence[int] = (1, 2, 4, 8),
    similar_k: int = 2,
    rag_k: int = 1,
) -> dict[str, list[Prompted]]:
    """Every held-out request of ``company``, prompted each way the lesson compares: zero-shot, 3C, few-shot with
    ``k`` random solved examples, few-shot with the ``similar_k`` most similar ones (``similar``), and RAG with
    the ``rag_k`` best notes (``retrieve``)."""
    requests, pool = held_out_requests(company), solved_examples(company)
    grid = {
        "zero-shot": [prompts.zero_shot(r) for r in requests],
        "3C": [prompts.three_c(r, company) for r in requests],
    }
    for k in shots:
        grid[f"few-shot, {k} random"] = [prompts.few_shot(r, pool, k) for r in requests]
    grid[f"few-shot, {similar_k} similar"] = [prompts.with_examples(r, similar(r, similar_k)) for r in requests]
    grid[f"RAG, top {rag_k}"] = [prompts.rag(r, retrieve(r.text, rag_k)) for r in requests]
    return grid


_LABELS = {
    re.compile(r"few-shot, (\d+) random"): "prompting.few_shot_random",
    re.compile(r"few-shot, (\d+) similar"): "prompting.few_shot_similar",
    re.compile(r"RAG, top (\d+)"): "prompting.rag_top",
}


def strategy_label(strategy: str) -> str:
    """A strategy's name (a key of :func:`lesson_strategies`, always English) as the reader's language shows it."""
    if strategy == "zero-shot":
        return say("prompting.zero_shot")
    if strategy == "all notes":
        return say("prompting.all_notes")
    for pattern, key in _LABELS.items():
        match = pattern.fullmatch(strategy)
        if match:
            return say(key, k=int(match.group(1)))
    return strategy


def measure(model, tokenizer, strategies: dict[str, Sequence[Prompted]]) -> list[Measured]:
    """Each strategy's answers from ``model`` (scored, see ``model.choose``) and its billed tokens, with a
    progress bar."""
    from tqdm.auto import tqdm

    from course.lessons.prompting.model import choose
    from course.text.tokenizers import count_tokens

    results = []
    for name, prompted in tqdm(strategies.items(), desc=say("prompting.measuring_strategies")):
        answers = choose(model, tokenizer, prompted)
        texts = [prompts.render(p) for p in prompted]
        results.append(
            Measured(
                strategy=name,
                kinds=tuple(p.request.kind for p in prompted),
                correct=tuple(a == p.request.answer for a, p in zip(answers, prompted, strict=True)),
                input_tokens=sum(count_tokens(t, BILLED_TOKENIZER) for t in texts) / len(texts),
                output_tokens=sum(count_tokens(p.request.answer, BILLED_TOKENIZER) for p in prompted) / len(texts),
            )
        )
    return results


def cheapest_meeting(
    results: Sequence[Measured], dollars: dict[str, float], bar: float, kind: str | None = None
) -> str | None:
    """The decision rule of lesson 01 §5: of the strategies whose accuracy reaches ``bar`` (on the requests of
    ``kind``; with ``None``, on every kind measured, the lowest counting), the one with the fewest ``dollars``;
    ``None`` when no strategy is good enough. §6 applies it again to tickets at the small model's rates, to find
    what fine-tuning must beat on the same model."""

    def good_enough(r: Measured) -> bool:
        kinds = [kind] if kind else sorted(set(r.kinds))
        return min(r.accuracy(k) for k in kinds) >= bar

    good = [r.strategy for r in results if good_enough(r)]
    return min(good, key=lambda name: dollars[name]) if good else None


@dataclass(frozen=True)
class AnswerShown:
    """How many prompts of one kind show their own answer in a solved example, and how many of those the model
    got right: whether a strategy *carries* a fact is a count, and whether the model uses it is another."""

    requests: int
    showing: int
    right: int


def shows_the_answer(prompted: Prompted) -> bool:
    """Whether one of the prompt's solved examples comes from the same note as its request (the same policy for
    a question, the same team for a ticket), so that the request's answer is already in the prompt."""
    return any(e.source == prompted.request.source for e in prompted.examples)


def answer_shown(prompted: Sequence[Prompted], measured: Measured, kind: str = "answer") -> AnswerShown:
    """For the requests of ``kind`` (policy questions by default): how many prompts show the answer in a solved
    example (:func:`shows_the_answer`), and how many of those ``measured`` (the same prompts, measured) got
    right. Lesson 01 §3: few-shot examples can carry Quill's policies."""
    if len(prompted) != len(measured.correct):
        raise ValueError(f"{len(prompted)} prompts but {len(measured.correct)} measured answers: pass the same set.")
    picked = [(p, ok) for p, ok in zip(prompted, measured.correct, strict=True) if p.request.kind == kind]
    showing = [ok for p, ok in picked if shows_the_answer(p)]
    return AnswerShown(requests=len(picked), showing=len(showing), right=sum(showing))


def dollars_per_1000(
    prompted: Sequence[Prompted], cost: Callable[..., float], rates, render: Callable[[Prompted], str] = prompts.render
) -> float:
    """Mean cost of 1,000 requests over ``prompted``, each computed by ``cost(prompt, answer, tokenizer,
    input_rate, output_rate)`` (the lesson's Exercise 2) with the billed tokenizer and ``rates``, on the text
    ``render`` makes of each prompt (the course's layout; a chat model's messages: ``chat.billed_text``)."""
    if not prompted:
        raise ValueError("dollars_per_1000 needs at least one prompt.")
    total = sum(cost(render(p), p.request.answer, BILLED_TOKENIZER, rates.input, rates.output) for p in prompted)
    return total / len(prompted)


def markdown_table(results: Sequence[Measured], dollars: dict[str, float]) -> str:
    """The results as a Markdown table: accuracy on tickets and questions, tokens and dollars per 1,000."""
    columns = ("col_strategy", "col_routing_accuracy", "col_policy_accuracy", "col_input_tokens", "dollars_per_1000")
    lines = [
        "| " + " | ".join(say(f"prompting.{c}") for c in columns) + " |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {strategy_label(r.strategy)} | {r.accuracy('route'):.0%} | {r.accuracy('answer'):.0%} "
            f"| {r.input_tokens:.0f} | ${dollars[r.strategy]:.3f} |"
        )
    return "\n".join(lines)


def plot_tradeoff(axes, results: Sequence[Measured], dollars: dict[str, float]) -> None:
    """Accuracy against dollars per 1,000 requests, tickets on ``axes[0]`` and questions on ``axes[1]``."""
    titles = (say("prompting.routing_tickets"), say("prompting.policy_questions"))
    for ax, kind, title in zip(axes, ("route", "answer"), titles, strict=True):
        for r in results:
            ax.scatter(dollars[r.strategy], r.accuracy(kind), s=30)
            ax.annotate(strategy_label(r.strategy), (dollars[r.strategy], r.accuracy(kind)), xytext=(4, 3),
                        textcoords="offset points", fontsize=7)  # fmt: skip
        ax.set_xlabel(say("prompting.dollars_per_1000"))
        ax.set_ylabel(say("prompting.accuracy_held_out"))
        ax.set_ylim(-0.05, 1.1)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
