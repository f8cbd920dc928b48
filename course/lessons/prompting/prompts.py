"""The 3Cs of a prompt (clarity, context, constraints) and the lesson's prompting task.

Lesson 01 §2 (Step one, done well: the 3Cs), then §3-5.

``build_prompt`` is the reference 3C prompt builder: the instruction gives clarity,
an optional context paragraph gives context, and bullet points give constraints;
solved examples make it a few-shot prompt. The task is routing the support tickets
of a fictional app (``data/support-tickets.json``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Example:
    """One solved case: an input text and the label it should get."""

    text: str
    label: str


@dataclass(frozen=True)
class Task:
    """A prompting task written with the 3Cs, with solved examples and incoming cases."""

    instruction: str
    context: str
    constraints: tuple[str, ...]
    labels: tuple[str, ...]
    examples: tuple[Example, ...]
    incoming: tuple[Example, ...]


def build_prompt(
    instruction: str,
    query: str,
    context: str = "",
    constraints: Sequence[str] = (),
    examples: Sequence[Example] = (),
) -> str:
    """A 3C prompt: instruction, ``Context:``, ``Constraints:`` bullets, examples, then the query.

    Sections are separated by a blank line; an empty context or an empty list of
    constraints or examples leaves its section out. Surrounding whitespace is stripped.
    """
    instruction, query, context = instruction.strip(), query.strip(), context.strip()
    if not instruction:
        raise ValueError("The instruction is empty: state the task clearly (the first C, clarity).")
    if not query:
        raise ValueError("The query is empty: give the input the model should work on.")
    rules = [c.strip() for c in constraints]
    if any(not rule for rule in rules):
        raise ValueError("A constraint is empty: remove it or write the rule out.")
    sections = [instruction]
    if context:
        sections.append(f"Context: {context}")
    if rules:
        sections.append("Constraints:\n" + "\n".join(f"- {rule}" for rule in rules))
    sections += [f"Input: {e.text.strip()}\nOutput: {e.label.strip()}" for e in examples]
    sections.append(f"Input: {query}\nOutput:")
    return "\n\n".join(sections)


@cache
def support_task() -> Task:
    """The lesson's task: route a ticket of the note-taking app Quill to one of four queues."""
    source = resources.files("course.lessons.prompting") / "data" / "support-tickets.json"
    raw = json.loads(source.read_text(encoding="utf-8"))
    return Task(
        instruction=raw["instruction"],
        context=raw["context"],
        constraints=tuple(raw["constraints"]),
        labels=tuple(raw["labels"]),
        examples=tuple(Example(**e) for e in raw["examples"]),
        incoming=tuple(Example(**e) for e in raw["incoming"]),
    )


def few_shot_prompt(task: Task, query: str, shots: int) -> str:
    """The full 3C prompt with the first ``shots`` solved examples (0 gives a zero-shot prompt)."""
    if not 0 <= shots <= len(task.examples):
        raise ValueError(f"shots must be between 0 and {len(task.examples)}, got {shots}.")
    return build_prompt(task.instruction, query, task.context, task.constraints, task.examples[:shots])


def tuned_prompt(query: str) -> str:
    """What a model fine-tuned on the task needs: the input alone, since the rules live in its weights."""
    return build_prompt("Route this support ticket.", query)
