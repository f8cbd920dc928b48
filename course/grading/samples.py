"""Sample submissions built from a release: what a student who solved some exercises would hand in.

Used by `course demo`, the benchmarks and the end-to-end grading tests. The graded quiz keys for samples come
from the course's answer keys (``CourseLayout.answer_key_file``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from . import cells
from .files import ANSWERS
from .layout import CourseLayout


def copy_course(source: CourseLayout, out: Path, lessons: list[str] | None = None) -> CourseLayout:
    """A new course folder ``out`` with the config, the lessons' sources (default: all) and their answer keys."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source.config_file, out / source.config_file.name)
    copy = CourseLayout.load(out)
    copy.source.mkdir(parents=True, exist_ok=True)
    for lesson in source.lessons() if lessons is None else lessons:
        shutil.copytree(
            source.source_dir(lesson), copy.source_dir(lesson), ignore=shutil.ignore_patterns("answers*.json", ".*")
        )
        if source.answer_key_file(lesson).exists():
            copy.answer_keys.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source.answer_key_file(lesson), copy.answer_keys)
    return copy


def answer_key(layout: CourseLayout, lesson: str) -> dict[str, list[str]]:
    """The correct answers of a lesson's graded questions, as kept for tests and the demo."""
    path = layout.answer_key_file(lesson)
    return json.loads(path.read_text(encoding="utf-8"))["answers"] if path.exists() else {}


def exercise_ids(notebook: Path) -> list[str]:
    """grade_ids of the solution cells, in notebook order."""
    notebook_cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [cells.trusted_grade_id(c) for c in notebook_cells if cells.is_solution(c)]


def solved_notebook(release_nb: Path, source_nb: Path, solve: set[str] | None = None) -> dict:
    """The release notebook with the instructor's solution pasted into the chosen solution cells."""
    answers = {
        cells.trusted_grade_id(c): cells.remove_solution_marks(cells.trusted_source(c))
        for c in json.loads(source_nb.read_text(encoding="utf-8"))["cells"]
        if cells.is_solution(c)
    }
    notebook = json.loads(release_nb.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        grade_id = cells.grade_id_of(cell)
        if grade_id in answers and (solve is None or grade_id in solve):
            cell["source"] = answers[grade_id]
    return notebook


def write_submission(
    layout: CourseLayout,
    student: str,
    lesson: str,
    solve: set[str] | None = None,
    answers: dict[str, list[str]] | None = None,
    language: str = "en",
) -> Path:
    """Create the submission folder of ``student`` from the release in ``language`` (``release/<lesson>/`` or
    ``release/<lang>/<lesson>/``), solving ``solve`` (None: all, set(): none), with ``answers`` as its
    answers.json (None: no answers file)."""
    folder = layout.submission_dir(student, lesson)
    if folder.exists():
        shutil.rmtree(folder)
    released = layout.release_dir(lesson) if language == "en" else layout.translated_release_dir(lesson, language)
    shutil.copytree(released, folder)
    for notebook in released.glob("*.ipynb"):
        solved = solved_notebook(notebook, layout.source_notebook(lesson, notebook.stem), solve)
        (folder / notebook.name).write_text(json.dumps(solved, indent=1, ensure_ascii=False), encoding="utf-8")
    if answers is not None:
        (folder / ANSWERS).write_text(json.dumps({"format": 1, "answers": answers}), encoding="utf-8")
    return folder


def wrong_choice(question_options: list[str], right: list[str]) -> list[str]:
    """A different choice than ``right`` among a question's options."""
    for option in question_options:
        if [option] != sorted(right):
            return [option]
    raise ValueError("a question needs at least two options")
