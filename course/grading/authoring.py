"""Declared exercises become notebook cells: ``course release`` writes each exercise's test cell into the
instructor's source notebook from its declaration in ``course.references`` before nbgrader generates the release.

An instructor writes two things for a graded exercise: the solution cell in the notebook (the student's
stub, with the answer between the solution marks) and the declaration (reference, inputs, comparison, points,
visible tests). The test cell is derived, so points, visible tests and what the grader checks are written once,
beside the reference, and a graded cell without a declaration cannot be released: the grader would have nothing
to check it with.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import nbformat

from . import cells
from .exercise import Exercise
from .nbgrader_runner import CourseError

HEADER = "# Tests you can run: they must all pass before you submit."
WIDTH = 110


def source_of_test_cell(exercise: Exercise) -> str:
    """The test cell of ``exercise``: the header, what the grader also does on submission, the visible tests."""
    about = textwrap.wrap(
        f"When you submit, the grader also {exercise.about.strip()}", WIDTH - 2, break_on_hyphens=False
    )
    return "\n".join([HEADER, *(f"# {line}" for line in about), exercise.tests.strip("\n")])


def metadata_of_test_cell(exercise: Exercise) -> dict:
    return cells.metadata(exercise.grade_id, grade=True, points=exercise.points)


def _defines(source: str, target: str) -> bool:
    return re.search(rf"^(?:async\s+)?(?:def|class)\s+{re.escape(target)}\b", source, re.M) is not None


def write_test_cells(notebook: nbformat.NotebookNode, declared: dict[str, Exercise], where: str) -> list[str]:
    """Give ``notebook`` the test cell of each exercise in ``declared`` that it holds (by the test cell's grade
    id, or else by the solution cell defining the exercise's target, after which the cell is added). Returns
    the grade ids of the exercises it holds; cells already as declared are left untouched.

    Raises CourseError for a graded code cell that is neither a quiz grade cell nor declared (``where`` names
    the notebook in the message)."""
    held = []
    by_id = {cells.grade_id_of(c): i for i, c in enumerate(notebook.cells) if cells.grade_id_of(c)}
    for grade_id, exercise in declared.items():
        index = by_id.get(grade_id)
        if index is None:
            solutions = [
                i
                for i, c in enumerate(notebook.cells)
                if cells.is_solution(c) and _defines(cells.cell_source(c) or "", exercise.target)
            ]
            if not solutions:
                continue
            cell = nbformat.v4.new_code_cell("")
            cell["id"] = re.sub(r"[^a-zA-Z0-9-]", "-", grade_id)[:64]
            notebook.cells.insert(solutions[0] + 1, cell)
            by_id = {cells.grade_id_of(c): i for i, c in enumerate(notebook.cells) if cells.grade_id_of(c)}
            index = solutions[0] + 1
        cell = notebook.cells[index]
        cell.cell_type = "code"
        cell.source = source_of_test_cell(exercise)
        cell.metadata = {**cell.metadata, **metadata_of_test_cell(exercise)}
        held.append(grade_id)
    undeclared = [
        cells.grade_id_of(c)
        for c in notebook.cells
        if c.cell_type == "code"
        and cells.is_graded(c)
        and cells.grade_id_of(c) not in declared
        and not cells.quiz_keys(cells.cell_source(c) or "")
    ]
    if undeclared:
        raise CourseError(
            f"{where}: the graded cell(s) {', '.join(map(str, undeclared))} have no exercise declared in "
            "course/references: declare each one (CONTRIBUTING.md, 'Declaring an exercise'), or make it a quiz grade "
            "cell or an ungraded cell."
        )
    return held


def write_lesson_test_cells(notebooks: list[Path], declared: dict[str, Exercise], lesson: str) -> list[Path]:
    """Write the declared test cells into the lesson's source ``notebooks``; returns the notebooks it changed.

    Every declared exercise must land in one of them (its test cell or the solution cell defining its target)."""
    changed, held = [], set()
    for path in notebooks:
        before = path.read_text(encoding="utf-8")
        notebook = nbformat.reads(before, as_version=4)
        held |= set(write_test_cells(notebook, declared, str(path)))
        after = nbformat.writes(notebook) + "\n"
        if after != before:
            path.write_text(after, encoding="utf-8")
            changed.append(path)
    missing = sorted(set(declared) - held)
    if missing:
        targets = ", ".join(f"{declared[g].target} ({g})" for g in missing)
        raise CourseError(
            f"{lesson}: no solution cell defines {targets}, declared in course/references: add the exercise's "
            "solution cell to the lesson's notebook, or fix the declaration's target."
        )
    return changed
