"""`course grade`: autograde every submission, write feedback, export grades and the class report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .nbgrader_runner import CourseError, check_lessons, run_nbgrader
from .release import ensure_gradebook
from .report import ClassReport, build_report


@dataclass
class GradeResult:
    lessons: list[str]
    grades_csv: Path
    feedback_dir: Path
    report: ClassReport
    failures: list[str]


def submitted_lessons(root: Path) -> dict[str, list[str]]:
    """``{lesson: [student ids]}`` found in ``submitted/<student>/<lesson>/``."""
    found: dict[str, list[str]] = {}
    folder = root / "submitted"
    if folder.is_dir():
        for student in sorted(p for p in folder.iterdir() if p.is_dir()):
            for lesson in sorted(p for p in student.iterdir() if p.is_dir()):
                found.setdefault(lesson.name, []).append(student.name)
    return found


def grade(root: Path, wanted: list[str] | None = None, report_dir: Path | None = None) -> GradeResult:
    """Autograde, generate feedback and export ``grades.csv`` for the lessons that have submissions."""
    ensure_gradebook(root)
    by_lesson = submitted_lessons(root)
    if not by_lesson:
        raise CourseError(
            f"Nothing in {root / 'submitted'}: put each student's work in submitted/<student>/<lesson>/ "
            "(or run `course demo` to see the whole loop on sample submissions)."
        )
    known = check_lessons(root, wanted)
    todo = [lesson for lesson in known if lesson in by_lesson]
    if not todo:
        raise CourseError(f"No submissions for {', '.join(known)}; found: {', '.join(sorted(by_lesson))}.")
    failures = []
    for lesson in todo:
        for step in (("autograde", lesson, "--force"), ("generate_feedback", lesson, "--force")):
            try:
                run_nbgrader(root, *step)
            except CourseError as err:
                failures.append(str(err))
    grades_csv = root / "grades.csv"
    run_nbgrader(root, "export", f"--to={grades_csv}")
    report = build_report(root, report_dir or root / "reports", todo)
    return GradeResult(todo, grades_csv, root / "feedback", report, failures)
