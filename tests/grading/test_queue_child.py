"""A worker's grading process: a submission that keeps it past its hard limit, or a grading process killed
mid-job, ends that process (and the sandboxed kernel under it, with every process it started) with the reason,
even on a machine whose every core is busy, and the next job gets a fresh process that grades it as usual.
A kernel never outlives its time limit by more than a grace period."""

import multiprocessing
import os
import shutil
import signal
import subprocess
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


# Three children that ignore SIGTERM and start a grandchild each, then the kernel sleeps: a tree to end whole.
STUBBORN = """import os, signal, time
for _ in range(3):
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.fork()
        time.sleep(300)
        os._exit(0)
time.sleep(300)
"""


@pytest.fixture
def busy_machine():
    """Every core busy with a process that spins, as on a loaded CI machine, for the test's duration."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(multiprocessing.cpu_count())
    ]
    yield
    for spinner in spinners:
        spinner.kill()
        spinner.wait()


def _kill_when_forked(pid: int, run_dir: Path) -> None:
    """SIGKILL the grading process ``pid`` once the kernel in ``run_dir`` has started its stubborn children (two
    bwrap processes, timeout, the kernel, three children and three grandchildren), or after two minutes."""
    deadline = time.monotonic() + 120
    while len(_running_under(run_dir)) < 10 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_an_overrunning_or_killed_grading_process_is_stopped_and_replaced(course_copy, tmp_path, busy_machine):
    layout = course_copy([LESSON], released=True)
    template = load_template(layout, LESSON, layout.default_db_url)
    checks = build_checks(template, 1)
    submit(layout, "sleeper", right_quiz=True, early=STUBBORN)
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
        threading.Thread(target=_kill_when_forked, args=(process.pid, tmp_path / "sleeper-2"), daemon=True).start()
        with pytest.raises(GradingCrashed, match="was killed by SIGKILL"):
            child.grade(job("sleeper", 2), 300)
        if sandbox.isolation().available:  # the kernel and its children die with their grading process
            assert not _running_under(tmp_path / "sleeper-2")
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


def test_a_kernel_dies_with_its_grader_from_the_start_and_has_resource_limits(tmp_path):
    manager = KernelManager(connection_file=str(tmp_path / "kernel.json"))
    manager.limits = Limits(memory_bytes=3 << 30, cpu_seconds=60, processes=40, disk_bytes=1 << 20)
    manager.wrap = lambda kernel: ["bwrap", "--", *kernel]  # where the sandbox would go
    command = manager.format_kernel_cmd()
    if shutil.which("setpriv"):
        assert command[:4] == ["setpriv", "--pdeathsig", "KILL", "--"], "before anything else can run"
    prlimit = command.index(shutil.which("prlimit"))
    assert command[prlimit + 1 : prlimit + 4] == [f"--fsize={1 << 20}", f"--as={3 << 30}", "--cpu=60"]
    if os.geteuid() != 0:  # counted in the sandbox's own user namespace, so set inside it
        assert command[command.index("bwrap") + 2 : command.index("bwrap") + 4] == [
            shutil.which("prlimit"),
            "--nproc=40",
        ]
    elif manager.pids_cgroup is not None:  # root: a pids cgroup the sandbox starts in
        assert (manager.pids_cgroup / "pids.max").read_text().strip() == "40"
        manager.pids_cgroup.rmdir()
