"""Quiz questions as data: one JSON file per lesson and language.

``questions/<lesson>.<lang>.json`` holds ``{"questions": [...]}``; each question
has an ``id``, a ``kind`` (``practice`` or ``graded``), ``multiple`` (bool), a
``prompt`` and ``options`` (``id``, ``text`` and, for practice questions, an
``explanation``). Practice questions carry their ``answer``; graded questions
never do: their key lives only in the instructor's hidden tests.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from importlib import resources

DEFAULT_LANGUAGE = "en"


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


def language() -> str:
    """The quiz language: ``COURSE_LANG`` if set (for example ``ko`` or ``ja``), else English."""
    return os.environ.get("COURSE_LANG", DEFAULT_LANGUAGE)


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
    """All questions of a lesson, by id, in the requested language (falling back to English)."""
    folder = resources.files("course.quiz") / "questions"
    lang = lang or language()
    for candidate in (lang, DEFAULT_LANGUAGE):
        source = folder / f"{lesson}.{candidate}.json"
        if source.is_file():
            raw = json.loads(source.read_text(encoding="utf-8"))
            return {q["id"]: _parse(q, source.name) for q in raw["questions"]}
    raise KeyError(f"No quiz questions for lesson {lesson!r}; expected {lesson}.{DEFAULT_LANGUAGE}.json")


def get_question(lesson: str, question_id: str, lang: str | None = None) -> Question:
    questions = load_questions(lesson, lang)
    try:
        return questions[question_id]
    except KeyError:
        raise KeyError(f"Lesson {lesson!r} has no question {question_id!r}; known: {', '.join(questions)}") from None
