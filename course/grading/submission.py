"""One submission, from folder to scores: read its files without trusting them, rebuild the notebook around
the lesson's trusted cells, run it in a sandboxed kernel, and score it.

A student controls everything in ``submitted/<student>/<lesson>/``. Only the notebook and ``answers.json`` are
read (regular files, no links, size-capped); every nbgrader cell (tests, quiz grade cells, read-only cells,
their metadata and order) comes from the lesson template; quizzes are scored here, from the answers file and
the keys in the gradebook, never inside the student's kernel.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import shutil
import stat
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .execute import Limits, run_notebook
from .template import LessonTemplate, NotebookTemplate

NOTEBOOK_BYTES = 50_000_000
ANSWERS_BYTES = 1_000_000
ANSWERS = "answers.json"
NOTES_MARK = "course_grading_notes"


@dataclass
class SubmissionFiles:
    """The files of a submission that grading uses, read once before any student code runs."""

    student: str
    lesson: str
    notebooks: dict[str, bytes] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # file name -> why it was not read
    answers: bytes | None = None
    timestamp: str | None = None
    ignored: list[str] = field(default_factory=list)  # other files, not used


@dataclass
class SubmissionResult:
    student: str
    lesson: str
    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)  # notebook -> grade id -> score
    comments: dict[str, dict[str, str | None]] = field(
        default_factory=dict
    )  # notebook -> solution id -> text
    notebooks: dict[str, str] = field(default_factory=dict)  # notebook -> autograded notebook (JSON)
    notes: list[str] = field(default_factory=list)
    timestamp: str | None = None
    seconds: float = 0.0
    isolated: bool = False
    built: set[str] = field(default_factory=set)  # course cache entries its kernel had to build
    error: str | None = None  # the grader failed (not the student); nothing is recorded


def _read(path: Path, cap: int) -> tuple[bytes | None, str | None]:
    """(content, None), (None, None) if absent, or (None, why) for a link, a non-file or an oversized file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, None
    except OSError as err:
        if err.errno == errno.ELOOP:
            return None, "is a link (only regular files are graded)"
        return None, f"could not be read ({err.strerror})"
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None, "is not a regular file"
        data = handle.read(cap + 1)
    if len(data) > cap:
        return None, f"is larger than {cap / 1e6:g} MB"
    return data, None


def read_submission(root: Path, student: str, lesson: str, template: LessonTemplate) -> SubmissionFiles:
    """Read what grading needs from ``submitted/<student>/<lesson>/``; links and special files are refused."""
    files = SubmissionFiles(student, lesson)
    folder = root / "submitted" / student / lesson
    if folder.parent.is_symlink() or folder.is_symlink() or not folder.is_dir():
        for name in template.notebooks:
            files.problems[f"{name}.ipynb"] = (
                "is in a submission folder that is a link (only folders are graded)"
            )
        return files
    for name in template.notebooks:
        data, problem = _read(folder / f"{name}.ipynb", NOTEBOOK_BYTES)
        if data is not None:
            files.notebooks[name] = data
        elif problem:
            files.problems[f"{name}.ipynb"] = problem
    files.answers, problem = _read(folder / ANSWERS, ANSWERS_BYTES)
    if problem:
        files.problems[ANSWERS] = problem
    stamp, _ = _read(folder / "timestamp.txt", 1000)
    files.timestamp = stamp.decode("utf-8", "replace").strip() if stamp else None
    used = {f"{n}.ipynb" for n in template.notebooks} | {ANSWERS, "timestamp.txt"}
    # names are the student's: shown only as plain, short code spans in notes and feedback
    files.ignored = sorted("".join(c for c in p.name if c.isprintable() and c not in "`<>")[:60]
                           for p in folder.iterdir() if p.name not in used)[:20]
    return files


def parse_answers(data: bytes | None, scratch: Path) -> tuple[dict[str, list[str]], str | None]:
    """The recorded quiz answers, read by the course's own strict reader; ({}, why) when unusable."""
    from ..quiz.store import AnswersFileError, read_answers

    if data is None:
        return {}, None
    scratch.write_bytes(data)
    try:
        return read_answers(scratch), None
    except AnswersFileError as err:
        return {}, str(err).split(". ")[0]


def _source(cell: dict) -> str | None:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    return source if isinstance(source, str) else None


def _nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def _plain(cell_type: str, source: str) -> NotebookNode:
    make = {
        "code": nbformat.v4.new_code_cell,
        "markdown": nbformat.v4.new_markdown_cell,
        "raw": nbformat.v4.new_raw_cell,
    }[cell_type]
    return make(source)


