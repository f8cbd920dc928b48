"""Feedback that never shows the answer key: hidden tests and what their failures print are removed."""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from ..languages import ENGLISH, METADATA_KEY, say
from .cells import has_hidden_tests, strip_hidden_tests


class HideAnswerKey(Preprocessor):
    """Drop hidden-test code from every cell, and replace the outputs of cells that had hidden tests
    with one line per error naming only the kind of failure (tracebacks and messages would quote the key)."""

    enabled = Bool(True)

    def preprocess(self, nb, resources):
        resources["course_language"] = nb.metadata.get(METADATA_KEY, {}).get("language", ENGLISH)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not has_hidden_tests(cell.source):
            return cell, resources
        lang = resources.get("course_language", ENGLISH)
        cell.source = strip_hidden_tests(cell.source).rstrip() + "\n# " + say("grading.hidden_tests", lang)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        cell.outputs = [
            {
                "output_type": "error",
                "ename": e.get("ename", "Error"),
                "evalue": say("grading.hidden_failure", lang),
                "traceback": [say("grading.hidden_failure_line", lang, error=e.get("ename", "Error"))],
            }
            for e in errors
        ]
        return cell, resources
