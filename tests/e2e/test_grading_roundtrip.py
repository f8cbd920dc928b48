"""Every lesson goes through release and `course grade --workers 2`: all correct gets full marks, blank gets 0."""

import shutil

import pytest

from course.grading.grade import grade
from course.grading.release import release
from course.grading.samples import answer_key, write_submission
from tests.conftest import LESSONS, ROOT
from tests.grading_helpers import assert_feedback_hides_key, points, scores


@pytest.mark.slow
def test_all_correct_and_blank_submissions_of_every_lesson(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source", course / "source", ignore=shutil.ignore_patterns("answers*.json", ".*"))
    release(course)
    for lesson in LESSONS:
        write_submission(course, "ada", lesson, solve=None, answers=answer_key(ROOT, lesson))
        write_submission(course, "ben", lesson, solve=set(), answers=None)

    result = grade(course, workers=2)
    assert result.failures == [] and result.grading_seconds > 0
    grades = scores(result.grades_csv)
    for lesson in LESSONS:
        full = sum(points(ROOT / "source" / lesson / f"{lesson}.ipynb").values())
        assert grades[(lesson, "ada")] == (full, full), f"{lesson}: all correct must get full marks"
        assert grades[(lesson, "ben")] == (0.0, full), f"{lesson}: blank must get 0"
        assert_feedback_hides_key(course, lesson)
