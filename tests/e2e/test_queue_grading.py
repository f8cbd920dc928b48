"""Grading on several machines through the queue, with real parts: a PostgreSQL server on 127.0.0.1, `course
grade --queue` in the instructor's folder, `course worker` processes in course folders of their own (no
``submitted/``: they act as separate machines), and a class of 22 submissions across lessons 00 and 01, most of
lesson 00's from the hostile class (tests/attacks/).

While the class is graded, every fault the queue must survive happens once: a worker of another release is
started and refuses the jobs; one submission's grading process is killed each time it is tried (it is recorded
as ungradable, with the reason, and everyone else is graded); a worker is killed with SIGKILL mid-job (its job is
graded by another once its heartbeat is missed); the database restarts (the workers carry on). Then the grades
must be those of `course grade --workers 2` on the same class with the same seed and limits (the session's
shared class, tests/attacks/graded_class.py, graded once for this test and the hostile test), each recorded
once, and enqueuing the class again must add nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from course.grading import sandbox
from course.grading.layout import CourseLayout
from course.grading.queue import tables
from tests.attacks import LESSON
from tests.attacks.graded_class import LIMITS, OTHER, SEED, VICTIM, GradedClass
from tests.grading_helpers import assert_feedback_hides_key, scores

# A worker will not run students' code without the sandbox (and the escape student needs it): only CI insists.
pytestmark = pytest.mark.skipif(
    not sandbox.isolation().available and os.environ.get("CI") != "true",
    reason=f"no sandbox here: {sandbox.isolation().reason}",
)

LESSONS = [LESSON, OTHER]
HOSTILE = {
    "honest-full",
    "honest-blank",
    "honest-quiz-only",
    "hide-errors",
    "always-equal",
    "shadow-modules",
    "tamper-test-cell",
    "duplicate-test-cell",
    "reach-reference",
    "forge-results",
    "answers-deep",
    "folder-link",
    "broken-answers",
    "kernel-exit",
    "escape",
}
# VICTIM is first in the queue; its grading process is killed each time it is tried
CLASS_SIZE = len(HOSTILE) + 6 + 1


def course(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "course.grading.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def ok(result: subprocess.CompletedProcess) -> str:
    """What a command that succeeded printed (its notes, on stdout, come first)."""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + "\n" + result.stderr


def one_ungradable(result: subprocess.CompletedProcess) -> str:
    """What a collecting run printed: it exits 1 because the victim could not be graded, says how to grade it,
    and records everyone else."""
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 submission(s) could not be graded" in result.stderr and "grade without the queue" in result.stderr
    return result.stdout + "\n" + result.stderr


def machine(instructor: CourseLayout, folder: Path) -> Path:
    """A grading machine's course folder: the course as released, without anything students handed in."""
    skip = shutil.ignore_patterns(instructor.submitted.name, instructor.autograded.name, instructor.feedback.name)
    shutil.copytree(instructor.root, folder, ignore=skip)
    return folder


class Workers:
    """`course worker` processes, each in its own folder, stopped by PID."""

    def __init__(self, url: str, logs: Path):
        self.url, self.logs, self.processes = url, logs, {}

    def start(self, name: str, folder: Path) -> subprocess.Popen:
        # 2 s heartbeats: a database restart on a busy machine can outlast three 1 s periods
        command = ["worker", "--db-url", self.url, "--name", name, "--heartbeat", "2", "--threads", "1"]
        with (self.logs / f"{name}.log").open("w") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "course.grading.cli", *command], cwd=folder, stdout=log, stderr=subprocess.STDOUT
            )
        return self.processes[name]

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()


def grading_process(worker: int) -> int | None:
    """The PID of a worker's grading process (its multiprocessing child), if it has one now."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == worker and b"spawn_main" in command:
            return int(entry.name)
    return None


def until(condition, what: str, seconds: float = 300):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def hand_in(instructor: CourseLayout, shared: GradedClass) -> dict[str, float]:
    """The class, copied from the shared graded class into the instructor's folder; returns the honest scores of
    lesson 00's hostile students."""
    local = CourseLayout.load(shared.course)
    for lesson, students in local.submitted_lessons().items():
        for student in students:
            if lesson == OTHER or student in HOSTILE | {VICTIM}:
                source, target = local.submission_dir(student, lesson), instructor.submission_dir(student, lesson)
                if source.is_symlink():  # the folder-link student's submission is a link, and stays one
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.symlink_to(os.readlink(source))
                else:
                    shutil.copytree(source, target, symlinks=True)
    return {student: score for (lesson, student), score in shared.honest.items() if student in HOSTILE}


