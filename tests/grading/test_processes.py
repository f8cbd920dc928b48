"""``course.grading.processes``: signalling a list of processes that may be gone meanwhile, and freezing some
while the others are killed round after round (a kernel's strays, a grading process's whole tree)."""

import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from course.grading import processes

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds processes through /proc")

# a parent that starts ``n`` sleeping children and prints their PIDs; restarts none
PARENT = """
import subprocess, sys, time
children = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range({n})]
print(" ".join(str(c.pid) for c in children), flush=True)
time.sleep(60)
"""


def _state(pid: int) -> str:
    """The process's state letter in /proc (T: stopped, Z: zombie), or "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def _comes_to(pid: int, states: str, seconds: float = 5.0) -> bool:
    """Whether the process's state comes to one of ``states`` within ``seconds`` (a signal takes effect when the
    process is next scheduled, not when it is sent)."""
    deadline = time.monotonic() + seconds
    while not (state := _state(pid)) or state not in states:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture()
def family():
    """A running parent with two children: ``(parent Popen, child PIDs)``; killed afterwards whatever happened."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT.format(n=2)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    kids = [int(pid) for pid in parent.stdout.readline().split()]
    yield parent, kids
    processes.kill_all([*kids, parent.pid], 5.0)
    parent.wait()


def test_signal_all_reaches_the_live_ones_and_skips_the_gone(family):
    parent, kids = family
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: its PID names nothing now
    assert processes.signal_all([gone.pid, kids[0]], signal.SIGSTOP) == [kids[0]]
    assert _comes_to(kids[0], "T") and _state(kids[1]) in ("R", "S")
    processes.signal_all([kids[0]], signal.SIGCONT)


def test_freeze_and_kill_ends_the_targets_and_resumes_the_frozen(family):
    parent, kids = family
    seen_stopped = []

    def under_parent():
        seen_stopped.append(_comes_to(parent.pid, "T"))
        return processes.descendants(parent.pid)

    assert processes.freeze_and_kill([parent.pid], under_parent, 10.0) is True
    assert seen_stopped[0], "the parent is frozen before anything is killed"
    assert processes.descendants(parent.pid) == []
    assert _comes_to(parent.pid, "RS"), "the parent runs again"


def test_freeze_and_kill_without_resuming_leaves_the_frozen_stopped(family):
    parent, kids = family
    tree = partial(processes.descendants, parent.pid)
    assert processes.freeze_and_kill([parent.pid], tree, 10.0, round_seconds=5.0, resume=False) is True
    assert all(_state(kid) in ("", "Z") for kid in kids), "each round waits until its processes are gone"
    assert _comes_to(parent.pid, "T") and not _comes_to(parent.pid, "RS", 0.2), "left stopped"


def test_freeze_and_kill_gives_up_after_its_time(family):
    parent, kids = family
    started = time.monotonic()
    beyond_pid_max = [(1 << 22) + 1]  # always found, never killed: copies forking faster than the rounds
    assert processes.freeze_and_kill([parent.pid], lambda: beyond_pid_max, 0.3) is False
    assert time.monotonic() - started < 3.0
    assert _comes_to(parent.pid, "RS"), "resumed even when it gave up"


def test_freeze_and_kill_kills_nothing_when_none_of_the_frozen_runs(family):
    parent, kids = family
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert processes.freeze_and_kill([gone.pid], lambda: list(kids), 10.0) is False
    assert all(_state(kid) in ("R", "S") for kid in kids), "the targets are left alone"
