"""A shared gradebook: a real PostgreSQL server on 127.0.0.1, two graders grading into it at the same time
from their own course folders, then a re-run; every grade is there exactly once."""

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from course.grading.layout import CourseLayout
from course.grading.nbgrader_runner import database_url
from course.grading.samples import answer_key, write_submission
from tests.conftest import free_port
from tests.grading_helpers import scores

LESSON = "00-orientation"
BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))


@pytest.fixture()
def postgres():
    """A PostgreSQL server in a temporary folder, as an unprivileged user; stopped by its PID."""
    if not BINS:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not installed (.ci/run installs Debian's postgresql package)")
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    bin_dir = Path(BINS[-1])
    folder = Path(tempfile.mkdtemp(prefix="course-pg-"))  # outside pytest's root-only folders
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True)  # noqa: E731
    run(str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "grader", "--auth=trust", "-E", "UTF8")
    run(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(folder / "data"),
        "-l",
        str(folder / "log"),
        "-w",
        "start",
        "-o",
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1",
    )
    pid = int((folder / "data" / "postmaster.pid").read_text().split()[0])
    try:
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "grader", "gradebook")
        yield f"postgresql://grader@127.0.0.1:{port}/gradebook"
    finally:
        os.kill(pid, signal.SIGINT)  # PostgreSQL's fast shutdown
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)


def _grade(course: Path, url: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "course.grading.cli", "grade", "--db-url", url, *extra],
        cwd=course,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen) -> str:
    out, _ = process.communicate(timeout=900)
    assert process.returncode == 0, out[-3000:]
    return out


@pytest.mark.slow
def test_two_graders_share_a_postgresql_gradebook(postgres, course_copy, tmp_path):
    first_layout = course_copy([LESSON], released=True, db_url=postgres)
    first, second = first_layout.root, tmp_path / "grader-2"
    shutil.copytree(first, second)
    second_layout = CourseLayout.load(second)
    key = answer_key(first_layout, LESSON)
    write_submission(first_layout, "ada", LESSON, None, key)  # all right
    write_submission(first_layout, "ben", LESSON, set(), None)  # blank
    write_submission(second_layout, "chloe", LESSON, set(), key)  # quiz only

    outputs = [_finish(p) for p in [_grade(first, postgres, "--workers", "2"), _grade(second, postgres)]]
    assert all("warning" not in out for out in outputs), outputs
    assert not first_layout.gradebook.exists() and not second_layout.gradebook.exists()
    expected = {"ada": (3.0, 3.0), "ben": (0.0, 3.0), "chloe": (1.0, 3.0)}
    for course, students in ((first_layout, ("ada", "ben")), (second_layout, ("chloe",))):
        graded = {s: v for (_, s), v in scores(course.grades_csv).items()}
        assert {s: graded[s] for s in students} == {s: expected[s] for s in students}

    _finish(_grade(second, postgres))  # again, once both are done: every grade, each once
    assert {s: v for (_, s), v in scores(second_layout.grades_csv).items()} == expected
    from sqlalchemy import create_engine, text

    with create_engine(database_url(postgres)).connect() as db:
        submissions = db.execute(text("select count(*), count(distinct student_id) from submitted_assignment"))
        assert tuple(submissions.one()) == (3, 3)
        grades = db.execute(text("select count(*) from grade")).scalar()
        assert grades == 3 * 2, "one row per student and grade cell"
