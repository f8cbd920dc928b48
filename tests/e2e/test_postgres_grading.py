"""A shared gradebook: a real PostgreSQL server on 127.0.0.1, two graders grading into it at the same time
from their own course folders, then a re-run; every grade is there exactly once."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course.grading.layout import CourseLayout
from course.grading.nbgrader_runner import database_url
from course.grading.samples import answer_key, write_submission
from tests.grading_helpers import scores

LESSON = "00-orientation"


def _grade(course: Path, url: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "course.grading.cli", "grade", "--db-url", url, *extra],
        cwd=course,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen) -> str:
    out, _ = process.communicate(timeout=900)
    assert process.returncode == 0, out[-3000:]
    return out


@pytest.mark.slow
def test_two_graders_share_a_postgresql_gradebook(postgres, course_copy, tmp_path):
    first_layout = course_copy([LESSON], released=True, db_url=postgres)
    first, second = first_layout.root, tmp_path / "grader-2"
    shutil.copytree(first, second)
    second_layout = CourseLayout.load(second)
    key = answer_key(first_layout, LESSON)
    write_submission(first_layout, "ada", LESSON, None, key)  # all right
    write_submission(first_layout, "ben", LESSON, set(), None)  # blank
    write_submission(second_layout, "chloe", LESSON, set(), key)  # quiz only

    outputs = [_finish(p) for p in [_grade(first, postgres, "--workers", "2"), _grade(second, postgres)]]
    assert all("warning" not in out for out in outputs), outputs
    assert not first_layout.gradebook.exists() and not second_layout.gradebook.exists()
    expected = {"ada": (3.0, 3.0), "ben": (0.0, 3.0), "chloe": (1.0, 3.0)}
    for course, students in ((first_layout, ("ada", "ben")), (second_layout, ("chloe",))):
        graded = {s: v for (_, s), v in scores(course.grades_csv).items()}
        assert {s: graded[s] for s in students} == {s: expected[s] for s in students}

    _finish(_grade(second, postgres))  # again, once both are done: every grade, each once
    assert {s: v for (_, s), v in scores(second_layout.grades_csv).items()} == expected
    from sqlalchemy import create_engine, text

    with create_engine(database_url(postgres)).connect() as db:
        submissions = db.execute(text("select count(*), count(distinct student_id) from submitted_assignment"))
        assert tuple(submissions.one()) == (3, 3)
        grades = db.execute(text("select count(*) from grade")).scalar()
        assert grades == 3 * 2, "one row per student and grade cell"
