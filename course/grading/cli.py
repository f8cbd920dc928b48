"""The `course` command: release, grade and demo, for instructors."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .nbgrader_runner import CourseError, find_root


def _root(args: argparse.Namespace) -> Path:
    return Path(args.root).resolve() if args.root else find_root()


def _cmd_release(args: argparse.Namespace) -> None:
    from .release import release

    for folder in release(_root(args), args.lesson):
        print(f"released {folder}")
    print("verified: no solution, hidden test or answers file in the release")


def _print_grades(result, started: float) -> None:
    print(result.report.format())
    print(f"\ngrades CSV:        {result.grades_csv}")
    print(f"feedback:          {result.feedback_dir}/<student>/<lesson>/")
    print(f"per-question CSV:  {result.report.table}")
    print(f"class chart:       {result.report.chart}")
    for failure in result.failures:
        print(f"warning: {failure}", file=sys.stderr)
    print(f"done in {time.perf_counter() - started:.1f} s")


def _cmd_grade(args: argparse.Namespace) -> None:
    from .grade import grade

    started = time.perf_counter()
    _print_grades(grade(_root(args), args.lesson), started)


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

    p = sub.add_parser("release", help="build release/ from source/ and check that nothing leaks",
                       description="Run nbgrader generate_assignment for each lesson into release/, then "
                                   "verify that no solution, hidden test or answers file reached it.")
    p.add_argument("--lesson", action="append", help=lesson_help)
    p.set_defaults(func=_cmd_release)

    p = sub.add_parser("grade", help="autograde submitted/, write feedback, grades.csv and a chart",
                       description="Autograde everything in submitted/<student>/<lesson>/, generate feedback, "
                                   "export grades.csv and write reports/ (per-question CSV and chart).")
    p.add_argument("--lesson", action="append", help=lesson_help)
    p.set_defaults(func=_cmd_grade)

    p = sub.add_parser("demo", help="release, submit, grade and report for a sample class",
                       description="Build a separate demo course folder, release the lesson(s), create five "
                                   "sample submissions, grade them and write the grades CSV and chart.")
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
