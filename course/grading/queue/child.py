"""A worker grades in a child process, one job at a time, so that a submission that crashes the grading or
never lets it finish ends that child, not the worker: the worker sees the child die or overrun its hard limit,
stops it, reports why, and starts a fresh one for the next job.

The child is kept between jobs (its imports and the sandbox check are paid once), and dies with its worker:
it asks the kernel for SIGKILL when its parent dies, and the sandboxed kernels under it die with it
(bubblewrap's ``--die-with-parent``), so a worker killed mid-job leaves nothing running.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
from multiprocessing.connection import Connection

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


def _describe(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"was killed by {signal.Signals(-exitcode).name}"
    return f"exited with status {exitcode}"


class GradingProcess:
    """The child process of one worker."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")  # a fresh interpreter: the worker has threads
        self._process = None
        self._connection: Connection | None = None

    def _start(self) -> None:
        ours, theirs = self._context.Pipe()
        self._process = self._context.Process(target=_serve, args=(theirs,), name="course-grading", daemon=True)
        self._process.start()
        theirs.close()
        self._connection = ours

    def grade(self, job: Job, seconds: float) -> SubmissionResult:
        """Grade ``job`` in the child; GradingCrashed when the child dies or takes longer than ``seconds``."""
        if self._process is None or not self._process.is_alive():
            self.stop()
            self._start()
        try:
            self._connection.send(job)
        except OSError:  # the idle child died between two jobs: not this job's doing
            self.stop()
            self._start()
            self._connection.send(job)
        if not self._connection.poll(seconds):
            self.stop()
            raise GradingCrashed(f"the grading process ran past its hard limit of {seconds:g} s and was stopped")
        try:
            return self._connection.recv()
        except (EOFError, OSError):
            self._process.join(5)
            why = _describe(self._process.exitcode)
            self.stop()
            raise GradingCrashed(f"the grading process {why}") from None

    def stop(self) -> None:
        """End the child now (a new one starts with the next job)."""
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._connection.close()
        self._process = self._connection = None
