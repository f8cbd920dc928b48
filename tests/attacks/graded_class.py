"""The class the hostile test and the queue test share, graded once per session with `course grade --workers 2`:
lesson 00's whole hostile class (``catalogue``), plus what the queue test also needs: a victim (an honest lesson
00 submission whose grading process the queue test kills at each try) and six students of lesson 01 (all
correct, blank, quiz only, exercises only, an empty answers file, and one who leans on the references). The queue
test grades the same submissions through workers, with the same seed and limits, and compares with these grades
instead of grading the class a second time."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from course.grading import processes
from course.grading.layout import CourseLayout
from course.grading.release import release
from course.grading.samples import answer_key, copy_course, exercise_ids, write_submission
from tests.grading_helpers import lean_on_references

from .catalogue import LESSON, Attack, attacks, listen
from .submissions import submit

OTHER = "01-beyond-the-prompt"
VICTIM = "aaa-crashes"  # first in a queue; honest
SEED = 20261207
# Short time limits, so the looping students do not hold the run; 4G of address space (default 16G, for
# PyTorch's reservations on big machines), so that the memory hog writes no more than a CI machine has.
LIMITS = ("--cell-timeout", "25", "--timeout", "240", "--memory", "4G")


@dataclass
class GradedClass:
    course: Path
    table: list[Attack]  # lesson 00's hostile class
    honest: dict[tuple[str, str], float]  # (lesson, student) -> honest score, of every submission
    result: subprocess.CompletedProcess  # what `course grade` said
    received: list[bytes]  # what reached the server the escape student tries
    digests: dict[Path, tuple[str, str]]  # files no student may change: (before, after) grading
    # what outlived grading in the grader's temporary folder (every run folder is in it): files, processes
    leftovers: tuple[list[str], list[int]]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def add_lesson_01_students(layout: CourseLayout) -> dict[tuple[str, str], float | None]:
    """The victim and six lesson 01 students; their honest scores where the test knows them (None: not fixed)."""
    submit(layout, VICTIM, right_quiz=True)
    key = answer_key(layout, OTHER)
    exercises = set(exercise_ids(layout.release_notebook(OTHER)))
    for student, solve, answers in [
        ("ann", None, key),
        ("bob", set(), None),
        ("cat", set(), key),
        ("dan", exercises, None),
        ("eve", None, {}),
    ]:
        write_submission(layout, student, OTHER, solve, answers)
    lean_on_references(write_submission(layout, "fay", OTHER, set(), key), OTHER)
    return {(LESSON, VICTIM): 3.0, **{(OTHER, s): None for s in ("ann", "bob", "cat", "dan", "eve", "fay")}}


def grade_class(course: Path) -> GradedClass:
    """Build the class in the new course folder ``course`` and grade it once."""
    port, received = listen()
    layout = copy_course(CourseLayout.load(Path(__file__).resolve().parents[2]), course, [LESSON, OTHER])
    release(course, [LESSON, OTHER])
    table = attacks(layout, port)
    for attack in table:
        attack.build(layout, attack.student)
    honest = {(LESSON, a.student): a.expected for a in table}
    honest.update({k: v for k, v in add_lesson_01_students(layout).items() if v is not None})
    watched = [
        layout.source_notebook(LESSON),
        layout.release_notebook(LESSON),
        layout.submission_dir("honest-full", LESSON) / "answers.json",
    ]
    before = {path: _digest(path) for path in watched}
    scratch = course.parent / "grader-tmp"  # the grader's temporary folder: the run folders are made in it
    scratch.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "course.grading.cli", "grade", "--workers", "2", *LIMITS, "--seed", str(SEED)],
        cwd=course,
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    digests = {path: (before[path], _digest(path)) for path in watched}
    # the run folders are all in one course-grade-* folder, removed at the end (the grader's own PyTorch keeps a
    # cache beside it)
    leftovers = (sorted(str(p) for p in scratch.glob("course-grade-*")), processes.mentioning(str(scratch)))
    return GradedClass(course, table, honest, result, received, digests, leftovers)
