"""`course grade --queue`, second half: wait until every job of the run is done, then write what local grading
writes, from the results the workers recorded: the graded notebooks into the autograded folder, then feedback,
``grades.csv`` and the class report (``grade.publish``, the same code as local grading).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, text

from ..grade import GradeResult, publish, write_autograded
from ..layout import CourseLayout
from ..pipeline import SubmissionResult
from .status import LIVE_SECONDS


def wait(db: Engine, keys: list[str], poll: float = 2.0) -> None:
    """Show the run's progress until every job in ``keys`` is graded or found ungradable."""
    from tqdm.auto import tqdm

    query = text(
        "SELECT count(*) FILTER (WHERE state IN ('graded', 'ungradable')) AS done, "
        "(SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => :live)) "
        "AS workers FROM course_queue_job WHERE key = ANY(:keys)"
    )
    with tqdm(total=len(keys), desc="graded by workers", unit="submission", file=sys.stderr) as bar:
        while True:
            with db.connect() as connection:
                row = connection.execute(query, {"keys": keys, "live": LIVE_SECONDS}).one()
            bar.update(row.done - bar.n)
            idle = "no worker running: start `course worker`"
            bar.set_postfix_str(f"{row.workers} worker(s)" if row.workers else idle)
            if row.done >= len(keys):
                return
            time.sleep(poll)


def collect(
    layout: CourseLayout,
    db: Engine,
    url: str,
    keys: dict[tuple[str, str], str],
    report_dir: Path | None,
    seed: int,
    elapsed: float,
) -> GradeResult:
    """Publish a finished run: ``keys`` maps (lesson, student) to the job graded for it."""
    with db.connect() as connection:
        rows = connection.execute(
            text("SELECT lesson, student, state, reason, result, seconds FROM course_queue_job WHERE key = ANY(:keys)"),
            {"keys": list(keys.values())},
        ).all()
    graded, failures, unsandboxed = [], [], set()
    for row in sorted(rows, key=lambda r: (r.lesson, r.student)):
        if row.state != "graded":
            failures.append(f"{row.lesson}/{row.student}: {row.reason}; nothing recorded")
            continue
        payload = json.loads(row.result)
        graded.append(
            SubmissionResult(
                row.student,
                row.lesson,
                notebooks=payload["notebooks"],
                notes=payload["notes"],
                seconds=row.seconds,
                built=set(payload["built"]),
            )
        )
        if payload["unsandboxed"]:
            unsandboxed.add(payload["unsandboxed"])
    write_autograded(layout, graded)
    lessons = sorted({lesson for lesson, _ in keys})
    return publish(layout, url, lessons, report_dir, graded, failures, "; ".join(sorted(unsandboxed)), elapsed, seed)
