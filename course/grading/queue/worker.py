"""`course worker`: grade queued submissions on this machine until stopped (SIGTERM or Ctrl-C: the job in hand
is finished first).

The worker is procrastinate's, on the queues of the releases this machine has (``fingerprint``): one job at a
time, a heartbeat in the database every ``heartbeat`` seconds. Beside it, a sweeper asks procrastinate for jobs
whose worker's heartbeat lags the freshest by three periods (``JobManager.get_stalled_jobs``: that worker was
killed or cut off) and hands them back to the queue (``retry_job``), so any live worker takes them up. When the database
goes away (a restart), procrastinate's pool reconnects by itself during short outages; past that the worker
stops, and this loop opens the app again until the database is back, then carries on. A job of a release this
machine does not have is never claimed: the worker says so when it starts, and stops if that is all there is.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ...prepare import prepare_for_grading
from .. import sandbox
from ..layout import CourseLayout
from ..nbgrader_runner import CourseError
from . import tables
from .app import TASK, make_app
from .child import GradingCrashed
from .fingerprint import queue_name, release_fingerprint
from .recording import record_ungradable, retrying
from .task import JobRunner

log = logging.getLogger("course.worker")
RECONNECT_PAUSE = 2.0


class Worker:
    """One `course worker` process: this course folder's releases, one database."""

    def __init__(
        self,
        root: Path,
        db_url: str,
        name: str | None = None,
        heartbeat: float = 10.0,
        threads: int = 0,
        unsandboxed: bool = False,
    ):
        self.layout = CourseLayout.load(root)
        self.db = tables.engine(db_url)
        tables.require(self.db)
        isolation = sandbox.isolation()
        if not isolation.available and not unsandboxed:
            raise CourseError(
                f"No sandbox on this machine ({isolation.reason}). A worker runs students' code on a machine that "
                "can reach the gradebook, so it will not start without one: install bubblewrap and allow user "
                "namespaces (README: grading on several machines), or pass --unsandboxed for trusted code only."
            )
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.heartbeat, self.stalled_after = heartbeat, 3 * heartbeat
        self.releases = {
            lesson: release_fingerprint(self.layout, lesson)
            for lesson in self.layout.lessons()
            if self.layout.release_dir(lesson).is_dir()
        }
        if not self.releases:
            raise CourseError(f"No lesson in {self.layout.release}: run `course release` in this course folder first.")
        self.queues = sorted({queue_name(fingerprint) for fingerprint in self.releases.values()})
        scratch = Path(tempfile.mkdtemp(prefix="course-worker-"))  # short: kernels' sockets live under it
        url = self.db.url.render_as_string(hide_password=False)
        self.runner = JobRunner(self.layout, self.db, url, self.name, scratch, threads)

    def refusals(self) -> tuple[list[str], int]:
        """(a line for each lesson whose unfinished jobs were enqueued with another release than this machine's,
        how many unfinished jobs this worker can take)."""
        with self.db.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT s.lesson, s.release, count(*) AS jobs FROM course_queue_job j "
                    "JOIN course_queue_settings s ON s.id = j.settings "
                    "WHERE j.course_id = :course AND j.state IN ('waiting', 'running') GROUP BY s.lesson, s.release"
                ),
                {"course": self.layout.course_id},
            ).all()
        lines, ours = [], 0
        for row in rows:
            mine = self.releases.get(row.lesson)
            if mine == row.release:
                ours += row.jobs
            else:
                here = f"this machine's is {mine[:12]}" if mine else "this machine has no release of it"
                lines.append(
                    f"refusing {row.jobs} unfinished job(s) of {row.lesson}: they were enqueued for release "
                    f"{row.release[:12]} of the course, {here}. Bring this machine's course to the instructor's "
                    "(same commit, `course release`), then start the worker again."
                )
        return lines, ours

    def _task(self, key: str) -> str:
        """The procrastinate task: grade one job; an unexpected failure is recorded with the job, not lost."""
        try:
            outcome = self.runner.run(key)
        except (GradingCrashed, DBAPIError):
            log.warning("job %s: attempt stopped, to be retried", key[:12], exc_info=True)
            raise
        except Exception as error:
            reason = f"worker {self.name} could not grade it: {type(error).__name__}: {error}"
            record_ungradable(self.db, key, reason, self.name)
            log.exception("job %s: %s", key[:12], reason)
            return "ungradable"
        log.info("job %s: %s", key[:12], outcome)
        return outcome

    def serve(self) -> None:
        try:
            lines, ours = self.refusals()
            for line in lines:
                print(f"course worker: {line}", file=sys.stderr, flush=True)
            if lines and not ours:
                raise CourseError(
                    "every unfinished job in the queue is for another release of the course than this machine's "
                    "(see above): nothing to grade here."
                )
            log.info(
                "worker %s: grading %s on %s (heartbeat every %g s)",
                self.name,
                ", ".join(sorted(self.releases)),
                self.db.url.render_as_string(hide_password=True),
                self.heartbeat,
            )
            asyncio.run(self._serve())
        finally:
            self.runner.child.stop()
            shutil.rmtree(self.runner.scratch, ignore_errors=True)

    async def _serve(self) -> None:
        from procrastinate import RetryStrategy

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        retry = RetryStrategy(max_attempts=10, wait=1, retry_exceptions={GradingCrashed, DBAPIError})
        while not stop.is_set():
            app = make_app(self.db)
            app.task(name=TASK, retry=retry)(self._task)
            try:
                async with app.open_async():
                    await self._work(app, stop)
                if not stop.is_set():
                    log.warning("procrastinate's worker stopped (database unreachable?); starting it again")
            except Exception as error:  # the database went away: open the app again once it is back
                if not _connection_lost(error):
                    raise
                log.warning("lost the database (%s); reconnecting in %g s", str(error).strip()[:200], RECONNECT_PAUSE)
            if not stop.is_set():
                await asyncio.sleep(RECONNECT_PAUSE)

    async def _work(self, app, stop: asyncio.Event) -> None:
        """Run procrastinate's worker and the sweeper until asked to stop, or until the worker stops by itself
        (it does when it loses the database)."""
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=self.queues,
                name=self.name,
                concurrency=1,
                install_signal_handlers=False,
                update_heartbeat_interval=self.heartbeat,
                stalled_worker_timeout=self.stalled_after,
                delete_jobs="successful",
            )
        )
        sweeper = asyncio.create_task(self._sweep(app))
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([worker, stopping], return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                worker.cancel()  # procrastinate's graceful stop: the job in hand is finished
            try:
                await worker
            except asyncio.CancelledError:
                pass
        finally:
            sweeper.cancel()
            stopping.cancel()

    async def _sweep(self, app) -> None:
        """Hand jobs of stalled workers back to the queue, every heartbeat. When the same submission was enqueued
        again meanwhile (a waiting job holds its queueing lock), that job grades it and the stalled one is
        closed instead.

        A worker is stalled when its heartbeat lags the freshest one (this worker's own, at worst) by three
        periods: after a database outage every heartbeat is old at once, and no live worker's job is taken."""
        from procrastinate.exceptions import ConnectorException, UniqueViolation
        from procrastinate.jobs import Status

        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                lag = await app.connector.execute_query_one_async(
                    "SELECT coalesce(extract(epoch FROM now() - max(last_heartbeat)), 0)::float AS seconds "
                    "FROM procrastinate_workers"
                )
                stalled = await app.job_manager.get_stalled_jobs(
                    task_name=TASK, seconds_since_heartbeat=self.stalled_after + lag["seconds"]
                )
                for job in stalled:
                    key = job.task_kwargs["key"]
                    await asyncio.to_thread(retrying, lambda key=key: self.runner.note_stall(key))
                    try:
                        await app.job_manager.retry_job(job)
                    except UniqueViolation:
                        await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=True)
                    except ConnectorException:
                        continue  # another worker handed it back first
                    log.info("job %s: its worker stopped sending heartbeats; back on the queue", key[:12])
            except (ConnectorException, DBAPIError):
                log.warning("could not look for stalled jobs (database unreachable); trying again")


def _connection_lost(error: BaseException) -> bool:
    import psycopg
    import psycopg_pool
    from procrastinate.exceptions import ConnectorException

    return isinstance(error, ConnectorException | psycopg.Error | psycopg_pool.PoolTimeout | OSError | DBAPIError)


def run_worker(root: Path, db_url: str, name: str | None, heartbeat: float, threads: int, unsandboxed: bool) -> None:
    """`course worker`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    # the shared artefacts of this machine's lessons, in its course cache, before any job
    prepare_for_grading(CourseLayout.load(root).lessons())
    Worker(root, db_url, name, heartbeat, threads, unsandboxed).serve()
