"""Step 4 of grading a submission: the score of each grade cell, and nbgrader's "No response." comments.

A test cell scores when what the student's code handed back matches the reference results the grader computed
for its check (``exercise.Check.verdict``; the cell then shows one line saying how many cases matched); a quiz
grade cell is scored here, outside the student's kernel, from the recorded answers and the key in the gradebook
(the recorded choice must equal the key exactly); a manually graded answer left as released scores 0, otherwise
it waits for the instructor.
"""

from __future__ import annotations

from nbformat import NotebookNode

from ..languages import ENGLISH, say
from .cells import positions
from .exercise import Check
from .template import NotebookTemplate


def score_notebook(
    template: NotebookTemplate,
    notebook: NotebookNode,
    answers: dict[str, list[str]],
    checks: dict[str, Check],
    observations: dict[str, list | None],
    lang: str = ENGLISH,
) -> tuple[dict[str, float | None], dict[str, str | None]]:
    """(scores by grade id, comments by solution id), what the student reads in ``lang``. A quiz grade cell gets,
    as outputs, one error per wrong question (naming the question, never the key)."""
    index_of = positions(notebook.cells)
    scores: dict[str, float | None] = {}
    comments: dict[str, str | None] = {}
    for grade_id, spec in template.specs.items():
        cell = notebook.cells[index_of[grade_id]]
        if spec.kind == "test":
            ok, line = checks[grade_id].verdict(observations.get(grade_id))
            scores[grade_id] = spec.points if ok else 0.0
            cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=line.in_language(lang) + "\n")]
        elif spec.kind == "quiz":
            wrong = [q for q, key in spec.quiz_keys.items() if set(answers.get(q, [])) != key]
            scores[grade_id] = 0.0 if wrong else spec.points
            cell.outputs = [
                NotebookNode(
                    output_type="error",
                    ename="AssertionError",
                    evalue=say("grading.quiz_wrong", lang, question=q),
                    traceback=[f"AssertionError: {say('grading.quiz_wrong', lang, question=q)}"],
                )
                for q in wrong
            ]
        elif spec.kind == "manual":
            scores[grade_id] = 0.0 if cell.source.strip() == spec.released.strip() else None
        if spec.kind in ("solution", "manual"):
            unanswered = cell.source.strip() == spec.released.strip()
            comments[grade_id] = say("grading.no_response", lang) if unanswered else None
    return scores, comments
