"""Finding and ending processes by their place in the process tree (Linux ``/proc``): a grading process's
sandboxed kernels, a sandbox's whole PID namespace. Elsewhere (no ``/proc``) nothing is found."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Collection, Iterable
from pathlib import Path


def parents() -> dict[int, int]:
    """Every live process's parent, by PID (zombies left out: they run nothing)."""
    found = {}
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # gone meanwhile
            continue
        if fields[0] != "Z":
            found[int(entry.name)] = int(fields[1])
    return found


def children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid``."""
    return [child for child, parent in parents().items() if parent == pid]


def descendants(pid: int) -> list[int]:
    """The PIDs of every live process under ``pid``."""
    by_parent: dict[int, list[int]] = {}
    for child, parent in parents().items():
        by_parent.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in by_parent.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def signal_all(pids: Iterable[int], sig: signal.Signals) -> list[int]:
    """Send ``sig`` to each of ``pids``; the ones it reached (a process gone meanwhile, or not ours, is skipped:
    ending or freezing a tree races with its processes' own exits)."""
    reached = []
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            continue
        reached.append(pid)
    return reached


def kill_all(pids: list[int], seconds: float = 10.0) -> bool:
    """SIGKILL ``pids`` and wait (up to ``seconds``) until none of them runs any more; whether none does."""
    signal_all(pids, signal.SIGKILL)
    deadline = time.monotonic() + seconds
    while set(pids) & parents().keys():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def freeze_and_kill(
    frozen: Collection[int],
    targets: Callable[[], list[int]],
    seconds: float,
    *,
    round_seconds: float = 0.0,
    resume: bool = True,
) -> bool:
    """Freeze ``frozen`` (SIGSTOP: they start nothing more), then SIGKILL what ``targets()`` finds, round after
    round, until it finds nothing (True) or ``seconds`` have passed (False); then let ``frozen`` go on (SIGCONT)
    unless ``resume`` is false (their caller kills them next: a thawed process could start more meanwhile).

    ``round_seconds``: how long each round waits for its processes to be gone (at most what is left of
    ``seconds``, at least 0.1 s) before looking again; 0 does not wait (10 ms between rounds), so copies that
    are still forking cannot outpace the kills. When none of ``frozen`` runs any more, nothing is killed:
    whatever they started is no longer theirs, and their PIDs may be another process's."""
    deadline = time.monotonic() + seconds
    if not signal_all(frozen, signal.SIGSTOP):
        return not targets()
    try:
        while found := targets():
            if round_seconds:
                kill_all(found, max(0.1, min(round_seconds, deadline - time.monotonic())))
            else:
                signal_all(found, signal.SIGKILL)
            if time.monotonic() > deadline:
                return False
            if not round_seconds:
                time.sleep(0.01)
        return True
    finally:
        if resume:
            signal_all(frozen, signal.SIGCONT)


def mentioning(text: str) -> list[int]:
    """The live processes (other than this one) whose command line contains ``text``: a sandbox's processes name
    their run folder, and no student code can change another process's command line."""
    found = []
    for pid in parents():
        if pid == os.getpid():
            continue
        try:
            if text.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found
