"""Building hostile submissions to lesson 00 from its release, like real ones, then changing them: notebook
edits, extra files, links, broken files."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from course.grading import cells
from course.grading.layout import CourseLayout
from course.grading.samples import answer_key, write_submission

from .payloads import HELPERS, WRONG

LESSON = "00-orientation"
SOLUTION, TEST = "ex-linear-parameters", "test-linear-parameters"
QUESTION, KEY = "score-a-submission", ["c"]  # the lesson's graded question and its key (samples/answers)
QUIZ = f"grade-{QUESTION}"


def _cells(folder: Path) -> tuple[Path, dict]:
    path = folder / f"{LESSON}.ipynb"
    return path, json.loads(path.read_text(encoding="utf-8"))


def _index(notebook: dict, grade_id: str) -> int:
    return next(i for i, c in enumerate(notebook["cells"]) if cells.grade_id_of(c) == grade_id)


def _code(source: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def submit(
    layout: CourseLayout,
    student: str,
    *,
    solution: str | None = None,
    blank: bool = False,
    right_quiz: bool = False,
    answers: dict[str, list[str]] | None = None,
    early: str | None = None,
    edit: Callable[[dict], None] | None = None,
    files: dict[str, str] | None = None,
) -> Path:
    """A submission from the release: the exercise solved (or left ``blank``, or ``solution`` pasted in), the
    quiz answered right (``right_quiz``) or as in ``answers``, an ``early`` cell before the first graded cell,
    notebook edits, extra files."""
    chosen = answer_key(layout, LESSON) if right_quiz else answers
    folder = write_submission(layout, student, LESSON, set() if blank or solution else None, chosen)
    path, notebook = _cells(folder)
    if solution is not None:
        notebook["cells"][_index(notebook, SOLUTION)]["source"] = solution
    if early:  # before the first graded cell, so it can act on every one
        notebook["cells"].insert(min(_index(notebook, QUIZ), _index(notebook, TEST)), _code(early))
    if edit:
        edit(notebook)
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    for name, text in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def edit_test(notebook: dict) -> None:
    cell = notebook["cells"][_index(notebook, TEST)]
    cell["source"] = "# tests removed\npass"
    cell["metadata"]["nbgrader"].update(locked=False, points=100)
    cell["metadata"]["editable"] = True


def retype_test(notebook: dict) -> None:
    cell = notebook["cells"][_index(notebook, TEST)]
    cell.update(cell_type="markdown", source="(no tests here)")
    cell.pop("outputs", None)
    cell.pop("execution_count", None)


def delete_test(notebook: dict) -> None:
    del notebook["cells"][_index(notebook, TEST)]


def duplicate_test(notebook: dict) -> None:
    index = _index(notebook, TEST)
    fake = json.loads(json.dumps(notebook["cells"][index]))
    fake["source"] = "pass"
    notebook["cells"].insert(index, fake)
    notebook["cells"].insert(index + 2, json.loads(json.dumps(fake)))


def skip_tag(notebook: dict) -> None:
    notebook["cells"][_index(notebook, TEST)]["metadata"]["tags"] = ["skip-execution"]


def reorder(notebook: dict) -> None:
    cells = notebook["cells"]
    test = cells.pop(_index(notebook, TEST))
    cells.insert(_index(notebook, SOLUTION), test)
    cells.insert(0, cells.pop(_index(notebook, QUIZ)))


def claim_points(notebook: dict) -> None:
    meta = notebook["cells"][_index(notebook, SOLUTION)]["metadata"]["nbgrader"]
    meta.update(grade=True, points=10)
    notebook["cells"][_index(notebook, TEST)]["metadata"]["nbgrader"]["points"] = 100


def foreign(layout: CourseLayout, student: str) -> None:
    folder = submit(layout, student, right_quiz=True)
    path, notebook = _cells(folder)
    for index, cell in enumerate(notebook["cells"]):
        meta = cells.nbgrader(cell)
        if meta:
            meta["grade_id"] = f"other-lesson-cell-{index}"
    path.write_text(json.dumps(notebook), encoding="utf-8")


def invalid_json(layout: CourseLayout, student: str) -> None:
    path, _ = _cells(submit(layout, student, right_quiz=True))
    path.write_text('{"cells": [ {"cell_type": "code", "source": "print(1)"', encoding="utf-8")


def missing_notebook(layout: CourseLayout, student: str) -> None:
    _cells(submit(layout, student, right_quiz=True))[0].unlink()


def answers_link(layout: CourseLayout, student: str) -> None:
    folder = submit(layout, student, solution=WRONG)
    os.symlink(Path("..", "..", "honest-full", LESSON, "answers.json"), folder / "answers.json")


def folder_link(layout: CourseLayout, student: str) -> None:
    layout.submission_dir(student, LESSON).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(Path("..", "honest-full", LESSON), layout.submission_dir(student, LESSON))


def broken_answers(layout: CourseLayout, student: str) -> None:
    folder = submit(layout, student)
    (folder / "answers.json").write_text('{"format": 1, "answers": {"' + QUESTION + '": ["c"', encoding="utf-8")
    (folder / "timestamp.txt").write_text("not a date", encoding="utf-8")


def claim_and_reorder(notebook: dict) -> None:
    claim_points(notebook)
    reorder(notebook)


def helper_cell(notebook: dict) -> None:
    """The student's own cell, with helper functions, just before the exercise cell."""
    notebook["cells"].insert(_index(notebook, SOLUTION), _code(HELPERS))


def old_nbformat(notebook: dict) -> None:
    """Saved by an older Jupyter: nbformat 4.4, cells without ids."""
    notebook["nbformat_minor"] = 4
    for cell in notebook["cells"]:
        cell.pop("id", None)


def raw_answers(text: str) -> Callable[[CourseLayout, str], None]:
    """Exercise right, and ``text`` as answers.json (a malformed answers file)."""

    def build(layout: CourseLayout, student: str) -> None:
        (submit(layout, student) / "answers.json").write_text(text, encoding="utf-8")

    return build
