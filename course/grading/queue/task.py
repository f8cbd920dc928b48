"""What a worker does with one job: claim it, grade it as local grading does, record the result.

- **Claim**: the job row turns to running and counts a start; a job already graded (enqueued twice, or run
  again after a stall) is left alone. A job started twice before without ever finishing (its grading process
  died or overran its hard limit, or its worker was killed, each time) is recorded as ungradable with the
  reason instead of being started a third time.
- **Grade**: the submission's files come from the database, the lesson's template from this machine's
  ``release/`` and the gradebook, the checks and limits from the run's settings (computed once by the
  instructor's process); ``pipeline.grade_submission`` runs in the worker's grading process (``child``), in the
  same sandbox and with the same limits as local grading.
- **Record**: ``recording``, one transaction. A grading process that died or overran raises
  ``GradingCrashed`` after noting why, and procrastinate retries the job (on any worker).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from ...cache import cache_root
from .. import sandbox
from ..exercise import Check
from ..kernel import Limits, RunSettings
from ..layout import CourseLayout
from ..pipeline import Job
from ..template import LessonTemplate, load_template
from .child import GradingCrashed, GradingProcess
from .recording import record_graded, record_ungradable, retrying
from .store import checks_from_json, limits_from_json, load

if TYPE_CHECKING:
    from nbgrader.api import Gradebook

MAX_STARTS = 2  # a job started this often without finishing is ungradable


@dataclass(frozen=True)
class Claim:
    key: str
    settings: str
    lesson: str
    student: str
    files: dict
    starts: int  # counting this one
    reason: str | None  # what stopped the last attempt, if one was stopped


@dataclass(frozen=True)
class Settings:
    checks: dict[str, Check]
    limits: Limits
    job_seconds: float


class JobRunner:
    """Grades the jobs of one worker, with its own course folder, scratch folder and grading process."""

    def __init__(self, layout: CourseLayout, db: Engine, url: str, name: str, scratch: Path, threads: int = 0):
        self.layout, self.db, self.url, self.name, self.scratch, self.threads = layout, db, url, name, scratch, threads
        self.child = GradingProcess()
        self._templates: dict[str, LessonTemplate] = {}
        self._settings: dict[str, Settings] = {}
        self._gradebook: Gradebook | None = None
        isolation = sandbox.isolation()
        self.unsandboxed = "" if isolation.available else f"{name}: {isolation.reason}"

    def run(self, key: str) -> str:
        """Grade job ``key``; returns what became of it (graded, ungradable, or already done)."""
        claim = retrying(lambda: self._claim(key))
        if claim is None:
            return "already done"
        if claim.starts > MAX_STARTS:
            why = claim.reason or "its worker stopped mid-job"
            reason = f"ungradable: its grading was started {MAX_STARTS} times and never finished (last time: {why})"
            record_ungradable(self.db, key, reason, self.name)
            return "ungradable"
        job = self._job(claim)
        try:
            result = self.child.grade(job, self._settings[claim.settings].job_seconds)
        except GradingCrashed as crash:
            why = str(crash)
            retrying(lambda: self._note(key, why))
            raise
        finally:
            shutil.rmtree(job.run_dir, ignore_errors=True)
        if result.error:
            reason = f"grading failed, nothing recorded: {result.error.strip().splitlines()[-1]}"
            return "ungradable" if record_ungradable(self.db, key, reason, self.name) else "already done"
        done = record_graded(self.db, self.gradebook(), key, result, self.name, self.unsandboxed)
        return "graded" if done else "already done"

    def gradebook(self) -> Gradebook:
        """nbgrader's gradebook, opened once per worker (its session is rebound for each result)."""
        if self._gradebook is None:
            from nbgrader.api import Gradebook

            self._gradebook = retrying(lambda: Gradebook(self.url, self.layout.course_id))
            self._gradebook.engine.dispose()  # its sessions are bound to this worker's own connections
        return self._gradebook

    def _claim(self, key: str) -> Claim | None:
        with self.db.begin() as connection:
            row = (
                connection.execute(
                    text(
                        "UPDATE course_queue_job SET state = 'running', starts = starts + 1, worker = :worker, "
                        "started_at = now() WHERE key = :key AND state IN ('waiting', 'running') "
                        "RETURNING settings, lesson, student, files, starts, reason"
                    ),
                    {"key": key, "worker": self.name},
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        return Claim(
            key, row["settings"], row["lesson"], row["student"], json.loads(row["files"]), row["starts"], row["reason"]
        )

    def note_stall(self, key: str) -> None:
        """Why a job's last attempt stopped, when its worker stopped sending heartbeats."""
        self._note(key, "its worker {worker} stopped sending heartbeats mid-job (killed, or cut off)")

    def _note(self, key: str, reason: str) -> None:
        """The job's attempt stopped: it waits for its next one, with ``reason`` ({worker}: the worker of the
        attempt) kept for it."""
        with self.db.begin() as connection:
            connection.execute(
                text(
                    "UPDATE course_queue_job SET state = 'waiting', "
                    "reason = replace(:reason, '{worker}', coalesce(worker, '?')) "
                    "WHERE key = :key AND state = 'running'"
                ),
                {"key": key, "reason": reason},
            )

    def _job(self, claim: Claim) -> Job:
        """The claimed submission as a pipeline job, everything it needs read from the database and this
        machine's release."""
        if claim.lesson not in self._templates:
            self._templates[claim.lesson] = retrying(lambda: load_template(self.layout, claim.lesson, self.url))
        if claim.settings not in self._settings:
            self._settings[claim.settings] = retrying(lambda: self._load_settings(claim.settings))
        settings = self._settings[claim.settings]
        files = retrying(lambda: self._files(claim))
        run_dir = self.scratch / claim.key[:16]
        shutil.rmtree(run_dir, ignore_errors=True)
        limits = replace(settings.limits, threads=self.threads) if self.threads else settings.limits
        run = RunSettings(limits, cache_root())
        return Job(files, self._templates[claim.lesson], run_dir, run, settings.checks)

    def _files(self, claim: Claim):
        with self.db.connect() as connection:
            return load(connection, claim.student, claim.lesson, claim.files)

    def _load_settings(self, settings_id: str) -> Settings:
        with self.db.connect() as connection:
            row = connection.execute(
                text("SELECT checks, limits, job_seconds FROM course_queue_settings WHERE id = :id"),
                {"id": settings_id},
            ).one()
        return Settings(checks_from_json(row.checks), limits_from_json(row.limits), row.job_seconds)
