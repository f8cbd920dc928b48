"""Sample submissions built from a release: what a student who solved some exercises would hand in.

Used by `course demo` and by the end-to-end grading tests. The graded quiz keys
for samples come from ``samples/answers/<lesson>.json`` in the course folder.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

_MARK = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)


def copy_course(root: Path, out: Path, lessons: list[str]) -> None:
    """A new course folder ``out`` with the config, the lessons' sources and their sample answers."""
    (out / "source").mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / "nbgrader_config.py", out / "nbgrader_config.py")
    for lesson in lessons:
        shutil.copytree(root / "source" / lesson, out / "source" / lesson,
                        ignore=shutil.ignore_patterns("answers*.json", ".*"))
        if (root / "samples" / "answers" / f"{lesson}.json").exists():
            (out / "samples" / "answers").mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / "samples" / "answers" / f"{lesson}.json", out / "samples" / "answers")


def answer_key(root: Path, lesson: str) -> dict[str, list[str]]:
    """The correct answers of a lesson's graded questions, as kept for tests and the demo."""
    path = root / "samples" / "answers" / f"{lesson}.json"
    return json.loads(path.read_text(encoding="utf-8"))["answers"] if path.exists() else {}


def exercise_ids(notebook: Path) -> list[str]:
    """grade_ids of the solution cells, in notebook order."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [c["metadata"]["nbgrader"]["grade_id"] for c in cells
            if c.get("metadata", {}).get("nbgrader", {}).get("solution")]


def solved_notebook(release_nb: Path, source_nb: Path, solve: set[str] | None = None) -> dict:
    """The release notebook with the instructor's solution pasted into the chosen solution cells."""
    answers = {
        c["metadata"]["nbgrader"]["grade_id"]: _MARK.sub("", "".join(c["source"]))
        for c in json.loads(source_nb.read_text(encoding="utf-8"))["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    notebook = json.loads(release_nb.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers and (solve is None or grade_id in solve):
            cell["source"] = answers[grade_id]
    return notebook


def write_submission(
    root: Path,
    student: str,
    lesson: str,
    solve: set[str] | None = None,
    answers: dict[str, list[str]] | None = None,
) -> Path:
    """Create ``submitted/<student>/<lesson>/`` from the release, solving ``solve`` (None: all, set(): none).
    """
    folder = root / "submitted" / student / lesson
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(root / "release" / lesson, folder)
    for notebook in (root / "release" / lesson).glob("*.ipynb"):
        solved = solved_notebook(notebook, root / "source" / lesson / notebook.name, solve)
        (folder / notebook.name).write_text(json.dumps(solved, indent=1), encoding="utf-8")
    if answers is not None:
        (folder / "answers.json").write_text(json.dumps({"format": 1, "answers": answers}), encoding="utf-8")
    return folder


def wrong_choice(question_options: list[str], right: list[str]) -> list[str]:
    """A different choice than ``right`` among a question's options."""
    for option in question_options:
        if [option] != sorted(right):
            return [option]
    raise ValueError("a question needs at least two options")
