"""How fast the grading queue drains with 1, 2 and 4 `course worker` processes, and what each graded submission
costs the database (the numbers behind the README's estimate of how many workers one PostgreSQL server takes).

    python benchmarks/queue_throughput.py                    # M = 16 submissions of lesson 00, 1, 2 and 4 workers
    python benchmarks/queue_throughput.py -m 40 --workers 1 2 4 8

A PostgreSQL server of its own on 127.0.0.1 (tests/postgres_server.py, with pg_stat_statements), the course
released into it, M sample submissions; for each worker count, the workers start in folders of their own and
register, then `course grade --queue --no-wait --new-seed` enqueues the class (a fresh seed: every job is new)
and the clock runs until the last job is recorded. The database's cost per submission counts everything the
course does for it (enqueue, claim, settings, files, record, procrastinate's fetch, heartbeats and finish),
measured as the grader role's statements, rows and execution time (pg_stat_statements), the WAL written, and
the bytes the queue's tables keep; the benchmark's own polling runs as another role and is not counted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.grading import sample_class  # noqa: E402
from course.grading.layout import CourseLayout  # noqa: E402
from course.grading.nbgrader_runner import nbgrader_env  # noqa: E402
from course.grading.release import release  # noqa: E402
from course.grading.samples import copy_course  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402

QUEUE_TABLES = "'course_queue_blob', 'course_queue_settings', 'course_queue_run', 'course_queue_job'"


def course(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "course.grading.cli", *args], cwd=cwd, env=nbgrader_env(), capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(f"course {args[0]} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout + result.stderr


def counters(observer) -> dict[str, float]:
    """The grader role's statements, rows and execution time so far, the WAL position and the queue's bytes."""
    with observer.connect() as connection:
        statements = connection.execute(
            text(
                "SELECT coalesce(sum(calls), 0) AS calls, coalesce(sum(rows), 0) AS rows, "
                "coalesce(sum(total_exec_time), 0) AS ms FROM pg_stat_statements s "
                "JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = 'grader'"
            )
        ).one()
        wal = connection.execute(text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')")).scalar()
        stored = connection.execute(
            text(f"SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relname IN ({QUEUE_TABLES})")
        ).scalar()
    return {"calls": statements.calls, "rows": statements.rows, "ms": statements.ms, "wal": wal, "stored": stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--submissions", type=int, default=16, help="submissions (default 16)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="worker counts (default 1 2 4)")
    parser.add_argument("--lesson", default="00-orientation")
    parser.add_argument("--heartbeat", type=float, default=10.0, help="the workers' heartbeat (default 10 s)")
    args = parser.parse_args()
    server = PostgresServer("shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=all").start()
    started: list[subprocess.Popen] = []
    try:
        admin = create_engine(server.url.replace("postgresql://", "postgresql+psycopg://"))
        with admin.begin() as connection:
            connection.execute(text("CREATE EXTENSION pg_stat_statements"))
            connection.execute(text("CREATE ROLE observer LOGIN SUPERUSER"))
        observer = create_engine(server.url.replace("postgresql://grader@", "postgresql+psycopg://observer@"))
        with tempfile.TemporaryDirectory(prefix="queue-benchmark-") as tmp:
            instructor = copy_course(CourseLayout.load(ROOT), Path(tmp) / "instructor", [args.lesson])
            release(instructor.root, [args.lesson], db_url=server.url)
            course("queue-setup", "--db-url", server.url, cwd=instructor.root)
            sample_class(instructor, args.lesson, args.submissions)
            cores = os.cpu_count() or 1
            print(
                f"M = {args.submissions} submissions of {args.lesson}; {cores} CPU cores; load average "
                f"{os.getloadavg()[0]:.2f} at start"
            )
            print(f"{'workers':>8} {'seconds':>9} {'per minute':>11} {'seconds each':>13}")
            costs = []
            for count in args.workers:
                folders = []
                for index in range(count):
                    folder = Path(tmp) / f"machine-{count}-{index}"
                    shutil.copytree(instructor.root, folder, ignore=shutil.ignore_patterns(instructor.submitted.name))
                    folders.append(folder)
                workers = [
                    subprocess.Popen(
                        [sys.executable, "-m", "course.grading.cli", "worker", "--db-url", server.url]
                        + ["--heartbeat", str(args.heartbeat), "--threads", str(max(1, cores // count))],
                        cwd=folder,
                        env=nbgrader_env(),
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    for folder in folders
                ]
                started += workers
                _wait_for_workers(observer, count)
                before = counters(observer)
                clock = time.perf_counter()
                course("grade", "--queue", "--no-wait", "--new-seed", "--db-url", server.url, cwd=instructor.root)
                _wait_for_jobs(observer)
                seconds = time.perf_counter() - clock
                after = counters(observer)
                connections = _connections(observer)
                for worker in workers:
                    os.kill(worker.pid, signal.SIGTERM)
                for worker in workers:
                    worker.wait(120)
                per_minute = args.submissions / seconds * 60
                print(f"{count:>8} {seconds:>9.1f} {per_minute:>11.1f} {seconds / args.submissions:>13.2f}")
                costs.append(({k: (after[k] - before[k]) / args.submissions for k in after}, connections / count))
            cost = {k: sum(c[0][k] for c in costs) / len(costs) for k in costs[0][0]}
            per_worker = sum(c[1] for c in costs) / len(costs)
            print(
                f"database cost per submission (mean over the runs): {cost['calls']:.0f} statements, "
                f"{cost['rows']:.0f} rows, {cost['ms']:.1f} ms of execution, {cost['wal'] / 1024:.0f} kB of WAL, "
                f"{cost['stored'] / 1024:.0f} kB kept in the queue's tables; {per_worker:.1f} connections per worker"
            )
    finally:
        for worker in started:
            if worker.poll() is None:
                os.kill(worker.pid, signal.SIGKILL)
                worker.wait()
        server.stop()


def _wait_for_workers(observer, count: int) -> None:
    query = text("SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - interval '30 seconds'")
    while True:
        with observer.connect() as connection:
            if connection.execute(query).scalar() >= count:
                return
        time.sleep(0.5)


def _wait_for_jobs(observer) -> None:
    query = text(
        "SELECT count(*) FROM course_queue_job WHERE run = (SELECT max(id) FROM course_queue_run) "
        "AND state IN ('waiting', 'running')"
    )
    while True:
        with observer.connect() as connection:
            if connection.execute(query).scalar() == 0:
                return
        time.sleep(0.5)


def _connections(observer) -> int:
    with observer.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE usename = 'grader'")).scalar()


if __name__ == "__main__":
    main()
