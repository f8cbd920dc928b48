"""The classroom loop through nbgrader's exchange: publish lessons, collect submissions, return feedback.

Each function is a thin wrapper over nbgrader's own exchange command (``release_assignment``, ``collect``,
``release_feedback``) run in the course folder with the course's ``nbgrader_config.py``; they add only the
checks that turn nbgrader's long logs into one clear line (no exchange folder, nothing collected).

The exchange folder is nbgrader's ``Exchange.root`` (default ``/srv/nbgrader/exchange``); ``--exchange``, or
``$NBGRADER_EXCHANGE``, names another. ``deploy/jupyterhub/`` creates it with nbgrader's permissions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .files import TIMESTAMP
from .layout import CourseLayout
from .nbgrader_runner import CourseError, run_nbgrader
from .schedule import parse_timestamp

DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"
LANGUAGES = ("en", "ko", "ja")
# how much later than its own timestamp a submission may reach the exchange: nbgrader writes the time, then copies
# the files (seconds on a local disk, longer on a network volume)
ARRIVAL_SLACK = timedelta(minutes=2)


def exchange_root(exchange: str | None = None) -> Path:
    """The exchange folder: ``exchange``, else ``$NBGRADER_EXCHANGE``, else nbgrader's default; it must exist."""
    root = Path(exchange or os.environ.get("NBGRADER_EXCHANGE") or DEFAULT_EXCHANGE)
    if not root.is_dir():
        raise CourseError(
            f"No exchange folder at {root}: create it (deploy/jupyterhub/setup-exchange.sh {root}) "
            "or pass --exchange PATH"
        )
    return root


def _exchange_args(root: Path) -> list[str]:
    return [f"--Exchange.root={root}"]


