"""The grading queue's parts, each against a real PostgreSQL server on 127.0.0.1: release fingerprints and job
keys, the queue's tables and their errors, submissions stored content-addressed, one transaction per recorded
result (and a result recorded once however often it is recorded), and the status report."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from course.grading.exercise import Check, close
from course.grading.files import SubmissionFiles
from course.grading.nbgrader_runner import CourseError, nbgrader_env
from course.grading.pipeline import SubmissionResult
from course.grading.queue import tables
from course.grading.queue.fingerprint import job_key, release_fingerprint
from course.grading.queue.recording import record_graded, record_ungradable
from course.grading.queue.status import Progress
from course.grading.queue.store import checks_from_json, checks_json, load, save_blobs, stored

LESSON = "00-orientation"


@pytest.fixture(scope="module")
def db(postgres):
    """The queue's tables beside a gradebook with one lesson of one notebook: a 2-point test cell."""
    from nbgrader.api import Gradebook

    engine = tables.engine(postgres)
    with pytest.raises(CourseError, match=r"no gradebook yet: run `course release --db-url postgresql"):
        tables.setup(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", nbgrader_env()["PATH"])  # a new gradebook records nbgrader's schema version (alembic)
        with Gradebook(engine.url.render_as_string(hide_password=False)) as book:
            book.update_or_create_assignment("L")
            book.update_or_create_notebook("L", "L")
            book.update_or_create_grade_cell("t", "L", "L", max_score=2, cell_type="code")
            book.update_or_create_solution_cell("s", "L", "L")
    with pytest.raises(CourseError, match=r"run `course queue-setup --db-url postgresql\+psycopg://grader@"):
        tables.require(engine)
    assert "procrastinate's schema" in tables.setup(engine)
    assert tables.setup(engine) == [], "setting up twice changes nothing"
    tables.require(engine)
    return engine


def test_the_queue_needs_postgresql(tmp_path):
    with pytest.raises(CourseError, match="needs a PostgreSQL gradebook"):
        tables.engine(f"sqlite:///{tmp_path / 'gradebook.db'}")


def test_a_release_fingerprint_changes_with_any_released_file(course_copy):
    layout = course_copy([LESSON])
    folder = layout.release_dir(LESSON)
    folder.mkdir(parents=True)
    (folder / f"{LESSON}.ipynb").write_text("{}")
    (folder / "data.csv").write_text("a,b\n")
    first = release_fingerprint(layout, LESSON)
    (folder / "answers.json").write_text("{}")  # a student's answers file is no part of a release
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "x.ipynb").write_text("{}")
    assert release_fingerprint(layout, LESSON) == first
    (folder / "data.csv").write_text("a,b\n1,2\n")
    assert release_fingerprint(layout, LESSON) != first


def test_a_job_key_is_the_submission_its_student_and_the_run_settings():
    record, _ = stored(SubmissionFiles("ada", LESSON, notebooks={LESSON: b"{}"}, answers=b'{"format": 1}'))
    key = job_key("settings", "ada", LESSON, record)
    assert key == job_key("settings", "ada", LESSON, json.loads(json.dumps(record)))
    assert key != job_key("other settings (seed, release or limits)", "ada", LESSON, record)
    assert key != job_key("settings", "ben", LESSON, record), "two students with the same files are two jobs"
    changed, _ = stored(SubmissionFiles("ada", LESSON, notebooks={LESSON: b"{}"}, answers=b'{"format": 2}'))
    assert key != job_key("settings", "ada", LESSON, changed)


def test_submissions_are_stored_content_addressed_and_read_back_whole(db):
    notebook = b'{"cells": []}'
    ada = SubmissionFiles(
        "ada", LESSON, {LESSON: notebook}, {"answers.json": "is a link"}, None, "2026-01-02 03:04:05", ["x.py"]
    )
    ben = SubmissionFiles("ben", LESSON, {LESSON: notebook}, answers=b'{"format": 1, "answers": {}}')
    records = {}
    with db.begin() as connection:
        before = connection.execute(text("SELECT count(*) FROM course_queue_blob")).scalar()
        for files in (ada, ben):
            record, blobs = stored(files)
            save_blobs(connection, blobs)
            records[files.student] = record
        assert connection.execute(text("SELECT count(*) FROM course_queue_blob")).scalar() == before + 2
    with db.connect() as connection:
        for files in (ada, ben):
            assert load(connection, files.student, LESSON, records[files.student]) == files


