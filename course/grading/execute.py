"""Running one submission's notebook: a fresh sandboxed kernel, time limits, capped outputs, and, in place of
each graded test cell, the probe (``probe.py``), which runs the student's code on the check's inputs and hands
back what it returned; nothing a cell prints decides a grade."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import time
from collections.abc import Set
from dataclasses import dataclass, field
from pathlib import Path

from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from ..languages import Said
from . import sandbox
from .cells import positions
from .exercise import Check
from .files import ANSWERS
from .kernel import Client, KernelManager, Limits, RunSettings, kernel_env, prepare_run_dir, responsive, stop
from .probe import ResultsFile, probe_call
from .template import LessonTemplate, NotebookTemplate

__all__ = ["KERNEL_GRACE", "Limits", "RunOutcome", "RunSettings", "TIMEOUT_ENAME", "run_notebook", "run_submission"]

TIMEOUT_ENAME = "CellTimeoutError"
KERNEL_GRACE = 300  # seconds a kernel may live past the notebook's time limit (start-up, shutdown), then killed


@dataclass
class RunOutcome:
    """What running a notebook produced: the notebook with outputs, and what the grader observed."""

    notebook: NotebookNode
    observations: dict[str, list | None] = field(default_factory=dict)  # grade id -> what a check's probe handed back
    ran: set[int] = field(default_factory=set)  # indices of the cells that were executed
    notes: list[str] = field(default_factory=list)
    isolated: bool = False
    seconds: float = 0.0
    built: list[str] = field(default_factory=list)  # course cache entries the run had to build itself


@dataclass
class _Run:
    """One notebook's run in progress: its kernel client, the probe's secret name and the file it writes to
    (its path, which the kernel is given, and the grader's own descriptor of it, which is what the grader reads)."""

    client: Client
    results_path: Path
    results: ResultsFile
    outcome: RunOutcome
    replies: dict[int, dict]
    # the probe lives in the kernel under a random name, so student code cannot name it
    probe: str = field(default_factory=lambda: f"_course_probe_{secrets.token_hex(6)}")


def _start(source: str) -> str:
    """How feedback names a cell: its first line."""
    line = (source.strip().splitlines() or [""])[0].replace("`", "'")
    return f"`{line[:50]}{'...' if len(line) > 50 else ''}`"


def run_submission(
    notebook: NotebookNode,
    template: NotebookTemplate,
    lesson: LessonTemplate,
    answers: bytes | None,
    run_dir: Path,
    settings: RunSettings,
    checks: dict[str, Check],
) -> RunOutcome:
    """Step 3 of grading a submission: run its rebuilt notebook in the sandbox, with the lesson's other files
    from the release and the student's answers.json beside it (nothing else of the submission reaches the
    kernel). In place of each test cell the probe runs the student's code on its check's inputs (``checks``, one
    per test cell: ``checks.build_checks`` refuses a lesson with an undeclared one); quiz grade cells are not run
    (they are scored outside the kernel, from answers.json)."""
    work = run_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    for relative in lesson.files:
        target = work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(lesson.folder / relative, target)
    if answers is not None:
        (work / ANSWERS).write_bytes(answers)
    index_of = positions(notebook.cells)
    probes = {index_of[g]: checks[g] for g, s in template.specs.items() if s.kind == "test"}
    quizzes = {index_of[g] for g, s in template.specs.items() if s.kind == "quiz"}
    return run_notebook(notebook, run_dir, settings, quizzes, probes)


def run_notebook(
    nb: NotebookNode,
    run_dir: Path,
    settings: RunSettings,
    skip: Set[int] = frozenset(),
    probes: dict[int, Check] | None = None,
) -> RunOutcome:
    """Execute the code cells of ``nb`` in a fresh kernel in ``run_dir/work``.

    ``probes`` maps cell index -> check: in place of those cells the probe runs the student's code on the
    check's inputs, and what it hands back is kept in ``RunOutcome.observations`` for the grader to compare.
    Cells in ``skip`` are not run; other code cells run as they are.
    """
    prepare_run_dir(run_dir, settings.cache)
    return asyncio.run(_run(nb, run_dir, settings, skip, probes or {}))


def _client(
    nb: NotebookNode, run_dir: Path, settings: RunSettings, env: dict, replies: dict
) -> tuple[Client, KernelManager]:
    """The kernel client of one run and its kernel manager (the client forgets it when the kernel stops), the
    kernel wrapped in the sandbox when there is one."""
    limits, cache = settings.limits, settings.cache
    km = KernelManager(
        transport="ipc",
        ip=str(run_dir / "ipc" / "k"),
        connection_file=str(run_dir / "ipc" / "kernel.json"),
        kernel_name="python3",
    )
    spec = km.kernel_spec  # jupyter_client raises NoSuchKernel for an unknown name; None only for no name
    if spec is None:
        raise RuntimeError("no kernel spec for the grading kernel 'python3'")
    spec.interrupt_mode = "message"  # the kernel signals itself: a signal from here might hit bwrap
    km.lifetime = limits.submission_seconds + KERNEL_GRACE
    km.limits = limits
    if sandbox.isolation().available:
        shown = [
            p
            for p in (
                cache.resolve() if cache and cache.is_dir() else None,
                Path(os.environ["HF_HOME"]) if os.environ.get("HF_HOME") else None,
            )
            if p
        ]
        km.wrap = lambda kernel: sandbox.bwrap_command(run_dir, kernel, env, shown, limits.disk_bytes)
    client = Client(
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
        on_cell_executed=lambda cell, cell_index, execute_reply: replies.__setitem__(cell_index, execute_reply),
    )
    return client, km


async def _run(nb, run_dir: Path, settings: RunSettings, skip, probes: dict[int, Check]) -> RunOutcome:
    started = time.monotonic()
    limits = settings.limits
    env = kernel_env(run_dir, limits)
    replies: dict[int, dict] = {}
    client, km = _client(nb, run_dir, settings, env, replies)
    outcome = RunOutcome(nb, isolated=sandbox.isolation().available)
    # a new name for each notebook of a submission: what an earlier kernel left in the run folder is never read
    results_path = run_dir / "ipc" / f"results-{secrets.token_hex(8)}"
    run = _Run(client, results_path, ResultsFile(results_path), outcome, replies)
    deadline = started + limits.submission_seconds
    log_path = run_dir / "ipc" / "kernel.log"  # the kernel process's own output, for diagnosis
    log = log_path.open("wb")
    try:
        async with client.async_setup_kernel(env=env, cwd=str(run_dir / "work"), stdout=log, stderr=log):
            await _install_probe(run)
            km.settle()
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip() or index in skip:
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 1:
                    run.outcome.notes.append(
                        Said(
                            "grading.notebook_timeout",
                            seconds=f"{limits.submission_seconds:g}",
                            cell=_start(cell.source),
                        )
                    )
                    break
                client.timeout = max(1, int(min(limits.cell_seconds, remaining)))
                if await _run_cell(run, cell, index, probes.get(index)):
                    break
    except RuntimeError as err:  # the kernel did not start: a problem of the grading machine, not the student
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"{err}; kernel output: {' | '.join(tail) or 'none'}") from err
    finally:
        await stop(client, km, run_dir)
        log.close()
        run.results.close()
    outcome = run.outcome
    outcome.seconds = time.monotonic() - started
    outcome.built = list(km.built)
    for index, dropped in client.dropped.items():
        nb.cells[index].outputs.append(
            NotebookNode(
                output_type="stream",
                name="stdout",
                text=f"\n[{dropped:,} characters of output were dropped]\n",
            )
        )
        outcome.notes.append(Said("grading.too_much_output", cell=_start(nb.cells[index].source)))
    return outcome


