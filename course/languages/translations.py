"""Translations of the lessons' markdown cells and quiz questions, and the checks that keep them honest.

A lesson's translation is ``lessons/<lesson>.<lang>.json``::

    {"lesson": "01-beyond-the-prompt", "language": "ko",
     "cells": {"cell-0": {"english": "<fingerprint of the English cell>", "text": "<the Korean cell>"}}}

keyed by the cell ids of the instructor notebook (nbgrader keeps them in the release). A quiz translation,
``course/quiz/questions/<lesson>.<lang>.json``, holds for each question its ``id``, the ``english`` fingerprint
of the English question (:func:`question_fingerprint`), the ``prompt`` and the ``options`` (``id``, ``text``,
``explanation``); kind, answer and option order always come from the English file, so grading never depends
on the language. :func:`problems` is what CI runs: it names every cell, question or string whose English
changed without its translation, that is missing, that is left in English, or that is too short to be a
translation.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from . import ENGLISH, METADATA_KEY, TRANSLATED, catalog_files, fingerprint

# A translation is a rewrite, not a summary. Counted without spaces, outside code and maths, this course's Korean
# cells run at 46-72% of their English's characters (median 57%) and its Japanese at 51-79% (median 67%), over
# the 117 cells of 160 characters or more. A cell or option under MIN_RATIO of its English is a summary; over
# MAX_RATIO it is padding or another cell's text.
MIN_RATIO = {"ko": 0.35, "ja": 0.38}
MAX_RATIO = {"ko": 1.1, "ja": 1.2}
RATIO_FROM_CHARS = 160  # shorter texts (titles, labels) vary too much to judge by length

STOPWORDS = frozenset(
    "the a an is are was were be been of to and or in on at for with that this these it its as by from "
    "we you your they their not can which when what how than then so if but does do has have".split()
)
_HIDDEN = [
    re.compile(r"```.*?```", re.S),  # code blocks
    re.compile(r"`[^`]*`"),  # inline code
    re.compile(r"\$\$.*?\$\$", re.S),  # display math
    re.compile(r"\$[^$\n]*\$"),  # inline math
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"https?://\S+"),
    re.compile(r"<[^>]+>"),  # HTML tags
    re.compile(r"\*[^*\n]*\*|_[^_\n]*_"),  # italics: titles of papers and books are cited as written
    re.compile(r"\"[^\"\n]*\"|“[^”\n]*”"),  # quoted English (a prompt, a model's answer) is an example, not prose
]
_ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ ,;:]+[A-Za-z][A-Za-z'’-]*){4,}")


_WORD = re.compile(r"[A-Za-z]{2,}")
_PLACEHOLDER = re.compile(r"{[^}]*}")


def _prose(text: str) -> str:
    for pattern in _HIDDEN:
        text = pattern.sub(" ", text)
    return text


def english_sentences(text: str) -> list[str]:
    """Runs of English prose in a translated text: five or more English words with at least two function
    words (names, terms of art, code, maths, links, quotes and cited titles do not count)."""
    text = _prose(text)
    found = []
    for match in _ENGLISH_RUN.finditer(text):
        words = re.findall(r"[A-Za-z'’-]+", match.group(0))
        if sum(w.lower() in STOPWORDS for w in words) >= 2:
            found.append(match.group(0))
    return found


def prose_length(text: str) -> int:
    """Characters of a text outside code blocks and maths, the part a translator rewrites."""
    for pattern in _HIDDEN[:4]:
        text = pattern.sub("", text)
    return len(re.sub(r"\s+", "", text))


def _length_problem(english: str, translated: str, lang: str) -> str | None:
    source = prose_length(english)
    if source < RATIO_FROM_CHARS:
        return None
    ratio = prose_length(translated) / source
    if ratio < MIN_RATIO[lang]:
        return f"is {ratio:.0%} of the English's length: a summary, not a translation"
    if ratio > MAX_RATIO[lang]:
        return f"is {ratio:.0%} of the English's length: longer than any translation of it should be"
    return None


def _text_problems(where: str, english: str, translated: str, lang: str) -> list[str]:
    if translated == english and len(_WORD.findall(_prose(english))) >= 2:
        return [f"{where}: not translated yet (still the English text)"]
    problems = [f"{where}: English left untranslated: {run!r}" for run in english_sentences(translated)[:2]]
    too = _length_problem(english, translated, lang)
    return problems + ([f"{where}: {too}"] if too else [])


# ---- lessons' markdown cells -----------------------------------------------------------------------------------


def lessons_folder():
    return resources.files("course.languages") / "lessons"


def lesson_file(lesson: str, lang: str) -> Path:
    return Path(str(lessons_folder() / f"{lesson}.{lang}.json"))


def markdown_cells(notebook: dict) -> dict[str, str]:
    """``{cell id: text}`` of a notebook's translatable cells, in order: markdown cells that nbgrader does not
    track (a graded or read-only cell must stay as the gradebook has it, or grading would restore it)."""
    return {
        c["id"]: _text(c)
        for c in notebook["cells"]
        if c["cell_type"] == "markdown" and not c.get("metadata", {}).get("nbgrader")
    }


def _text(cell: dict) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def load_lesson(lesson: str, lang: str) -> dict[str, dict]:
    """The translated cells of a lesson, ``{cell id: {"english": ..., "text": ...}}`` (empty when none)."""
    path = lesson_file(lesson, lang)
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        cells = raw["cells"]
        if not all(isinstance(c.get("text"), str) and isinstance(c.get("english"), str) for c in cells.values()):
            raise ValueError("each cell needs a text and an english fingerprint")
    except (ValueError, KeyError, AttributeError, TypeError) as err:
        raise ValueError(f"{path.name} is not a valid translation file ({err}); fix its JSON.") from None
    return cells


def translate_notebook(notebook: dict, lesson: str, lang: str) -> tuple[dict, list[str]]:
    """A copy of ``notebook`` with its markdown cells in ``lang`` and the language in its metadata.

    A cell whose translation is missing or was made from different English stays in English; its id is
    returned so the caller can say so."""
    translated = copy.deepcopy(notebook)
    cells = load_lesson(lesson, lang)
    english_left = []
    translatable = markdown_cells(notebook)
    for cell in translated["cells"]:
        if cell["id"] not in translatable:
            continue
        entry = cells.get(cell["id"])
        if entry and entry["english"] == fingerprint(_text(cell)):
            cell["source"] = entry["text"]
        else:
            english_left.append(cell["id"])
    translated["metadata"][METADATA_KEY] = {"language": lang}
    return translated, english_left


def lesson_problems(lesson: str, notebook: dict, lang: str) -> list[str]:
    """Every way the translation of one lesson falls short of its English notebook."""
    english = markdown_cells(notebook)
    cells = load_lesson(lesson, lang)
    name = lesson_file(lesson, lang).name
    if not cells:
        return [f"{name}: missing: no {lang} translation of {lesson}"]
    problems = [f"{name}: cell {cid} is not a markdown cell of {lesson}" for cid in cells if cid not in english]
    for cid, text in english.items():
        entry = cells.get(cid)
        if entry is None:
            problems.append(f"{name}: cell {cid} is not translated")
        elif entry["english"] != fingerprint(text):
            problems.append(
                f"{name}: cell {cid} changed in English since it was translated; "
                f"update its translation and set its english fingerprint to {fingerprint(text)}"
            )
        else:
            problems += _text_problems(f"{name}: cell {cid}", text, entry["text"], lang)
    return problems


# ---- quiz questions ---------------------------------------------------------------------------------------------


def question_fingerprint(question: dict) -> str:
    """The fingerprint of an English question's text: prompt, option texts and explanations."""
    parts = [question["prompt"]] + [f"{o['id']}|{o['text']}|{o.get('explanation', '')}" for o in question["options"]]
    return fingerprint("\n".join(parts))


