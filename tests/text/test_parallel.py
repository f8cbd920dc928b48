"""Parallel texts from the course's own translations: the same questions in every language, and only those."""

import pytest

from course.quiz import questions
from course.quiz.questions import Question
from course.text.parallel import quiz_prompts

LESSON = "02-small-language-models"


def test_the_lessons_quiz_prompts_in_every_language():
    texts = quiz_prompts([LESSON])
    assert set(texts) == {"en", "ko", "ja"}
    english = [q.prompt for q in questions.load_questions(LESSON, "en").values()]
    assert texts["en"].split("\n") == english  # every question of the lesson is translated, in order
    lines = {lang: text.split("\n") for lang, text in texts.items()}
    assert len({len(v) for v in lines.values()}) == 1, {lang: len(v) for lang, v in lines.items()}
    hangul = sum("\uac00" <= ch <= "\ud7a3" for ch in texts["ko"])
    kana = sum("\u3040" <= ch <= "\u30ff" for ch in texts["ja"])
    assert hangul > 0.3 * len(texts["ko"].replace(" ", ""))
    assert kana > 0.2 * len(texts["ja"].replace(" ", ""))
    assert not any("\uac00" <= ch <= "\ud7a3" or "\u3040" <= ch <= "\u30ff" for ch in texts["en"])


def _question(qid: str, prompt: str) -> Question:
    return Question(id=qid, kind="graded", multiple=False, prompt=prompt, options=())


def test_a_question_not_translated_everywhere_is_left_out(monkeypatch):
    quizzes = {
        "en": {"a": _question("a", "First?"), "b": _question("b", "Second?")},
        "ko": {"a": _question("a", "첫째?"), "b": _question("b", "둘째?")},
        "ja": {"a": _question("a", "First?"), "b": _question("b", "二つ目?")},  # "a": shown in English
    }
    monkeypatch.setattr(questions, "load_questions", lambda lesson, lang: quizzes[lang])
    assert quiz_prompts(["any"]) == {"en": "Second?", "ko": "둘째?", "ja": "二つ目?"}
    assert quiz_prompts(["any"], ("en", "ko")) == {"en": "First?\nSecond?", "ko": "첫째?\n둘째?"}
    quizzes["ja"]["b"] = _question("b", "Second?")
    with pytest.raises(ValueError, match="No quiz question of any is translated"):
        quiz_prompts(["any"])
