"""Lesson 01's text says what its quizzes, exercises and graders rely on, in all three languages: a quiz answers
the question it asks, a term is defined where it is first used, and each exercise states the behaviour the grader
checks (issue 30, requirement 5)."""

import json
import re

import pytest

from course.quiz.questions import load_questions
from tests.conftest import LAYOUT, ROOT

LESSON = "01-beyond-the-prompt"
LANGUAGES = ("en", "ko", "ja")
CHALLENGES = (
    "Overfitting",
    "Catastrophic forgetting",
    "High computational resources",
    "Data scarcity",
    "Domain shift",
    "Ethical considerations",
    "Hyperparameter selection",
)


def _cells() -> list[dict]:
    return json.loads(LAYOUT.source_notebook(LESSON).read_text())["cells"]


def _markdown(cell_id: str, language: str) -> str:
    """A markdown cell of the lesson as a reader of ``language`` sees it."""
    if language == "en":
        return "".join(next(c for c in _cells() if c["id"] == cell_id)["source"])
    path = ROOT / "course" / "languages" / "lessons" / f"{LESSON}.{language}.json"
    return json.loads(path.read_text())["cells"][cell_id]["text"]


def _cell_before(target_id: str) -> str:
    """The id of the markdown cell just before the code cell ``target_id`` (where an exercise is stated)."""
    cells = _cells()
    index = next(i for i, c in enumerate(cells) if c["id"] == target_id)
    return next(c["id"] for c in reversed(cells[:index]) if c["cell_type"] == "markdown")


def test_the_overfitting_question_offers_remedies_since_it_asks_what_to_do():
    """It asks "which challenge is this, and what do you do?": each option pairs a challenge with an action, and
    more than one names overfitting, so the right remedy, not only the right name, decides the answer."""
    question = load_questions(LESSON, "en")["challenge-overfitting"]
    assert "what do you do" in question.prompt
    named = []
    for option in question.options:
        challenge, _, action = option.text.partition(": ")
        assert challenge in CHALLENGES and len(action.split()) >= 4, option.text
        named.append(challenge)
    assert named.count("Overfitting") >= 2, "the remedy must matter, not only the challenge's name"
    (answer,) = question.answer
    right = next(o for o in question.options if o.id == answer)
    assert right.text.startswith("Overfitting: ") and "early stopping" in right.text
    wrong = [o for o in question.options if o.id != answer and o.text.startswith("Overfitting: ")]
    assert all("wrong remedy" in o.explanation for o in wrong), "the feedback says why the remedy fails"


def _first_use_of_recall_at_k() -> int:
    """Index of the first cell that uses recall@k: in text, in code, or through a quiz question it shows."""
    questions = load_questions(LESSON, "en")
    for index, cell in enumerate(_cells()):
        text = "".join(cell["source"])
        shown = re.findall(rf'ask\("{LESSON}", "([^"]+)"\)', text)
        quiz_text = " ".join(
            questions[q].prompt + " ".join(o.text + o.explanation for o in questions[q].options) for q in shown
        )
        if re.search(r"recall@k|recall_at_k", text + quiz_text, re.I):
            return index
    raise AssertionError("the lesson never uses recall@k")


@pytest.mark.parametrize("language", LANGUAGES)
def test_recall_at_k_is_defined_where_it_is_first_used(language):
    """A practice question reasons with recall@k; the lesson defines it (in bold, with what it counts) in the
    markdown cell where it first appears, before the code that prints it and the question that uses it."""
    cell = _cells()[_first_use_of_recall_at_k()]
    assert cell["cell_type"] == "markdown", "recall@k is used before the text defines it"
    text = _markdown(cell["id"], language)
    assert "**recall@k**" in text, text
    assert "*k*" in text.split("**recall@k**", 1)[1], "the definition says what k counts"


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_exercise_states_the_edge_behaviour_its_grader_checks(language):
    """BM25 with no documents and with ``k1 = 0`` on an absent word, refused NaN and infinite parameters, and the
    tolerance of the comparison: the exercise text (in every language) says what the grader's cases check."""
    bm25 = _markdown(_cell_before("ex-bm25-scores"), language)
    for stated in ("`k1 = 0`", "0/0", "avgdl = 0", "NaN", "1e-9", "1e-12"):
        assert stated in bm25, (language, stated)
    cost = _markdown(_cell_before("ex-cost-per-1000"), language)
    for stated in ("NaN", "`>= 0`", "1e-9", "1e-12"):
        assert stated in cost, (language, stated)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_lesson_no_longer_says_few_shot_examples_cannot_carry_a_policy(language):
    """At k = 8, 11 of 12 few-shot policy prompts show the answer (``evaluation.answer_shown``, printed by the
    lesson): the text after the measurement says few-shot examples can carry a policy and that the lesson counts
    it, instead of the old claim that they cannot."""
    cells = _cells()
    measuring = next(i for i, c in enumerate(cells) if "evaluation.answer_shown(" in "".join(c["source"]))
    after = next(c for c in cells[measuring + 1 :] if c["cell_type"] == "markdown")
    assert "few-shot examples *can*" in _markdown(after["id"], "en")
    assert _OLD_CLAIM[language] not in _markdown(after["id"], language)


_OLD_CLAIM = {
    "en": "neither carries Quill's policies",
    "ko": "어느 쪽도 Quill의 정책을 담고 있지 않습니다",
    "ja": "どちらにも Quill のポリシーは含まれていません",
}
