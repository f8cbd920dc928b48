"""nbval on every instructor notebook, with its solutions and the graded quiz answers supplied, in English, and
on one lesson in each translated language: those runs use the translated markdown and the translated computed
text, and a plot whose font lacks one of its characters fails. The code cells are the same in every language,
so running each lesson three times would check the same code three times; every translated computed string is
formatted and drawn in tests/languages/test_computed_strings.py instead."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from course.languages import ENGLISH
from course.languages.translations import translate_notebook
from tests.conftest import LAYOUT, LESSONS

# one lesson per translated language: tables padded by display columns and plots full of translated text
TRANSLATED_RUNS = [("02-small-language-models", "ko"), ("04-multimodality", "ja")]


@pytest.mark.slow
@pytest.mark.parametrize(("lesson", "lang"), [(lesson, ENGLISH) for lesson in LESSONS] + TRANSLATED_RUNS)
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
