"""The 3Cs of a prompt (clarity, context, constraints) and the lesson's prompting task.

Lesson 01 §2 (Step one, done well: the 3Cs), then §3-5.

A 3C prompt is the instruction (clarity), an optional ``Context:`` paragraph and ``Constraints:``
bullets, then the input. Building one is the lesson's Exercise 1 (``three_c_prompt``), so the functions here
take the builder as an argument: the lesson passes the student's. Solved examples, inserted before the input,
make a 3C prompt a few-shot prompt. The task is routing the support tickets of a fictional app
(``data/support-tickets.json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
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


#: A 3C prompt builder: ``build(instruction, query, context, constraints) -> str`` (the lesson's Exercise 1).
Builder = Callable[[str, str, str, Sequence[str]], str]


def with_examples(prompt: str, examples: Sequence[Example]) -> str:
    """``prompt`` (a 3C prompt ending in ``Input: ...`` / ``Output:``) with solved examples before its input."""
    if not examples:
        return prompt
    head, marker, tail = prompt.rpartition("\n\nInput: ")
    if not marker:
        raise ValueError("The prompt has no 'Input:' section to put the examples before.")
    solved = "\n\n".join(f"Input: {e.text.strip()}\nOutput: {e.label.strip()}" for e in examples)
    return f"{head}\n\n{solved}{marker}{tail}"


def few_shot_prompt(task: Task, query: str, shots: int, build: Builder) -> str:
    """The task's 3C prompt for ``query``, made by ``build``, with the first ``shots`` solved examples (0 gives a
    zero-shot prompt)."""
    if not 0 <= shots <= len(task.examples):
        raise ValueError(f"shots must be between 0 and {len(task.examples)}, got {shots}.")
    prompt = build(task.instruction, query, task.context, list(task.constraints))
    return with_examples(prompt, task.examples[:shots])


def tuned_prompt(query: str, build: Builder) -> str:
    """What a model fine-tuned on the task needs: the input alone, since the rules live in its weights."""
    return build("Route this support ticket.", query, "", [])
