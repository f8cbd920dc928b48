"""`course demo`: the instructor's whole job on a small sample class, in a separate folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..quiz.questions import load_questions
from .grade import GradeResult, grade
from .layout import CourseLayout
from .release import release
from .samples import answer_key, copy_course, exercise_ids, write_submission, wrong_choice

MARKER = ".course-demo"


def _class_for(layout: CourseLayout, lesson: str) -> dict[str, tuple[set[str] | None, dict[str, list[str]]]]:
    """Five sample students: all right, blank, one graded quiz wrong, half the exercises, quizzes only."""
    key = answer_key(layout, lesson)
    exercises = exercise_ids(layout.release_notebook(lesson))
    one_wrong = dict(key)
    if key:
        first = sorted(key)[0]
        options = [o.id for o in load_questions(lesson, "en")[first].options]
        one_wrong[first] = wrong_choice(options, key[first])
    return {
        "ada": (None, key),
        "ben": (set(), {}),
        "chloe": (None, one_wrong),
        "dev": (set(exercises[: len(exercises) // 2 or 1]), key),
        "eve": (set(), key),
    }


def demo(root: Path, out: Path, wanted: list[str] | None = None) -> GradeResult:
    """Copy the lessons to ``out``, release them, submit for a sample class, grade, and report."""
    layout = CourseLayout.load(root)
    lessons = layout.check_lessons(wanted or ["00-orientation"])
    out = out.resolve()
    if out.exists():
        if not (out / MARKER).exists():
            raise FileExistsError(f"{out} exists and is not a demo folder; choose another --out.")
        shutil.rmtree(out)
    course = copy_course(layout, out, lessons)
    (out / MARKER).touch()
    release(out, lessons)
    for lesson in lessons:
        for student, (solve, answers) in _class_for(course, lesson).items():
            write_submission(course, student, lesson, solve, answers)
    return grade(out, lessons)
