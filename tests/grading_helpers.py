"""Reading results the way an instructor would: from grades.csv, and from feedback HTML."""

import json
from pathlib import Path

from course.grading.release import _visible_source, secret_snippets
from course.grading.report import read_grades as scores  # noqa: F401 (the tests' name for it)


def points(source_notebook: Path) -> dict[str, float]:
    """Points of each grade cell in an instructor notebook."""
    cells = json.loads(source_notebook.read_text())["cells"]
    return {c["metadata"]["nbgrader"]["grade_id"]: float(c["metadata"]["nbgrader"].get("points", 0))
            for c in cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")}


def assert_feedback_hides_key(course: Path, lesson: str) -> None:
    source = course / "source" / lesson / f"{lesson}.ipynb"
    visible = _visible_source(source)  # lines the student sees anyway are no secret
    secrets = [s for s in secret_snippets(source) if s not in visible]
    pages = list((course / "feedback").glob(f"*/{lesson}/*.html"))
    assert pages, "feedback was generated"
    for page in pages:
        text = page.read_text()
        leaked = [s for s in secrets if s in text or s.replace('"', "&quot;") in text]
        assert not leaked, f"{page} shows hidden lines: {leaked[:2]}"
