"""`course grade` from a regular (non-editable) install of the course, as the JupyterHub recipe's shared venv, a
wheel or a container has it: the ``course`` package then lies in the environment's site-packages, and the
sandboxed kernel must still see that environment (ipykernel, torch) while the course folder stays hidden.

The install is real: a new venv (its dependencies come from this project's venv through a .pth file, so nothing
is downloaded) into which pip installs a copy of the package, not in editable mode."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course.grading import sandbox
from course.grading.samples import answer_key, write_submission
from tests.conftest import ROOT
from tests.grading_helpers import scores

LESSON = "00-orientation"

pytestmark = pytest.mark.skipif(
    not sandbox.isolation().available and os.environ.get("CI") != "true",
    reason=f"no sandbox here: {sandbox.isolation().reason}",
)


def _regular_install(base: Path) -> Path:
    """A new venv with the course installed from a copy of the repository (no build files left in the checkout);
    returns the venv."""
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    [site] = (venv / "lib").glob("python3.*/site-packages")
    [deps] = [p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "ipykernel").is_dir()]
    (site / "course-test-dependencies.pth").write_text(f"{deps}\n")
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "course", source / "course", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q"]
        + ["--no-deps", "--no-build-isolation", "--no-index", str(source)],
        check=True,
        capture_output=True,
    )
    return venv


@pytest.mark.slow
def test_a_regular_install_grades_with_the_environment_shown_and_the_course_folder_hidden(course_copy, tmp_path):
    venv = _regular_install(tmp_path)
    python = venv / "bin" / "python"
    located = subprocess.run(
        [
            python,
            "-c",
            "import json, course.grading.sandbox as s; print(json.dumps([s.package_dir().as_posix(), "
            "s.python_paths()]))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    package, shown = json.loads(located.stdout)
    assert Path(package).is_relative_to(venv), "the installed copy, not the checkout, is graded with"
    assert str(venv) in shown and str(Path(package).parent) in shown, "the environment is shown"
    assert not [p for p in shown if ROOT.is_relative_to(p) or Path(p) == ROOT], "never the checkout around it"

    layout = course_copy([LESSON], released=True)
    write_submission(layout, "ada", LESSON, None, answer_key(layout, LESSON))  # all right
    write_submission(layout, "ben", LESSON, set(), answer_key(layout, LESSON))  # quiz only
    # the dependencies' data (nbconvert's templates, for feedback) is where their .pth file does not reach
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(venv / "bin"), str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"),
    }
    result = subprocess.run(
        [venv / "bin" / "course", "grade"], cwd=layout.root, capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "warning" not in result.stderr, result.stderr[-3000:]
    assert scores(layout.grades_csv) == {(LESSON, "ada"): (3.0, 3.0), (LESSON, "ben"): (1.0, 3.0)}