def quiz_file(lesson: str, lang: str) -> Path:
    return Path(str(resources.files("course.quiz") / "questions" / f"{lesson}.{lang}.json"))


def _questions(path: Path) -> dict[str, dict]:
    return {q["id"]: q for q in json.loads(path.read_text(encoding="utf-8"))["questions"]}


def quiz_problems(lesson: str, lang: str) -> list[str]:
    english = _questions(quiz_file(lesson, ENGLISH))
    path = quiz_file(lesson, lang)
    if not path.is_file():
        return [f"{path.name}: missing: no {lang} quiz for {lesson}"]
    translated = _questions(path)
    problems = [f"{path.name}: question {qid} is not in the English quiz" for qid in translated if qid not in english]
    for qid, question in english.items():
        where = f"{path.name}: question {qid}"
        mine = translated.get(qid)
        if mine is None:
            problems.append(f"{where} is not translated")
            continue
        if mine.get("english") != question_fingerprint(question):
            problems.append(
                f"{where} changed in English since it was translated; update it and set its english "
                f"fingerprint to {question_fingerprint(question)}"
            )
            continue
        ids = [o["id"] for o in question["options"]]
        if [o.get("id") for o in mine.get("options", [])] != ids:
            problems.append(f"{where}: option ids must be {ids}, as in English")
            continue
        problems += _text_problems(where, question["prompt"], mine.get("prompt", ""), lang)
        for theirs, ours in zip(question["options"], mine["options"], strict=True):
            for part in ("text", "explanation"):
                if theirs.get(part):
                    if not ours.get(part):
                        problems.append(f"{where} option {theirs['id']}: {part} is not translated")
                    else:
                        w = f"{where} option {theirs['id']} {part}"
                        problems += _text_problems(w, theirs[part], ours[part], lang)
    return problems


