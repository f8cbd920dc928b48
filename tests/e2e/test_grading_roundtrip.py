"""Every lesson goes through release and `course grade --workers 2`: all correct gets full marks, blank gets 0."""

import pytest

from course.grading.grade import grade
from course.grading.samples import answer_key, write_submission
from tests.conftest import LAYOUT, LESSONS
from tests.grading_helpers import assert_feedback_hides_key, points, scores


@pytest.mark.slow
def test_all_correct_and_blank_submissions_of_every_lesson(course_copy):
    course = course_copy(released=True)
    for lesson in LESSONS:
        write_submission(course, "ada", lesson, solve=None, answers=answer_key(LAYOUT, lesson))
        write_submission(course, "ben", lesson, solve=set(), answers=None)

    result = grade(course.root, workers=2)
    assert result.failures == [] and result.grading_seconds > 0
    grades = scores(result.grades_csv)
    for lesson in LESSONS:
        full = sum(points(LAYOUT.source_notebook(lesson)).values())
        assert grades[(lesson, "ada")] == (full, full), f"{lesson}: all correct must get full marks"
        assert grades[(lesson, "ben")] == (0.0, full), f"{lesson}: blank must get 0"
        assert_feedback_hides_key(course.root, lesson)