@pytest.fixture(scope="module")
def graded(postgres_server, course_copy, graded_class, tmp_path_factory):
    """The class graded through the queue with every fault; beside it, the same class graded locally."""
    url, base = postgres_server.url, tmp_path_factory.mktemp("queue")
    db = tables.engine(url)
    instructor = course_copy(LESSONS, released=True, db_url=url)
    ok(course("queue-setup", "--db-url", url, cwd=base))
    local = CourseLayout.load(graded_class.course)
    honest = hand_in(instructor, graded_class)
    queued = ("--queue", "--db-url", url, *LIMITS)  # the shared class's limits, so the notes are the same too

    def job(student: str):
        with db.connect() as connection:
            return connection.execute(
                text("SELECT key, state, starts, worker, reason FROM course_queue_job WHERE student = :s"),
                {"s": student},
            ).one()

    def running(worker: str | None = None):
        with db.connect() as connection:
            return connection.execute(
                text(
                    "SELECT key, student FROM course_queue_job WHERE state = 'running' "
                    "AND (CAST(:w AS text) IS NULL OR worker = :w) LIMIT 1"
                ),
                {"w": worker},
            ).first()

    def live_workers() -> int:
        with db.connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - interval '4 seconds'")
            ).scalar()

    facts: dict = {"instructor": instructor, "local": local, "db": db, "honest": honest}
    workers = Workers(url, base)
    try:
        facts["enqueued"] = ok(course("grade", *queued, "--no-wait", "--seed", str(SEED), cwd=instructor.root))

        # a machine with another release of lesson 00 and no lesson 01 refuses every job
        stale = machine(instructor, base / "stale")
        shutil.rmtree(CourseLayout.load(stale).release_dir(OTHER))
        notebook = CourseLayout.load(stale).release_notebook(LESSON)
        content = json.loads(notebook.read_text())
        content["cells"].append({"cell_type": "markdown", "id": "new", "metadata": {}, "source": "An added note."})
        notebook.write_text(json.dumps(content))
        workers.start("stale", stale).wait(120)
        facts["stale"] = (workers.processes["stale"].returncode, workers.log("stale"))
        with db.connect() as connection:
            facts["after stale"] = connection.execute(
                text("SELECT count(*) FILTER (WHERE state = 'waiting' AND starts = 0), count(*) FROM course_queue_job")
            ).one()

        a = workers.start("A", machine(instructor, base / "A"))
        b = workers.start("B", machine(instructor, base / "B"))
        pids = {"A": a.pid, "B": b.pid}

        # the victim's grading process is killed at each attempt (again if the worker had to replace it first);
        # a third start is not graded (the worker gives the job up at once), so its process is left alone there
        killed, deadline = set(), time.monotonic() + 300
        while (victim := job(VICTIM)).state != "ungradable":
            assert time.monotonic() < deadline, f"the victim is never given up: {victim}"
            grading = victim.state == "running" and victim.starts <= 2
            child = grading_process(pids[victim.worker]) if grading else None
            if child and (victim.starts, child) not in killed:
                os.kill(child, signal.SIGKILL)
                killed.add((victim.starts, child))
            time.sleep(0.1)
        facts["victim attempts"] = {starts for starts, _ in killed}

        # a worker killed mid-job
        taken = until(lambda: running("A"), "worker A to take a job")
        os.kill(a.pid, signal.SIGKILL)
        a.wait()
        facts["killed job"] = taken.key
        pids["C"] = workers.start("C", machine(instructor, base / "C")).pid
        until(lambda: "worker C: grading" in workers.log("C") and live_workers() >= 2, "worker C to start")

        # the database restarts while jobs run
        facts["running at restart"] = until(lambda: running(), "a running job").key
        postgres_server.restart(down_seconds=2)

        facts["collected"] = one_ungradable(course("grade", *queued, cwd=instructor.root))
        facts["status"] = ok(course("grade", "--status", "--db-url", url, cwd=instructor.root))
        with db.connect() as connection:
            facts["procrastinate jobs"] = connection.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar()
        facts["queue grades"] = scores(instructor.grades_csv)
        facts["again"] = one_ungradable(course("grade", *queued, cwd=instructor.root))
        with db.connect() as connection:
            facts["procrastinate jobs again"] = connection.execute(
                text("SELECT count(*) FROM procrastinate_jobs")
            ).scalar()
        facts["logs"] = {name: workers.log(name) for name in ("A", "B", "C")}
        facts["alive"] = {name for name, process in workers.processes.items() if process.poll() is None}
    finally:
        workers.stop_all()
    facts["local run"] = graded_class.result.stdout + "\n" + graded_class.result.stderr
    return facts


def _notes(output: str) -> list[str]:
    """The grading notes `course grade` printed ("  lesson student: note")."""
    printed = output.split("grading notes", 1)[-1].split("hidden inputs drawn", 1)[0]
    return sorted(line for line in printed.splitlines() if line.startswith("  "))


@pytest.mark.slow
def test_grades_are_those_of_local_grading(graded):
    local = scores(graded["local"].grades_csv)
    queued = scores(graded["instructor"].grades_csv)
    students = {student for _, student in queued}  # the shared class also has hostile students the queue lacks
    assert (LESSON, VICTIM) in local and VICTIM not in students
    assert queued == {(lesson, student): v for (lesson, student), v in local.items() if student in students}
    assert len(queued) == len(LESSONS) * (CLASS_SIZE - 1), "nbgrader exports a row per student and lesson"
    for student, expected in graded["honest"].items():
        assert queued[(LESSON, student)][0] == expected, student
    # the same notes for every student (the local run also notes the victim's, which the queue never graded)
    local_notes = [n for n in _notes(graded["local run"]) if n.split()[1].rstrip(":") in students]
    assert local_notes == _notes(graded["collected"])


