"""Prompts with the 3Cs (clarity, context, constraints), and the four ways lesson 01 prompts the course's model.

Lesson 01 §3 (four ways to prompt) and §5 (RAG); the capstone (lesson 07) builds its prompts here too.

Every prompt has one layout, the one the course's model was trained on (``course.lessons.prompting.model``)::

    <instruction>                         clarity: the task, in one sentence

    Context: <notes>                      context: what the model cannot know

    Constraints:                          constraints: what the answer may be
    - <constraint>

    Input: <a solved example>             few-shot: solved examples, if any
    Output: <its answer>

    Input: <the request>
    Output:

The strategies differ only in what they put in: **zero-shot** the instruction alone; **3C** the instruction, the
team notes as context and the constraint; **few-shot** the instruction, the constraint and ``k`` solved
examples; **RAG** the instruction, the notes a retriever found for this request, and the constraint.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence

from course.lessons.prompting.helpdesk import Company, Document, Prompted, Request

INPUT, OUTPUT = "Input:", "Output:"


def build_prompt(
    instruction: str,
    query: str,
    context: str = "",
    constraints: Sequence[str] = (),
    examples: Sequence[tuple[str, str]] = (),
) -> str:
    """A prompt in the course's layout: instruction, ``Context:``, ``Constraints:``, solved ``(input, output)``
    examples, then the query. Empty parts are left out."""
    if not instruction.strip() or not query.strip():
        raise ValueError("A prompt needs an instruction (what to do) and a query (what to do it on).")
    sections = [instruction.strip()]
    if context.strip():
        sections.append(f"Context: {context.strip()}")
    if constraints:
        sections.append("Constraints:\n" + "\n".join(f"- {rule.strip()}" for rule in constraints))
    sections += [f"{INPUT} {text.strip()}\n{OUTPUT} {answer.strip()}" for text, answer in examples]
    sections.append(f"{INPUT} {query.strip()}\n{OUTPUT}")
    return "\n\n".join(sections)


def format_context(documents: Sequence[Document]) -> str:
    """Notes as a prompt's context, one after the other."""
    return " ".join(d.text for d in documents)


def render(prompted: Prompted) -> str:
    """The prompt text of ``prompted`` (its answer not included)."""
    request = prompted.request
    return build_prompt(
        request.instruction,
        request.text,
        format_context(prompted.context),
        [request.constraint] if prompted.constraints else [],
        [(e.text, e.answer) for e in prompted.examples],
    )


def shared_start(prompted: Sequence[Prompted]) -> str:
    """The text that every prompt of ``prompted`` starts with, up to its last whole word: the part a provider's
    prompt cache could keep and bill again at its discounted rate (lesson 01 §6), since a cache matches a prompt's
    start exactly, token by token."""
    if not prompted:
        raise ValueError("shared_start needs at least one prompt.")
    texts = [render(p) for p in prompted]
    start = os.path.commonprefix(texts)
    if all(text == start for text in texts):
        return start
    return start[: max(start.rfind(" "), start.rfind("\n"), 0)]


# ---------------------------------------------------------------- the lesson's four strategies


def zero_shot(request: Request) -> Prompted:
    """The instruction and the request, nothing else."""
    return Prompted(request)


def three_c(request: Request, company: Company) -> Prompted:
    """Clarity, context (which team handles which topics) and constraints (the allowed answers)."""
    teams = tuple(d for d in company.documents() if d.id.startswith("team:"))
    return Prompted(request, context=teams, constraints=True)


def few_shot(request: Request, pool: Sequence[Request], k: int, seed: int = 0) -> Prompted:
    """The instruction, the constraint and ``k`` solved requests of the same kind drawn from ``pool`` (a seeded
    draw per request: the same request always gets the same examples)."""
    same_kind = [e for e in pool if e.kind == request.kind and e.text != request.text]
    if not 0 <= k <= len(same_kind):
        raise ValueError(f"k must be between 0 and {len(same_kind)} (the solved {request.kind} requests), got {k}.")
    rng = random.Random(f"{seed}:{request.text}")
    return Prompted(request, constraints=True, examples=tuple(rng.sample(same_kind, k)))


def with_examples(request: Request, examples: Sequence[Request]) -> Prompted:
    """The instruction, the constraint and the given solved ``examples`` (chosen by the caller, for example the
    ones most similar to the request)."""
    return Prompted(request, constraints=True, examples=tuple(examples))


def rag(request: Request, retrieved: Sequence[Document]) -> Prompted:
    """The instruction, the notes retrieved for this request as context, and the constraint."""
    return Prompted(request, context=tuple(retrieved), constraints=True)
