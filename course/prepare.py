"""``course prepare``: build, once, every artefact of the course cache that the lessons share and grading reads
(SmolLM2-135M-Instruct converted from its installed GGUF file to PyTorch, lesson 01's table of its replies to
the lesson's prompts, and the tiny models the lessons train from data the course generates), so that no
student's first run, no grading kernel and no test has to build one.

Lessons still build what they need on demand at home (``course.cache.cached_folder``), and what a student's own
code trains (their LoRA runs, their exports) is built where they run it. What this prepares does not depend on
anyone's answers: every student, and every submission graded, reads the same folders. On a class server the
prepared cache is read-only for students (``deploy/jupyterhub/start.sh``); the grading sandbox reads it and, for
these artefacts, never builds (``course grade`` prepares what is missing before any kernel starts).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from course.cache import cache_root, find


@dataclass(frozen=True)
class Artefact:
    """One cached folder the lessons share: its cache name, the lessons that read it, and how to build it
    (a call that returns its folder, building it through ``cached_folder`` when the cache lacks it)."""

    name: str
    lessons: tuple[str, ...]
    build: Callable[[], Path]


def _helpdesk_model() -> Path:
    from course.lessons.prompting import model

    return model.model_folder()


def _smollm2() -> Path:
    from course.models import smollm2

    return smollm2.torch_folder()


def _smollm2_table() -> Path:
    from course.lessons.prompting import chat

    return chat.table_folder(chat.honest_strategies())


def _routing_demo() -> Path:
    from course.cache import cached_folder
    from course.lessons.moe import training

    return cached_folder(training.CACHE_NAME, training.build_routing_demo)


def _vision_parts() -> Path:
    from course.lessons.vision.training import pretrained_parts

    return pretrained_parts()


def _base_model() -> Path:
    from course.lessons.finetune.task_model import base_model_folder

    return base_model_folder()


def _task_model() -> Path:
    from course.lessons.finetune.task_model import task_model_folder

    return task_model_folder()


def artefacts() -> list[Artefact]:
    """Every shared artefact, in the order they are built (the task model needs the base model)."""
    from course.lessons.finetune.task_model import BASE_NAME, TASK_NAME
    from course.lessons.moe.training import CACHE_NAME as ROUTING_NAME
    from course.lessons.prompting.chat import honest_strategies, table_name
    from course.lessons.prompting.model import cache_name
    from course.lessons.vision.training import TrainingSettings
    from course.models.smollm2 import CACHE_NAME as SMOLLM2_NAME

    return [
        Artefact(SMOLLM2_NAME, ("01-beyond-the-prompt", "02-small-language-models"), _smollm2),
        Artefact(cache_name(), ("01-beyond-the-prompt", "07-capstone"), _helpdesk_model),
        Artefact(table_name(honest_strategies()), ("01-beyond-the-prompt",), _smollm2_table),
        Artefact(ROUTING_NAME, ("03-mixture-of-experts",), _routing_demo),
        Artefact(TrainingSettings().cache_name, ("04-multimodality",), _vision_parts),
        Artefact(BASE_NAME, ("05-fine-tuning-and-peft",), _base_model),
        Artefact(TASK_NAME, ("05-fine-tuning-and-peft", "06-edge-deployment", "07-capstone"), _task_model),
    ]


@dataclass
class Prepared:
    """What one ``prepare`` did: the artefacts it built (name -> seconds) and those already there."""

    cache: Path
    built: dict[str, float] = field(default_factory=dict)
    present: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        if not self.built:
            return f"the course cache {self.cache} already had all {len(self.present)} shared artefacts"
        names = ", ".join(f"{name} ({seconds:.0f} s)" for name, seconds in self.built.items())
        return (
            f"built {len(self.built)} shared artefact(s) into {self.cache} in {self.seconds:.0f} s: {names}; "
            f"{len(self.present)} already there"
        )


def missing(lessons: Iterable[str] | None = None) -> list[Artefact]:
    """The shared artefacts ``lessons`` read (default: every lesson's) that the course cache lacks."""
    wanted = None if lessons is None else set(lessons)
    return [a for a in artefacts() if (wanted is None or wanted & set(a.lessons)) and find(a.name) is None]


def shared_names() -> set[str]:
    """The cache names of every shared artefact."""
    return {a.name for a in artefacts()}


def prepare_for_grading(lessons: Iterable[str] | None = None) -> None:
    """Before any kernel of a grading run starts: build what ``lessons`` read and the cache lacks, in the
    grader's own process (the sandbox can then only read it), saying so on stderr when anything was built."""
    import sys

    if missing(lessons):
        print("course grade: the course cache lacks shared artefacts; building them first", file=sys.stderr)
        print(f"course prepare: {prepare(lessons).summary()}", file=sys.stderr)


def prepare(lessons: Iterable[str] | None = None, progress: bool = True) -> Prepared:
    """Build every shared artefact of ``lessons`` (default: all) the course cache lacks; idempotent."""
    from tqdm.auto import tqdm

    wanted = None if lessons is None else set(lessons)
    chosen = [a for a in artefacts() if wanted is None or wanted & set(a.lessons)]
    result = Prepared(cache_root())
    started = time.perf_counter()
    bar = tqdm(chosen, desc="course prepare", unit="artefact", disable=not progress)
    for artefact in bar:
        bar.set_postfix_str(artefact.name)
        if find(artefact.name) is not None:
            result.present.append(artefact.name)
            continue
        began = time.perf_counter()
        artefact.build()
        result.built[artefact.name] = time.perf_counter() - began
    result.seconds = time.perf_counter() - started
    return result
