"""Step 5 of grading a submission: the grading notes a student finds at the top of their feedback (and the
instructor in `course grade`'s summary): files not used, unusable answers, restored cells, limits reached."""

from __future__ import annotations

import nbformat
from nbformat import NotebookNode

from .files import ANSWERS, SubmissionFiles
from .template import LessonTemplate

NOTES_MARK = "course_grading_notes"


def files_notes(lesson: LessonTemplate, files: SubmissionFiles, problem: str | None) -> list[str]:
    """Notes on the submission's files: ``problem`` is why its answers could not be used, if they could not."""
    notes = []
    quizzes = any(s.kind == "quiz" for t in lesson.notebooks.values() for s in t.specs.values())
    why = files.problems.get(ANSWERS)
    if quizzes:
        if problem:
            notes.append(f"{problem}; graded questions score 0.")
        elif why:
            notes.append(f"{ANSWERS} {why}; graded questions score 0.")
        elif files.answers is None:
            notes.append(f"No {ANSWERS} was submitted; graded questions score 0.")
    if files.ignored:
        shown = ", ".join(f"`{name}`" for name in files.ignored)
        notes.append(f"Other files in the submission were not used: {shown}.")
    return notes


def add_notes_cell(notebook: NotebookNode, notes: list[str]) -> None:
    """Put ``notes`` in a marked markdown cell at the top of the graded notebook (nothing when there are none)."""
    if notes:
        note = nbformat.v4.new_markdown_cell("**Grading notes**\n\n" + "\n".join(f"- {n}" for n in notes))
        note.metadata[NOTES_MARK] = True
        note["id"] = "grading-notes"
        notebook.cells.insert(0, note)
