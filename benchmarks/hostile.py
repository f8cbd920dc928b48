"""Which attacks fool stock nbgrader, and what `course grade` gives for the same submissions.

    python benchmarks/hostile.py

Builds the hostile class of ``tests/attacks/`` (lesson 00) twice, grades one copy with plain
``nbgrader autograde`` (one student at a time) and the other with ``course grade``, and prints, per student,
the honest score, the stock score and the course score. FOOLED: the stock score is above the honest one;
ERROR: stock nbgrader failed on that submission (it gets no grade, or a wrong one).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course.grading.layout import CourseLayout  # noqa: E402
from course.grading.nbgrader_runner import nbgrader_env  # noqa: E402
from course.grading.report import read_grades  # noqa: E402
from tests.attacks import LESSON, build_class, listen  # noqa: E402

CELL_SECONDS = "25"


def run(course: Path, *command: str) -> bool:
    """Whether the command ran without logging an error."""
    result = subprocess.run(
        [sys.executable, "-m", *command], cwd=course, env=nbgrader_env(), capture_output=True, text=True
    )
    return result.returncode == 0 and "| ERROR]" not in result.stdout + result.stderr


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    port, received = listen()
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        results, damage, crashed = {}, {}, set()
        for name in ("stock", "course"):
            course = Path(tmp) / name
            table = build_class(ROOT, course, port)
            layout = CourseLayout.load(course)
            watched = [
                layout.gradebook,
                layout.source_notebook(LESSON),
                layout.submission_dir("honest-full", LESSON) / "answers.json",
            ]
            if name == "stock":  # one student at a time (one broken submission can stop a class-wide run),
                for attack in sorted(table, key=lambda a: a.student == "escape"):  # escape last: it wrecks files
                    if attack.unsandboxed_harm:  # a fork bomb, a memory hog, a disk filler: not on this machine
                        crashed.add(attack.student)
                        continue
                    if not run(
                        course,
                        "nbgrader",
                        "autograde",
                        LESSON,
                        "--force",
                        "--student",
                        attack.student,
                        f"--Execute.timeout={CELL_SECONDS}",
                    ):
                        crashed.add(attack.student)
                    if attack.student != "escape":
                        run(course, "nbgrader", "export", "--to=grades.csv")
            else:
                run(course, "course.grading.cli", "grade", "--workers", "2", "--cell-timeout", CELL_SECONDS)
            results[name] = read_grades(layout.grades_csv)
            damage[name] = [p.name for p in watched if b"overwritten by another student" in p.read_bytes()]
        print(f"{'student':<22}{'honest':>7}{'stock':>7}{'course':>7}  attack")
        for attack in table:
            stock, ours = (results[n].get((LESSON, attack.student), (0.0,))[0] for n in ("stock", "course"))
            flag = "FOOLED" if stock > attack.expected else "ERROR" if attack.student in crashed else ""
            print(f"{attack.student:<22}{attack.expected:>7g}{stock:>7g}{ours:>7g}  {flag:<7}{attack.what}")
            print(f"{'':<45}stopped by: {attack.defence}")
        for name, files in damage.items():
            print(f"{name}: files overwritten by the escape student: {', '.join(files) or 'none'}")
        print(f"network messages received from student code: {len(received)}")


if __name__ == "__main__":
    main()
