"""What a lesson's notebook must contain, from trusted places only: the gradebook (grade cells, their points
and the sources recorded at release, hidden tests and quiz keys included) and release/ (the student version).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from . import cells
from .layout import CourseLayout
from .nbgrader_runner import CourseError


@dataclass(frozen=True)
class CellSpec:
    """One nbgrader cell of a lesson notebook."""

    grade_id: str
    kind: str  # one of cells.KINDS: "solution", "test", "quiz", "manual" (graded answer), "task", "locked"
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


def load_template(layout: CourseLayout, lesson: str, db_url: str) -> LessonTemplate:
    """The lesson as released and recorded in the gradebook; CourseError if the two disagree."""
    from nbgrader.api import Gradebook, MissingEntry

    folder = layout.release_dir(lesson)
    shown = f"{layout.release.name}/{lesson}"  # how messages name the lesson's release folder
    if not folder.is_dir():
        raise CourseError(f"No {shown}: run `course release --lesson {lesson}` first.")
    notebooks = {}
    with Gradebook(db_url, layout.course_id) as gradebook:
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
                raise CourseError(f"{shown} has no {path.name}: run `course release --lesson {lesson}`.")
            sources = {c.name: c for c in notebook.source_cells}
            points = {c.name: float(c.max_score) for c in notebook.grade_cells}
            released = json.loads(path.read_text(encoding="utf-8"))
            specs: dict[str, CellSpec] = {}
            for cell in released["cells"]:
                meta = cells.nbgrader(cell)
                grade_id = meta.get("grade_id")
                if not cells.is_lesson_cell(meta):
                    continue
                if not isinstance(grade_id, str) or grade_id not in sources:
                    raise CourseError(
                        f"{shown} and the gradebook disagree about cell {grade_id}: "
                        f"run `course release --lesson {lesson}` again."
                    )
                recorded = sources[grade_id]
                released_source = cells.cell_source(cell)
                if released_source is None:
                    raise CourseError(
                        f"{shown} has a cell {grade_id} whose source is neither text nor lines: "
                        f"run `course release --lesson {lesson}` again."
                    )
                source = released_source if meta.get("solution") else recorded.source
                meta = {**meta, "checksum": recorded.checksum}
                specs[grade_id] = CellSpec(
                    grade_id,
                    cells.kind(meta, source),
                    recorded.cell_type,
                    source,
                    released_source,
                    {"nbgrader": meta},
                    points.get(grade_id, 0.0),
                    cells.quiz_keys(source) if meta.get("grade") else {},
                )
            missing = set(points) - set(specs)
            if missing:
                raise CourseError(
                    f"{shown} lacks graded cells {sorted(missing)} that the gradebook has: "
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
