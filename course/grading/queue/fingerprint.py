"""What a release is, and what a job is, as hashes.

A worker grades with its own ``release/`` folder and its own installed ``course`` package (the kernel runs the
student's code through the package's drivers). A job may only be graded by a worker whose copy of both is the
one the instructor enqueued with: the release fingerprint hashes the lesson's released files and the
package's code and data, and names the queue the lesson's jobs wait on, so a worker with another release
never claims them (``worker`` says so when it starts).

A job's key hashes everything its grade depends on: the submission as read (notebooks, answers file,
timestamp, the names of the files it also shipped, why a file was refused), the student and lesson, and the
run's settings (release, seed, limits). Enqueuing the same class twice gives the same keys.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from ..layout import CourseLayout
from ..sandbox import package_dir


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_of(value: object) -> str:
    """The hash of a JSON value, independent of key order."""
    return digest(json.dumps(value, sort_keys=True, separators=(",", ":")).encode())


@functools.cache
def package_digest() -> str:
    """The installed ``course`` package's code and data (every file but Python's byte-code caches), as one hash."""
    root = package_dir()
    files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return digest_of({str(p.relative_to(root)): digest(p.read_bytes()) for p in files})


def released_files(layout: CourseLayout, lesson: str) -> list[Path]:
    """The lesson's released files, as ``load_template`` takes them (no answers files, hidden files or
    checkpoints)."""
    folder = layout.release_dir(lesson)
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(("answers", ".")) and ".ipynb_checkpoints" not in p.parts
    )


def release_fingerprint(layout: CourseLayout, lesson: str) -> str:
    """The hash of what grading ``lesson`` depends on here: the course id, the released files and the package."""
    folder = layout.release_dir(lesson)
    files = {str(p.relative_to(folder)): digest(p.read_bytes()) for p in released_files(layout, lesson)}
    return digest_of({"course": layout.course_id, "lesson": lesson, "files": files, "package": package_digest()})


def queue_name(fingerprint: str) -> str:
    """The procrastinate queue of a release's jobs (short: PostgreSQL channel names have at most 63 bytes)."""
    return f"grade-{fingerprint[:16]}"


def settings_id(course_id: str, lesson: str, release: str, seed: int, limits: str, job_seconds: float) -> str:
    """What every job of a lesson in a run shares: its release, the seed its inputs are drawn from, the limits."""
    return digest_of(
        {"course": course_id, "lesson": lesson, "release": release, "seed": seed, "limits": limits, "job": job_seconds}
    )


def job_key(settings: str, student: str, lesson: str, files: dict) -> str:
    """A submission's job: ``files`` is the submission as stored (``enqueue.stored_files``), with its files'
    hashes."""
    return digest_of({"settings": settings, "student": student, "lesson": lesson, "files": files})
