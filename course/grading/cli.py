"""The `course` command: release, grade and demo, for instructors."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..cache import cache_root
from .layout import find_root
from .nbgrader_runner import CourseError


def _root(args: argparse.Namespace) -> Path:
    return Path(args.root).resolve() if args.root else find_root()


def _cmd_release(args: argparse.Namespace) -> None:
    from .release import release

    for folder in release(_root(args), args.lesson, args.db_url):
        print(f"released {folder}")
    print("verified: no solution, hidden test or answers file in the release")


def _print_grades(result, started: float) -> None:
    print(result.report.format())
    print(f"\ngrades CSV:        {result.grades_csv}")
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
            f"note: every {lesson} submission built {', '.join(sorted(names))} itself, because the course "
            f"cache ({cache_root()}) lacks it and students cannot write to it. Run the lesson once yourself "
            "before grading a class, so it is built once.",
            file=sys.stderr,
        )
    for failure in result.failures:
        print(f"warning: {failure}", file=sys.stderr)
    print(f"hidden inputs drawn from seed {result.seed} (recorded in grading-seed.json; grading again reuses it)")
    print(f"graded in {result.grading_seconds:.1f} s; done in {time.perf_counter() - started:.1f} s")


def _cmd_grade(args: argparse.Namespace) -> None:
    from .execute import Limits
    from .grade import grade

    started = time.perf_counter()
    limits = Limits(cell_seconds=args.cell_timeout, submission_seconds=args.timeout)
    result = grade(
        _root(args),
        args.lesson,
        workers=args.workers,
        db_url=args.db_url,
        limits=limits,
        seed=args.seed,
        new_seed=args.new_seed,
    )
    _print_grades(result, started)


def _cmd_demo(args: argparse.Namespace) -> None:
    from .demo import demo

    started = time.perf_counter()
    root = _root(args)
    out = Path(args.out) if args.out else root / "demo-output"
    print(f"demo course folder: {out}")
    _print_grades(demo(root, out, args.lesson), started)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description="Release and grade the Beyond Prompting course.")
    parser.add_argument("--root", help="course folder (default: the one containing the current folder)")
    sub = parser.add_subparsers(dest="command", required=True)
    lesson_help = "a lesson id such as 00-orientation (repeatable; default: every lesson)"

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
    p.set_defaults(func=_cmd_release)

    p = sub.add_parser(
        "grade",
        help="autograde submitted/, write feedback, grades.csv and a chart",
        description="Grade everything in submitted/<student>/<lesson>/ (each notebook runs "
        "in a sandboxed kernel with time limits; quizzes are scored from "
        "answers.json), generate feedback, export grades.csv and write reports/ "
        "(per-question CSV and chart).",
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
    seed = p.add_mutually_exclusive_group()
    seed.add_argument(
        "--seed",
        type=int,
        help="draw the exercises' hidden inputs from this seed (default: the seed the class was last graded "
        "with, recorded in grading-seed.json; a fresh secret one the first time)",
    )
    seed.add_argument("--new-seed", action="store_true", help="draw a fresh secret seed for this run")
    p.set_defaults(func=_cmd_grade)

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
        args.func(args)
    except (CourseError, FileExistsError) as err:
        print(f"course: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
