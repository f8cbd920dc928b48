"""The `course` command: release, grade and demo, for instructors."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ..cache import cache_root
from ..fallback import NotPrepared
from .layout import find_root
from .nbgrader_runner import CourseError


def _root(args: argparse.Namespace) -> Path:
    return Path(args.root).resolve() if args.root else find_root()


def _cmd_release(args: argparse.Namespace) -> None:
    from .release import release

    if args.language and not args.to_exchange:
        raise CourseError("--language goes with --to-exchange (course release --to-exchange --language ko)")
    if args.to_exchange:
        from .exchange import exchange_root

        exchange_root(args.exchange)  # no exchange folder: say so before building anything
    for folder in release(_root(args), args.lesson, args.db_url):
        print(f"released {folder}")
    print("verified: no solution, hidden test or answers file in the release")
    if args.to_exchange:
        _cmd_release_to_exchange(args)


def _cmd_release_to_exchange(args: argparse.Namespace) -> None:
    from .exchange import publish

    for lesson, outbound in publish(_root(args), args.lesson, args.exchange, args.language or "en"):
        print(f"published {lesson} ({args.language or 'en'}) to {outbound}")


def _cmd_collect(args: argparse.Namespace) -> None:
    from .exchange import collect

    collected = collect(_root(args), args.lesson, args.exchange)
    for lesson, students in collected.students.items():
        print(f"collected {lesson}: {', '.join(students)}")
    for line in collected.retimed:
        print(line)


def _cmd_return(args: argparse.Namespace) -> None:
    from .exchange import return_feedback

    for lesson, students in return_feedback(_root(args), args.lesson, args.exchange).items():
        print(f"returned feedback on {lesson} to {', '.join(students)}")


def _cmd_prepare(args: argparse.Namespace) -> None:
    if args.cache:
        os.environ["COURSE_CACHE_DIR"] = str(Path(args.cache).resolve())
    from ..prepare import prepare

    print(f"course prepare: {prepare(args.lesson, jobs=args.jobs).summary()}")


def _cmd_translations(args: argparse.Namespace) -> None:
    from ..languages import TRANSLATED, check_language
    from ..languages import translations as tr
    from .layout import CourseLayout
    from .release import read_notebook

    layout = CourseLayout.load(_root(args))
    notebooks = {lesson: read_notebook(layout.source_notebook(lesson)) for lesson in layout.check_lessons(args.lesson)}
    languages = [check_language(args.language)] if args.language else list(TRANSLATED)
    if args.action == "todo":
        if not args.language:
            raise CourseError("`course translations todo` needs a language: ko or ja.")
        if args.lesson or not args.area:
            for lesson, notebook in notebooks.items():
                cells, quiz, todo = tr.write_todo(lesson, notebook, args.language)
                print(f"{lesson}: {todo} to translate in {cells} and {quiz}")
        if args.area or not args.lesson:
            print(f"computed strings: {tr.write_strings_todo(args.language, args.area)} to translate")
        return
    problems = tr.problems(notebooks, languages)
    for lang in languages:
        done = tr.coverage(notebooks, lang)
        print(f"{lang}: {done.cells} markdown cells, {done.questions} quiz questions, {done.strings} strings")
    if problems:
        print("\n".join(problems))
        raise CourseError(f"{len(problems)} translation problem(s); see above.")
    print("translations: in step with the English")


def _print_grades(result, started: float) -> None:
    print(result.report.format())
    print(f"\ngrades CSV:        {result.grades_csv}")
    if getattr(result, "canvas_csv", None):
        print(f"Canvas import CSV: {result.canvas_csv}")
    print(f"feedback:          {result.feedback_dir}/<student>/<lesson>/")
    print(f"per-question CSV:  {result.report.table}")
    print(f"class chart:       {result.report.chart}")
    if result.notes:
        print("\ngrading notes (each student also sees theirs in the feedback):")
        for (lesson, student), notes in sorted(result.notes.items()):
            for note in notes:
                print(f"  {lesson} {student}: {note}")
    if result.unisolated:
        print(f"warning: student code ran without a sandbox: {result.unisolated}", file=sys.stderr)
    for lesson, names in sorted(result.uncached.items()):
        print(
            f"note: {lesson} submissions built {', '.join(sorted(names))} themselves, because the course cache "
            f"({cache_root()}) lacks it and a grading kernel cannot write to it: run `course prepare` before "
            "grading, so it is built once.",
            file=sys.stderr,
        )
    for failure in result.failures:
        print(f"warning: {failure}", file=sys.stderr)
    print(f"hidden inputs drawn from seed {result.seed} (recorded in grading-seed.json; grading again reuses it)")
    print(f"graded in {result.grading_seconds:.1f} s; done in {time.perf_counter() - started:.1f} s")


def _cmd_grade(args: argparse.Namespace) -> int:
    from . import sandbox
    from .execute import Limits
    from .grade import grade
    from .kernel import unenforced

    started = time.perf_counter()
    if args.status:
        _print_status(args)
        return 0
    limits = Limits(
        cell_seconds=args.cell_timeout,
        submission_seconds=args.timeout,
        **{limit.field: getattr(args, limit.field) for limit in RESOURCE_FLAGS},
    )
    for missing in unenforced(limits, sandbox.isolation().available):
        print(f"warning: not enforced on this machine: {missing}", file=sys.stderr)
    common = {"limits": limits, "seed": args.seed, "new_seed": args.new_seed}
    if args.queue:
        from .queue.run import grade_queued  # the queue's database packages, only when grading through it

        if not args.db_url:
            raise CourseError("--queue needs --db-url postgresql://...: the gradebook every worker shares.")
        if args.workers != 1:
            raise CourseError("--workers is for grading on this machine; with --queue, start `course worker`s.")
        result = grade_queued(
            _root(args), args.lesson, db_url=args.db_url, job_seconds=args.job_timeout, wait=not args.no_wait, **common
        )
        if result is None:
            print("enqueued; `course grade --status` shows progress, `course grade --queue` again collects the results")
            return 0
    else:
        result = grade(_root(args), args.lesson, workers=args.workers, db_url=args.db_url, **common)
    _print_grades(result, started)
    if args.queue:  # a queued run does not retry a job it found ungradable
        lessons = " ".join(f"--lesson {lesson}" for lesson in result.lessons)
        return _exit_status(result, f"grade without the queue: `course grade {lessons}`")
    return _exit_status(result)


def _exit_status(result, again: str = "run `course grade` again (the seed is reused: recorded grades stay)") -> int:
    """1, after saying what to do, when a submission could not be graded (the others are recorded all the same)
    or a step after grading failed; 0 when everything was graded. ``again``: how to grade the rest later."""
    if result.ungraded:
        print(
            f"course: {result.ungraded} submission(s) could not be graded and have no grade (the warnings above "
            "say why; it is a problem of the grading, not the student's); every other submission is recorded. "
            f"Fix the cause, then {again}.",
            file=sys.stderr,
        )
        return 1
    if result.failures:
        print(
            f"course: every submission was graded, but a later step failed (see the warnings above): fix it, then "
            f"{again}.",
            file=sys.stderr,
        )
        return 1
    return 0


def _print_status(args: argparse.Namespace) -> None:
    from .layout import CourseLayout
    from .queue import tables
    from .queue.status import progress

    if not args.db_url:
        raise CourseError("--status needs --db-url postgresql://...: the gradebook the queue is in.")
    db = tables.engine(args.db_url)
    tables.require(db)
    print(progress(db, CourseLayout.load(_root(args)).course_id).format())


def _cmd_worker(args: argparse.Namespace) -> None:
    from .queue.worker import run_worker

    if not args.db_url:
        raise CourseError("`course worker` needs --db-url postgresql://... (or COURSE_DB_URL): the queue's gradebook.")
    if args.heartbeat <= 0 or args.threads < 0:
        raise CourseError("--heartbeat must be positive and --threads at least 0.")
    run_worker(_root(args), args.db_url, args.name, args.heartbeat, args.threads, args.unsandboxed)


def _cmd_queue_setup(args: argparse.Namespace) -> None:
    from .queue import tables

    db = tables.engine(args.db_url)
    created = tables.setup(db)
    shown = db.url.render_as_string(hide_password=True)
    print(f"created {', '.join(created)} in {shown}" if created else f"{shown} already has the grading queue")


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import demo

    started = time.perf_counter()
    root = _root(args)
    out = Path(args.out) if args.out else root / "demo-output"
    print(f"demo course folder: {out}")
    result = demo(root, out, args.lesson)
    _print_grades(result, started)
    return _exit_status(result)


def _size(text: str) -> int:
    """A size in bytes: a number, optionally followed by K, M, G or T (powers of 1024)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    number, unit = (text[:-1], units[text[-1].upper()]) if text and text[-1].upper() in units else (text, 1)
    try:
        value = float(number) * unit
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 16G, 512M, 0 for no limit)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a size cannot be negative: {text!r}")
    return int(value)


