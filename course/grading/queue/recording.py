"""A worker records each result in one transaction: the job row turns to graded and the scores and comments go
into nbgrader's gradebook together, or neither does. The job row is only turned when it is not graded yet, so a
job that ran twice (retried after a stall while its first worker still finished) is recorded once.

nbgrader's ``Gradebook`` commits after each step (student, submission, grades); its session is bound here to
one outer transaction with ``join_transaction_mode="create_savepoint"``, so those commits only release
savepoints and the outer commit is the only one. A lost connection (the database restarting) or a race with
another worker creating the same student rolls the whole transaction back, and it is tried again.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, SAWarning

from ..grade import record_one
from ..pipeline import SubmissionResult

RECONNECT_SECONDS = 180.0  # how long a worker keeps trying to reach the database before giving up on a job
T = TypeVar("T")


def _transient(error: Exception) -> bool:
    """A lost connection, or a race with another worker (nbgrader reports both as InvalidEntry)."""
    from nbgrader.api import InvalidEntry
    from sqlalchemy.exc import IntegrityError, OperationalError

    if isinstance(error, InvalidEntry):
        error = error.__context__
    return isinstance(error, OperationalError | IntegrityError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def retrying(action: Callable[[], T], seconds: float = RECONNECT_SECONDS) -> T:
    """``action()``, again after a second while it fails for a transient reason, for at most ``seconds``."""
    from nbgrader.api import InvalidEntry

    deadline = time.monotonic() + seconds
    while True:
        try:
            return action()
        except (DBAPIError, InvalidEntry) as error:
            if not _transient(error) or time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def _bound(gradebook, connection: Connection):
    """``gradebook`` with its session inside ``connection``'s transaction (its commits become savepoints)."""
    from sqlalchemy.orm import scoped_session, sessionmaker

    gradebook.db = scoped_session(
        sessionmaker(bind=connection, autoflush=True, join_transaction_mode="create_savepoint")
    )
    return gradebook


def record_graded(db: Engine, gradebook, key: str, result: SubmissionResult, worker: str, unsandboxed: str) -> bool:
    """Record ``result`` for job ``key``: False when the job was already graded (nothing written)."""
    from nbgrader.utils import parse_utc

    payload = json.dumps(
        {
            "notebooks": result.notebooks,
            "notes": result.notes,
            "built": sorted(result.built),
            "unsandboxed": unsandboxed,
        }
    )

    def once() -> bool:
        with db.connect() as connection, connection.begin():
            turned = connection.execute(
                text(
                    "UPDATE course_queue_job SET state = 'graded', result = :result, worker = :worker, "
                    "seconds = :seconds, finished_at = now(), reason = NULL "
                    "WHERE key = :key AND state NOT IN ('graded', 'ungradable') RETURNING key"
                ),
                {"key": key, "result": payload, "worker": worker, "seconds": result.seconds},
            ).first()
            if turned:
                session = _bound(gradebook, connection).db
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own session use, with SQLAlchemy 2
                        record_one(gradebook, result, parse_utc)
                finally:
                    session.remove()
            return turned is not None

    return retrying(once)


def record_ungradable(db: Engine, key: str, reason: str, worker: str) -> bool:
    """Record that job ``key`` cannot be graded, and why; nothing goes into the gradebook (as in local grading,
    where a failed grading records nothing). False when the job was already done."""

    def once() -> bool:
        with db.begin() as connection:
            return (
                connection.execute(
                    text(
                        "UPDATE course_queue_job SET state = 'ungradable', reason = :reason, worker = :worker, "
                        "finished_at = now() WHERE key = :key AND state NOT IN ('graded', 'ungradable') RETURNING key"
                    ),
                    {"key": key, "reason": reason, "worker": worker},
                ).first()
                is not None
            )

    return retrying(once)
