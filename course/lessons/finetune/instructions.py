"""Instruction data for lesson 05: the prompt template, augmentation and synthetic examples.

Lesson 05 §3 (instruction data: format, synthesise, augment); lesson 06 formats its prompts with it.

An instruction example is a pair ``(prompt, response)``: the prompt is an
instruction and its input written in one fixed template, and the response is what
the model should generate after it. Two ways to grow a small data set:

* **augmentation** rewrites examples you already have (here: the same request in
  other words), so the model learns the task rather than one phrasing of it (lesson 05's exercise 3, the
  student's ``augment``);
* **synthetic examples** are new inputs answered by a *teacher* (in practice a
  large model; here a rule), then filtered: no duplicates, nothing from the test set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Example = tuple[str, str]

TEMPLATE = "### Instruction : {instruction} ### Input : {input} ### Response :"
_INSTRUCTION, _INPUT, _RESPONSE = "### Instruction :", "### Input :", "### Response :"


def format_prompt(instruction: str, text: str) -> str:
    """Write an instruction and its input in the course's template, ending where the response starts."""
    instruction, text = instruction.strip(), text.strip()
    if not instruction or not text:
        raise ValueError("An instruction example needs a non-empty instruction and a non-empty input.")
    if "###" in instruction + text:
        raise ValueError("The instruction and the input must not contain '###', which marks the template's parts.")
    return TEMPLATE.format(instruction=instruction, input=text)


def parse_prompt(prompt: str) -> tuple[str, str]:
    """The ``(instruction, input)`` that :func:`format_prompt` wrote into ``prompt``."""
    if not (prompt.startswith(_INSTRUCTION) and prompt.endswith(_RESPONSE) and _INPUT in prompt):
        raise ValueError(f"Not a prompt in the course template ({TEMPLATE!r}): {prompt!r}")
    body = prompt[len(_INSTRUCTION) : -len(_RESPONSE)]
    instruction, text = body.split(_INPUT, 1)
    return instruction.strip(), text.strip()


def synthesize(
    inputs: Iterable[str],
    instruction: str,
    teacher: Callable[[str], str],
    exclude: Iterable[Example] = (),
) -> list[Example]:
    """New examples: ``teacher`` answers each input; duplicates and anything whose input is in ``exclude``
    (your validation and test sets) are left out, so synthetic data never leaks into evaluation."""
    banned = {parse_prompt(prompt)[1] for prompt, _ in exclude}
    made: dict[Example, None] = {}
    for text in inputs:
        if text.strip() in banned:
            continue
        response = teacher(text).strip()
        if response:
            made[(format_prompt(instruction, text), response)] = None
    return list(made)