def test_checks_survive_the_database_with_their_nans():
    check = Check("test-x", "f", "call", [{"args": [1], "kwargs": {}}], [float("nan")], close(1e-3, 0.0))
    back = checks_from_json(checks_json({"test-x": check}))["test-x"]
    assert repr(back) == repr(check)


@pytest.fixture(scope="module")
def gradebook(db):
    from nbgrader.api import Gradebook

    book = Gradebook(db.url.render_as_string(hide_password=False))
    yield book
    book.close()


def _job(db, key: str) -> None:
    with db.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO course_queue_settings (id, course_id, lesson, release, checks, limits, job_seconds) "
                "VALUES ('s', 'default_course', 'L', 'r', '{}', '{}', 1) ON CONFLICT DO NOTHING"
            )
        )
        run = connection.execute(text("INSERT INTO course_queue_run (course_id) VALUES ('c') RETURNING id")).scalar()
        connection.execute(
            text(
                "INSERT INTO course_queue_job (key, settings, run, course_id, lesson, student, files, state) "
                "VALUES (:key, 's', :run, 'default_course', 'L', 'x', '{}', 'running')"
            ),
            {"key": key, "run": run},
        )


def _state(db, key: str) -> str:
    with db.connect() as connection:
        return connection.execute(text("SELECT state FROM course_queue_job WHERE key = :k"), {"k": key}).scalar()


def _submissions(db, student: str) -> int:
    with db.connect() as connection:
        return connection.execute(
            text("SELECT count(*) FROM submitted_assignment WHERE student_id = :s"), {"s": student}
        ).scalar()


def test_a_result_is_recorded_once_however_often_it_is_recorded(db, gradebook):
    _job(db, "k1")
    result = SubmissionResult("ada", "L", scores={"L": {"t": 2.0}}, comments={"L": {"s": None}}, notebooks={"L": "{}"})
    assert record_graded(db, gradebook, "k1", result, "w1", "") is True
    assert record_graded(db, gradebook, "k1", result, "w2", "") is False, "a job that ran twice records once"
    assert _state(db, "k1") == "graded" and _submissions(db, "ada") == 1
    with db.connect() as connection:
        score = connection.execute(text("SELECT auto_score FROM grade")).scalar()
    assert score == 2.0
    assert record_ungradable(db, "k1", "too late", "w3") is False, "a graded job stays graded"


def test_a_result_that_cannot_be_written_whole_writes_nothing(db, gradebook):
    from nbgrader.api import MissingEntry

    _job(db, "k2")
    broken = SubmissionResult("ghost", "L", scores={"L": {"no-such-cell": 1.0}}, comments={"L": {}})
    with pytest.raises(MissingEntry):
        record_graded(db, gradebook, "k2", broken, "w1", "")
    assert _state(db, "k2") == "running", "the job row is not turned"
    assert _submissions(db, "ghost") == 0, "nbgrader's commit of the student and submission was rolled back too"
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM student WHERE id = 'ghost'")).scalar() == 0


def test_status_counts_and_estimates_time_left():
    progress = Progress(
        3,
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        counts={LESSON: {"graded": 5, "running": 2, "waiting": 4, "ungradable": 1}},
        running=[(LESSON, "ada", "host:1", 3.0)],
        failed=[(LESSON, "zed", "ungradable: its grading was started 2 times")],
        mean_seconds=10.0,
        live_workers=2,
    )
    assert progress.eta_seconds() == 6 * 10.0 / 2
    shown = progress.format()
    assert "12 submissions, 5 done, 2 running, 4 waiting, 1 failed" in shown
    assert "running: 00-orientation/ada on host:1" in shown and "failed: 00-orientation/zed: ungradable" in shown
    assert "time left: about 30 s" in shown
    assert "no worker is running" in Progress(3, progress.created, progress.counts).format()
    assert "No grading run" in Progress(None).format()
