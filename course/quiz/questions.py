"""Quiz questions as data: one JSON file per lesson and language.

``questions/<lesson>.en.json`` holds ``{"questions": [...]}``; each question
has an ``id``, a ``kind`` (``practice`` or ``graded``), ``multiple`` (bool), a
``prompt`` and ``options`` (``id``, ``text`` and, for practice questions, an
``explanation``). Practice questions carry their ``answer``; graded questions
never do: their key lives only in the instructor's hidden tests.

``questions/<lesson>.ko.json`` and ``.ja.json`` translate the text only (see
``course.languages.translations``): ids, kinds, answers and option order always
come from English, and a question whose English changed since it was translated
is shown in English until its translation follows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources

from course import languages

DEFAULT_LANGUAGE = languages.ENGLISH


@dataclass(frozen=True)
class Option:
    id: str
    text: str
    explanation: str = ""


@dataclass(frozen=True)
class Question:
    id: str
    kind: str
    multiple: bool
    prompt: str
    options: tuple[Option, ...]
    answer: frozenset[str] = frozenset()

    @property
    def graded(self) -> bool:
        return self.kind == "graded"


def _parse(raw: dict, source: str) -> Question:
    try:
        options = tuple(Option(o["id"], o["text"], o.get("explanation", "")) for o in raw["options"])
        question = Question(
            id=raw["id"],
            kind=raw["kind"],
            multiple=bool(raw.get("multiple", False)),
            prompt=raw["prompt"],
            options=options,
            answer=frozenset(raw.get("answer", [])),
        )
    except (KeyError, TypeError) as err:
        raise ValueError(f"{source}: question {raw.get('id', '?')!r} is missing {err}") from None
    ids = {o.id for o in options}
    if question.kind not in {"practice", "graded"}:
        raise ValueError(f"{source}: {question.id} has unknown kind {question.kind!r}")
    if question.graded and question.answer:
        raise ValueError(f"{source}: graded question {question.id} must not carry its answer")
    if question.kind == "practice" and (not question.answer or not question.answer <= ids):
        raise ValueError(f"{source}: practice question {question.id} needs an answer among {sorted(ids)}")
    if question.kind == "practice" and any(not o.explanation for o in options):
        raise ValueError(f"{source}: every option of practice question {question.id} needs an explanation")
    return question


@cache
def load_questions(lesson: str, lang: str | None = None) -> dict[str, Question]:
    """All questions of a lesson, by id, in the requested language (default: the reader's)."""
    folder = resources.files("course.quiz") / "questions"
    source = folder / f"{lesson}.{DEFAULT_LANGUAGE}.json"
    if not source.is_file():
        raise KeyError(f"No quiz questions for lesson {lesson!r}; expected {source.name}")
    raw = json.loads(source.read_text(encoding="utf-8"))["questions"]
    questions = {q["id"]: _parse(q, source.name) for q in raw}
    lang = lang or languages.current()
    translation = folder / f"{lesson}.{lang}.json"
    if lang == DEFAULT_LANGUAGE or not translation.is_file():
        return questions
    from course.languages.translations import question_fingerprint

    translated = {q["id"]: q for q in json.loads(translation.read_text(encoding="utf-8"))["questions"]}
    for english in raw:
        mine = translated.get(english["id"])
        if mine and mine.get("english") == question_fingerprint(english):
            questions[english["id"]] = _translated(questions[english["id"]], mine)
    return questions


def _translated(question: Question, mine: dict) -> Question:
    """``question`` with the translated prompt and option texts; everything graded stays the English's."""
    texts = {o["id"]: o for o in mine["options"]}
    options = tuple(
        replace(o, text=texts[o.id]["text"], explanation=texts[o.id].get("explanation", o.explanation))
        for o in question.options
    )
    return replace(question, prompt=mine["prompt"], options=options)


def get_question(lesson: str, question_id: str, lang: str | None = None) -> Question:
    questions = load_questions(lesson, lang)
    try:
        return questions[question_id]
    except KeyError:
        raise KeyError(f"Lesson {lesson!r} has no question {question_id!r}; known: {', '.join(questions)}") from None
