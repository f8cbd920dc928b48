"""A worker grades in a child process, one job at a time, so that a submission that crashes the grading or
never lets it finish ends that child, not the worker: the worker sees the child die or overrun its hard limit,
stops it, reports why, and starts a fresh one for the next job.

The child is kept between jobs (its imports and the sandbox check are paid once), and dies with its worker:
it asks the kernel for SIGKILL when its parent dies, and the sandboxed kernels under it die with it (each is
started under ``setpriv --pdeathsig KILL``, and bubblewrap's ``--die-with-parent`` ends the sandbox's PID
namespace with it), so a worker killed mid-job leaves nothing running. The kernel is launched from the child's
main thread, which lives as long as the child: PR_SET_PDEATHSIG fires when the thread that forked exits.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from pathlib import Path

from .. import processes
from ..kernel import remove_pids_cgroups
from ..pipeline import Job, SubmissionResult, grade_submission

PR_SET_CHILD_SUBREAPER = 36


class GradingCrashed(Exception):
    """The grading process died or overran its hard limit; the message says which."""


def _die_with_parent() -> None:
    """Ask for SIGKILL when the worker dies, and adopt every orphan of the processes under this one (a child
    subreaper), so that while it lives nothing it started can leave its process tree."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1)
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
        self._process: SpawnProcess | None = None
        self._connection: Connection | None = None
        self._run_dir: Path | None = None  # the run folder of the job in hand

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
        self._run_dir = job.run_dir
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
        started). The child is first frozen (SIGSTOP: it starts nothing more), then everything under it is killed
        until nothing is left (as a subreaper it adopts every orphan, so nothing escapes its tree; killing a
        sandbox's first process ends its whole PID namespace), then the child itself. Had the child died first,
        the processes still naming its job's run folder are killed (its kernels die with it anyway, through
        their parent-death signal). The pids cgroups it made for its kernels go too. A new child starts with the
        next job."""
        if self._process is not None:
            pid = self._process.pid  # None only before it started
            if pid is not None and self._process.is_alive():
                tree = partial(processes.descendants, pid)
                processes.freeze_and_kill([pid], tree, 60.0, round_seconds=10.0, resume=False)  # killed next
            self._process.kill()
            self._process.join()
            if self._run_dir is not None:
                processes.kill_all(processes.mentioning(f"{self._run_dir}{os.sep}"))
            if pid is not None:
                remove_pids_cgroups(pid)
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None