def _whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"cannot be negative: {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _shown_size(size: int) -> str:
    """A size as ``_size`` reads it, in the largest unit it is a whole number of (16G, 512M, 1000)."""
    for unit, factor in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


class _LimitFlag(NamedTuple):
    """One resource limit flag of `course grade`: the ``kernel.Limits`` field it sets (its default too), how its
    text is read, and its help (the default is added)."""

    flag: str
    parse: Callable[[str], int]
    field: str
    metavar: str
    help: str


RESOURCE_FLAGS = (
    _LimitFlag("--memory", _size, "memory_bytes", "SIZE", "address space of each kernel process, e.g. 16G (RLIMIT_AS)"),
    _LimitFlag(
        "--processes",
        _whole_number,
        "processes",
        "N",
        "processes and threads in one kernel's sandbox (RLIMIT_NPROC inside the sandbox; a pids cgroup when "
        "grading as root, where the machine allows one)",
    ),
    _LimitFlag(
        "--cpu-time",
        _whole_number,
        "cpu_seconds",
        "SECONDS",
        "CPU time of each kernel process, all its threads together (RLIMIT_CPU)",
    ),
    _LimitFlag(
        "--disk",
        _size,
        "disk_bytes",
        "SIZE",
        "what a kernel may write in its run folder (a tmpfs of this size in the sandbox, held in memory)",
    ),
)