async def _install_probe(run: _Run) -> None:
    client = run.client
    code = (
        "from course.grading.probe import install as _course_install\n"
        f"_course_install({run.probe!r}, {str(run.results_path)!r}, globals())\n"
        "del _course_install\n"
    )
    cell = NotebookNode(cell_type="code", source=code, metadata={}, outputs=[], execution_count=None)
    client.nb.cells.append(cell)
    try:
        await client.async_execute_cell(cell, len(client.nb.cells) - 1, store_history=False)
    finally:
        client.nb.cells.pop()
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    if errors:
        raise RuntimeError(f"the grader's probe did not start in the kernel: {errors[0].get('evalue')}")


async def _run_cell(run: _Run, cell, index: int, check: Check | None) -> bool:
    """Run one cell, or in place of a test cell the probe on its check's inputs, keeping what it handed back.
    True when the kernel is gone and grading must stop."""
    client, outcome = run.client, run.outcome
    source = cell.source
    nonce = secrets.token_hex(16)
    if check is not None:
        outcome.observations[check.grade_id] = None  # until the probe hands something back
        cell.source = probe_call(run.probe, nonce, check.request())
    try:
        # the probe's call stays out of the history a later cell could print
        await client.async_execute_cell(cell, index, store_history=check is None)
    except DeadKernelError:
        outcome.notes.append(Said("grading.kernel_died", cell=_start(source)))
        return True
    finally:
        cell.source = source
        if isinstance(client.km, KernelManager):  # a cell's processes do not outlive it
            client.km.end_strays()
    outcome.ran.add(index)
    reply = run.replies.pop(index, None) or {}
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
    # Student code shares the process and can write a line for the running probe; only the probe's own line, the
    # last one for this nonce, counts, and only when the cell then finished (no error, no timeout).
    if check is not None and content.get("status") == "ok":
        outcome.observations[check.grade_id] = run.results.read_observations(nonce)
    if content.get("ename") == TIMEOUT_ENAME:
        seconds = client.timeout or 0  # always set here: a cell only times out with a timeout
        outcome.notes.append(Said("grading.cell_timeout", cell=_start(cell.source), seconds=seconds))
        if not await responsive(client, min(15.0, max(3.0, seconds))):
            outcome.notes.append(Said("grading.kernel_stuck"))
            return True
    return False
