"""One submission, from folder to scores: read its files without trusting them, rebuild the notebook around
the lesson's trusted cells, run it in a sandboxed kernel, and score it.

A student controls everything in their submission folder. Only the notebook and ``answers.json`` are read
(regular files, no links, size-capped); every nbgrader cell (tests, quiz grade cells, read-only cells, their
metadata and order) comes from the lesson template; quizzes are scored here, from the answers file and the
keys in the gradebook, never inside the student's kernel.

The steps, each in the module named after it: ``files`` (read, before any student code runs) → ``rebuild`` →
``execute`` (in the sandbox) → ``score`` → ``notes`` (for the feedback). ``grade`` runs this for a whole class.
"""

from __future__ import annotations

import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..languages import METADATA_KEY
from .execute import RunSettings, run_submission
from .exercise import Check
from .files import ANSWERS, SubmissionFiles, parse_answers
from .notes import add_notes_cell, files_notes
from .rebuild import rebuild_submission, submission_language
from .score import score_notebook
from .template import LessonTemplate


@dataclass
class Job:
    """Everything a worker needs to grade one submission (picklable)."""

    files: SubmissionFiles  # read before any student code ran
    template: LessonTemplate
    run_dir: Path  # the submission's own temporary folder, removed afterwards
    settings: RunSettings
    checks: dict[str, Check] = field(default_factory=dict)  # grade id -> the run's check (inputs, expected)


@dataclass
class SubmissionResult:
    student: str
    lesson: str
    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)  # notebook -> grade id -> score
    comments: dict[str, dict[str, str | None]] = field(default_factory=dict)  # notebook -> solution id -> text
    notebooks: dict[str, str] = field(default_factory=dict)  # notebook -> autograded notebook (JSON)
    notes: list[str] = field(default_factory=list)
    timestamp: str | None = None
    seconds: float = 0.0
    isolated: bool = False
    built: set[str] = field(default_factory=set)  # course cache entries its kernel had to build
    error: str | None = None  # the grader failed (not the student); nothing is recorded


def grade_submission(job: Job) -> SubmissionResult:
    """Grade one submission; a failure of the grader itself is returned in ``error``, not raised."""
    files = job.files
    result = SubmissionResult(files.student, files.lesson, timestamp=files.timestamp)
    started = time.monotonic()
    try:
        job.run_dir.mkdir(parents=True)
        (job.run_dir / "scratch").mkdir()
        answers, problem = parse_answers(files.answers, job.run_dir / "scratch" / ANSWERS)
        result.notes += files_notes(job.template, files, problem)
        for name in job.template.notebooks:
            _grade_notebook(job, name, answers, result)
    except Exception:  # the grader's failure: report it, record nothing for this submission
        result.error = traceback.format_exc(limit=6)
    finally:
        shutil.rmtree(job.run_dir, ignore_errors=True)
    result.seconds = time.monotonic() - started
    return result


def _grade_notebook(job: Job, name: str, answers: dict[str, list[str]], result: SubmissionResult) -> None:
    """The steps for one notebook of the lesson; the results go into ``result``."""
    template = job.template.notebooks[name]
    data, problem = job.files.notebooks.get(name), job.files.problems.get(f"{name}.ipynb")
    notebook, notes, why = rebuild_submission(template, data, problem)
    lang = submission_language(data)
    result.notes += notes
    observations: dict[str, list | None] = {}
    if not why:
        outcome = run_submission(
            notebook, template, job.template, job.files.answers, job.run_dir, job.settings, job.checks
        )
        observations, result.isolated = outcome.observations, outcome.isolated
        result.built.update(outcome.built)
        result.notes += outcome.notes
    result.scores[name], result.comments[name] = score_notebook(
        template, notebook, answers, job.checks, observations, lang
    )
    add_notes_cell(notebook, result.notes, lang)
    notebook.metadata[METADATA_KEY] = {"language": lang}  # the feedback's hidden-test lines follow it
    nbformat.validate(notebook)
    result.notebooks[name] = nbformat.writes(notebook)
