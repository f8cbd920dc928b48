"""Reading results the way an instructor would (from grades.csv, and from feedback HTML), and checking an exercise
the way the grader does (its drawn cases, its verdict on a candidate, honest solutions against its reference)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from course.grading import cells
from course.grading.layout import CourseLayout
from course.grading.release import hidden_lines
from course.grading.report import read_grades as scores  # noqa: F401 (the tests' name for it)
from course.references import exercises

if TYPE_CHECKING:
    from course.grading.exercise import Exercise


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


def drawn_cases(exercise: Exercise, seeds: Iterable[int]) -> Iterator[tuple[int, list[dict]]]:
    """``(seed, cases)`` for each of ``seeds``: the inputs the grader draws for ``exercise`` with that seed, decoded."""
    from course.grading.values import decode

    for seed in seeds:
        yield seed, [decode(case) for case in exercise.draw(seed)]


def _outcome(solution: Callable, case: dict) -> object:
    """What ``solution`` returns on ``case`` (a ``call`` driver's case), or ValueError, the error the exercises
    ask for on bad input."""
    try:
        return solution(*case["args"], **case["kwargs"])
    except ValueError:
        return ValueError


def mismatches(exercise: Exercise, solution: Callable, seeds: Iterable[int]) -> list[tuple[int, list]]:
    """``(seed, args)`` of every drawn case where ``solution`` and the exercise's reference disagree."""
    return [
        (seed, case["args"])
        for seed, cases in drawn_cases(exercise, seeds)
        for case in cases
        if _outcome(solution, case) != _outcome(exercise.reference, case)
    ]


def honest_variant_tests(lesson: str, grade_id: str, honest: Sequence[Callable]) -> type:
    """A test class (assign it to a ``Test...`` name in a test module) holding ``honest`` solutions of an exercise,
    written from its text in different ways, to the reference: they agree with it on every case drawn from the
    first seeds (and, in the slow lane, every seed to 2000), and pass the grading check. An exercise whose text
    leaves a tie or a rounding open fails here, before a student loses points to it."""
    exercise = exercises(lesson)[grade_id]
    each = pytest.mark.parametrize("solution", honest, ids=lambda solution: solution.__name__)

    class HonestVariants:
        @each
        def test_match_the_reference_on_the_first_seeds(self, solution):
            assert mismatches(exercise, solution, range(150)) == []

        @pytest.mark.slow  # 2,001 draws of some 15 to 30 cases for each solution
        @each
        def test_match_the_reference_on_every_seed_to_2000(self, solution):
            assert mismatches(exercise, solution, range(2001)) == []

        @each
        def test_pass_the_grading_check(self, solution):
            for seed in (0, 29, 2024):
                passed, line = checked(lesson, grade_id, solution, seed)
                assert passed, (solution.__name__, seed, line)

    return HonestVariants


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