@pytest.mark.slow
def test_feedback_and_report_are_written_once_every_job_is_done(graded):
    instructor = graded["instructor"]
    handed_in = [(lesson, s) for lesson, students in instructor.submitted_lessons().items() for s in students]
    for lesson, student in handed_in:
        if student == VICTIM:
            continue
        assert (instructor.feedback_dir(student, lesson) / f"{lesson}.html").exists(), (lesson, student)
        assert (instructor.autograded_dir(student, lesson) / f"{lesson}.ipynb").exists(), (lesson, student)
    for lesson in LESSONS:
        assert_feedback_hides_key(instructor.root, lesson)
    assert (instructor.reports / "per-question.csv").exists() and (instructor.reports / "class-scores.png").exists()


@pytest.mark.slow
def test_every_result_is_recorded_once(graded):
    from nbgrader.api import Gradebook

    with graded["db"].connect() as connection:
        states = dict(connection.execute(text("SELECT state, count(*) FROM course_queue_job GROUP BY state")).all())
        submissions = connection.execute(
            text("SELECT count(*), count(DISTINCT (student_id, assignment_id)) FROM submitted_assignment")
        ).one()
        grades = connection.execute(text("SELECT count(*) FROM grade")).scalar()
    with Gradebook(graded["db"].url.render_as_string(hide_password=False), graded["instructor"].course_id) as book:
        cells = {lesson: sum(len(n.grade_cells) for n in book.find_assignment(lesson).notebooks) for lesson in LESSONS}
        handed_in = [(lesson, s.student.id) for lesson in LESSONS for s in book.assignment_submissions(lesson)]
    assert states == {"graded": CLASS_SIZE - 1, "ungradable": 1}
    assert tuple(submissions) == (CLASS_SIZE - 1, CLASS_SIZE - 1) and len(handed_in) == CLASS_SIZE - 1
    assert grades == sum(cells[lesson] for lesson, _ in handed_in), "one grade per submission and grade cell"


@pytest.mark.slow
def test_a_submission_that_crashes_its_grading_twice_is_recorded_as_ungradable(graded):
    assert graded["victim attempts"] == {1, 2}
    with graded["db"].connect() as connection:
        victim = connection.execute(
            text("SELECT state, starts, reason FROM course_queue_job WHERE student = :s"), {"s": VICTIM}
        ).one()
    assert victim.state == "ungradable" and victim.starts == 3
    assert "started 2 times and never finished" in victim.reason and "killed by SIGKILL" in victim.reason
    assert f"warning: {LESSON}/{VICTIM}: ungradable" in graded["collected"]
    assert "1 failed" in graded["status"] and f"failed: {LESSON}/{VICTIM}: ungradable" in graded["status"]


@pytest.mark.slow
def test_a_job_whose_worker_is_killed_is_graded_by_another(graded):
    with graded["db"].connect() as connection:
        query = text("SELECT state, starts, worker, reason FROM course_queue_job WHERE key = :k")
        killed = connection.execute(query, {"k": graded["killed job"]}).one()
    assert killed.state == "graded" and killed.starts == 2 and killed.worker in ("B", "C")
    assert killed.reason is None
    assert any("stopped sending heartbeats; back on the queue" in log for log in graded["logs"].values())


@pytest.mark.slow
def test_workers_carry_on_after_the_database_restarts(graded):
    with graded["db"].connect() as connection:
        state = connection.execute(
            text("SELECT state FROM course_queue_job WHERE key = :k"), {"k": graded["running at restart"]}
        ).scalar()
    assert state == "graded"
    assert "0 running, 0 waiting" in graded["status"]
    assert graded["alive"] == {"B", "C"}, "the workers lived through the restart"


@pytest.mark.slow
def test_a_worker_of_another_release_refuses_the_jobs(graded):
    code, output = graded["stale"]
    assert code == 2, output
    assert f"refusing {CLASS_SIZE - 6} unfinished job(s) of {LESSON}" in output
    assert f"of {OTHER}: they were enqueued for release" in output and "this machine has no release of it" in output
    assert "nothing to grade here" in output
    assert tuple(graded["after stale"]) == (CLASS_SIZE, CLASS_SIZE), "the refusing worker claimed nothing"


@pytest.mark.slow
def test_enqueuing_the_class_again_adds_nothing(graded):
    assert f"{CLASS_SIZE} put on the queue, 0 already done" in graded["enqueued"]
    assert f"0 put on the queue, {CLASS_SIZE} already done" in graded["again"]
    assert graded["procrastinate jobs again"] == graded["procrastinate jobs"]
    assert scores(graded["instructor"].grades_csv) == graded["queue grades"]
