"""What a lesson's notebook must contain, from trusted places only: the gradebook (grade cells, their points
and the sources recorded at release, hidden tests and quiz keys included) and release/ (the student version).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

from .nbgrader_runner import CourseError


@dataclass(frozen=True)
class CellSpec:
    """One nbgrader cell of a lesson notebook."""

    grade_id: str
    kind: str  # "solution", "test", "quiz", "manual" (graded answer), "task" or "locked" (read-only)
    cell_type: str
    source: str  # trusted source; for a solution cell, the release's stub
    released: str  # what the student received
    metadata: dict
    points: float = 0.0
    quiz_keys: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class NotebookTemplate:
    name: str
    metadata: dict
    specs: dict[str, CellSpec]  # in release order
    cells: list[dict]  # the release notebook's cells: what a blank submission contains

    @property
    def max_score(self) -> float:
        return sum(s.points for s in self.specs.values())


@dataclass(frozen=True)
class LessonTemplate:
    lesson: str
    notebooks: dict[str, NotebookTemplate]
    folder: Path  # release/<lesson>
    files: list[str]  # its other files (relative paths), copied beside the notebook when it runs


def quiz_keys(source: str) -> dict[str, frozenset[str]]:
    """``{question id: key}`` if ``source`` only checks recorded quiz answers, else ``{}``.

    Recognises the grade cells written by ``tools.notebook.graded_quiz``::

        from course.quiz import recorded_answer
        assert recorded_answer("question-id") == {"b"}, "..."
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    keys: dict[str, frozenset[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and [a.name for a in node.names] == ["recorded_answer"]:
            continue
        test = node.test if isinstance(node, ast.Assert) else None
        if not (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)
            and isinstance(test.left, ast.Call)
            and isinstance(test.left.func, ast.Name)
            and test.left.func.id == "recorded_answer"
            and len(test.left.args) == 1
            and isinstance(test.left.args[0], ast.Constant)
            and isinstance(test.left.args[0].value, str)
        ):
            return {}
        try:
            key = ast.literal_eval(test.comparators[0])
        except ValueError:
            return {}
        if not isinstance(key, set | frozenset) or not all(isinstance(k, str) for k in key):
            return {}
        keys[test.left.args[0].value] = frozenset(key)
    return keys


def _kind(meta: dict, source: str) -> str:
    if meta.get("solution"):
        return "manual" if meta.get("grade") else "solution"
    if meta.get("task"):
        return "task"
    if meta.get("grade"):
        return "quiz" if quiz_keys(source) else "test"
    return "locked"


def load_template(root: Path, lesson: str, db_url: str, course_id: str) -> LessonTemplate:
    """The lesson as released and recorded in the gradebook; CourseError if the two disagree."""
    from nbgrader.api import Gradebook, MissingEntry

    folder = root / "release" / lesson
    if not folder.is_dir():
        raise CourseError(f"No release/{lesson}: run `course release --lesson {lesson}` first.")
    notebooks = {}
    with Gradebook(db_url, course_id) as gradebook:
        try:
            assignment = gradebook.find_assignment(lesson)
        except MissingEntry:
            raise CourseError(
                f"The gradebook has no lesson {lesson}: run `course release --lesson {lesson}` "
                "with the same --db-url first."
            ) from None
        for notebook in assignment.notebooks:
            path = folder / f"{notebook.name}.ipynb"
            if not path.is_file():
                raise CourseError(
                    f"release/{lesson} has no {path.name}: run `course release --lesson {lesson}`."
                )
            sources = {c.name: c for c in notebook.source_cells}
            points = {c.name: float(c.max_score) for c in notebook.grade_cells}
            released = json.loads(path.read_text(encoding="utf-8"))
            specs = {}
            for cell in released["cells"]:
                meta = cell.get("metadata", {}).get("nbgrader", {})
                grade_id = meta.get("grade_id")
                if not grade_id or not (
                    meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task")
                ):
                    continue
                if grade_id not in sources:
                    raise CourseError(
                        f"release/{lesson} and the gradebook disagree about cell {grade_id}: "
                        f"run `course release --lesson {lesson}` again."
                    )
                recorded = sources[grade_id]
                released_source = "".join(cell["source"])
                source = released_source if meta.get("solution") else recorded.source
                meta = {**meta, "checksum": recorded.checksum}
                specs[grade_id] = CellSpec(
                    grade_id,
                    _kind(meta, source),
                    recorded.cell_type,
                    source,
                    released_source,
                    {"nbgrader": meta},
                    points.get(grade_id, 0.0),
                    quiz_keys(source) if meta.get("grade") else {},
                )
            missing = set(points) - set(specs)
            if missing:
                raise CourseError(
                    f"release/{lesson} lacks graded cells {sorted(missing)} that the gradebook has: "
                    f"run `course release --lesson {lesson}` again."
                )
            notebooks[notebook.name] = NotebookTemplate(
                notebook.name, released.get("metadata", {}), specs, released["cells"]
            )
    files = sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix != ".ipynb"
        and not p.name.startswith(("answers", "."))
        and ".ipynb_checkpoints" not in p.parts
    )
    return LessonTemplate(lesson, notebooks, folder, files)
