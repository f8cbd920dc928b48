"""`release/` is exactly what `course release` makes from `source/`, and leaks nothing."""

import json
import shutil

import pytest

from course.grading.release import release, verify_release
from tests.conftest import LESSONS, ROOT


def _course_copy(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source", course / "source", ignore=shutil.ignore_patterns("answers*.json", ".*"))
    return course


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    course = _course_copy(tmp_path_factory.mktemp("release"))
    release(course)
    return course


def test_committed_release_is_up_to_date(released):
    for lesson in LESSONS:
        fresh = sorted(p.relative_to(released / "release") for p in (released / "release" / lesson).rglob("*"))
        committed = sorted(p.relative_to(ROOT / "release") for p in (ROOT / "release" / lesson).rglob("*"))
        assert fresh == committed, f"release/{lesson} differs: run `course release` and commit"
        for notebook in (released / "release" / lesson).glob("*.ipynb"):
            ours = json.loads((ROOT / "release" / lesson / notebook.name).read_text())
            assert json.loads(notebook.read_text()) == ours, f"{notebook.name} is stale: run `course release`"


def test_committed_release_leaks_nothing():
    assert verify_release(ROOT, LESSONS) == []


def test_a_planted_leak_is_found(released, tmp_path):
    lesson = LESSONS[0]
    notebook = released / "release" / lesson / f"{lesson}.ipynb"
    nb = json.loads(notebook.read_text())
    source = json.loads((released / "source" / lesson / notebook.name).read_text())
    hidden = next(c for c in source["cells"] if "BEGIN HIDDEN TESTS" in "".join(c["source"]))
    secret = "".join(hidden["source"]).split("### BEGIN HIDDEN TESTS\n")[1].splitlines()[-2]
    nb["cells"][-1]["source"] = secret
    notebook.write_text(json.dumps(nb))
    (notebook.parent / "answers.json").write_text("{}")
    problems = verify_release(released, [lesson])
    assert any("hidden line" in p for p in problems)
    assert any("answers file" in p for p in problems)
