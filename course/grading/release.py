"""`course release`: write the declared exercises' test cells into the source notebooks, build the student
version of every lesson, then prove it leaks nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

from ..languages import ENGLISH, TRANSLATED
from ..languages.translations import translate_notebook
from . import cells
from .authoring import write_lesson_test_cells
from .layout import CourseLayout
from .nbgrader_runner import CourseError, database_url, run_nbgrader
from .schedule import DUE_CELL, Schedule, due_cell_text, load_schedule


def release(root: Path, wanted: list[str] | None = None, db_url: str | None = None) -> list[Path]:
    """Generate the release folder of each lesson from its source folder and verify it.

    First each declared exercise's test cell is written into the source notebook from its declaration
    (``course.grading.authoring``); a graded cell with no declaration stops the release. The lessons' grade cells
    are recorded in the gradebook: gradebook.db, or the database at ``db_url``."""
    from ..references import exercises

    layout = CourseLayout.load(root)
    schedule = load_schedule(layout.schedule_file, layout.lessons())  # a mistake in it stops the release first
    released = []
    db_url = database_url(db_url) if db_url else None
    for lesson in layout.check_lessons(wanted):
        write_lesson_test_cells(sorted(layout.source_dir(lesson).glob("*.ipynb")), exercises(lesson), lesson)
        # nbgrader reads the folder names from the same nbgrader_config.py as the layout
        run_nbgrader(
            layout.root,
            "generate_assignment",
            lesson,
            "--force",
            # answers files and dot files beside a source notebook never travel to students
            '--CourseDirectory.ignore=[".ipynb_checkpoints","*.pyc","__pycache__",'
            f'"{layout.feedback.name}","answers*.json",".*"]',
            *([f"--CourseDirectory.db_url={db_url}"] if db_url else []),
        )
        released.append(layout.release_dir(lesson))
        for lang in TRANSLATED:
            released.append(write_translated_release(layout, lesson, lang))
        show_due_dates(layout, lesson, schedule)
    problems = verify_release(layout.root, sorted({p.name for p in released}))
    if problems:
        raise CourseError("The release leaks answers:\n" + "\n".join(problems))
    return released


def write_translated_release(layout: CourseLayout, lesson: str, lang: str) -> Path:
    """``release/<lang>/<lesson>/``: the English release folder with each notebook's markdown translated.

    A cell without an up-to-date translation stays in English (``course translations check`` names it)."""
    target = layout.translated_release_dir(lesson, lang)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(layout.release_dir(lesson), target)
    for notebook in target.glob("*.ipynb"):
        translated, _ = translate_notebook(read_notebook(notebook), lesson, lang)
        nbformat.write(nbformat.from_dict(translated), notebook)
    return target


def show_due_dates(layout: CourseLayout, lesson: str, schedule: Schedule) -> None:
    """Put the lesson's due date (``schedule.toml``) under the title of each of its released notebooks, in each
    language: a markdown cell nbgrader does not track, so grading neither needs nor restores it."""
    folders = [(ENGLISH, layout.release_dir(lesson))]
    folders += [(lang, layout.translated_release_dir(lesson, lang)) for lang in TRANSLATED]
    for lang, folder in folders:
        text = due_cell_text(schedule, lesson, lang)
        if text is None:
            continue
        for path in folder.glob("*.ipynb"):
            notebook = nbformat.read(path, as_version=4)
            cell = nbformat.v4.new_markdown_cell(text)
            cell["id"] = DUE_CELL
            notebook.cells.insert(1, cell)
            nbformat.write(notebook, path)


def read_notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _cells(path: Path) -> list[dict]:
    return read_notebook(path)["cells"]


def secret_snippets(source_notebook: Path) -> list[str]:
    """Lines of hidden tests and solutions in an instructor notebook that a release must not contain."""
    snippets = []
    for cell in _cells(source_notebook):
        text = cells.trusted_source(cell)
        for block in cells.hidden_tests(text) + cells.solutions(text):
            snippets += [line.strip() for line in block.splitlines() if len(line.strip()) > 12]
    return snippets


def hidden_lines(source_notebook: Path) -> list[str]:
    """The secret lines of an instructor notebook that a student does not see elsewhere in it."""
    visible = visible_source(source_notebook)  # lines the student sees anyway are no secret
    return [s for s in secret_snippets(source_notebook) if s not in visible]


def verify_release(root: Path, wanted: list[str]) -> list[str]:
    """Problems found in the release folder: solution or hidden-test text, answers files, outputs."""
    layout = CourseLayout.load(root)
    problems = []
    folders = [(lesson, layout.release_dir(lesson)) for lesson in wanted]
    folders += [(lesson, layout.translated_release_dir(lesson, lang)) for lesson in wanted for lang in TRANSLATED]
    for lesson, folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and path.name.startswith("answers") and path.suffix == ".json":
                problems.append(f"{path.relative_to(layout.root)}: answers file in the release")
        for notebook in folder.glob("*.ipynb"):
            source_nb = layout.source_notebook(lesson, notebook.stem)
            secrets = set(hidden_lines(source_nb)) if source_nb.exists() else set()
            for index, cell in enumerate(_cells(notebook)):
                text = cells.cell_source(cell)
                where = f"{notebook.relative_to(layout.root)} cell {index}"
                if text is None:
                    problems.append(f"{where}: its source is neither text nor a list of lines")
                    text = ""
                problems += [f"{where}: contains '{m}'" for m in cells.FORBIDDEN_MARKS if m in text]
                leaked = [s for s in secrets if s in text]
                problems += [f"{where}: contains hidden line {s!r}" for s in leaked[:3]]
                if cell.get("outputs"):
                    problems.append(f"{where}: has outputs")
    return problems


def visible_source(source_notebook: Path) -> str:
    """Everything in the instructor notebook outside hidden tests and solutions (students may see it)."""
    return cells.strip_secrets("\n".join(cells.trusted_source(c) for c in _cells(source_notebook)))
