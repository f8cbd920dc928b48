"""Feedback that never shows the answer key: hidden tests and what their failures print are removed."""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from .cells import has_hidden_tests, strip_hidden_tests

HIDDEN_NOTE = "(Hidden tests ran here; they are not shown.)"


class HideAnswerKey(Preprocessor):
    """Drop hidden-test code from every cell, and replace the outputs of cells that had hidden tests
    with one line per error naming only the kind of failure (tracebacks and messages would quote the key)."""

    enabled = Bool(True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not has_hidden_tests(cell.source):
            return cell, resources
        cell.source = strip_hidden_tests(cell.source).rstrip() + "\n# " + HIDDEN_NOTE
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        cell.outputs = [
            {
                "output_type": "error",
                "ename": e.get("ename", "Error"),
                "evalue": "a test in this cell failed",
                "traceback": [f"{e.get('ename', 'Error')}: a test in this cell failed (hidden details are not shown)"],
            }
            for e in errors
        ]
        return cell, resources
