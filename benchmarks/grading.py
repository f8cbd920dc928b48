"""How fast grading is: plain `nbgrader autograde` against `course grade --workers N`, same submissions.

    python benchmarks/grading.py                  # M = 24 submissions of lesson 00, --workers 2
    python benchmarks/grading.py -m 40 --workers 4

Both run on this machine in the same run, on copies of one course folder with M sample submissions (all
right, blank, quiz only, exercise only, in turn). ``course grade`` does more than autograde (sandboxed
kernels, feedback, grades.csv and the class report), so its grading phase is printed too. The scores of
the two must agree.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course.grading.layout import CourseLayout  # noqa: E402
from course.grading.nbgrader_runner import nbgrader_env  # noqa: E402
from course.grading.release import release  # noqa: E402
from course.grading.report import read_grades  # noqa: E402
from course.grading.samples import answer_key, copy_course, exercise_ids, write_submission  # noqa: E402


def sample_class(course: CourseLayout, lesson: str, count: int) -> None:
    """``count`` students: all right, blank, quiz only, exercise only, in turn."""
    key = answer_key(course, lesson)
    exercises = set(exercise_ids(course.release_notebook(lesson)))
    profiles = [(None, key), (set(), None), (set(), key), (exercises, None)]
    for index in range(count):
        solve, answers = profiles[index % len(profiles)]
        write_submission(course, f"student-{index:03d}", lesson, solve, answers)


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    """Seconds the command took, and what it printed."""
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=nbgrader_env(), capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd[2:4])} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return time.perf_counter() - started, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--submissions", type=int, default=24, help="submissions (default 24)")
    parser.add_argument("--workers", type=int, default=2, help="course grade --workers (default 2)")
    parser.add_argument("--lesson", default="00-orientation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as tmp:
        stock, course = Path(tmp) / "stock", Path(tmp) / "course"
        layout = copy_course(CourseLayout.load(ROOT), stock, [args.lesson])
        release(stock, [args.lesson])
        sample_class(layout, args.lesson, args.submissions)
        shutil.copytree(stock, course)
        print(f"M = {args.submissions} submissions of {args.lesson} on {os.cpu_count()} CPU cores")
        plain, _ = timed([sys.executable, "-m", "nbgrader", "autograde", args.lesson, "--force"], stock)
        print(f"plain nbgrader autograde:        {plain:7.1f} s")
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "export", "--to=grades.csv"],
            cwd=stock,
            env=nbgrader_env(),
            capture_output=True,
            check=True,
        )
        command = ["course.grading.cli", "grade", "--lesson", args.lesson, "--workers", str(args.workers)]
        ours, printed = timed([sys.executable, "-m", *command], course)
        grading = float(re.search(r"graded in ([0-9.]+) s", printed).group(1))
        print(
            f"course grade --workers {args.workers}:       {ours:7.1f} s in all "
            f"(grading {grading:.1f} s, then feedback, grades.csv and report)"
        )
        print(
            f"ratio (nbgrader / course grade): {plain / ours:7.2f}x "
            f"({plain / grading:.2f}x for the grading phase alone)"
        )
        ours_scores, stock_scores = read_grades(course / "grades.csv"), read_grades(stock / "grades.csv")
        same = sum(ours_scores[s] == stock_scores.get(s) for s in ours_scores)
        print(f"scores agree for {same}/{len(ours_scores)} students")


if __name__ == "__main__":
    main()
