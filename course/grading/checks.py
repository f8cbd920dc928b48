"""The checks of one grading run: each lesson's exercises (``course.references``), their inputs drawn from the
run's secret seed, and the reference results computed here, in the grader's process, once per lesson per run
(never once per student, and never in a student's kernel).

The seed is secret while students work (reading ``source/`` reveals how inputs are drawn, not which) and is
recorded beside the grades (``grading-seed.json``), so grading the class again draws the same inputs and gives
the same scores; ``course grade --new-seed`` draws a fresh one.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from .exercise import Check
from .layout import CourseLayout
from .nbgrader_runner import CourseError
from .template import LessonTemplate


def run_seed(layout: CourseLayout, seed: int | None = None, new: bool = False) -> int:
    """The run's seed: ``seed`` if given, else the recorded one (unless ``new``), else a fresh secret one; the
    seed used is recorded."""
    record = layout.grading_seed_file
    if seed is None and not new and record.exists():
        try:
            seed = int(json.loads(record.read_text(encoding="utf-8"))["seed"])
        except (ValueError, KeyError, TypeError):
            raise CourseError(
                f"{record.name} is damaged: pass the seed you graded with (--seed N) or draw a new one (--new-seed)."
            ) from None
    if seed is None:
        seed = secrets.randbits(63)
    _write(record, {"seed": seed})
    return seed


def _write(path: Path, data: dict) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data) + "\n", encoding="utf-8")
    temporary.replace(path)


def build_checks(template: LessonTemplate, seed: int) -> dict[str, Check]:
    """``{grade id: Check}`` for the lesson's exercises graded outside the kernel, with inputs drawn from
    ``seed`` and the reference's results."""
    from ..references import exercises

    tests = {gid for nb in template.notebooks.values() for gid, s in nb.specs.items() if s.kind == "test"}
    undeclared = sorted(tests - set(exercises(template.lesson)))
    if undeclared:
        raise CourseError(
            f"{template.lesson} has graded test cells with no exercise declared in course/references "
            f"({', '.join(undeclared)}): declare them, then run `course release --lesson {template.lesson}` again."
        )
    checks = {}
    for grade_id, exercise in exercises(template.lesson).items():
        if grade_id not in tests:
            raise CourseError(
                f"course/references declares {grade_id} for {template.lesson}, which has no such test cell: "
                f"run `course release --lesson {template.lesson}` again."
            )
        checks[grade_id] = exercise.check(seed)
    return checks
