"""Grades out of `course grade`: the late policy applied to the gradebook, late-work columns in ``grades.csv``,
``grades-canvas.csv`` for Canvas's gradebook import, and a per-student ``grades.md`` beside each feedback.

Why the penalty goes into the gradebook: nbgrader already has a place for it (each submitted notebook's
``late_submission_penalty``). Its CSV export then writes ``raw_score``, ``late_submission_penalty`` and
``score = max(0, raw_score - penalty)``, and its feedback shows the penalty, so every consumer agrees on one
final score. ``grades.csv`` keeps nbgrader's columns and meaning and gains ``late_days`` and ``due`` (the
student's due date, their extension if they have one), recomputed from ``schedule.toml`` at every run.

Canvas's gradebook import (Grades > Import) reads a CSV laid out like its own export: the columns ``Student``,
``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per assignment named
``Assignment name (assignment id)``; a ``Points Possible`` row may follow the header; a student is matched by
one of name, ID or SIS User ID. Sources: Ohio State's guide "Import a CSV file to Carmen (Canvas) grades"
(https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades)
and VCU's "Gradebook Action Menu" on Canvas's CSV export
(https://ts.vcu.edu/askit/teaching-and-learning/canvas/faculty/grading-faculty/gradebook-action-menu-faculty/).
The course does not know Canvas's internal user ids, so ``ID`` stays empty and students are matched by
``SIS User ID`` / ``SIS Login ID`` from ``roster.csv`` (or the course's student id where there is no roster).
A column whose id is not a Canvas assignment id makes Canvas create a new assignment on import, which is what
a first import of the lesson columns should do.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..languages import ENGLISH, METADATA_KEY, Said, in_language
from .files import TIMESTAMP, read_file
from .layout import CourseLayout
from .nbgrader_runner import CourseError
from .notes import NOTES_MARK, add_notes_cell
from .schedule import Schedule, late_note, parse_timestamp

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
ROSTER_COLUMNS = ["id", "name", "section", "sis_user_id", "sis_login_id"]
LATE_COLUMNS = ["late_days", "due"]


@dataclass(frozen=True)
class Identity:
    """A student as the LMS knows them (``roster.csv``)."""

    id: str
    name: str
    section: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""


def load_roster(path: Path) -> dict[str, Identity]:
    """``{student id: Identity}`` from ``roster.csv`` (columns id,name,section,sis_user_id,sis_login_id); empty
    when the file is absent."""
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ROSTER_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CourseError(f"{path.name}: missing column {missing[0]!r} (expected {','.join(ROSTER_COLUMNS)})")
        roster = {}
        for line, row in enumerate(reader, start=2):
            student = (row["id"] or "").strip()
            if not student:
                raise CourseError(f"{path.name} line {line}: empty id")
            roster[student] = Identity(student, *((row[c] or "").strip() for c in ROSTER_COLUMNS[1:]))
    return roster


def identity(roster: dict[str, Identity], student: str) -> Identity:
    """The roster's entry, or the student id as name and SIS login (no roster, or a student not on it)."""
    return roster.get(student) or Identity(student, student, "", "", student)


def apply_late_policy(
    layout: CourseLayout, db_url: str, graded: list[tuple[str, str]], schedule: Schedule
) -> dict[tuple[str, str], str]:
    """Record each graded submission's time (from its ``timestamp.txt``) and late penalty in the gradebook, and
    put the late note at the top of its autograded notebooks; ``{(lesson, student): note}``.

    No due date or no timestamp: no penalty. Run before the feedback is generated, so it shows both."""
    from nbgrader.api import Gradebook

    notes: dict[tuple[str, str], str] = {}
    with Gradebook(db_url, layout.course_id) as gradebook:
        for lesson, student in graded:
            data, problem = read_file(layout.submission_dir(student, lesson) / TIMESTAMP, 1000)
            text = data.decode("utf-8", "replace").strip() if data else None
            submitted, note = None, None
            try:
                submitted = parse_timestamp(text)
            except ValueError as err:
                note = Said("grading.timestamp_unreadable", file=TIMESTAMP, error=err)
            if problem:
                note = Said("grading.timestamp_problem", file=TIMESTAMP, problem=problem)
            due, _ = schedule.due_for(lesson, student)
            if due is not None and submitted is None and note is None:
                note = Said("grading.no_timestamp", file=TIMESTAMP)
            submission = gradebook.find_submission(lesson, student)
            if submitted is not None:
                submission.timestamp = submitted.replace(tzinfo=None)  # nbgrader keeps naive UTC
            lateness = schedule.lateness(lesson, student, submitted)
            for notebook in submission.notebooks:
                share = lateness.fraction if lateness else 0.0
                notebook.late_submission_penalty = round(notebook.score * share, 6) if share else None
            gradebook.db.commit()
            if lateness is not None:
                raw = submission.score
                note = late_note(lateness, schedule.late, raw, lateness.penalty(raw))
            if note and due is not None:  # without a due date, nothing about time is said (as before)
                notes[(lesson, student)] = note
    for (lesson, student), said in notes.items():
        _add_note(layout, lesson, student, said)
    return notes


