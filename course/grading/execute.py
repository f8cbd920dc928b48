"""Running one submission's notebook: a fresh sandboxed kernel, time limits, capped outputs, and verdicts
for graded test cells that come from the runner (``runner.py``), never from what the cells print."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from . import sandbox
from .cells import blank_hidden_tests, positions
from .exercise import Check
from .files import ANSWERS
from .kernel import Client, KernelManager, Limits, RunSettings, kernel_env, prepare_run_dir, responsive, stop
from .probe import probe_call, read_observations
from .runner import compile_test, runner_call
from .template import LessonTemplate, NotebookTemplate

__all__ = ["Limits", "RunOutcome", "RunSettings", "TIMEOUT_ENAME", "run_notebook", "run_submission"]

TIMEOUT_ENAME = "CellTimeoutError"


@dataclass
class RunOutcome:
    """What running a notebook produced: the notebook with outputs, and what the grader observed."""

    notebook: NotebookNode
    passed: set[str] = field(default_factory=set)  # grade ids of test cells whose code all ran
    observations: dict[str, list | None] = field(default_factory=dict)  # grade id -> what a check's probe handed back
    ran: set[int] = field(default_factory=set)  # indices of the cells that were executed
    notes: list[str] = field(default_factory=list)
    isolated: bool = False
    seconds: float = 0.0
    built: list[str] = field(default_factory=list)  # course cache entries the run had to build itself


@dataclass
class _Run:
    """One notebook's run in progress: its kernel client, the runner's and the probe's secret names, and the
    files they write to."""

    client: Client
    verdicts: Path
    results: Path
    outcome: RunOutcome
    replies: dict[int, dict]
    # the runner and the trust check live in the kernel under random names, so student code cannot name them
    names: dict[str, str] = field(
        default_factory=lambda: {
            "runner": f"_course_run_{secrets.token_hex(6)}",
            "trust": f"_course_trusted_{secrets.token_hex(6)}",
            "probe": f"_course_probe_{secrets.token_hex(6)}",
        }
    )


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
    checks: dict[str, Check] | None = None,
) -> RunOutcome:
    """Step 3 of grading a submission: run its rebuilt notebook in the sandbox, with the lesson's other files
    from the release and the student's answers.json beside it (nothing else of the submission reaches the
    kernel). A test cell with a check (``checks``) runs the probe on the check's inputs instead of its code;
    other test cells run through the runner; quiz grade cells are not run (they are scored outside the kernel,
    from answers.json)."""
    work = run_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    for relative in lesson.files:
        target = work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(lesson.folder / relative, target)
    if answers is not None:
        (work / ANSWERS).write_bytes(answers)
    index_of = positions(notebook.cells)
    checks = checks or {}
    probes = {index_of[g]: checks[g] for g, s in template.specs.items() if s.kind == "test" and g in checks}
    tests = {index_of[g]: (g, s.source) for g, s in template.specs.items() if s.kind == "test" and g not in checks}
    quizzes = {index_of[g] for g, s in template.specs.items() if s.kind == "quiz"}
    return run_notebook(notebook, tests, run_dir, settings, quizzes, probes)


def run_notebook(
    nb: NotebookNode,
    tests: dict[int, tuple[str, str]],
    run_dir: Path,
    settings: RunSettings,
    skip: set[int] = frozenset(),
    probes: dict[int, Check] | None = None,
) -> RunOutcome:
    """Execute the code cells of ``nb`` in a fresh kernel in ``run_dir/work``.

    ``tests`` maps cell index -> (grade id, trusted test source): those cells run through the runner and
    pass only if the runner reports that all their code ran. ``probes`` maps cell index -> check: in place of
    those cells the probe runs the student's code on the check's inputs, and what it hands back is kept in
    ``RunOutcome.observations`` for the grader to compare. Cells in ``skip`` are not run; other code cells
    run as they are.
    """
    prepare_run_dir(run_dir, settings.cache)
    return asyncio.run(_run(nb, tests, run_dir, settings, skip, probes or {}))


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
    km.kernel_spec.interrupt_mode = "message"  # the kernel signals itself: a signal from here might hit bwrap
    if sandbox.isolation().available:
        shown = [
            p
            for p in (
                cache.resolve() if cache and cache.is_dir() else None,
                Path(os.environ["HF_HOME"]) if os.environ.get("HF_HOME") else None,
            )
            if p
        ]
        km.wrap = lambda kernel: sandbox.bwrap_command(run_dir, kernel, env, shown)
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


async def _run(nb, tests, run_dir: Path, settings: RunSettings, skip, probes: dict[int, Check]) -> RunOutcome:
    started = time.monotonic()
    limits = settings.limits
    env = kernel_env(run_dir, limits)
    replies: dict[int, dict] = {}
    client, km = _client(nb, run_dir, settings, env, replies)
    outcome = RunOutcome(nb, isolated=sandbox.isolation().available)
    run = _Run(client, run_dir / "ipc" / "verdicts", run_dir / "ipc" / "results", outcome, replies)
    deadline = started + limits.submission_seconds
    log_path = run_dir / "ipc" / "kernel.log"  # the kernel process's own output, for diagnosis
    log = log_path.open("wb")
    try:
        async with client.async_setup_kernel(env=env, cwd=str(run_dir / "work"), stdout=log, stderr=log):
            await _install_runner(run, settings.trusted_roots)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip() or index in skip:
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 1:
                    run.outcome.notes.append(
                        f"The notebook ran past its time limit ({limits.submission_seconds:g} s);"
                        f" cells from the one starting {_start(cell.source)} on were not run."
                    )
                    break
                client.timeout = max(1, int(min(limits.cell_seconds, remaining)))
                if await _run_cell(run, cell, index, tests.get(index), probes.get(index)):
                    break
    except RuntimeError as err:  # the kernel did not start: a problem of the grading machine, not the student
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"{err}; kernel output: {' | '.join(tail) or 'none'}") from err
    finally:
        await stop(client, km)
        log.close()
    outcome = run.outcome
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


async def _install_runner(run: _Run, trusted_roots: list[str]) -> None:
    names, client = run.names, run.client
    code = (
        "from course.grading.runner import install as _course_install\n"
        f"_course_install({names['runner']!r}, {names['trust']!r}, {str(run.verdicts)!r}, {trusted_roots!r}, "
        "globals())\n"
        "from course.grading.probe import install as _course_install\n"
        f"_course_install({names['probe']!r}, {str(run.results)!r}, globals())\n"
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
        raise RuntimeError(f"the grader's runner did not start in the kernel: {errors[0].get('evalue')}")


async def _run_cell(run: _Run, cell, index: int, test: tuple[str, str] | None, check: Check | None) -> bool:
    """Run one cell; record the verdict of a test cell, or what a check's probe handed back. True when the
    kernel is gone and grading must stop."""
    client, outcome, names = run.client, run.outcome, run.names
    source = cell.source
    nonce = secrets.token_hex(16)
    if check is not None:
        outcome.observations[check.grade_id] = None  # until the probe hands something back
        cell.source = probe_call(names["probe"], nonce, check.request())
    elif test is not None:
        grade_id, trusted = test
        filename = f"<grade cell {grade_id}>"
        # Tracebacks in the kernel quote the test's lines; hidden ones are blanked (line numbers stay).
        cell.source = runner_call(
            names["runner"],
            nonce,
            compile_test(trusted, names["trust"], filename),
            blank_hidden_tests(trusted),
            filename,
        )
    try:
        # a test's call (its compiled code) stays out of the history a later cell could print
        await client.async_execute_cell(cell, index, store_history=test is None and check is None)
    except DeadKernelError:
        outcome.notes.append(
            f"The kernel stopped in the cell starting {_start(source)} (the code exited the "
            "process or ran out of memory); cells after it were not run."
        )
        return True
    finally:
        cell.source = source
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
    # Code under test shares the process and can write a pass line for the running test; it counts only if
    # the test then ran to its end: no fail line for it, no error in the cell and no timeout.
    if check is not None and content.get("status") == "ok":
        outcome.observations[check.grade_id] = read_observations(run.results, nonce)
    lines = _tail(run.verdicts).splitlines()
    if (
        test is not None
        and f"{nonce} pass" in lines
        and not any(line.startswith(f"{nonce} fail") for line in lines)
        and content.get("status") == "ok"
    ):
        outcome.passed.add(test[0])
    if content.get("ename") == TIMEOUT_ENAME:
        outcome.notes.append(
            f"The cell starting {_start(cell.source)} ran past its time limit ({client.timeout} s) and was interrupted."
        )
        if not await responsive(client, min(15.0, max(3.0, client.timeout))):
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
