"""Step 1 of grading a submission: read its files without trusting them, before any student code runs.

A student controls everything in their submission folder. Only the notebook and ``answers.json`` are read
(regular files, no links, size-capped); other files are only listed, for the feedback, and never reach the
kernel. Quiz answers are read by the course's own strict reader.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..languages import Said
from .layout import CourseLayout
from .template import LessonTemplate

NOTEBOOK_BYTES = 50_000_000
ANSWERS_BYTES = 1_000_000
ANSWERS = "answers.json"
TIMESTAMP = "timestamp.txt"
# written by nbgrader submit; `course return` needs it to name the student's feedback in the exchange
SUBMISSION_SECRET = "submission_secret.txt"


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


def read_file(path: Path, cap: int) -> tuple[bytes | None, str | None]:
    """(content, None), (None, None) if absent, or (None, why) for a link, a non-file or an oversized file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, None
    except OSError as err:
        if err.errno == errno.ELOOP:
            return None, Said("grading.is_link")
        return None, Said("grading.unreadable", error=err.strerror)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None, Said("grading.not_regular")
        data = handle.read(cap + 1)
    if len(data) > cap:
        return None, Said("grading.too_large", megabytes=f"{cap / 1e6:g}")
    return data, None


def read_submission(layout: CourseLayout, student: str, lesson: str, template: LessonTemplate) -> SubmissionFiles:
    """Read what grading needs from the student's submission folder; links and special files are refused."""
    files = SubmissionFiles(student, lesson)
    folder = layout.submission_dir(student, lesson)
    if folder.parent.is_symlink() or folder.is_symlink() or not folder.is_dir():
        for name in template.notebooks:
            files.problems[f"{name}.ipynb"] = Said("grading.folder_link")
        return files
    for name in template.notebooks:
        data, problem = read_file(folder / f"{name}.ipynb", NOTEBOOK_BYTES)
        if data is not None:
            files.notebooks[name] = data
        elif problem:
            files.problems[f"{name}.ipynb"] = problem
    files.answers, problem = read_file(folder / ANSWERS, ANSWERS_BYTES)
    if problem:
        files.problems[ANSWERS] = problem
    stamp, _ = read_file(folder / TIMESTAMP, 1000)
    files.timestamp = stamp.decode("utf-8", "replace").strip() if stamp else None
    used = {f"{n}.ipynb" for n in template.notebooks} | {ANSWERS, TIMESTAMP, SUBMISSION_SECRET}
    # names are the student's: shown only as plain, short code spans in notes and feedback
    files.ignored = sorted(
        "".join(c for c in p.name if c.isprintable() and c not in "`<>")[:60]
        for p in folder.iterdir()
        if p.name not in used
    )[:20]
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
