"""No exercise can be bought with one call to the course's own code: every public function and class a grading
kernel can import (the ``course`` package without ``course.references``) is tried as the answer to every
declared exercise, through the exercise's driver, on one run's cases, and none may pass."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("library_probe.py")


@pytest.mark.slow
def test_no_course_function_or_class_passes_an_exercise(tmp_path):
    # the probe calls every function with an exercise's arguments, the translators' tools that write files
    # among them: it gets its own copy of the package, and the repository's is left as it was
    package = PROBE.parents[2] / "course"
    copy = shutil.copytree(package, tmp_path / "probed" / "course", ignore=shutil.ignore_patterns("__pycache__"))
    before = _files(package)
    env = {**os.environ, "COURSE_CACHE_DIR": str(tmp_path / "cache"), "TQDM_DISABLE": "1", "MPLBACKEND": "Agg"}
    env["PYTHONPATH"] = os.pathsep.join([str(copy.parent), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, str(PROBE), "20261124"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["package"]) == copy, "the probe must run on its copy of the package"
    assert _files(package) == before, "the probe changed the repository's course package"
    assert report["candidates"] > 100, "the probe found too few candidates to mean anything"
    assert report["passing"] == [], f"course code answers exercises: {report['passing']}"


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if "__pycache__" not in p.parts}


def test_the_probe_finds_a_reference_when_one_is_visible(monkeypatch):
    """The probe can fail: put a reference where a kernel could import it, and it is found."""
    from course.references.orientation import linear_parameters
    from tests.grading import library_probe

    monkeypatch.setattr(library_probe, "candidates", lambda: iter([("planted.linear_parameters", linear_parameters)]))
    monkeypatch.setattr(library_probe, "LESSON_MODULES", {"00-orientation": "orientation"})
    assert library_probe.passing(1) == [["00-orientation", "test-linear-parameters", "planted.linear_parameters"]]
