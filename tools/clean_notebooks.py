"""Strip outputs, execution counts and run-time metadata from notebooks, in place (`make clean-notebooks`).

Committed notebooks carry no outputs (a test enforces it): outputs would show one machine's numbers as if they
were the student's, bloat diffs, and in an instructor notebook could print a hidden test's expected value.
Files are rewritten only when something was removed, with nbformat's own layout, so a clean notebook is left
byte for byte as it was.

    python tools/clean_notebooks.py [PATH ...]   # files or folders; default: the course's source and release folders
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from course.grading.layout import CourseLayout

# Cell metadata that JupyterLab and nbclient add while a notebook runs (timings, scroll and collapse state).
RUN_TIME_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


def clean(notebook: nbformat.NotebookNode) -> bool:
    """Remove outputs, execution counts, run-time cell metadata and saved widget state; True if any was there."""
    changed = False
    for cell in notebook.cells:
        if cell.cell_type == "code":
            if cell.get("outputs") or cell.get("execution_count") is not None:
                cell.outputs, cell.execution_count = [], None
                changed = True
        for key in RUN_TIME_METADATA:
            if key in cell.metadata:
                del cell.metadata[key]
                changed = True
    if "widgets" in notebook.metadata:
        del notebook.metadata["widgets"]
        changed = True
    return changed


def notebooks_under(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.suffix == ".ipynb":
            found.append(path)
    return found


def main(argv: list[str]) -> int:
    layout = CourseLayout.load(Path(__file__).resolve().parents[1])
    paths = [Path(a) for a in argv] or [layout.source, layout.release]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"clean_notebooks: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    cleaned = 0
    for path in notebooks_under(paths):
        notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        if clean(notebook):
            nbformat.write(notebook, path)
            cleaned += 1
            print(f"cleaned {path}")
    print(f"{cleaned} notebook(s) cleaned")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
