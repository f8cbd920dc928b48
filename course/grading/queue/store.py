"""A submission and a run's settings as the database keeps them, so a worker needs nothing from ``submitted/``.

The files ``files.read_submission`` read (each size-capped there: 50 MB a notebook, 1 MB the answers file)
are stored content-addressed in ``course_queue_blob``, once however many students hand in the same bytes (a
blank notebook, say); the job row names them by digest, with what else grading uses (why a file was refused,
the timestamp, the names of other files shipped). A run's checks and limits go in ``course_queue_settings``.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from sqlalchemy import Connection, text

from ..exercise import Check, Compare
from ..files import SubmissionFiles
from ..kernel import Limits
from .fingerprint import digest


def stored(files: SubmissionFiles) -> tuple[dict, dict[str, bytes]]:
    """(the submission's record, its files by digest)."""
    blobs = {digest(data): data for data in [*files.notebooks.values(), files.answers] if data is not None}
    record = {
        "notebooks": {name: digest(data) for name, data in files.notebooks.items()},
        "answers": digest(files.answers) if files.answers is not None else None,
        "problems": files.problems,
        "timestamp": files.timestamp,
        "ignored": files.ignored,
    }
    return record, blobs


def save_blobs(connection: Connection, blobs: dict[str, bytes]) -> None:
    for key, data in blobs.items():
        connection.execute(
            text("INSERT INTO course_queue_blob (digest, data) VALUES (:d, :data) ON CONFLICT (digest) DO NOTHING"),
            {"d": key, "data": data},
        )


def load(connection: Connection, student: str, lesson: str, record: dict) -> SubmissionFiles:
    """The submission ``record`` describes, with its files read back from the database."""
    wanted = [d for d in [*record["notebooks"].values(), record["answers"]] if d]
    rows = connection.execute(
        text("SELECT digest, data FROM course_queue_blob WHERE digest = ANY(:wanted)"), {"wanted": wanted}
    )
    blobs = {row.digest: bytes(row.data) for row in rows}
    return SubmissionFiles(
        student,
        lesson,
        notebooks={name: blobs[d] for name, d in record["notebooks"].items()},
        problems=record["problems"],
        answers=blobs[record["answers"]] if record["answers"] else None,
        timestamp=record["timestamp"],
        ignored=record["ignored"],
    )


def checks_json(checks: dict[str, Check]) -> str:
    return json.dumps({grade_id: asdict(check) for grade_id, check in checks.items()})


def checks_from_json(data: str) -> dict[str, Check]:
    return {
        grade_id: Check(**{**fields, "compare": Compare(**fields["compare"])})
        for grade_id, fields in json.loads(data).items()
    }


def limits_json(limits: Limits) -> str:
    return json.dumps(asdict(limits), sort_keys=True)


def limits_from_json(data: str) -> Limits:
    return Limits(**json.loads(data))