def _add_note(layout: CourseLayout, lesson: str, student: str, note: str) -> None:
    """Append ``note`` to the grading notes cell of each autograded notebook (adding the cell if absent)."""
    for path in sorted(layout.autograded_dir(student, lesson).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        lang = notebook.metadata.get(METADATA_KEY, {}).get("language", ENGLISH)
        cells = [c for c in notebook.cells if c.get("metadata", {}).get(NOTES_MARK)]
        if cells:
            cells[0].source = cells[0].source.rstrip("\n") + f"\n- {in_language(note, lang)}"
        else:
            add_notes_cell(notebook, [note], lang)
        nbformat.write(notebook, path)


def add_late_columns(grades_csv: Path, schedule: Schedule) -> list[dict[str, str]]:
    """Add ``late_days`` and ``due`` to nbgrader's ``grades.csv`` (its columns unchanged); the rows."""
    with grades_csv.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = [f for f in reader.fieldnames or [] if f not in LATE_COLUMNS] + LATE_COLUMNS
        rows = list(reader)
    for row in rows:
        try:
            submitted = parse_timestamp(row.get("timestamp"))
        except ValueError:
            submitted = None
        lateness = schedule.lateness(row["assignment"], row["student_id"], submitted)
        due, _ = schedule.due_for(row["assignment"], row["student_id"])
        row["late_days"] = str(lateness.days_late) if lateness else ""
        row["due"] = due.isoformat() if due else ""
    with grades_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return rows


def number(value: str | float) -> str:
    """A score as Canvas and people read it: ``18``, ``16.5``, ``13.33``."""
    return f"{round(float(value or 0), 2):g}"


def write_canvas(path: Path, rows: list[dict[str, str]], roster: dict[str, Identity]) -> None:
    """``grades-canvas.csv``: Canvas's gradebook layout, the final score (after any late penalty) per lesson."""
    lessons = sorted({r["assignment"] for r in rows})
    points = {r["assignment"]: r["max_score"] for r in rows}
    scores = {(r["assignment"], r["student_id"]): r["score"] for r in rows}
    students = sorted({r["student_id"] for r in rows})
    ordered = [s for s in roster if s in students] + [s for s in students if s not in roster]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CANVAS_COLUMNS + [f"{lesson} ({lesson})" for lesson in lessons])
        writer.writerow(["Points Possible", "", "", "", ""] + [number(points[lesson]) for lesson in lessons])
        for student in ordered:
            who = identity(roster, student)
            writer.writerow(
                [who.name, "", who.sis_user_id, who.sis_login_id, who.section]
                + [number(scores.get((lesson, student), 0)) for lesson in lessons]
            )


def write_summaries(layout: CourseLayout, rows: list[dict[str, str]]) -> list[Path]:
    """``feedback/<student>/<lesson>/grades.md`` beside each feedback: every lesson of the student with feedback
    so far (graded), its score, points possible, days late and penalty."""
    by_student: dict[str, dict[str, dict[str, str]]] = {}
    for row in rows:
        by_student.setdefault(row["student_id"], {})[row["assignment"]] = row
    written = []
    for student, lessons in sorted(by_student.items()):
        graded = [lesson for lesson in sorted(lessons) if layout.feedback_dir(student, lesson).is_dir()]
        if not graded:
            continue
        lines = [
            f"# Grades of {student}",
            "",
            "| lesson | score | max | days late | late penalty |",  # days late: — where nothing was due
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for lesson in graded:
            row = lessons[lesson]
            penalty = float(row.get("late_submission_penalty") or 0)
            lines.append(
                f"| {lesson} | {number(row['score'])} | {number(row['max_score'])} | {row.get('late_days') or '—'} "
                f"| {'−' + number(penalty) if penalty else '0'} |"
            )
        text = "\n".join(lines) + "\n"
        for lesson in graded:
            path = layout.feedback_dir(student, lesson) / "grades.md"
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
