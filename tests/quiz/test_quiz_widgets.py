import json

import pytest

from course.quiz import get_question
from course.quiz.widgets import QuizWidget

LESSON = "00-orientation"


@pytest.fixture()
def answers(tmp_path):
    return tmp_path / "answers.json"


def test_clicking_saves_and_acknowledges(answers):
    widget = QuizWidget(get_question(LESSON, "when-graded"), answers)
    assert not answers.exists()
    widget.choices.value = "c"
    assert json.loads(answers.read_text())["answers"] == {"when-graded": ["c"]}
    assert "Answer recorded" in widget.feedback.value
    assert "Not quite" in widget.feedback.value
    widget.choices.value = "b"
    assert json.loads(answers.read_text())["answers"] == {"when-graded": ["b"]}
    assert "Correct" in widget.feedback.value


def test_rerunning_restores_the_choice(answers):
    QuizWidget(get_question(LESSON, "validate-does"), answers).select({"a", "b"})
    again = QuizWidget(get_question(LESSON, "validate-does"), answers)
    assert again.selection == {"a", "b"}
    assert "restored" in again.feedback.value


def test_multiple_answer_question_saves_every_box(answers):
    widget = QuizWidget(get_question(LESSON, "validate-does"), answers)
    widget.choices.children[0].value = True
    widget.choices.children[2].value = True
    assert json.loads(answers.read_text())["answers"]["validate-does"] == ["a", "c"]


def test_graded_question_never_says_right_or_wrong(answers):
    widget = QuizWidget(get_question(LESSON, "score-a-submission"), answers)
    for option in "abcd":
        widget.select({option})
        assert "Answer recorded" in widget.feedback.value
        assert "Correct" not in widget.feedback.value and "Not quite" not in widget.feedback.value


def test_corrupt_file_warns_instead_of_crashing(answers):
    answers.write_text("{broken")
    widget = QuizWidget(get_question(LESSON, "when-graded"), answers)
    assert "not valid JSON" in widget.feedback.value
    widget.choices.value = "b"
    assert json.loads(answers.read_text())["answers"] == {"when-graded": ["b"]}
    assert "kept as" in widget.feedback.value
    assert len(list(answers.parent.glob("answers.corrupt-*.json"))) == 1
