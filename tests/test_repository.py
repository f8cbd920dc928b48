"""Repository hygiene: clean notebooks, consistent pins."""

import json
import re
import subprocess
import sys
import tomllib

from tests.conftest import ROOT


def _committed_notebooks():
    out = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True).stdout
    files = [ROOT / f for f in out.split()]
    return files or sorted(ROOT.glob("source/*/*.ipynb")) + sorted(ROOT.glob("release/*/*.ipynb"))


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


def test_ruff_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "course", "tests", "tools"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
