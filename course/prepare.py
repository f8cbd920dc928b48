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

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from course.cache import cache_root, find


@dataclass(frozen=True)
class Artefact:
    """One cached folder the lessons share: its cache name, the lessons that read it, how to build it (a call
    that returns its folder, building it through ``cached_folder`` when the cache lacks it; a module-level
    function, so that another process can run it) and the artefacts its build reads (``needs``)."""

    name: str
    lessons: tuple[str, ...]
    build: Callable[[], Path]
    needs: tuple[str, ...] = ()


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
    """Every shared artefact, longest build first (measured on 2 cores: the SmolLM2 table about 100 s, its
    conversion and the help-desk model about 70 s each, the rest under 30 s), so that builds running side by
    side finish together; the task model waits for the base model it is trained from."""
    from course.lessons.finetune.task_model import BASE_NAME, TASK_NAME
    from course.lessons.moe.training import CACHE_NAME as ROUTING_NAME
    from course.lessons.prompting.chat import honest_strategies, table_name
    from course.lessons.prompting.model import cache_name
    from course.lessons.vision.training import TrainingSettings
    from course.models.smollm2 import CACHE_NAME as SMOLLM2_NAME

    return [
        Artefact(table_name(honest_strategies()), ("01-beyond-the-prompt",), _smollm2_table),
        Artefact(SMOLLM2_NAME, ("01-beyond-the-prompt", "02-small-language-models"), _smollm2),
        Artefact(cache_name(), ("01-beyond-the-prompt", "07-capstone"), _helpdesk_model),
        Artefact(BASE_NAME, ("05-fine-tuning-and-peft",), _base_model),
        Artefact(ROUTING_NAME, ("03-mixture-of-experts",), _routing_demo),
        Artefact(TrainingSettings().cache_name, ("04-multimodality",), _vision_parts),
        Artefact(
            TASK_NAME, ("05-fine-tuning-and-peft", "06-edge-deployment", "07-capstone"), _task_model, (BASE_NAME,)
        ),
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


def prepare(lessons: Iterable[str] | None = None, progress: bool = True, jobs: int = 1) -> Prepared:
    """Build every shared artefact of ``lessons`` (default: all) the course cache lacks; idempotent. With
    ``jobs`` above 1, up to that many builds run at once, each in its own process (a build is mostly one busy
    core: a training loop or llama.cpp on one thread), an artefact only after those it ``needs``."""
    from tqdm.auto import tqdm

    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}.")
    wanted = None if lessons is None else set(lessons)
    chosen = [a for a in artefacts() if wanted is None or wanted & set(a.lessons)]
    result = Prepared(cache_root())
    started = time.perf_counter()
    result.present = [a.name for a in chosen if find(a.name) is not None]
    to_build = [a for a in chosen if a.name not in result.present]
    with tqdm(
        total=len(chosen), initial=len(result.present), desc="course prepare", unit="artefact", disable=not progress
    ) as bar:
        if jobs == 1 or len(to_build) < 2:
            for artefact in to_build:
                bar.set_postfix_str(artefact.name)
                result.built[artefact.name] = _timed_build(artefact.build)
                bar.update()
        else:
            _build_side_by_side(to_build, jobs, result, bar)
    result.seconds = time.perf_counter() - started
    return result


def _timed_build(build: Callable[[], Path]) -> float:
    began = time.perf_counter()
    build()
    return time.perf_counter() - began


def _one_thread_each(threads: int) -> None:
    """In each build process, before anything imports PyTorch: its share of the cores (unless the caller set
    ``OMP_NUM_THREADS``), since spin-waiting threads on a shared core slow a training loop severalfold."""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))


def _build_side_by_side(to_build: list[Artefact], jobs: int, result: Prepared, bar) -> None:
    """Up to ``jobs`` builds at once in fresh processes, in the order of ``to_build``, each once the artefacts
    it needs among them are built (one it needs that is not among them, its own build reads or builds); the
    first failure is raised once the builds already running have ended."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    waiting = list(to_build)
    unbuilt = {a.name for a in to_build}
    running: dict = {}
    threads = max(1, (os.cpu_count() or 1) // jobs)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited threads or patched modules
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_one_thread_each, initargs=(threads,)) as pool:
        while waiting or running:
            for artefact in [a for a in waiting if not unbuilt & set(a.needs)][: jobs - len(running)]:
                waiting.remove(artefact)
                running[pool.submit(_timed_build, artefact.build)] = artefact.name
            if not running:
                raise RuntimeError(f"course prepare: the artefacts' needs form a circle: {sorted(unbuilt)}")
            bar.set_postfix_str(", ".join(running.values()))
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                result.built[name] = future.result()
                unbuilt.discard(name)
                bar.update()