def publish(
    course: Path, lessons: list[str], exchange: str | None = None, language: str = "en"
) -> list[tuple[str, Path]]:
    """Publish each built lesson (``release/<lesson>/``, or ``release/<lang>/<lesson>/`` for ``ko``/``ja``)
    to the exchange under the lesson's own assignment id, replacing an earlier publication of it.

    Returns ``[(lesson, exchange outbound folder)]``."""
    if language not in LANGUAGES:
        raise CourseError(f"--language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    root = exchange_root(exchange)
    layout = CourseLayout.load(course)
    release_dir = layout.release if language == "en" else layout.release / language
    published = []
    for lesson in layout.check_lessons(lessons):
        if not (release_dir / lesson).is_dir():
            raise CourseError(f"No {release_dir / lesson}: run `course release --lesson {lesson}` first")
        run_nbgrader(
            layout.root,
            "release_assignment",
            lesson,
            "--force",
            f"--CourseDirectory.release_directory={release_dir.relative_to(layout.root)}",
            *_exchange_args(root),
        )
        published.append((lesson, root / layout.course_id / "outbound" / lesson))
    # nbgrader makes inbound 2733 (students may drop a submission in, not list it); the sticky bit also stops a
    # student who guesses another's submission name from removing or renaming it
    inbound = root / layout.course_id / "inbound"
    if inbound.is_dir():
        inbound.chmod(inbound.stat().st_mode & 0o7777 | 0o1000)
    return published


@dataclass
class Collected:
    """What `course collect` gathered: ``{lesson: [students]}``, and one line per submission whose own time was
    replaced by its arrival on the exchange."""

    students: dict[str, list[str]] = field(default_factory=dict)
    retimed: list[str] = field(default_factory=list)


def collect(course: Path, lessons: list[str], exchange: str | None = None) -> Collected:
    """Copy every student's latest submission of each lesson from the exchange into
    ``submitted/<student>/<lesson>/``; a later submission replaces one collected before (``--update``). A
    submission's time is the one its student's process wrote, unless the exchange's disk says it arrived
    otherwise (``_keep_the_exchange_time``).

    CourseError when nothing at all was submitted."""
    root = exchange_root(exchange)
    layout = CourseLayout.load(course)
    inbound = root / layout.course_id / "inbound"
    if not inbound.is_dir():
        raise CourseError(f"Nothing to collect: no {inbound}; has any lesson been published and submitted?")
    collected = Collected()
    for lesson in layout.check_lessons(lessons):
        # names are student+lesson+timestamp[+random]; root (the grader) may list inbound, students may not
        students = sorted({p.name.split("+")[0] for p in inbound.iterdir() if p.name.split("+")[1:2] == [lesson]})
        if not students:
            continue
        before = {student: _stamp(layout.submission_dir(student, lesson)) for student in students}
        run_nbgrader(layout.root, "collect", lesson, "--update", *_exchange_args(root))
        for student in students:  # nbgrader keeps the inbound folder's 0o777: only the grader reads these
            folder = layout.submission_dir(student, lesson)
            if folder.is_dir():
                folder.chmod(0o700)
                if _stamp(folder) != before[student]:  # nbgrader copied a newer submission
                    note = _keep_the_exchange_time(folder, inbound, student, lesson)
                    collected.retimed += [note] if note else []
        collected.students[lesson] = students
    if not collected.students:
        raise CourseError(
            f"Nothing collected: no submission of {', '.join(layout.check_lessons(lessons))} in {inbound}"
        )
    return collected


def _stamp(folder: Path) -> str | None:
    try:
        return (folder / TIMESTAMP).read_text(encoding="utf-8")
    except OSError:
        return None


def arrival(folder: Path) -> datetime:
    """When ``folder`` last changed on the exchange's disk: the latest inode change time (ctime) in it.

    The student owns their submission and can rewrite its ``timestamp.txt`` or rename its folder, but the
    kernel sets a ctime to the current time on every change and no call sets it back: so a student can only
    make a submission later, never earlier. (So can an administrator who copies, chowns or chmods the inbound
    folder recursively before it is collected: collect first.)"""
    latest = folder.lstat().st_ctime
    for parent, dirs, files in os.walk(folder):
        for name in dirs + files:
            latest = max(latest, os.lstat(os.path.join(parent, name)).st_ctime)
    return datetime.fromtimestamp(latest, UTC)


def _keep_the_exchange_time(folder: Path, inbound: Path, student: str, lesson: str) -> str | None:
    """Make the collected submission's ``timestamp.txt`` (what `course grade` holds against the due date) a time
    the student could not forge.

    nbgrader takes the time the student's own process wrote in the submission (and in its folder's name). When
    that time and the submission's arrival on the exchange (``arrival``) disagree by more than
    ``ARRIVAL_SLACK``, the arrival is kept instead; the line returned says so."""
    try:
        claimed = parse_timestamp(_stamp(folder))
    except ValueError:
        claimed = None
    named = [
        (stamp, path) for path in inbound.glob(f"{student}+{lesson}+*") if (stamp := _name_time(path.name)) is not None
    ]
    if not named:
        return None
    source = max(named)[1]  # the submission nbgrader collects: the latest time in its name
    arrived = arrival(source)
    if claimed is not None and abs(arrived - claimed) <= ARRIVAL_SLACK:
        return None
    (folder / TIMESTAMP).write_text(arrived.strftime("%Y-%m-%d %H:%M:%S.%f UTC"), encoding="utf-8")
    said = f"{claimed:%Y-%m-%d %H:%M:%S} UTC" if claimed else "no readable time"
    return (
        f"{student} {lesson}: the submission says {said} but reached the exchange at "
        f"{arrived:%Y-%m-%d %H:%M:%S} UTC; the arrival time counts"
    )


def _name_time(name: str) -> datetime | None:
    """The time in an inbound folder's name, ``student+lesson+2026-11-25 01:58:12.123456 UTC+random``."""
    parts = name.split("+")
    try:
        return parse_timestamp(parts[2]) if len(parts) >= 3 else None
    except ValueError:
        return None


def return_feedback(course: Path, lessons: list[str], exchange: str | None = None) -> dict[str, list[str]]:
    """Publish the feedback `course grade` wrote in ``feedback/<student>/<lesson>/`` to the exchange, where
    each student fetches their own (nbgrader names it by a hash only the submitter knows).

    Returns ``{lesson: [students]}``; CourseError when there is no feedback to return."""
    root = exchange_root(exchange)
    layout = CourseLayout.load(course)
    returned: dict[str, list[str]] = {}
    for lesson in layout.check_lessons(lessons):
        students = sorted(
            p.name
            for p in (layout.feedback.iterdir() if layout.feedback.is_dir() else [])
            if any((p / lesson).glob("*.html"))
        )
        if not students:
            continue
        run_nbgrader(layout.root, "release_feedback", lesson, *_exchange_args(root))
        returned[lesson] = students
    if not returned:
        raise CourseError("No feedback to return: run `course collect` and `course grade` first")
    return returned