def rebuild(template: NotebookTemplate, cells: list) -> tuple[NotebookNode, list[str], bool]:
    """The notebook to grade, from the student's cells.

    Every nbgrader cell (read-only cells, tests, quiz grade cells) is the template's, with its metadata and in
    the template's order; solution cells keep the student's code; the student's own cells stay after the
    nbgrader cell they followed. Returns (notebook, notes for the student, whether any lesson cell was found).
    """
    anchors: dict[str, tuple[str, dict]] = {}
    extras: dict[str | None, list[NotebookNode]] = {None: []}
    seen_order: list[str] = []
    notes: list[str] = []
    copies: dict[str, int] = {}
    malformed = 0
    current = None
    for cell in cells:
        source = _source(cell) if isinstance(cell, dict) else None
        if source is None or cell.get("cell_type") not in ("code", "markdown", "raw"):
            malformed += 1
            continue
        grade_id = _nbgrader(cell).get("grade_id")
        spec = template.specs.get(grade_id) if isinstance(grade_id, str) else None
        if spec is not None and grade_id not in anchors:
            anchors[grade_id] = (source, cell)
            seen_order.append(grade_id)
            current = grade_id
            extras.setdefault(current, [])
            continue
        if spec is not None:
            copies[grade_id] = copies.get(grade_id, 1) + 1
            if spec.kind != "solution":
                continue  # a second copy of a trusted cell would only run it twice
        extras[current].append(_plain(cell["cell_type"], source))
    if malformed:
        notes.append(f"{malformed} cell(s) were not valid notebook cells and were ignored.")
    for grade_id, count in copies.items():
        notes.append(f"Cell {grade_id} appeared {count} times; only the first copy counts as that cell.")
    order = list(template.specs)
    if [g for g in order if g in anchors] != seen_order:
        notes.append("Cells were out of order; they were graded in the lesson's order.")

    out = list(extras[None])
    for grade_id, spec in template.specs.items():
        found = anchors.get(grade_id)
        if spec.kind in ("solution", "manual"):
            source = found[0] if found else spec.released
            if not found:
                notes.append(f"The exercise cell {grade_id} was missing; it was graded as unanswered.")
        else:
            source = spec.source
            if not found:
                notes.append(f"Cell {grade_id} was missing; it was restored.")
            elif found[0].strip() != spec.released.strip():
                notes.append(f"Cell {grade_id} was changed; the original was restored.")
        if found:
            theirs = _nbgrader(found[1])
            ours = spec.metadata["nbgrader"]
            keys = ("grade", "solution", "locked", "points", "task")
            if found[1].get("cell_type") != spec.cell_type or any(theirs.get(k) != ours.get(k) for k in keys):
                notes.append(
                    f"The type or grading metadata of cell {grade_id} was changed; the original was restored."
                )
        cell = _plain(spec.cell_type, source)
        cell.metadata = copy.deepcopy(spec.metadata)
        out.append(cell)
        out.extend(extras.get(grade_id, []))
    notebook = nbformat.v4.new_notebook(cells=out, metadata=copy.deepcopy(template.metadata))
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index}"
    return notebook, notes, bool(anchors)


def _parse_notebook(data: bytes) -> tuple[list | None, str | None]:
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        return None, f"is not valid JSON ({str(err).split(':')[0]})"
    if isinstance(raw, dict) and "worksheets" in raw:
        try:
            raw = nbformat.reads(data.decode("utf-8"), as_version=4)
        except Exception as err:  # nbformat raises many kinds for a broken old notebook
            return None, f"is not a notebook nbformat can read ({type(err).__name__})"
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        return None, "is not a Jupyter notebook (it has no list of cells)"
    return raw["cells"], None


@dataclass
class Job:
    """Everything a worker needs to grade one submission (picklable)."""

    files: SubmissionFiles
    template: LessonTemplate
    run_dir: Path
    limits: Limits
    trusted_roots: list[str]
    cache: Path | None


