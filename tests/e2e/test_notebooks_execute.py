"""nbval on every instructor notebook, with its solutions and the graded quiz answers supplied, in every
language: the Korean and Japanese runs use the translated markdown and the translated computed text, and a
plot whose font lacks one of its characters fails."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from course.languages import LANGUAGES
from course.languages.translations import translate_notebook
from tests.conftest import LAYOUT, LESSONS


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("lesson", LESSONS)
def test_source_notebook_runs_with_solutions(lesson, lang, tmp_path):
    work = tmp_path / lesson
    shutil.copytree(LAYOUT.source_dir(lesson), work, ignore=shutil.ignore_patterns("answers*.json"))
    shutil.copy(LAYOUT.answer_key_file(lesson), work / "answers.json")
    notebook = work / f"{lesson}.ipynb"
    if lang != "en":
        translated, _ = translate_notebook(json.loads(notebook.read_text(encoding="utf-8")), lesson, lang)
        notebook.write_text(json.dumps(translated, ensure_ascii=False), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", notebook.name],
        cwd=work,
        capture_output=True,
        text=True,
        # a character missing from the plots' fonts (a box in the plot) fails the cell that drew it
        env={**os.environ, "COURSE_LANG": lang, "PYTHONWARNINGS": "error:Glyph:UserWarning"},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
