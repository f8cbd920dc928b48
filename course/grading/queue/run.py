"""`course grade --queue`: a grading run through the queue, from enqueuing a job per submission to the results
collected once the workers are done (``course worker`` grades the jobs; ``collect`` writes what local grading
writes). It lives beside the queue, not in ``grade``, because collecting reuses ``grade``'s publishing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..checks import run_seed
from ..execute import KERNEL_GRACE, Limits
from ..grade import GradeResult, plan
from . import tables
from .collect import collect
from .collect import wait as wait_for
from .enqueue import enqueue


def grade_queued(
    root: Path,
    wanted: list[str] | None = None,
    report_dir: Path | None = None,
    *,
    db_url: str,
    limits: Limits | None = None,
    seed: int | None = None,
    new_seed: bool = False,
    job_seconds: float | None = None,
    wait: bool = True,
) -> GradeResult | None:
    """`course grade --queue`: enqueue a job per submission for `course worker` processes (``course.grading.queue``),
    wait until all are done, then write feedback, ``grades.csv`` and the report as :func:`grade` does. Without
    ``wait``, return None once enqueued; running it again adds no job and collects the results.

    ``job_seconds`` (default: the notebook time limit plus ``KERNEL_GRACE``, 5 minutes) is a worker's hard limit
    for one submission, past which its grading process is stopped."""
    layout, url, by_lesson = plan(root, wanted, db_url)
    db = tables.engine(url)
    tables.require(db)
    limits = limits or Limits()
    seed = run_seed(layout, seed, new_seed)
    started = time.perf_counter()
    job_seconds = job_seconds or limits.submission_seconds + KERNEL_GRACE
    enqueued = enqueue(layout, db, url, by_lesson, seed, limits, job_seconds)
    print(
        f"run {enqueued.run}: {len(enqueued.keys)} submissions, {enqueued.deferred} put on the queue, "
        f"{enqueued.done} already done",
        file=sys.stderr,
    )
    if not wait:
        return None
    wait_for(db, list(enqueued.keys.values()))
    return collect(layout, db, url, enqueued.keys, report_dir, seed, time.perf_counter() - started)
