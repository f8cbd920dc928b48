"""`course demo`: the whole instructor loop on lesson 00, with exact expected grades."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from course.grading.layout import CourseLayout
from tests.conftest import LAYOUT, ROOT
from tests.grading_helpers import assert_feedback_hides_key, points, scores

LESSON = "00-orientation"


@pytest.mark.slow
def test_demo_grades_the_sample_class_exactly(tmp_path):
    out = tmp_path / "demo"
    # as if the virtual environment were not activated: nbgrader must still find `alembic`
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    result = subprocess.run(
        [sys.executable, "-m", "course.grading.cli", "demo", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ, PATH=path),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for printed in ("grades.csv", "class-scores.png", "feedback"):
        assert printed in result.stdout

    grades = scores(out / "grades.csv")
    cell_points = points(LAYOUT.source_notebook(LESSON))
    full = sum(cell_points.values())
    assert full == 3.0
    assert grades[(LESSON, "ada")] == (full, full), "all correct gets full marks"
    assert grades[(LESSON, "ben")] == (0.0, full), "a blank submission gets 0 and is graded"
    assert grades[(LESSON, "chloe")] == (full - cell_points["grade-score-a-submission"], full), (
        "one wrong graded quiz answer loses exactly that question's points"
    )
    assert grades[(LESSON, "eve")] == (cell_points["grade-score-a-submission"], full), "quiz only"

    chart = out / "reports" / "class-scores.png"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_feedback_hides_key(out, LESSON)
    assert not list(CourseLayout.load(out).release.rglob("answers*.json"))
