"""A worker's grading process: a submission that keeps it past its hard limit, or a grading process killed
mid-job, ends that process (and the sandboxed kernel under it) with the reason, and the next job gets a fresh
process that grades it as usual. A kernel never outlives its time limit by more than a grace period."""

import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from course.grading import sandbox
from course.grading.checks import build_checks
from course.grading.files import read_submission
from course.grading.kernel import KernelManager, Limits, RunSettings
from course.grading.pipeline import Job
from course.grading.queue.child import GradingCrashed, GradingProcess
from course.grading.template import load_template
from tests.attacks import FULL, LESSON
from tests.attacks.submissions import submit


def _running_under(folder: Path) -> list[int]:
    """PIDs of processes whose command line names ``folder`` (a kernel names its connection file)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(folder).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_an_overrunning_or_killed_grading_process_is_stopped_and_replaced(course_copy, tmp_path):
    layout = course_copy([LESSON], released=True)
    template = load_template(layout, LESSON, layout.default_db_url)
    checks = build_checks(template, 1)
    submit(layout, "sleeper", right_quiz=True, early="import time\ntime.sleep(300)")
    submit(layout, "honest", right_quiz=True)

    def job(student: str, attempt: int) -> Job:
        files = read_submission(layout, student, LESSON, template)
        return Job(files, template, tmp_path / f"{student}-{attempt}", RunSettings(Limits()), checks)

    child = GradingProcess()
    try:
        started = time.monotonic()
        with pytest.raises(GradingCrashed, match="ran past its hard limit of 8 s and was stopped"):
            child.grade(job("sleeper", 1), 8)
        assert time.monotonic() - started < 30 and not multiprocessing.active_children()
        if sandbox.isolation().available:  # the kernel dies with its grading process
            assert not _running_under(tmp_path / "sleeper-1")

        result = child.grade(job("honest", 1), 300)
        assert sum(result.scores[LESSON].values()) == FULL and not result.error

        (process,) = multiprocessing.active_children()  # the grading process, kept between jobs
        threading.Timer(3, os.kill, (process.pid, signal.SIGKILL)).start()
        with pytest.raises(GradingCrashed, match="was killed by SIGKILL"):
            child.grade(job("sleeper", 2), 300)
        assert sum(child.grade(job("honest", 2), 300).scores[LESSON].values()) == FULL
    finally:
        child.stop()


def test_a_kernel_is_killed_at_the_end_of_its_lifetime_whatever_becomes_of_its_grader(tmp_path):
    manager = KernelManager(connection_file=str(tmp_path / "kernel.json"))
    manager.lifetime = 2100.0
    command = manager.format_kernel_cmd()
    limit = command.index(shutil.which("timeout"))
    assert command[limit + 1 : limit + 3] == ["--signal=KILL", "2100"]
    assert command.index(sys.executable) > limit, "the limit wraps the kernel itself, inside the sandbox"
