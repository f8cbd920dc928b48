"""Step 5 of grading a submission: the grading notes a student finds at the top of their feedback (and the
instructor in `course grade`'s summary): files not used, unusable answers, restored cells, limits reached."""

from __future__ import annotations

import nbformat
from nbformat import NotebookNode

from ..languages import ENGLISH, Said, in_language, say
from .files import ANSWERS, SubmissionFiles
from .template import LessonTemplate

NOTES_MARK = "course_grading_notes"


def files_notes(lesson: LessonTemplate, files: SubmissionFiles, problem: str | None) -> list[str]:
    """Notes on the submission's files: ``problem`` is why its answers could not be used, if they could not."""
    notes: list[str] = []
    quizzes = any(s.kind == "quiz" for t in lesson.notebooks.values() for s in t.specs.values())
    why = files.problems.get(ANSWERS)
    if quizzes:
        if problem:
            notes.append(Said("grading.answers_problem", problem=problem))
        elif why:
            notes.append(Said("grading.answers_unusable", answers=ANSWERS, why=why))
        elif files.answers is None:
            notes.append(Said("grading.no_answers", answers=ANSWERS))
    if files.ignored:
        shown = ", ".join(f"`{name}`" for name in files.ignored)
        notes.append(Said("grading.ignored", files=shown))
    return notes


def add_notes_cell(notebook: NotebookNode, notes: list[str], lang: str = ENGLISH) -> None:
    """Put ``notes`` in a marked markdown cell at the top of the graded notebook (nothing when there are none), in
    the language the student worked in."""
    if notes:
        lines = "\n".join(f"- {in_language(n, lang)}" for n in notes)
        note = nbformat.v4.new_markdown_cell(f"**{say('grading.header', lang)}**\n\n{lines}")
        note.metadata[NOTES_MARK] = True
        note["id"] = "grading-notes"
        notebook.cells.insert(0, note)
