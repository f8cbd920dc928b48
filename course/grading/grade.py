"""`course grade`: grade every submission, write feedback, export grades and the class report.

Each submission is graded by ``pipeline.grade_submission`` (in parallel worker processes with
``workers > 1``); this process alone writes the results into the gradebook, one submission at a time, so
nothing is lost or written twice. SQLite (``gradebook.db``) is the default gradebook; ``db_url`` points at
another one, for example PostgreSQL shared by several graders.
"""

from __future__ import annotations

import multiprocessing
import shutil
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from ..cache import cache_root
from ..prepare import prepare_for_grading, shared_names
from . import sandbox
from .checks import build_checks, run_seed
from .execute import Limits, RunSettings
from .files import SUBMISSION_SECRET, TIMESTAMP, SubmissionFiles, read_file, read_submission
from .layout import CourseLayout
from .nbgrader_runner import CourseError, database_url, finish_nbgrader, start_nbgrader
from .pipeline import Job, SubmissionResult, grade_submission
from .report import ClassReport, build_report
from .schedule import load_schedule
from .template import LessonTemplate, load_template


@dataclass
class GradeResult:
    lessons: list[str]
    grades_csv: Path
    feedback_dir: Path
    report: ClassReport
    failures: list[str]
    notes: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (lesson, student) -> notes
    unisolated: str = ""  # why student code ran without the sandbox, if it did
    # lesson -> shared artefacts (course.prepare) its runs had to build: none when the cache was prepared
    uncached: dict[str, set[str]] = field(default_factory=dict)
    grading_seconds: float = 0.0
    seed: int = 0  # the seed the checks' inputs were drawn from (recorded in grading-seed.json)
    canvas_csv: Path | None = None  # grades-canvas.csv
    ungraded: int = 0  # submissions that could not be graded (nothing recorded for them; each is in failures)


@dataclass(frozen=True)
class GradingRun:
    """One `course grade` run: where the course is, which gradebook, and what every submission's run shares."""

    layout: CourseLayout
    db_url: str
    settings: RunSettings
    base: Path  # the run's temporary folder; each submission runs in its own folder under it
    checks: dict[str, dict]  # lesson -> grade id -> Check, computed once for the run

    @property
    def course_id(self) -> str:
        return self.layout.course_id

    def job(self, index: int, files: SubmissionFiles, template: LessonTemplate) -> Job:
        return Job(files, template, self.base / str(index), self.settings, self.checks[template.lesson])


