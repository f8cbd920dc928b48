"""`course release` writes each declared exercise's test cell from its declaration, and refuses graded cells
that no declaration covers."""

import json

import nbformat
import pytest

from course.grading import cells
from course.grading.authoring import source_of_test_cell, write_lesson_test_cells, write_test_cells
from course.grading.exercise import Exercise, call
from course.grading.nbgrader_runner import CourseError
from course.references import exercises
from tests.conftest import LAYOUT, LESSONS

DOUBLE = Exercise(
    grade_id="test-double",
    target="double",
    points=3,
    about="calls your function on numbers it draws itself and compares with the reference.",
    tests="assert double(2) == 4",
    reference=lambda x: 2 * x,
    cases=lambda rng: [call(rng.randint(0, 9))],
)


def _notebook(*extra):
    stub = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
    solution = nbformat.v4.new_code_cell(stub, metadata=cells.metadata("ex-double", solution=True, locked=False))
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Doubling"), solution, *extra])


def test_a_missing_test_cell_is_written_after_the_solution_that_defines_the_target():
    notebook = _notebook(nbformat.v4.new_markdown_cell("## Next"))
    assert write_test_cells(notebook, {"test-double": DOUBLE}, "nb") == ["test-double"]
    cell = notebook.cells[2]
    assert cells.grade_id_of(cell) == "test-double" and cells.is_graded(cell) and cells.points(cell) == 3
    assert cell.metadata["nbgrader"]["locked"] and not cells.is_solution(cell)
    assert cell.source == source_of_test_cell(DOUBLE)
    assert cell.source.splitlines()[-1] == "assert double(2) == 4"
    assert "When you submit, the grader also calls your function on numbers" in cell.source
    assert notebook.cells[3].source == "## Next"
    nbformat.validate(notebook)
    before = nbformat.writes(notebook)
    write_test_cells(notebook, {"test-double": DOUBLE}, "nb")
    assert nbformat.writes(notebook) == before, "writing again changes nothing"


def test_an_edited_test_cell_takes_the_declaration_again():
    stale = nbformat.v4.new_code_cell("assert True", metadata=cells.metadata("test-double", grade=True, points=1))
    notebook = _notebook(stale)
    write_test_cells(notebook, {"test-double": DOUBLE}, "nb")
    assert len(notebook.cells) == 3
    assert notebook.cells[2].source == source_of_test_cell(DOUBLE) and cells.points(notebook.cells[2]) == 3


def test_a_graded_cell_without_a_declaration_stops_the_release():
    loose = nbformat.v4.new_code_cell("assert double(3) == 6", metadata=cells.metadata("test-loose", grade=True))
    quiz = nbformat.v4.new_code_cell(
        cells.quiz_grade_source("q1", {"b"}), metadata=cells.metadata("grade-q1", grade=True)
    )
    with pytest.raises(CourseError, match="test-loose have no exercise declared in course/references"):
        write_test_cells(_notebook(quiz, loose), {"test-double": DOUBLE}, "nb")
    write_test_cells(_notebook(quiz), {"test-double": DOUBLE}, "nb")  # a quiz grade cell needs no declaration


def test_a_declaration_with_no_solution_cell_stops_the_release(tmp_path):
    path = tmp_path / "lesson.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Empty")]), path)
    with pytest.raises(CourseError, match=r"no solution cell defines double \(test-double\)"):
        write_lesson_test_cells([path], {"test-double": DOUBLE}, "99-lesson")


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_committed_test_cells_are_the_declarations(lesson):
    notebook = json.loads(LAYOUT.source_notebook(lesson).read_text())
    by_id = {cells.grade_id_of(c): c for c in notebook["cells"]}
    for grade_id, exercise in exercises(lesson).items():
        cell = by_id[grade_id]
        assert cells.cell_source(cell) == source_of_test_cell(exercise), f"{grade_id}: run `course release` and commit"
        assert cells.points(cell) == exercise.points
