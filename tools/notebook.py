"""Authoring helpers for instructor notebooks with nbgrader cell metadata.

Write a lesson as a list of cells and save it::

    from tools.notebook import md, code, solution, tests, quiz, graded_quiz, save
    save("source/00-orientation/00-orientation.ipynb", [md("# Title"), code("x = 1"), ...])

The committed ``.ipynb`` in ``source/`` is the source of truth; these helpers only
spare you from typing nbgrader metadata by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from course.grading import cells as cell_format

_ids: set[str] = set()


def _meta(grade_id: str, **flags) -> dict:
    if grade_id in _ids:
        raise ValueError(f"duplicate grade_id {grade_id}")
    _ids.add(grade_id)
    return cell_format.metadata(grade_id, **flags)


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text.strip("\n"))


def code(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source.strip("\n"))


def solution(grade_id: str, source: str) -> nbformat.NotebookNode:
    """A cell the student completes; wrap the answer in ### BEGIN/END SOLUTION."""
    if cell_format.BEGIN_SOLUTION not in source:
        raise ValueError(f"{grade_id}: a solution cell needs ### BEGIN SOLUTION / ### END SOLUTION")
    return nbformat.v4.new_code_cell(source.strip("\n"), metadata=_meta(grade_id, solution=True, locked=False))


def tests(grade_id: str, source: str, points: int) -> nbformat.NotebookNode:
    """An autograded test cell: visible asserts, then ### BEGIN/END HIDDEN TESTS."""
    return nbformat.v4.new_code_cell(source.strip("\n"), metadata=_meta(grade_id, grade=True, points=points))


def quiz(lesson: str, question_id: str) -> nbformat.NotebookNode:
    """A read-only cell that shows a quiz question."""
    return nbformat.v4.new_code_cell(f'ask("{lesson}", "{question_id}")', metadata=_meta(f"quiz-{question_id}"))


def graded_quiz(question_id: str, answer: set[str], points: int = 1) -> nbformat.NotebookNode:
    """The grade cell of a graded question: the key is a hidden test, read from answers.json."""
    source = cell_format.quiz_grade_source(question_id, answer)
    return nbformat.v4.new_code_cell(source, metadata=_meta(f"grade-{question_id}", grade=True, points=points))


def save(path: str | Path, cells: list) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for index, cell in enumerate(nb.cells):
        name = cell_format.grade_id_of(cell) or f"cell-{index}"
        cell["id"] = re.sub(r"[^a-zA-Z0-9-]", "-", name)[:64]
    nbformat.validate(nb)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    _ids.clear()
