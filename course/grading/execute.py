"""Running one submission's notebook: a fresh sandboxed kernel, time limits, capped outputs, and verdicts
for graded test cells that come from the runner (``runner.py``), never from what the cells print."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from . import sandbox
from .runner import compile_test, runner_call

TIMEOUT_ENAME = "CellTimeoutError"
FILE_BYTES = 2 << 30
# Tracebacks in the kernel quote the test's lines; hidden ones are blanked (line numbers stay).
_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.S)


@dataclass(frozen=True)
class Limits:
    """Time and output limits for one submission."""

    cell_seconds: float = 600.0
    submission_seconds: float = 1800.0
    cell_output_chars: int = 200_000
    total_output_chars: int = 5_000_000
    threads: int = 0  # BLAS/OpenMP threads of the kernel; 0 leaves the library default


@dataclass
class RunOutcome:
    """What running a notebook produced: the notebook with outputs, and what the grader observed."""

    notebook: NotebookNode
    passed: set[str] = field(default_factory=set)  # grade ids of test cells whose code all ran
    ran: set[int] = field(default_factory=set)  # indices of the cells that were executed
    notes: list[str] = field(default_factory=list)
    isolated: bool = False
    seconds: float = 0.0
    built: list[str] = field(default_factory=list)  # course cache entries the run had to build itself


class _KernelManager(AsyncKernelManager):
    """Starts ipykernel with Python's safe path (-P), wrapped in the sandbox when there is one, first in line
    for the out-of-memory killer (choom), so a runaway allocation ends the student's own kernel, and unable to
    write files larger than FILE_BYTES (prlimit)."""

    wrap = None  # callable: kernel command -> command to launch

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        kernel = [
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


def _start(source: str) -> str:
    """How feedback names a cell: its first line."""
    line = (source.strip().splitlines() or [""])[0].replace("`", "'")
    return f"`{line[:50]}{'...' if len(line) > 50 else ''}`"


def _size(value) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    if isinstance(value, list):
        return sum(_size(v) for v in value)
    return 8


class _Client(NotebookClient):
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
        if (
            used + size > self.limits.cell_output_chars
            or self.total_chars + size > self.limits.total_output_chars
        ):
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


def run_notebook(
    nb: NotebookNode,
    tests: dict[int, tuple[str, str]],
    run_dir: Path,
    limits: Limits,
    trusted_roots: list[str],
    cache: Path | None = None,
    skip: set[int] = frozenset(),
) -> RunOutcome:
    """Execute the code cells of ``nb`` in a fresh kernel in ``run_dir/work``.

    ``tests`` maps cell index -> (grade id, trusted test source): those cells run through the runner and
    pass only if the runner reports that all their code ran. Cells in ``skip`` are not run; other code cells
    run as they are.
    """
    prepare_run_dir(run_dir, cache)
    return asyncio.run(_run(nb, tests, run_dir, limits, trusted_roots, cache, skip))


async def _run(nb, tests, run_dir, limits, trusted_roots, cache, skip) -> RunOutcome:
    started = time.monotonic()
    isolation = sandbox.isolation()
    outcome = RunOutcome(notebook=nb, isolated=isolation.available)
    env = kernel_env(run_dir, limits)
    km = _KernelManager(
        transport="ipc",
        ip=str(run_dir / "ipc" / "k"),
        connection_file=str(run_dir / "ipc" / "kernel.json"),
        kernel_name="python3",
    )
    km.kernel_spec.interrupt_mode = "message"  # the kernel signals itself: a signal from here might hit bwrap
    if isolation.available:
        shown = [
            p
            for p in (
                cache.resolve() if cache and cache.is_dir() else None,
                Path(os.environ["HF_HOME"]) if os.environ.get("HF_HOME") else None,
            )
            if p
        ]
        km.wrap = lambda kernel: sandbox.bwrap_command(run_dir, kernel, env, shown)
    replies: dict[int, dict] = {}
    client = _Client(
        nb,
        limits,
        km=km,
        timeout=int(limits.cell_seconds),
        interrupt_on_timeout=True,
        error_on_timeout={
            "ename": TIMEOUT_ENAME,
            "evalue": "",
            "traceback": [f"{TIMEOUT_ENAME}: the cell ran past its time limit and was interrupted"],
        },
        allow_errors=True,
        raise_on_iopub_timeout=False,
        iopub_timeout=4,
        startup_timeout=120,
        record_timing=False,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(run_dir / "work")}},
        on_cell_executed=lambda cell, cell_index, execute_reply: replies.__setitem__(
            cell_index, execute_reply
        ),
    )
    verdicts = run_dir / "ipc" / "verdicts"
    names = {
        "runner": f"_course_run_{secrets.token_hex(6)}",
        "trust": f"_course_trusted_{secrets.token_hex(6)}",
    }
    deadline = started + limits.submission_seconds
    log_path = run_dir / "ipc" / "kernel.log"  # the kernel process's own output, for diagnosis
    log = log_path.open("wb")
    try:
        async with client.async_setup_kernel(env=env, cwd=str(run_dir / "work"), stdout=log, stderr=log):
            await _install_runner(client, names, verdicts, trusted_roots)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip() or index in skip:
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 1:
                    outcome.notes.append(
                        f"The notebook ran past its time limit ({limits.submission_seconds:g} s);"
                        f" cells from the one starting {_start(cell.source)} on were not run."
                    )
                    break
                client.timeout = max(1, int(min(limits.cell_seconds, remaining)))
                stop = await _run_cell(
                    client, cell, index, tests.get(index), names, verdicts, outcome, replies
                )
                if stop:
                    break
    except RuntimeError as err:  # the kernel did not start: a problem of the grading machine, not the student
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"{err}; kernel output: {' | '.join(tail) or 'none'}") from err
    finally:
        await _stop(client, km)
        log.close()
    outcome.seconds = time.monotonic() - started
    outcome.built = sorted(p.name for p in (run_dir / "cache").iterdir() if not p.is_symlink())
    for index, dropped in client.dropped.items():
        nb.cells[index].outputs.append(
            NotebookNode(
                output_type="stream",
                name="stdout",
                text=f"\n[{dropped:,} characters of output were dropped]\n",
            )
        )
        outcome.notes.append(
            f"The cell starting {_start(nb.cells[index].source)} printed too much; its output was cut."
        )
    return outcome


async def _install_runner(
    client: _Client, names: dict[str, str], verdicts: Path, trusted_roots: list[str]
) -> None:
    code = (
        f"from course.grading.runner import install as _course_install\n"
        f"_course_install({names['runner']!r}, {names['trust']!r}, {str(verdicts)!r}, {trusted_roots!r}, "
        "globals())\ndel _course_install\n"
    )
    cell = NotebookNode(cell_type="code", source=code, metadata={}, outputs=[], execution_count=None)
    client.nb.cells.append(cell)
    try:
        await client.async_execute_cell(cell, len(client.nb.cells) - 1, store_history=False)
    finally:
        client.nb.cells.pop()
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    if errors:
        raise RuntimeError(f"the grader's runner did not start in the kernel: {errors[0].get('evalue')}")


async def _run_cell(client, cell, index, test, names, verdicts, outcome, replies) -> bool:
    """Run one cell; record the verdict of a test cell. True when the kernel is gone and grading must stop."""
    source = cell.source
    nonce = secrets.token_hex(16)
    if test is not None:
        grade_id, trusted = test
        filename = f"<grade cell {grade_id}>"
        cell.source = runner_call(
            names["runner"],
            nonce,
            compile_test(trusted, names["trust"], filename),
            _HIDDEN.sub(lambda m: "\n" * m.group(0).count("\n"), trusted),
            filename,
        )
    try:
        # a test's call (its compiled code) stays out of the history a later cell could print
        await client.async_execute_cell(cell, index, store_history=test is None)
    except DeadKernelError:
        outcome.notes.append(
            f"The kernel stopped in the cell starting {_start(source)} (the code exited the "
            "process or ran out of memory); cells after it were not run."
        )
        return True
    finally:
        cell.source = source
    outcome.ran.add(index)
    reply = replies.pop(index, None) or {}
    content = reply.get("content", {})
    if content.get("status") == "error" and not any(o.get("output_type") == "error" for o in cell.outputs):
        cell.outputs.append(
            NotebookNode(
                output_type="error",
                ename=content.get("ename", "Error"),
                evalue=content.get("evalue", ""),
                traceback=content.get("traceback", []),
            )
        )
    # Code under test shares the process and can write a pass line for the running test; it counts only if
    # the test then ran to its end: no fail line for it, no error in the cell and no timeout.
    lines = _tail(verdicts).splitlines()
    if (
        test is not None
        and f"{nonce} pass" in lines
        and not any(line.startswith(f"{nonce} fail") for line in lines)
        and content.get("status") == "ok"
    ):
        outcome.passed.add(test[0])
    if content.get("ename") == TIMEOUT_ENAME:
        outcome.notes.append(
            f"The cell starting {_start(cell.source)} ran past its time limit ({client.timeout} s) "
            "and was interrupted."
        )
        if not await _responsive(client, min(15.0, max(3.0, client.timeout))):
            outcome.notes.append("The kernel did not stop when interrupted; cells after it were not run.")
            return True
    return False


def _tail(path: Path, size: int = 1 << 20) -> str:
    """The end of the verdict file (the kernel can write to it too, so never read it whole)."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - size))
            return handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


async def _responsive(client, seconds: float = 15.0) -> bool:
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


async def _stop(client: _Client, km: _KernelManager) -> None:
    """Kill the kernel (and, through the sandbox, everything it started), whatever state it is in."""
    if client.kc is not None:
        client.kc.stop_channels()
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
    except Exception:  # already gone
        pass
