"""The kernel a submission's notebook runs in: its settings and limits, its environment and folders, how it is
started (safe path, sandbox, out-of-memory and file-size limits), the client that caps its output, and how it
is stopped. ``execute`` drives it cell by cell."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbformat import NotebookNode

FILE_BYTES = 2 << 30


@dataclass(frozen=True)
class Limits:
    """Time and output limits for one submission."""

    cell_seconds: float = 600.0
    submission_seconds: float = 1800.0
    cell_output_chars: int = 200_000
    total_output_chars: int = 5_000_000
    threads: int = 0  # BLAS/OpenMP threads of the kernel; 0 leaves the library default


@dataclass(frozen=True)
class RunSettings:
    """What every submission's kernel of one grading run shares (picklable: sent to worker processes)."""

    limits: Limits
    cache: Path | None = None  # the course cache, offered read-only


class KernelManager(AsyncKernelManager):
    """Starts ipykernel with Python's safe path (-P), wrapped in the sandbox when there is one, first in line
    for the out-of-memory killer (choom), so a runaway allocation ends the student's own kernel, and unable to
    write files larger than FILE_BYTES (prlimit).

    The kernel is also killed ``lifetime`` seconds after it starts (``timeout``, inside the sandbox), whatever
    happens to the grader: when a grading process is killed, the sandbox does not always die with it, and the
    student's code must not run on without a limit."""

    wrap: Callable[[list[str]], list[str]] | None = None  # kernel command -> command to launch
    lifetime: float | None = None  # seconds

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        timeout = shutil.which("timeout")
        limit = [timeout, "--signal=KILL", f"{self.lifetime:.0f}"] if timeout and self.lifetime else []
        kernel = [
            *limit,
            sys.executable,
            "-P",
            "-m",
            "ipykernel_launcher",
            "-f",
            self.connection_file,
            "--HistoryManager.hist_file=:memory:",
        ]
        command = self.wrap(kernel) if self.wrap else kernel
        if shutil.which("prlimit"):  # no file (its own log included) beyond FILE_BYTES
            command = ["prlimit", f"--fsize={FILE_BYTES}", "--", *command]
        return ["choom", "-n", "1000", "--", *command] if shutil.which("choom") else command


def _size(value) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    if isinstance(value, list):
        return sum(_size(v) for v in value)
    return 8


class Client(NotebookClient):
    """nbclient with output caps per cell and per notebook, and no widget state kept."""

    def __init__(self, nb: NotebookNode, limits: Limits, **kwargs):
        super().__init__(nb, **kwargs)
        self.limits = limits
        self.cell_chars: dict[int, int] = {}
        self.dropped: dict[int, int] = {}
        self.total_chars = 0

    def output(self, outs, msg, display_id, cell_index):
        size = _size(msg.get("content", {}))
        used = self.cell_chars.get(cell_index, 0)
        if used + size > self.limits.cell_output_chars or self.total_chars + size > self.limits.total_output_chars:
            self.dropped[cell_index] = self.dropped.get(cell_index, 0) + size
            return None
        self.cell_chars[cell_index] = used + size
        self.total_chars += size
        return super().output(outs, msg, display_id, cell_index)

    def handle_comm_msg(self, outs, msg, cell_index) -> None:
        """Widgets need no state in a graded notebook; ignoring comms also bounds what a kernel can send."""


def kernel_env(run_dir: Path, limits: Limits) -> dict[str, str]:
    """The kernel's whole environment: nothing of the grader's beyond what a lesson needs."""
    home = run_dir / "home"
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "TMPDIR": str(run_dir / "tmp"),
        "IPYTHONDIR": str(home / ".ipython"),
        "MPLCONFIGDIR": str(home / ".config" / "matplotlib"),
        "PYTHONSAFEPATH": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HF_HUB_OFFLINE": "1",
        "COURSE_CACHE_DIR": str(run_dir / "cache"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    for name in ("COURSE_LANG", "HF_HOME", "LC_ALL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    if limits.threads:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[name] = os.environ.get(name, str(limits.threads))
    return env


def prepare_run_dir(run_dir: Path, cache: Path | None) -> None:
    """Folders of one run; the course cache is offered read-only, one link per entry, so a lesson reuses what
    is built and builds what is missing privately."""
    for sub in ("work", "home", "tmp", "ipc", "cache"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    if cache and cache.is_dir():
        for entry in cache.iterdir():
            if entry.is_dir() and not entry.name.startswith("."):
                (run_dir / "cache" / entry.name).symlink_to(entry.resolve())


async def responsive(client, seconds: float = 15.0) -> bool:
    """Whether the kernel answers a trivial request (after an interrupt) within ``seconds``."""
    msg_id = client.kc.execute("", silent=True, store_history=False)
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            msg = await client.kc.shell_channel.get_msg(timeout=left)
        except Exception:  # queue.Empty: no reply in time
            return False
        if msg["parent_header"].get("msg_id") == msg_id:
            return True
    return False


async def stop(client: Client, km: KernelManager) -> None:
    """Kill the kernel (and, through the sandbox, everything it started), whatever state it is in."""
    if client.kc is not None:
        client.kc.stop_channels()
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
    except Exception:  # already gone
        pass
