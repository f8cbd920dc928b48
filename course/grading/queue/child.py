"""A worker grades in a child process, one job at a time, so that a submission that crashes the grading or
never lets it finish ends that child, not the worker: the worker sees the child die or overrun its hard limit,
stops it, reports why, and starts a fresh one for the next job.

The child is kept between jobs (its imports and the sandbox check are paid once), and dies with its worker:
it asks the kernel for SIGKILL when its parent dies, and the sandboxed kernels under it die with it
(bubblewrap's ``--die-with-parent``), so a worker killed mid-job leaves nothing running.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from pathlib import Path

from ..pipeline import Job, SubmissionResult, grade_submission


class GradingCrashed(Exception):
    """The grading process died or overran its hard limit; the message says which."""


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        import ctypes
        import os

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before the request
            os._exit(1)


def _serve(connection: Connection) -> None:
    """The child: grade each job received, send back its result, until the worker closes the pipe."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a worker's Ctrl-C stops the worker, which waits for the job
    while True:
        try:
            job = connection.recv()
        except EOFError:
            return
        connection.send(grade_submission(job))


def _parents() -> dict[int, int]:
    """Every live process's parent, by PID (Linux ``/proc``; empty elsewhere)."""
    parents = {}
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # gone meanwhile
            continue
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    return parents


def _descendants(pid: int) -> list[int]:
    """The PIDs of every live process under ``pid``: its sandboxed kernels and whatever they started."""
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_all(pids: list[int], seconds: float = 10.0) -> None:
    """SIGKILL ``pids`` and wait (up to ``seconds``) until none of them runs any more."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and set(pids) & _parents().keys():
        time.sleep(0.05)


def _describe(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"was killed by {signal.Signals(-exitcode).name}"
    return f"exited with status {exitcode}"


class GradingProcess:
    """The child process of one worker."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")  # a fresh interpreter: the worker has threads
        self._process: SpawnProcess | None = None
        self._connection: Connection | None = None

    def _start(self) -> tuple[SpawnProcess, Connection]:
        ours, theirs = self._context.Pipe()
        self._process = self._context.Process(target=_serve, args=(theirs,), name="course-grading", daemon=True)
        self._process.start()
        theirs.close()
        self._connection = ours
        return self._process, ours

    def grade(self, job: Job, seconds: float) -> SubmissionResult:
        """Grade ``job`` in the child; GradingCrashed when the child dies or takes longer than ``seconds``."""
        process, connection = self._process, self._connection
        if process is None or connection is None or not process.is_alive():
            self.stop()
            process, connection = self._start()
        try:
            connection.send(job)
        except OSError:  # the idle child died between two jobs: not this job's doing
            self.stop()
            process, connection = self._start()
            connection.send(job)
        if not connection.poll(seconds):
            self.stop()
            raise GradingCrashed(f"the grading process ran past its hard limit of {seconds:g} s and was stopped")
        try:
            return connection.recv()
        except (EOFError, OSError):
            process.join(5)
            why = _describe(process.exitcode)
            self.stop()
            raise GradingCrashed(f"the grading process {why}") from None

    def stop(self) -> None:
        """End the child now, and every process under it (its kernel in the sandbox, whatever the student's code
        started): bubblewrap's ``--die-with-parent`` ends them too, but asynchronously, and under load they can
        outlive the child for a while. A new child starts with the next job."""
        if self._process is not None:
            pid = self._process.pid  # None only before it started
            tree = _descendants(pid) if pid is not None and self._process.is_alive() else []
            self._process.kill()
            self._process.join()
            _kill_all(tree)
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None
