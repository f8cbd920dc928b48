"""nbval on every instructor notebook, with its solutions and the graded quiz answers supplied."""

import shutil
import subprocess
import sys

import pytest

from tests.conftest import LAYOUT, LESSONS


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_source_notebook_runs_with_solutions(lesson, tmp_path):
    work = tmp_path / lesson
    shutil.copytree(LAYOUT.source_dir(lesson), work, ignore=shutil.ignore_patterns("answers*.json"))
    shutil.copy(LAYOUT.answer_key_file(lesson), work / "answers.json")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", f"{lesson}.ipynb"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