def grade_submission(job: Job) -> SubmissionResult:
    """Grade one submission; a failure of the grader itself is returned in ``error``, not raised."""
    files = job.files
    result = SubmissionResult(files.student, files.lesson, timestamp=files.timestamp)
    started = time.monotonic()
    try:
        job.run_dir.mkdir(parents=True)
        (job.run_dir / "submitted").mkdir()
        answers, problem = parse_answers(files.answers, job.run_dir / "submitted" / ANSWERS)
        _answers_notes(job, answers, problem, result)
        if files.ignored:
            shown = ", ".join(f"`{name}`" for name in files.ignored)
            result.notes.append(f"Other files in the submission were not used: {shown}.")
        for name, template in job.template.notebooks.items():
            _grade_notebook(job, name, template, answers, result)
    except Exception:  # the grader's failure: report it, record nothing for this submission
        result.error = traceback.format_exc(limit=6)
    finally:
        shutil.rmtree(job.run_dir, ignore_errors=True)
    result.seconds = time.monotonic() - started
    return result


def _answers_notes(job: Job, answers: dict, problem: str | None, result: SubmissionResult) -> None:
    quizzes = any(s.kind == "quiz" for t in job.template.notebooks.values() for s in t.specs.values())
    why = job.files.problems.get(ANSWERS)
    if not quizzes:
        return
    if problem:
        result.notes.append(f"{problem}; graded questions score 0.")
    elif why:
        result.notes.append(f"answers.json {why}; graded questions score 0.")
    elif job.files.answers is None:
        result.notes.append("No answers.json was submitted; graded questions score 0.")


def _grade_notebook(
    job: Job, name: str, template: NotebookTemplate, answers: dict[str, list[str]], result: SubmissionResult
) -> None:
    files = job.files
    data = files.notebooks.get(name)
    cells, why = (None, None) if data is None else _parse_notebook(data)
    if data is None:
        why = files.problems.get(f"{name}.ipynb") or "was not submitted"
    notebook, notes, found = rebuild(template, cells) if cells is not None else (None, [], False)
    if cells is not None and not found:
        has_ids = any(_nbgrader(c).get("grade_id") for c in cells if isinstance(c, dict))
        why = (
            "holds no cell of this lesson (is it another lesson's notebook?)"
            if has_ids
            else "holds no cell of this lesson (its nbgrader metadata is missing)"
        )
    if why:
        result.notes.append(f"{name}.ipynb {why}; it was graded as blank and not run.")
        notebook, _, _ = rebuild(template, template.cells)
    else:
        result.notes += notes
    index_of = {
        c.metadata["nbgrader"]["grade_id"]: i
        for i, c in enumerate(notebook.cells)
        if "nbgrader" in c.metadata
    }
    tests = {index_of[g]: (g, s.source) for g, s in template.specs.items() if s.kind == "test"}
    quizzes = {index_of[g] for g, s in template.specs.items() if s.kind == "quiz"}
    passed: set[str] = set()
    if not why:
        work = job.run_dir / "work"
        work.mkdir(parents=True, exist_ok=True)
        for relative in job.template.files:
            target = work / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(job.template.folder / relative, target)
        if files.answers is not None:
            (work / ANSWERS).write_bytes(files.answers)
        outcome = run_notebook(
            notebook, tests, job.run_dir, job.limits, job.trusted_roots, job.cache, quizzes
        )
        passed, result.isolated = outcome.passed, outcome.isolated
        result.built.update(outcome.built)
        result.notes += outcome.notes
    scores: dict[str, float | None] = {}
    comments: dict[str, str | None] = {}
    for grade_id, spec in template.specs.items():
        cell = notebook.cells[index_of[grade_id]]
        if spec.kind == "test":
            scores[grade_id] = spec.points if grade_id in passed else 0.0
        elif spec.kind == "quiz":
            wrong = [q for q, key in spec.quiz_keys.items() if set(answers.get(q, [])) != key]
            scores[grade_id] = 0.0 if wrong else spec.points
            cell.outputs = [
                NotebookNode(
                    output_type="error",
                    ename="AssertionError",
                    evalue=f"{q}: not the expected answer",
                    traceback=[f"AssertionError: {q}: not the expected answer"],
                )
                for q in wrong
            ]
        elif spec.kind == "manual":
            scores[grade_id] = 0.0 if cell.source.strip() == spec.released.strip() else None
        if spec.kind in ("solution", "manual"):
            comments[grade_id] = "No response." if cell.source.strip() == spec.released.strip() else None
    if result.notes:
        note = nbformat.v4.new_markdown_cell(
            "**Grading notes**\n\n" + "\n".join(f"- {n}" for n in result.notes)
        )
        note.metadata[NOTES_MARK] = True
        note["id"] = "grading-notes"
        notebook.cells.insert(0, note)
    nbformat.validate(notebook)
    result.scores[name] = scores
    result.comments[name] = comments
    result.notebooks[name] = nbformat.writes(notebook)
