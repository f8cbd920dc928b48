"""Reading results the way an instructor would: from grades.csv, and from feedback HTML."""

import json
from pathlib import Path

from course.grading import cells
from course.grading.layout import CourseLayout
from course.grading.release import hidden_lines
from course.grading.report import read_grades as scores  # noqa: F401 (the tests' name for it)
from course.references import exercises


def points(source_notebook: Path) -> dict[str, float]:
    """Points of each grade cell in an instructor notebook."""
    notebook_cells = json.loads(source_notebook.read_text())["cells"]
    return {cells.grade_id_of(c): cells.points(c) for c in notebook_cells if cells.is_graded(c)}


def checked(lesson: str, grade_id: str, candidate, seed: int = 5) -> tuple[bool, str]:
    """(passed, feedback line) of ``candidate`` for a lesson's exercise, checked as ``course grade`` checks it:
    the driver runs the candidate on the cases drawn from ``seed``, the grader compares with the reference."""
    from course.grading.drivers import observe
    from course.grading.values import decode, encode
    from course.references import exercises

    check = exercises(lesson)[grade_id].check(seed)
    return check.verdict([encode(observe(check.driver, candidate, decode(case))) for case in check.cases])


def quiz_points(source_notebook: Path) -> float:
    """Points of the quiz grade cells in an instructor notebook (what answers.json alone can earn)."""
    notebook_cells = json.loads(source_notebook.read_text())["cells"]
    return sum(cells.points(c) for c in notebook_cells if cells.is_graded(c) and cells.quiz_keys(cells.cell_source(c)))


def assert_feedback_hides_key(course: Path, lesson: str) -> None:
    layout = CourseLayout.load(course)
    secrets = hidden_lines(layout.source_notebook(lesson))  # lines the student sees anyway are no secret
    pages = list(layout.feedback.glob(f"*/{lesson}/*.html"))
    assert pages, "feedback was generated"
    for page in pages:
        text = page.read_text()
        leaked = [s for s in secrets if s in text or s.replace('"', "&quot;") in text]
        assert not leaked, f"{page} shows hidden lines: {leaked[:2]}"


LEAN_ON_REFERENCES = """try:
    from course.references import reference as _reference

    for _name in {targets!r}:
        globals()[_name] = _reference({lesson!r}, _name)
except ImportError as error:
    print("no reference solutions here:", error)
"""


def lean_on_references(folder, lesson: str) -> None:
    """Every solution cell of the submission in ``folder`` takes the lesson's exercises from course.references."""
    path = folder / f"{lesson}.ipynb"
    notebook = json.loads(path.read_text())
    targets = sorted({exercise.target for exercise in exercises(lesson).values()})
    for cell in notebook["cells"]:
        if cells.is_solution(cell) and not cells.is_graded(cell):
            cell["source"] = LEAN_ON_REFERENCES.format(targets=targets, lesson=lesson)
    path.write_text(json.dumps(notebook))