# ---- computed strings -------------------------------------------------------------------------------------------


def strings_problems(lang: str) -> list[str]:
    """Missing, stale or malformed translations of the computed strings (``strings/<area>.<lang>.json``)."""
    problems = []
    translated = {p.name.split(".")[0]: p for p in catalog_files(lang)}
    for path in catalog_files(ENGLISH):
        area = path.name.split(".")[0]
        english = json.loads(path.read_text(encoding="utf-8"))
        mine_path = translated.get(area)
        mine = json.loads(mine_path.read_text(encoding="utf-8")) if mine_path else {}
        name = f"{area}.{lang}.json"
        for key, text in english.items():
            entry = mine.get(key)
            if entry is None:
                problems.append(f"{name}: {key} is not translated")
            elif entry.get("english") != fingerprint(text):
                problems.append(f"{name}: {key} changed in English; update it and its fingerprint {fingerprint(text)}")
            elif set(re.findall(r"{(\w*)[^}]*}", text)) != set(re.findall(r"{(\w*)[^}]*}", entry["text"])):
                problems.append(f"{name}: {key} must use the same {{placeholders}} as the English")
            elif english_sentences(entry["text"]) or (
                entry["text"] == text and len(_WORD.findall(_prose(_PLACEHOLDER.sub("", text)))) >= 2
            ):
                problems.append(f"{name}: {key} is left in English")
        problems += [f"{name}: {key} is not an English string" for key in mine if key not in english]
    return problems


@dataclass(frozen=True)
class Coverage:
    cells: int
    questions: int
    strings: int


def coverage(lessons: dict[str, dict], lang: str) -> Coverage:
    """How many markdown cells, quiz questions and computed strings are translated into ``lang``."""
    cells = sum(len(load_lesson(lesson, lang)) for lesson in lessons)
    questions = sum(len(_questions(quiz_file(lesson, lang))) for lesson in lessons if quiz_file(lesson, lang).is_file())
    strings = sum(len(json.loads(p.read_text(encoding="utf-8"))) for p in catalog_files(lang))
    return Coverage(cells, questions, strings)


def problems(lessons: dict[str, dict], languages=TRANSLATED) -> list[str]:
    """Everything CI checks about the translations; ``lessons`` maps lesson ids to their English notebooks."""
    found = []
    for lang in languages:
        for lesson, notebook in lessons.items():
            found += lesson_problems(lesson, notebook, lang) + quiz_problems(lesson, lang)
        found += strings_problems(lang)
    return found


# ---- the translator's starting point ------------------------------------------------------------------------------


def write_todo(lesson: str, notebook: dict, lang: str) -> tuple[Path, Path, int]:
    """Add every untranslated or changed cell and question of a lesson to its translation files, with the
    English text in place and the current fingerprint, so a translator rewrites text and touches nothing else.
    Returns the two files and how many entries now need translating."""
    cells = load_lesson(lesson, lang)
    todo = 0
    for cid, text in markdown_cells(notebook).items():
        if cells.get(cid, {}).get("english") != fingerprint(text):
            cells[cid] = {"english": fingerprint(text), "text": text}
            todo += 1
    ordered = {cid: cells[cid] for cid in markdown_cells(notebook)}
    lesson_path = lesson_file(lesson, lang)
    _write(lesson_path, {"lesson": lesson, "language": lang, "cells": ordered})

    quiz_path = quiz_file(lesson, lang)
    mine = _questions(quiz_path) if quiz_path.is_file() else {}
    questions = []
    for qid, question in _questions(quiz_file(lesson, ENGLISH)).items():
        current = mine.get(qid)
        if current is None or current.get("english") != question_fingerprint(question):
            todo += 1
            current = {
                "id": qid,
                "english": question_fingerprint(question),
                "prompt": question["prompt"],
                "options": [{k: o[k] for k in ("id", "text", "explanation") if k in o} for o in question["options"]],
            }
        questions.append(current)
    _write(quiz_path, {"questions": questions})
    return lesson_path, quiz_path, todo


def write_strings_todo(lang: str, areas: list[str] | None = None) -> int:
    """The same for the computed strings (of ``areas``, default all): add each untranslated or changed key with
    its English text."""
    todo = 0
    for path in catalog_files(ENGLISH):
        area = path.name.split(".")[0]
        if areas and area not in areas:
            continue
        target = Path(str(path)).with_name(f"{area}.{lang}.json")
        mine = json.loads(target.read_text(encoding="utf-8")) if target.is_file() else {}
        english = json.loads(path.read_text(encoding="utf-8"))
        for key, text in english.items():
            if mine.get(key, {}).get("english") != fingerprint(text):
                mine[key] = {"english": fingerprint(text), "text": text}
                todo += 1
        _write(target, {key: mine[key] for key in english})
    return todo


def _write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
