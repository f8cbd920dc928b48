"""Quiz data is consistent with the lessons, and graded keys live only in hidden tests."""

import json
import re

import pytest

from course.quiz.questions import _parse, load_questions
from tests.conftest import LAYOUT, LESSONS, ROOT

QUESTIONS = ROOT / "course" / "quiz" / "questions"


def _source_text(lesson: str) -> str:
    nb = json.loads(LAYOUT.source_notebook(lesson).read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"])


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_has_valid_questions(lesson):
    questions = load_questions(lesson, "en")
    assert len(questions) >= 2
    assert any(q.graded for q in questions.values()), "each lesson needs at least one graded question"


@pytest.mark.parametrize("lesson", LESSONS)
def test_quiz_cells_graded_cells_and_keys_agree(lesson):
    questions = load_questions(lesson, "en")
    text = _source_text(lesson)
    shown = set(re.findall(rf'ask\("{lesson}", "([^"]+)"\)', text))
    graded_in_notebook = set(re.findall(r'recorded_answer\("([^"]+)"\)', text))
    assert shown == set(questions), "every question is shown exactly by the lesson"
    assert graded_in_notebook == {q.id for q in questions.values() if q.graded}
    key = json.loads(LAYOUT.answer_key_file(lesson).read_text())["answers"]
    assert set(key) == graded_in_notebook, "samples/answers holds the key of every graded question"
    for qid, choice in key.items():
        assert set(choice) <= {o.id for o in questions[qid].options}


def test_translations_share_ids_kinds_and_answers():
    for path in QUESTIONS.glob("*.*.json"):
        lesson, lang = path.name.split(".")[:2]
        if lang == "en":
            continue
        english, other = load_questions(lesson, "en"), load_questions(lesson, lang)
        assert {k: (q.kind, q.answer, [o.id for o in q.options]) for k, q in english.items()} == {
            k: (q.kind, q.answer, [o.id for o in q.options]) for k, q in other.items()
        }, path.name


def test_graded_question_with_an_answer_is_rejected():
    raw = {"id": "q", "kind": "graded", "prompt": "?", "options": [{"id": "a", "text": "x"}], "answer": ["a"]}
    with pytest.raises(ValueError, match="must not carry its answer"):
        _parse(raw, "test.json")


def test_practice_question_needs_explanations():
    raw = {
        "id": "q",
        "kind": "practice",
        "prompt": "?",
        "answer": ["a"],
        "options": [{"id": "a", "text": "x", "explanation": "yes"}, {"id": "b", "text": "y"}],
    }
    with pytest.raises(ValueError, match="explanation"):
        _parse(raw, "test.json")


def test_unknown_question_names_the_known_ones():
    from course.quiz import get_question

    with pytest.raises(KeyError, match="when-graded"):
        get_question("00-orientation", "nope")


def test_language_falls_back_to_english(monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "xx")
    load_questions.cache_clear()
    assert "when-graded" in load_questions("00-orientation")
    load_questions.cache_clear()


@pytest.mark.parametrize("lang", ["ko", "ja"])
def test_translated_questions_are_graded_as_the_english_ones(lang):
    for lesson in LESSONS:
        english, translated = load_questions(lesson, "en"), load_questions(lesson, lang)
        assert list(translated) == list(english)
        for qid, question in english.items():
            mine = translated[qid]
            assert (mine.kind, mine.multiple, mine.answer) == (question.kind, question.multiple, question.answer)
            assert [o.id for o in mine.options] == [o.id for o in question.options]
            assert mine.prompt != question.prompt, f"{lesson} {qid} is not translated into {lang}"


def test_a_question_whose_english_changed_is_shown_in_english(monkeypatch, tmp_path):
    import shutil
    from importlib import resources

    from course.quiz import questions as module

    folder = tmp_path / "questions"
    shutil.copytree(resources.files("course.quiz") / "questions", folder)
    english = json.loads((folder / "00-orientation.en.json").read_text())
    first = english["questions"][0]
    first["prompt"] += " (now asked differently)"
    (folder / "00-orientation.en.json").write_text(json.dumps(english))

    class Files:
        def __truediv__(self, name):
            return tmp_path / name if name == "questions" else None

    monkeypatch.setattr(module.resources, "files", lambda package: Files())
    load_questions.cache_clear()
    try:
        assert load_questions("00-orientation", "ko")[first["id"]].prompt == first["prompt"]
        second = english["questions"][1]
        assert load_questions("00-orientation", "ko")[second["id"]].prompt != second["prompt"]
    finally:
        load_questions.cache_clear()