def _settings(limits: Limits | None, workers: int) -> RunSettings:
    """What every kernel of the run shares; with several workers, the kernels' BLAS threads share the cores."""
    limits = limits or Limits()
    if workers > 1 and not limits.threads:
        limits = Limits(**{**limits.__dict__, "threads": max(1, multiprocessing.cpu_count() // workers)})
    return RunSettings(limits, cache_root())


def grade(
    root: Path,
    wanted: list[str] | None = None,
    report_dir: Path | None = None,
    *,
    workers: int = 1,
    db_url: str | None = None,
    limits: Limits | None = None,
    seed: int | None = None,
    new_seed: bool = False,
) -> GradeResult:
    """Grade the lessons that have submissions, generate feedback and export ``grades.csv``.

    Exercises with a check (``course.references``) are graded on inputs drawn from ``seed``: by default the
    one the class was last graded with, else a fresh secret one (``new_seed`` draws a fresh one anyway)."""
    if workers < 1:
        raise CourseError("--workers must be at least 1.")
    layout, url, by_lesson = plan(root, wanted, db_url)
    todo = list(by_lesson)
    templates = {lesson: load_template(layout, lesson, url) for lesson in todo}
    prepare_for_grading(todo)
    seed = run_seed(layout, seed, new_seed)
    checks = {lesson: build_checks(templates[lesson], seed) for lesson in todo}
    run = GradingRun(
        layout, url, _settings(limits, workers), Path(tempfile.mkdtemp(prefix="course-grade-")), checks
    )  # short: kernels' sockets live under it
    pairs = [(lesson, student) for lesson in todo for student in by_lesson[lesson]]
    started = time.perf_counter()
    try:
        # every submission is read before any student code runs
        jobs = [
            run.job(index, read_submission(layout, student, lesson, templates[lesson]), templates[lesson])
            for index, (lesson, student) in enumerate(pairs)
        ]
        results = _run_jobs(jobs, workers)
    finally:
        shutil.rmtree(run.base, ignore_errors=True)
    elapsed = time.perf_counter() - started
    failures = [
        f"{r.lesson}/{r.student}: grading failed, nothing recorded: {r.error.strip().splitlines()[-1]}"
        for r in results
        if r.error
    ]
    graded = [r for r in results if not r.error]
    record(run, graded)
    isolation = sandbox.isolation()
    unisolated = "" if isolation.available else isolation.reason
    return publish(layout, url, todo, report_dir, graded, failures, unisolated, elapsed, seed)


def plan(root: Path, wanted: list[str] | None, db_url: str | None) -> tuple[CourseLayout, str, dict[str, list[str]]]:
    """(the course layout, the gradebook URL, ``{lesson: students}`` of the wanted lessons with submissions);
    CourseError when there is nothing to grade."""
    layout = CourseLayout.load(root)
    layout.ensure_gradebook(db_url)
    from .gradesout import load_roster

    # a mistake in schedule.toml or roster.csv stops the run before any grading
    load_schedule(layout.schedule_file, layout.lessons())
    load_roster(layout.roster_file)
    url = database_url(db_url) if db_url else layout.default_db_url
    by_lesson = layout.submitted_lessons()
    if not by_lesson:
        raise CourseError(
            f"Nothing in {layout.submitted}: put each student's work in {layout.submitted.name}/<student>/"
            "<lesson>/ (or run `course demo` to see the whole loop on sample submissions)."
        )
    known = layout.check_lessons(wanted)
    todo = [lesson for lesson in known if lesson in by_lesson]
    if not todo:
        raise CourseError(f"No submissions for {', '.join(known)}; found: {', '.join(sorted(by_lesson))}.")
    return layout, url, {lesson: by_lesson[lesson] for lesson in todo}


def publish(
    layout: CourseLayout,
    url: str,
    lessons: list[str],
    report_dir: Path | None,
    graded: list[SubmissionResult],
    failures: list[str],
    unisolated: str,
    elapsed: float,
    seed: int,
) -> GradeResult:
    """Once every submission is recorded (``graded``, whose notebooks are in the autograded folder): the late
    policy (``schedule.toml``), feedback, ``grades.csv``, ``grades-canvas.csv``, each student's ``grades.md``
    and the class report; the same whether the class was graded here or by queue workers."""
    from .gradesout import add_late_columns, apply_late_policy, load_roster, write_canvas, write_summaries

    ungraded = len(failures)  # so far, one per submission that could not be graded
    schedule = load_schedule(layout.schedule_file, layout.lessons())
    late_notes = apply_late_policy(layout, url, [(r.lesson, r.student) for r in graded], schedule)
    for r in graded:
        if (r.lesson, r.student) in late_notes:
            r.notes = [*r.notes, late_notes[(r.lesson, r.student)]]
    # feedback in nbgrader processes; meanwhile, the export and the report here
    feedback = [
        start_nbgrader(layout.root, "generate_feedback", lesson, "--force", f"--CourseDirectory.db_url={url}")
        for lesson in lessons
    ]
    export(layout.grades_csv, url, layout.course_id)
    rows = add_late_columns(layout.grades_csv, schedule)
    write_canvas(layout.grades_canvas_csv, rows, load_roster(layout.roster_file))
    report = build_report(report_dir or layout.reports, lessons, url, layout.course_id)
    for process in feedback:
        try:
            finish_nbgrader(process)
        except CourseError as err:
            failures.append(str(err))
    write_summaries(layout, rows)
    notes = {(r.lesson, r.student): r.notes for r in graded if r.notes}
    uncached: dict[str, set[str]] = {}
    shared = shared_names() if any(r.built for r in graded) else set()
    for r in graded:
        if set(r.built) & shared:  # what a student's own code trains is theirs to build; a shared artefact is not
            uncached.setdefault(r.lesson, set()).update(set(r.built) & shared)
    return GradeResult(
        lessons,
        layout.grades_csv,
        layout.feedback,
        report,
        failures,
        notes,
        unisolated=unisolated,
        grading_seconds=elapsed,
        uncached=uncached,
        seed=seed,
        canvas_csv=layout.grades_canvas_csv,
        ungraded=ungraded,
    )


def _run_jobs(jobs: list[Job], workers: int) -> list[SubmissionResult]:
    """Grade every job, in ``workers`` processes; a worker process that dies fails only its own jobs."""
    from tqdm.auto import tqdm

    results: list[SubmissionResult] = []
    with tqdm(total=len(jobs), desc="grading", unit="submission") as bar:
        if workers == 1:
            for job in jobs:
                results.append(grade_submission(job))
                bar.update()
            return results
        todo = list(jobs)
        for _attempt in range(2):  # a second round for jobs lost with a crashed worker
            lost = []
            # fork on Linux: workers start at once and never re-run the caller's script (spawn would)
            context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
            with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context) as pool:
                futures = {pool.submit(grade_submission, job): job for job in todo}
                for future in as_completed(futures):
                    try:
                        results.append(future.result())
                        bar.update()
                    except BrokenProcessPool:
                        lost.append(futures[future])
            todo = lost
            if not todo:
                break
        for job in todo:
            results.append(
                SubmissionResult(job.files.student, job.files.lesson, error="a grading worker process died twice")
            )
            bar.update()
    return results


def record(run: GradingRun, results: list[SubmissionResult]) -> None:
    """Write scores and comments into the gradebook and the graded notebooks into the autograded folder."""
    from nbgrader.api import Gradebook, InvalidEntry
    from nbgrader.utils import parse_utc
    from sqlalchemy.exc import SAWarning

    with Gradebook(run.db_url, run.course_id) as gradebook, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own session use, with SQLAlchemy 2
        for result in sorted(results, key=lambda r: (r.lesson, r.student)):
            for attempt in range(2):  # another grader sharing the gradebook may create the student first
                try:
                    record_one(gradebook, result, parse_utc)
                    break
                except InvalidEntry:
                    gradebook.db.rollback()
                    if attempt:
                        raise
    write_autograded(run.layout, results)


def write_autograded(layout: CourseLayout, results: list[SubmissionResult]) -> None:
    """Each result's graded notebooks into the autograded folder (what nbgrader's feedback reads)."""
    for result in results:
        folder = layout.autograded_dir(result.student, result.lesson)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, text in result.notebooks.items():
            (folder / f"{name}.ipynb").write_text(text, encoding="utf-8")
        # nbgrader's feedback copies these on, and `course return` (release_feedback) needs them: the exchange
        # names each student's feedback by a hash of the secret their submission carried
        for name in (TIMESTAMP, SUBMISSION_SECRET):
            data, _ = read_file(layout.submission_dir(result.student, result.lesson) / name, 10_000)
            if data is not None:
                (folder / name).write_bytes(data)


def export(path: Path, db_url: str, course: str) -> None:
    """nbgrader's CSV export of the whole gradebook (what `nbgrader export` writes)."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    with Gradebook(db_url, course) as gradebook:
        CsvExportPlugin(to=str(path)).export(gradebook)


def record_one(gradebook, result: SubmissionResult, parse_utc) -> None:
    """One result's student, submission, scores and comments, through nbgrader's gradebook API (which commits
    after each step; ``queue.recording`` makes the steps one transaction)."""
    gradebook.update_or_create_student(result.student)
    try:
        stamp = {"timestamp": parse_utc(result.timestamp)} if result.timestamp else {}
    except (ValueError, OverflowError):
        stamp = {}
    gradebook.update_or_create_submission(result.lesson, result.student, **stamp)
    for notebook, scores in result.scores.items():
        for grade_id, score in scores.items():
            grade = gradebook.find_grade(grade_id, notebook, result.lesson, result.student)
            grade.auto_score = score
            grade.needs_manual_grade = grade.manual_score is not None or score is None
        for grade_id, text in result.comments[notebook].items():
            gradebook.find_comment(grade_id, notebook, result.lesson, result.student).auto_comment = text
    gradebook.db.commit()
