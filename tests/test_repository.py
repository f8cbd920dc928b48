"""Repository hygiene: clean notebooks and consistent pins (lint, format and types are the lint lane: `make lint`)."""

import json
import re
import subprocess
import sys
import tomllib

from tests.conftest import LAYOUT, ROOT


def _committed_notebooks():
    out = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True).stdout
    files = [ROOT / f for f in out.split()]
    return files or sorted(LAYOUT.source.glob("*/*.ipynb")) + sorted(LAYOUT.release.glob("*/*.ipynb")) + sorted(
        LAYOUT.release.glob("*/*/*.ipynb")
    )


def test_notebooks_have_no_outputs_or_execution_counts():
    notebooks = _committed_notebooks()
    assert notebooks
    for path in notebooks:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, path


def test_environment_yml_pins_the_same_versions_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    assert all("==" in pin for pin in pins), "every dependency is pinned exactly"
    conda = set(re.findall(r"^\s+- ([A-Za-z0-9_.\-]+==[^\s]+)$", (ROOT / "environment.yml").read_text(), re.M))
    assert conda == pins
    assert "torch==2.13.0" in pins


def test_clean_notebooks_strips_what_a_run_leaves_and_keeps_clean_files_as_they_are(tmp_path):
    lesson = LAYOUT.source_notebook("00-orientation")
    clean_copy = tmp_path / "clean.ipynb"
    clean_copy.write_bytes(lesson.read_bytes())
    dirty = json.loads(lesson.read_text())
    code = next(c for c in dirty["cells"] if c["cell_type"] == "code")
    code["execution_count"] = 3
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["42\n"]}]
    code["metadata"]["execution"] = {"iopub.execute_input": "2026-11-24T12:00:00Z"}
    dirty["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    (tmp_path / "dirty.ipynb").write_text(json.dumps(dirty))

    result = subprocess.run(
        [sys.executable, "tools/clean_notebooks.py", str(tmp_path)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0 and "1 notebook(s) cleaned" in result.stdout, result.stdout + result.stderr
    assert clean_copy.read_bytes() == lesson.read_bytes()
    cleaned = json.loads((tmp_path / "dirty.ipynb").read_text())
    assert cleaned["cells"] == json.loads(lesson.read_text())["cells"]
    assert "widgets" not in cleaned["metadata"]
