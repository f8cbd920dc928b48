"""The procrastinate app of a gradebook database, and how a grading job is deferred.

One task, ``course-grade``, takes a job's key. Each job is deferred with the key as its ``queueing_lock`` (at
most one waiting job per key: enqueuing twice adds nothing) and as its ``lock`` (jobs of one key never run at
the same time), on the queue of its lesson's release (``fingerprint.queue_name``).
"""

from __future__ import annotations

from sqlalchemy import Engine

from .tables import conninfo

TASK = "course-grade"


def make_app(db: Engine, connections: int = 2):
    """A procrastinate app on ``db``'s database, with at most ``connections`` pooled connections (a worker's
    heartbeat may overlap a fetch; its listener for new jobs has a connection of its own)."""
    from procrastinate import App, PsycopgConnector

    return App(connector=PsycopgConnector(conninfo=conninfo(db), min_size=1, max_size=connections))


def defer(app, key: str, queue: str) -> bool:
    """Defer the job ``key`` on ``queue`` unless one is already waiting; True when deferred."""
    from procrastinate.exceptions import AlreadyEnqueued

    try:
        app.configure_task(name=TASK, queue=queue, lock=key, queueing_lock=key).defer(key=key)
    except AlreadyEnqueued:
        return False
    return True
