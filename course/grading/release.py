"""`course release`: build the student version of every lesson, then prove it leaks nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .nbgrader_runner import CourseError, check_lessons, database_url, run_nbgrader

# Marks that must never reach a student.
FORBIDDEN_MARKS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
_SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def release(root: Path, wanted: list[str] | None = None, db_url: str | None = None) -> list[Path]:
    """Generate ``release/<lesson>/`` from ``source/<lesson>/`` for each lesson and verify it.

    The lessons' grade cells (with hidden tests and quiz keys) are recorded in the gradebook: gradebook.db,
    or the database at ``db_url``."""
    released = []
    db_url = database_url(db_url) if db_url else None
    for lesson in check_lessons(root, wanted):
        run_nbgrader(
            root,
            "generate_assignment",
            lesson,
            "--force",
            # answers files and dot files beside a source notebook never travel to students
            '--CourseDirectory.ignore=[".ipynb_checkpoints","*.pyc","__pycache__","feedback",'
            '"answers*.json",".*"]',
            *([f"--CourseDirectory.db_url={db_url}"] if db_url else []),
        )
        released.append(root / "release" / lesson)
    problems = verify_release(root, [p.name for p in released])
    if problems:
        raise CourseError("The release leaks answers:\n" + "\n".join(problems))
    return released


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def secret_snippets(source_notebook: Path) -> list[str]:
    """Lines of hidden tests and solutions in an instructor notebook that a release must not contain."""
    snippets = []
    for cell in _cells(source_notebook):
        text = "".join(cell["source"])
        for block in _HIDDEN.findall(text) + _SOLUTION.findall(text):
            snippets += [line.strip() for line in block.splitlines() if len(line.strip()) > 12]
    return snippets


def verify_release(root: Path, wanted: list[str]) -> list[str]:
    """Problems found in ``release/``: solution or hidden-test text, answers files, outputs."""
    problems = []
    for lesson in wanted:
        folder = root / "release" / lesson
        for path in folder.rglob("*"):
            if path.is_file() and path.name.startswith("answers") and path.suffix == ".json":
                problems.append(f"{path.relative_to(root)}: answers file in the release")
        for notebook in folder.glob("*.ipynb"):
            source_nb = root / "source" / lesson / notebook.name
            secrets: set[str] = set()
            if source_nb.exists():
                visible = _visible_source(source_nb)
                secrets = {s for s in secret_snippets(source_nb) if s not in visible}
            for index, cell in enumerate(_cells(notebook)):
                text = "".join(cell["source"])
                where = f"{notebook.relative_to(root)} cell {index}"
                problems += [f"{where}: contains '{m}'" for m in FORBIDDEN_MARKS if m in text]
                leaked = [s for s in secrets if s in text]
                problems += [f"{where}: contains hidden line {s!r}" for s in leaked[:3]]
                if cell.get("outputs"):
                    problems.append(f"{where}: has outputs")
    return problems


def _visible_source(source_notebook: Path) -> str:
    """Everything in the instructor notebook outside hidden tests and solutions (students may see it)."""
    text = "\n".join("".join(c["source"]) for c in _cells(source_notebook))
    return _SOLUTION.sub("", _HIDDEN.sub("", text))


def ensure_gradebook(root: Path, db_url: str | None = None) -> None:
    """The default gradebook must exist (``course release`` creates it); another one is checked when used."""
    if db_url is None and not (root / "gradebook.db").exists():
        raise CourseError("No gradebook.db in the course folder: run `course release` first; it records each "
                          "lesson's grade cells.")