def _add_resource_limits(parser: argparse.ArgumentParser) -> None:
    """The per-kernel resource limits of `course grade` (``RESOURCE_FLAGS``; defaults: kernel.Limits; 0 turns one
    off)."""
    from .kernel import Limits

    default = Limits()
    group = parser.add_argument_group(
        "resource limits of each student's kernel (0 turns one off)",
        "A kernel that reaches one fails in its own notebook (MemoryError, 'Resource temporarily unavailable', "
        "'No space left on device', killed for CPU time); no other submission is affected. The defaults leave "
        "every lesson room to spare: on a 2-core machine a lesson 05 kernel, the largest, reached 1.9 GiB of "
        "address space (0.55 GiB resident), 19 threads and 400 CPU seconds; PyTorch reserves a stack and a "
        "malloc arena per thread, so both grow on machines with more cores.",
    )
    for limit in RESOURCE_FLAGS:
        value = getattr(default, limit.field)
        shown = _shown_size(value) if limit.parse is _size else str(value)
        group.add_argument(
            limit.flag,
            type=limit.parse,
            default=value,
            dest=limit.field,
            metavar=limit.metavar,
            help=f"{limit.help}; default: {shown}",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description="Release and grade the Beyond Prompting course.")
    parser.add_argument("--root", help="course folder (default: the one containing the current folder)")
    sub = parser.add_subparsers(dest="command", required=True)
    lesson_help = "a lesson id such as 00-orientation (repeatable; default: every lesson)"
    exchange_help = "nbgrader's exchange folder (default: $NBGRADER_EXCHANGE, else /srv/nbgrader/exchange)"

    p = sub.add_parser(
        "release",
        help="build release/ from source/ and check that nothing leaks",
        description="Run nbgrader generate_assignment for each lesson into release/, then "
        "verify that no solution, hidden test or answers file reached it.",
    )
    db_help = (
        "gradebook database URL (default: sqlite gradebook.db in the course folder), for example "
        "postgresql://user:password@host/gradebook to share one gradebook between graders"
    )
    p.add_argument("--lesson", action="append", help=lesson_help)
    p.add_argument("--db-url", help=db_help)
    p.add_argument(
        "--to-exchange",
        action="store_true",
        help="then publish each lesson to nbgrader's exchange, where students fetch it in the Assignments panel",
    )
    p.add_argument(
        "--language",
        choices=["en", "ko", "ja"],
        help="with --to-exchange: publish release/<lang>/ (ko, ja) under the same assignment ids (default: en); "
        "one language per course id at a time, the last published wins",
    )
    p.add_argument("--exchange", help=exchange_help)
    p.set_defaults(func=_cmd_release)

    p = sub.add_parser(
        "collect",
        help="gather the students' submissions from the exchange into submitted/",
        description="Run nbgrader collect for each lesson: every student's latest submission goes to "
        "submitted/<student>/<lesson>/, replacing one collected earlier (a resubmission wins). A submission "
        "whose own time (written by the student's process) differs by more than 2 minutes from its arrival on "
        "the exchange's disk is timed by its arrival, and said so. Then `course grade`.",
    )
    p.add_argument("--lesson", action="append", help=lesson_help)
    p.add_argument("--exchange", help=exchange_help)
    p.set_defaults(func=_cmd_collect)

    p = sub.add_parser(
        "return",
        help="publish the feedback `course grade` wrote to the exchange, for students to fetch",
        description="Run nbgrader release_feedback for each lesson with feedback in feedback/; each student "
        "then fetches their own feedback in JupyterLab's Assignments panel.",
    )
    p.add_argument("--lesson", action="append", help=lesson_help)
    p.add_argument("--exchange", help=exchange_help)
    p.set_defaults(func=_cmd_return)

    p = sub.add_parser(
        "grade",
        help="autograde submitted/, apply deadlines, write feedback, grades.csv, grades-canvas.csv and a chart",
        description="Grade everything in submitted/<student>/<lesson>/ (each notebook runs "
        "in a sandboxed kernel with time limits; quizzes are scored from "
        "answers.json), apply the late policy, generate feedback, export grades.csv and grades-canvas.csv "
        "(Canvas's gradebook import layout), write each student's feedback/<student>/<lesson>/grades.md and "
        "reports/ (per-question CSV and chart). Deadlines: an optional schedule.toml in the course folder "
        "gives each lesson's due date (with a UTC offset), per-student extensions and the late policy "
        "(none, percent-per-day, zero-after; see schedule.example.toml); the submission time is nbgrader's "
        "timestamp.txt. grades.csv keeps raw_score, late_submission_penalty and the final score, plus "
        "late_days and due. An optional roster.csv (id,name,section,sis_user_id,sis_login_id) names students "
        "in grades-canvas.csv.",
    )
    p.add_argument("--lesson", action="append", help=lesson_help)
    p.add_argument("--workers", type=int, default=1, help="submissions graded in parallel (default: 1)")
    p.add_argument("--db-url", help=db_help)
    p.add_argument(
        "--cell-timeout", type=float, default=600, metavar="SECONDS", help="time limit of one cell (default: 600)"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=1800,
        metavar="SECONDS",
        help="time limit of one whole notebook (default: 1800)",
    )
    _add_resource_limits(p)
    seed = p.add_mutually_exclusive_group()
    seed.add_argument(
        "--seed",
        type=int,
        help="draw the exercises' hidden inputs from this seed (default: the seed the class was last graded "
        "with, recorded in grading-seed.json; a fresh secret one the first time)",
    )
    seed.add_argument("--new-seed", action="store_true", help="draw a fresh secret seed for this run")
    queue = p.add_argument_group("grading on several machines (PostgreSQL --db-url; see README)")
    queue.add_argument(
        "--queue",
        action="store_true",
        help="put one job per submission on the queue in the --db-url database for `course worker` processes, "
        "wait until all are done, then write feedback, grades.csv and the report (running it again adds no job)",
    )
    queue.add_argument("--no-wait", action="store_true", help="with --queue: return once the jobs are enqueued")
    queue.add_argument(
        "--job-timeout",
        type=float,
        metavar="SECONDS",
        help="with --queue: a worker stops grading a submission after this long and tries once more before "
        "recording it as ungradable (default: --timeout + 300)",
    )
    queue.add_argument(
        "--status", action="store_true", help="show how the latest queued run is going (done, running, failed, ETA)"
    )
    p.set_defaults(func=_cmd_grade)

    p = sub.add_parser(
        "worker",
        help="grade queued submissions on this machine until stopped",
        description="Claim jobs enqueued by `course grade --queue` from the --db-url database and grade them "
        "in the sandbox, with the run's limits, one at a time; results go into the shared gradebook. Needs this "
        "course folder with the same release as the instructor's (jobs of another release are refused), not "
        "submitted/. SIGTERM or Ctrl-C stops it after the job in hand.",
    )
    p.add_argument(
        "--db-url",
        default=os.environ.get("COURSE_DB_URL"),
        help="the queue's PostgreSQL gradebook (default: $COURSE_DB_URL)",
    )
    p.add_argument("--name", help="how status and logs name this worker (default: host:pid)")
    p.add_argument(
        "--heartbeat",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="seconds between heartbeats; a worker silent for three is taken as dead and its job retried (default: 10)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="BLAS threads per student kernel: with N workers on a machine, give each cores/N (default: "
        "the library's default)",
    )
    p.add_argument(
        "--unsandboxed",
        action="store_true",
        help="run even without a working sandbox (bubblewrap with user namespaces): for trusted code only, since "
        "a student's code could then reach the gradebook",
    )
    p.set_defaults(func=_cmd_worker)

    p = sub.add_parser(
        "queue-setup",
        help="create the grading queue's tables in a PostgreSQL gradebook (once per database)",
        description="Create procrastinate's schema and the course's queue tables in the --db-url database, "
        "where missing.",
    )
    p.add_argument("--db-url", required=True, help="the PostgreSQL gradebook, postgresql://user@host/gradebook")
    p.set_defaults(func=_cmd_queue_setup)

    p = sub.add_parser(
        "prepare",
        help="build the artefacts every student shares (the lessons' trained tiny models) into the course cache",
        description="Build, once, every shared artefact of the course cache that the lessons read and grading "
        "uses, where the cache lacks it (running it again builds nothing). Run it on a grading machine before "
        "`course grade` and on a class server before students start (deploy/jupyterhub/start.sh does); at home "
        "the lessons build what they need on first use.",
    )
    p.add_argument("--lesson", action="append", help="only what these lessons read (default: all)")
    p.add_argument("--cache", help="the cache folder to fill (default: $COURSE_CACHE_DIR or ~/.cache/beyond-prompting)")
    p.add_argument(
        "--jobs",
        type=_positive_int,
        default=os.cpu_count() or 1,
        help="builds run at once, each in its own process (default: this machine's cores, %(default)s)",
    )
    p.set_defaults(func=_cmd_prepare)

    p = sub.add_parser(
        "translations",
        help="check the Korean and Japanese translations, or list what needs translating",
        description="check (default): name every markdown cell, quiz question and computed string whose "
        "translation is missing, stale (its English changed), left in English or too short; exit 1 if any. "
        "todo LANG: add the English of every untranslated or changed entry to LANG's files, with its "
        "fingerprint, for a translator to rewrite.",
    )
    p.add_argument("action", nargs="?", choices=["check", "todo"], default="check")
    p.add_argument("language", nargs="?", help="ko or ja (todo; check takes both by default)")
    p.add_argument("--lesson", action="append", help="only these lessons (default: all)")
    p.add_argument("--area", action="append", help="todo: only these areas of computed strings (default: all)")
    p.set_defaults(func=_cmd_translations)

    p = sub.add_parser(
        "demo",
        help="release, submit, grade and report for a sample class",
        description="Build a separate demo course folder, release the lesson(s), create five "
        "sample submissions, grade them and write the grades CSV and chart.",
    )
    p.add_argument("--lesson", action="append", help="lesson(s) to demo (default: 00-orientation)")
    p.add_argument("--out", help="demo folder (default: demo-output/ in the course folder)")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)  # the commands that can partly fail return their status; the others None
    except (CourseError, FileExistsError, PermissionError, NotPrepared) as err:  # said in a line, not a traceback
        print(f"course: error: {err}", file=sys.stderr)
        return 2
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
