"""Every lesson goes through release and `course grade --workers 2`: all correct gets full marks, blank gets 0,
and a submission that takes every exercise from the course's reference solutions gets only its quiz points.
Submissions made from the Korean and Japanese releases of lesson 00 and of one heavy lesson get exactly the scores
the English ones get, and their feedback is in their language (the feedback's language for every kind of line is
checked at unit level, in tests/grading/test_grading_units.py)."""

import json

import pytest

from course.grading import cells
from course.grading.grade import grade
from course.grading.samples import answer_key, write_submission, wrong_choice
from course.quiz.questions import load_questions
from tests.conftest import LAYOUT, LESSONS
from tests.grading_helpers import assert_feedback_hides_key, lean_on_references, points, quiz_points, scores

# the lessons also submitted from the Korean and Japanese releases: the first lesson, and one that trains models
TRANSLATED_SUBMISSIONS = ("00-orientation", "03-mixture-of-experts")


@pytest.mark.slow
def test_all_correct_and_blank_submissions_of_every_lesson(course_copy):
    course = course_copy(released=True)
    for lesson in LESSONS:
        write_submission(course, "ada", lesson, solve=None, answers=answer_key(LAYOUT, lesson))
        write_submission(course, "ben", lesson, solve=set(), answers=None)
        key = answer_key(LAYOUT, lesson)
        lean_on_references(write_submission(course, "cy", lesson, solve=set(), answers=key), lesson)
        if lesson in TRANSLATED_SUBMISSIONS:
            write_submission(course, "ada-ko", lesson, solve=None, answers=key, language="ko")
            write_submission(course, "dee-ja", lesson, solve=None, answers=one_wrong(lesson, key), language="ja")

    result = grade(course.root, workers=2)
    assert result.failures == [] and result.grading_seconds > 0
    grades = scores(result.grades_csv)
    for lesson in LESSONS:
        full = sum(points(LAYOUT.source_notebook(lesson)).values())
        assert grades[(lesson, "ada")] == (full, full), f"{lesson}: all correct must get full marks"
        assert grades[(lesson, "ben")] == (0.0, full), f"{lesson}: blank must get 0"
        quizzes = quiz_points(LAYOUT.source_notebook(lesson))
        assert grades[(lesson, "cy")] == (quizzes, full), f"{lesson}: references are out of reach while grading"
        assert_feedback_hides_key(course.root, lesson)
        if lesson not in TRANSLATED_SUBMISSIONS:
            continue
        assert grades[(lesson, "ada-ko")] == (full, full), f"{lesson}: all correct in Korean must get full marks"
        lost = points_of_question(lesson, first_graded(lesson))
        assert grades[(lesson, "dee-ja")] == (full - lost, full), f"{lesson}: one wrong answer in Japanese"
        for student, title in (("ada-ko", "ko"), ("dee-ja", "ja")):
            page = next((course.feedback / student / lesson).glob("*.html")).read_text(encoding="utf-8")
            assert lesson_title(lesson, title) in page, f"{lesson}: {student}'s feedback is not in their language"
        korean = next((course.feedback / "ada-ko" / lesson).glob("*.html")).read_text(encoding="utf-8")
        assert "참조 구현과 일치했습니다" in korean, f"{lesson}: the exercises' verdicts are not in Korean"
        japanese = next((course.feedback / "dee-ja" / lesson).glob("*.html")).read_text(encoding="utf-8")
        assert "このセルのテストが失敗しました" in japanese or "期待される答えではありません" in japanese, lesson


def first_graded(lesson: str) -> str:
    return sorted(answer_key(LAYOUT, lesson))[0]


def one_wrong(lesson: str, key: dict[str, list[str]]) -> dict[str, list[str]]:
    """The answer key with its first graded question answered wrongly."""
    question = first_graded(lesson)
    options = [o.id for o in load_questions(lesson, "en")[question].options]
    return {**key, question: wrong_choice(options, key[question])}


def points_of_question(lesson: str, question: str) -> float:
    notebook = json.loads(LAYOUT.source_notebook(lesson).read_text())["cells"]
    return sum(cells.points(c) for c in notebook if question in cells.quiz_keys(cells.cell_source(c)))


def lesson_title(lesson: str, lang: str) -> str:
    """The first line of the lesson's translated title cell, as HTML escapes nothing in it."""
    from course.languages.translations import load_lesson

    first = next(iter(load_lesson(lesson, lang).values()))["text"]
    return first.splitlines()[0].lstrip("# ").split("·")[-1].strip()[:12]
