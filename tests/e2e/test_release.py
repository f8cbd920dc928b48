"""`release/` is exactly what `course release` makes from `source/`, and leaks nothing."""

import json

import pytest

from course.grading import cells
from course.grading.layout import CourseLayout
from course.grading.release import verify_release
from course.languages import TRANSLATED
from tests.conftest import LAYOUT, LESSONS, ROOT


@pytest.fixture(scope="module")
def released(course_copy):
    return course_copy(released=True).root


def test_committed_release_is_up_to_date(released):
    copy = CourseLayout.load(released)
    for lesson in LESSONS:
        fresh = sorted(p.relative_to(copy.release) for p in copy.release_dir(lesson).rglob("*"))
        committed = sorted(p.relative_to(LAYOUT.release) for p in LAYOUT.release_dir(lesson).rglob("*"))
        assert fresh == committed, f"release/{lesson} differs: run `course release` and commit"
        for notebook in copy.release_dir(lesson).glob("*.ipynb"):
            ours = json.loads((LAYOUT.release_dir(lesson) / notebook.name).read_text())
            assert json.loads(notebook.read_text()) == ours, f"{notebook.name} is stale: run `course release`"
        for lang in TRANSLATED:
            fresh = copy.translated_release_dir(lesson, lang)
            committed = LAYOUT.translated_release_dir(lesson, lang)
            names = sorted(p.relative_to(fresh) for p in fresh.rglob("*"))
            assert names == sorted(p.relative_to(committed) for p in committed.rglob("*")), (
                f"release/{lang}/{lesson} differs: run `course release` and commit"
            )
            for notebook in fresh.glob("*.ipynb"):
                ours = json.loads((committed / notebook.name).read_text(encoding="utf-8"))
                assert json.loads(notebook.read_text(encoding="utf-8")) == ours, (
                    f"release/{lang}/{lesson}/{notebook.name} is stale: run `course release`"
                )


def test_committed_release_leaks_nothing():
    assert verify_release(ROOT, LESSONS) == []


def test_a_planted_leak_is_found(released, tmp_path):
    lesson = LESSONS[0]
    copy = CourseLayout.load(released)
    notebook = copy.release_notebook(lesson)
    nb = json.loads(notebook.read_text())
    source = json.loads(copy.source_notebook(lesson).read_text())
    hidden = next(c for c in source["cells"] if cells.has_hidden_tests(cells.cell_source(c)))
    secret = cells.cell_source(hidden).split(cells.BEGIN_HIDDEN + "\n")[1].splitlines()[-2]
    nb["cells"][-1]["source"] = secret
    notebook.write_text(json.dumps(nb))
    (notebook.parent / "answers.json").write_text("{}")
    problems = verify_release(released, [lesson])
    assert any("hidden line" in p for p in problems)
    assert any("answers file" in p for p in problems)
