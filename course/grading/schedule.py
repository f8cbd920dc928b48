"""Deadlines, the late policy and per-student extensions: ``schedule.toml`` at the course root, which the
instructor edits (``schedule.example.toml`` shows every key).

Why a file of its own: due dates and extensions change during a term (a student is ill, a lesson slips), and
the instructor should change them in one place, without touching the gradebook or nbgrader's config. Without
the file nothing is due and nothing is late: `course grade` behaves as it always did.

Why dates must carry a UTC offset: a class, its JupyterHub and its instructor are often in different time
zones, and a date without one would silently mean the grading machine's zone. nbgrader records submission
times in UTC, so the comparison is between two absolute instants.

The arithmetic (``Lateness``): a submission is late when it arrives after the student's due date (their
extension if they have one) plus ``grace_minutes``; it is then late by the number of *started* days counted
from that moment (1 second late is 1 day). ``percent-per-day`` takes ``percent_per_day`` percent of the
submission's score per day late; with either late policy, later than ``zero_after_days`` days scores 0.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import overload

from ..languages import Said, say
from .nbgrader_runner import CourseError

POLICIES = ("none", "percent-per-day", "zero-after")
DAY = timedelta(days=1)


@dataclass(frozen=True)
class LatePolicy:
    """How late work is marked down; ``none`` records lateness but never takes points."""

    policy: str = "none"
    percent_per_day: float = 0.0
    zero_after_days: int | None = None  # later than this many days scores 0 (both late policies)
    grace_minutes: float = 0.0

    def describe(self) -> Said:
        """One phrase for the feedback note, e.g. '10% per day, 0 after 3 days' (in the student's language)."""
        zero, percent = self.zero_after_days, f"{self.percent_per_day:g}"
        if self.policy == "percent-per-day":
            if zero is None:
                return Said("grading.policy_per_day", percent=percent)
            return Said(_counted("grading.policy_per_day_zero", zero), percent=percent, days=zero)
        if self.policy == "zero-after" and zero is not None:
            return Said(_counted("grading.policy_zero", zero), days=zero)
        return Said("grading.policy_none")

    def fraction(self, days_late: int) -> float:
        """The share of the score taken for a submission ``days_late`` (started) days late, in [0, 1]."""
        if days_late <= 0 or self.policy == "none":
            return 0.0
        if self.zero_after_days is not None and days_late > self.zero_after_days:
            return 1.0
        if self.policy == "percent-per-day":
            return min(1.0, self.percent_per_day * days_late / 100.0)
        return 0.0


@dataclass(frozen=True)
class Lateness:
    """One submission measured against its due date: what grades.csv, the Canvas export and the note show."""

    due: datetime
    extension: bool
    submitted: datetime
    days_late: int
    fraction: float  # of the raw score taken

    def penalty(self, raw_score: float) -> float:
        return round(raw_score * self.fraction, 6)


@dataclass(frozen=True)
class Schedule:
    """The course's due dates (lesson -> date), extensions (student -> lesson -> date) and late policy."""

    late: LatePolicy = field(default_factory=LatePolicy)
    due: dict[str, datetime] = field(default_factory=dict)
    extensions: dict[str, dict[str, datetime]] = field(default_factory=dict)

    def due_for(self, lesson: str, student: str) -> tuple[datetime | None, bool]:
        """(the student's due date for the lesson, whether it is an extension); (None, False): nothing due."""
        extended = self.extensions.get(student, {}).get(lesson)
        if extended is not None:
            return extended, True
        return self.due.get(lesson), False

    def lateness(self, lesson: str, student: str, submitted: datetime | None) -> Lateness | None:
        """How late ``submitted`` (aware) is for the student; None without a due date or a submission time."""
        due, extension = self.due_for(lesson, student)
        if due is None or submitted is None:
            return None
        over = submitted - (due + timedelta(minutes=self.late.grace_minutes))
        days = math.ceil(over / DAY) if over > timedelta(0) else 0
        return Lateness(due, extension, submitted, days, self.late.fraction(days))


def _date(value: object, where: str) -> datetime:
    """A TOML datetime with a UTC offset (or an ISO string with one); CourseError naming ``where`` otherwise."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise CourseError(f"{where}: cannot read {value!r} as a date (write 2026-12-01T23:59:00+09:00)") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        raise CourseError(f"{where}: {value.isoformat()} has no time of day (write 2026-12-01T23:59:00+09:00)")
    if not isinstance(value, datetime):
        raise CourseError(f"{where}: {value!r} is not a date and time (write 2026-12-01T23:59:00+09:00)")
    if value.tzinfo is None:
        raise CourseError(f"{where}: {value.isoformat()} has no timezone (add an offset such as +09:00 or Z)")
    return value


@overload
def _number(table: dict, key: str, where: str, default: float) -> float: ...
@overload
def _number(table: dict, key: str, where: str, default: None) -> float | None: ...
def _number(table: dict, key: str, where: str, default: float | None) -> float | None:
    value = table.get(key)
    if value is None:  # TOML has no null: the key is absent
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise CourseError(f"{where} [late] {key}: {value!r} is not a number of at least 0")
    return value


def parse_schedule(text: str, lessons: list[str], where: str = "schedule.toml") -> Schedule:
    """The schedule in ``text``; ``lessons`` are the course's lesson ids (a date for another is an error)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CourseError(f"{where}: not valid TOML ({err})") from None
    unknown = sorted(set(data) - {"late", "due", "extensions"})
    if unknown:
        raise CourseError(f"{where}: unknown section [{unknown[0]}] (known: [late], [due], [extensions.<student>])")
    late = data.get("late", {})
    policy = late.get("policy", "none")
    if policy not in POLICIES:
        raise CourseError(f"{where} [late] policy: unknown policy {policy!r} (known: {', '.join(POLICIES)})")
    extra = sorted(set(late) - {"policy", "percent_per_day", "zero_after_days", "grace_minutes"})
    if extra:
        raise CourseError(f"{where} [late]: unknown key {extra[0]!r}")
    zero_after = _number(late, "zero_after_days", where, None)
    if zero_after is not None and zero_after != int(zero_after):
        raise CourseError(f"{where} [late] zero_after_days: {zero_after!r} is not a whole number of days")
    rules = LatePolicy(
        policy,
        float(_number(late, "percent_per_day", where, 0.0)),
        None if zero_after is None else int(zero_after),
        float(_number(late, "grace_minutes", where, 0.0)),
    )

    def dates(table: object, section: str) -> dict[str, datetime]:
        if not isinstance(table, dict):
            raise CourseError(f"{where} [{section}]: expected a table of lesson = date")
        out = {}
        for lesson, value in table.items():
            if lesson not in lessons:
                raise CourseError(f"{where} [{section}] {lesson!r}: unknown lesson (known: {', '.join(lessons)})")
            out[lesson] = _date(value, f"{where} [{section}] {lesson!r}")
        return out

    due = dates(data.get("due", {}), "due")
    extensions_table = data.get("extensions", {})
    extensions = {student: dates(table, f"extensions.{student}") for student, table in extensions_table.items()}
    return Schedule(rules, due, extensions)


def load_schedule(path: Path, lessons: list[str]) -> Schedule:
    """The schedule at ``path``; an empty one (nothing due) when the file is absent."""
    if not path.is_file():
        return Schedule()
    return parse_schedule(path.read_text(encoding="utf-8"), lessons, path.name)


DUE_CELL = "due-date"  # the id of the cell `course release` puts under a lesson's title when it has a due date


def due_cell_text(schedule: Schedule, lesson: str, lang: str) -> str | None:
    """What the student reads under the lesson's title: its due date and the late policy, and in the first lesson
    the whole course's due dates; None when nothing is due."""
    due = schedule.due.get(lesson)
    if due is None:
        return None
    policy = schedule.late.describe().in_language(lang)
    text = say("grading.due_line", lang, due=show(due), policy=policy)
    if lesson == min(schedule.due):
        rows = "\n".join(f"| {name} | {show(date)} |" for name, date in sorted(schedule.due.items()))
        text += "\n\n" + say("grading.due_table", lang) + "\n" + rows  # the rows continue the table
    return text


_NBGRADER = re.compile(r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)\s*(UTC|Z|[+-]\d\d:?\d\d)?$")


def parse_timestamp(text: str | None) -> datetime | None:
    """The submission time nbgrader writes in ``timestamp.txt`` (``2026-11-24 22:49:41.123456 UTC``, or ISO 8601
    with an offset or ``Z``), as an aware datetime; a time without a zone is UTC, as nbgrader takes it. None
    when ``text`` is empty; ValueError when it is not such a time."""
    if not text or not text.strip():
        return None
    match = _NBGRADER.match(text.strip())
    if not match:
        raise ValueError(f"not a date and time: {text.strip()[:40]!r}")
    day, clock, zone = match.groups()
    zone = "+00:00" if zone in (None, "UTC", "Z") else zone
    stamp = datetime.fromisoformat(f"{day}T{clock}{zone}")
    return stamp.astimezone(UTC)


def show(moment: datetime) -> str:
    """'2026-12-01 23:59 +09:00': the date as the instructor wrote it, in its own zone."""
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}" if offset else f"{moment:%Y-%m-%d %H:%M}"


def late_note(lateness: Lateness, policy: LatePolicy, raw: float, penalty: float) -> Said:
    """The grading note a student reads at the top of their feedback (English for the instructor, the student's
    language in the feedback)."""
    days, due = lateness.days_late, show(lateness.due)
    extension = Said("grading.yes") if lateness.extension else Said("grading.no")
    if days == 0:
        return Said("grading.on_time", due=due, extension=extension)
    return Said(
        _counted("grading.late", days),
        days=days,
        due=due,
        extension=extension,
        policy=policy.describe(),
        penalty=f"{penalty:.1f}",
        raw=f"{raw:.1f}",
    )


def _counted(key: str, count: int) -> str:
    """``key``, or its ``_one`` form for a count of 1 ('1 day', '3 days')."""
    return f"{key}_one" if count == 1 else key
