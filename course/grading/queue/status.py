"""`course grade --status`: how a queued run is going, across every worker, from the database alone (any
machine with the database URL can ask): per lesson, how many submissions are done, running, waiting and
failed (ungradable, with the reason), who is grading what, and an estimate of the time left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, text

LIVE_SECONDS = 60  # a worker whose last heartbeat is older than this is not counted as live


@dataclass
class Progress:
    run: int | None
    created: datetime | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # lesson -> state -> jobs
    running: list[tuple[str, str, str, float]] = field(default_factory=list)  # lesson, student, worker, seconds
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # lesson, student, reason
    mean_seconds: float | None = None  # per graded submission of the run
    live_workers: int = 0

    def total(self, state: str | None = None) -> int:
        return sum(n for states in self.counts.values() for s, n in states.items() if state in (None, s))

    @property
    def finished(self) -> bool:
        return self.run is not None and self.total("waiting") + self.total("running") == 0

    def eta_seconds(self) -> float | None:
        """Submissions left × mean seconds per submission / live workers; None before the first result."""
        left = self.total("waiting") + self.total("running")
        if self.mean_seconds is None or not self.live_workers:
            return None if left else 0.0
        return left * self.mean_seconds / self.live_workers

    def format(self) -> str:
        if self.run is None:
            return "No grading run in the queue yet: `course grade --queue` enqueues one."
        names = {"graded": "done", "running": "running", "waiting": "waiting", "ungradable": "failed"}
        lines = [
            f"run {self.run}, enqueued {self.created:%Y-%m-%d %H:%M:%S %Z}: {self.total()} submissions, "
            + ", ".join(f"{self.total(state)} {name}" for state, name in names.items()),
            f"{'lesson':<28}" + "".join(f"{name:>9}" for name in names.values()),
        ]
        for lesson, states in sorted(self.counts.items()):
            lines.append(f"{lesson:<28}" + "".join(f"{states.get(state, 0):>9}" for state in names))
        lines.append(f"workers with a heartbeat in the last {LIVE_SECONDS} s: {self.live_workers}")
        for lesson, student, worker, seconds in self.running:
            lines.append(f"running: {lesson}/{student} on {worker} for {seconds:.0f} s")
        for lesson, student, reason in self.failed:
            lines.append(f"failed: {lesson}/{student}: {reason}")
        eta = self.eta_seconds()
        if self.finished:
            lines.append("every job is done: `course grade --queue` writes feedback, grades.csv and the report.")
        elif not self.live_workers:
            lines.append("no worker is running: start `course worker --db-url ...` on a grading machine.")
        elif eta is None:
            lines.append("time left: known after the first result.")
        else:
            lines.append(
                f"time left: about {eta:.0f} s ({self.mean_seconds:.1f} s per submission, "
                f"{self.live_workers} worker(s))"
            )
        return "\n".join(lines)


def progress(db: Engine, course_id: str, run: int | None = None) -> Progress:
    """The progress of ``run`` (default: the course's latest)."""
    with db.connect() as connection:
        found = connection.execute(
            text(
                "SELECT id, created_at FROM course_queue_run WHERE course_id = :course "
                "AND (CAST(:run AS integer) IS NULL OR id = :run) ORDER BY id DESC LIMIT 1"
            ),
            {"course": course_id, "run": run},
        ).first()
        if found is None:
            return Progress(None)
        result = Progress(found.id, found.created_at)
        where = {"run": found.id}
        for row in connection.execute(
            text("SELECT lesson, state, count(*) AS jobs FROM course_queue_job WHERE run = :run GROUP BY 1, 2"), where
        ):
            result.counts.setdefault(row.lesson, {})[row.state] = row.jobs
        result.running = [
            (row.lesson, row.student, row.worker or "?", row.seconds)
            for row in connection.execute(
                text(
                    "SELECT lesson, student, worker, extract(epoch FROM now() - started_at) AS seconds "
                    "FROM course_queue_job WHERE run = :run AND state = 'running' ORDER BY lesson, student"
                ),
                where,
            )
        ]
        result.failed = [
            (row.lesson, row.student, row.reason or "")
            for row in connection.execute(
                text(
                    "SELECT lesson, student, reason FROM course_queue_job WHERE run = :run AND state = 'ungradable' "
                    "ORDER BY lesson, student"
                ),
                where,
            )
        ]
        result.mean_seconds = connection.execute(
            text("SELECT avg(seconds) FROM course_queue_job WHERE run = :run AND state = 'graded'"), where
        ).scalar()
        result.live_workers = connection.execute(
            text(
                "SELECT count(*) FROM procrastinate_workers "
                "WHERE last_heartbeat > now() - make_interval(secs => :seconds)"
            ),
            {"seconds": LIVE_SECONDS},
        ).scalar_one()  # count(*): always one row
    return result
