"""`course grade --queue`, first half: the class goes into the database, one job per submission.

For each lesson, the run's settings are stored once: the release fingerprint, the limits, and the checks,
computed here, in the instructor's process, once per lesson (``checks.build_checks``: inputs drawn from the
seed, the references' results), so no worker ever computes an expected value. Each submission is read as local
grading reads it (``files.read_submission``) and stored with its job row; a job whose key is already graded is
not deferred again, and a job already waiting is not deferred twice (``app.defer``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Engine, text

from ..checks import build_checks
from ..files import read_submission
from ..kernel import Limits
from ..layout import CourseLayout
from ..template import LessonTemplate, load_template
from .app import defer, make_app
from .fingerprint import job_key, queue_name, release_fingerprint, settings_id
from .store import checks_json, limits_json, save_blobs, stored


@dataclass
class Enqueued:
    run: int
    keys: dict[tuple[str, str], str]  # (lesson, student) -> job key
    deferred: int  # jobs put on the queue by this run
    done: int  # jobs already graded (or found ungradable) by an earlier run


@dataclass(frozen=True)
class LessonSettings:
    id: str
    queue: str
    template: LessonTemplate


def _lesson_settings(
    db: Engine, layout: CourseLayout, template: LessonTemplate, seed: int, limits: Limits, job_seconds: float
) -> LessonSettings:
    """The lesson's settings row for this run, its checks computed only when the row is new."""
    release = release_fingerprint(layout, template.lesson)
    limits_text = limits_json(limits)
    sid = settings_id(layout.course_id, template.lesson, release, seed, limits_text, job_seconds)
    with db.begin() as connection:
        known = connection.execute(text("SELECT 1 FROM course_queue_settings WHERE id = :id"), {"id": sid}).first()
        if not known:
            connection.execute(
                text(
                    "INSERT INTO course_queue_settings (id, course_id, lesson, release, checks, limits, job_seconds) "
                    "VALUES (:id, :course, :lesson, :release, :checks, :limits, :job) ON CONFLICT (id) DO NOTHING"
                ),
                {
                    "id": sid,
                    "course": layout.course_id,
                    "lesson": template.lesson,
                    "release": release,
                    "checks": checks_json(build_checks(template, seed)),
                    "limits": limits_text,
                    "job": job_seconds,
                },
            )
    return LessonSettings(sid, queue_name(release), template)


def enqueue(
    layout: CourseLayout,
    db: Engine,
    url: str,
    by_lesson: dict[str, list[str]],
    seed: int,
    limits: Limits,
    job_seconds: float,
) -> Enqueued:
    """Store and defer a job for every submission of the lessons in ``by_lesson`` (lesson -> students)."""
    lessons = {
        lesson: _lesson_settings(db, layout, load_template(layout, lesson, url), seed, limits, job_seconds)
        for lesson in by_lesson
    }
    with db.begin() as connection:
        run: int = connection.execute(
            text("INSERT INTO course_queue_run (course_id) VALUES (:c) RETURNING id"), {"c": layout.course_id}
        ).scalar_one()
    enqueued = Enqueued(run, {}, 0, 0)
    app = make_app(db, connections=1)
    with app.open():
        for lesson, students in by_lesson.items():
            settings = lessons[lesson]
            for student in students:
                record, blobs = stored(read_submission(layout, student, lesson, settings.template))
                key = job_key(settings.id, student, lesson, record)
                enqueued.keys[(lesson, student)] = key
                with db.begin() as connection:
                    save_blobs(connection, blobs)
                    state: str = connection.execute(
                        text(
                            "INSERT INTO course_queue_job (key, settings, run, course_id, lesson, student, files) "
                            "VALUES (:key, :settings, :run, :course, :lesson, :student, :files) "
                            "ON CONFLICT (key) DO UPDATE SET run = EXCLUDED.run RETURNING state"
                        ),
                        {
                            "key": key,
                            "settings": settings.id,
                            "run": run,
                            "course": layout.course_id,
                            "lesson": lesson,
                            "student": student,
                            "files": json.dumps(record, sort_keys=True),
                        },
                    ).scalar_one()
                if state in ("graded", "ungradable"):
                    enqueued.done += 1
                else:
                    enqueued.deferred += defer(app, key, settings.queue)
    return enqueued
