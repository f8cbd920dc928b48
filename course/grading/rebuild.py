"""Step 2 of grading a submission: the notebook to grade, rebuilt around the lesson's trusted cells.

Every nbgrader cell (tests, quiz grade cells, read-only cells, their metadata and order) comes from the lesson
template (the gradebook and the release); only the student's answer cells and their own extra cells are
theirs. Edited, retyped, deleted, duplicated or reordered cells are restored and noted for the feedback.
"""

from __future__ import annotations

import copy
import json

import nbformat
from nbformat import NotebookNode

from ..languages import ENGLISH, LANGUAGES, METADATA_KEY, Said
from .cells import FLAGS, cell_source, grade_id_of, nbgrader
from .template import NotebookTemplate


def _plain(cell_type: str, source: str) -> NotebookNode:
    make = {
        "code": nbformat.v4.new_code_cell,
        "markdown": nbformat.v4.new_markdown_cell,
        "raw": nbformat.v4.new_raw_cell,
    }[cell_type]
    return make(source)


def rebuild(template: NotebookTemplate, cells: list) -> tuple[NotebookNode, list[str], bool]:
    """The notebook to grade, from the student's cells.

    Every nbgrader cell (read-only cells, tests, quiz grade cells) is the template's, with its metadata and in
    the template's order; solution cells keep the student's code; the student's own cells stay after the
    nbgrader cell they followed. Returns (notebook, notes for the student, whether any lesson cell was found).
    """
    anchors: dict[str, tuple[str, dict]] = {}
    extras: dict[str | None, list[NotebookNode]] = {None: []}
    seen_order: list[str] = []
    notes: list[str] = []
    copies: dict[str, int] = {}
    malformed = 0
    current: str | None = None
    for cell in cells:
        source = cell_source(cell) if isinstance(cell, dict) else None
        if source is None or cell.get("cell_type") not in ("code", "markdown", "raw"):
            malformed += 1
            continue
        grade_id = grade_id_of(cell)
        spec = template.specs.get(grade_id) if grade_id is not None else None
        if grade_id is not None and spec is not None:
            if grade_id not in anchors:
                anchors[grade_id] = (source, cell)
                seen_order.append(grade_id)
                current = grade_id
                extras.setdefault(current, [])
                continue
            copies[grade_id] = copies.get(grade_id, 1) + 1
            if spec.kind != "solution":
                continue  # a second copy of a trusted cell would only run it twice
        extras[current].append(_plain(cell["cell_type"], source))
    if malformed:
        notes.append(Said("grading.malformed", count=malformed))
    for grade_id, count in copies.items():
        notes.append(Said("grading.duplicated", cell=grade_id, count=count))
    order = list(template.specs)
    if [g for g in order if g in anchors] != seen_order:
        notes.append(Said("grading.out_of_order"))

    out = list(extras[None])
    for grade_id, spec in template.specs.items():
        found = anchors.get(grade_id)
        if spec.kind in ("solution", "manual"):
            source = found[0] if found else spec.released
            if not found:
                notes.append(Said("grading.exercise_missing", cell=grade_id))
        else:
            source = spec.source
            if not found:
                notes.append(Said("grading.cell_missing", cell=grade_id))
            elif found[0].strip() != spec.released.strip():
                notes.append(Said("grading.cell_changed", cell=grade_id))
        if found:
            theirs = nbgrader(found[1])
            ours = spec.metadata["nbgrader"]
            if found[1].get("cell_type") != spec.cell_type or any(theirs.get(k) != ours.get(k) for k in FLAGS):
                notes.append(Said("grading.metadata_changed", cell=grade_id))
        cell = _plain(spec.cell_type, source)
        cell.metadata = copy.deepcopy(spec.metadata)
        out.append(cell)
        out.extend(extras.get(grade_id, []))
    notebook = nbformat.v4.new_notebook(cells=out, metadata=copy.deepcopy(template.metadata))
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index}"
    return notebook, notes, bool(anchors)


def parse_notebook(data: bytes) -> tuple[list | None, str | None]:
    """The cells of a submitted notebook file, or (None, why) when it is not a notebook."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        return None, Said("grading.not_json", error=str(err).split(":")[0])
    if isinstance(raw, dict) and "worksheets" in raw:
        try:
            raw = nbformat.reads(data.decode("utf-8"), as_version=4)
        except Exception as err:  # nbformat raises many kinds for a broken old notebook
            return None, Said("grading.not_readable", error=type(err).__name__)
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        return None, Said("grading.no_cells")
    return raw["cells"], None


def submission_language(data: bytes | None) -> str:
    """The language of the release the student worked in (recorded in the notebook's metadata), for the notes and
    feedback they read; English when unknown. Grading itself never depends on it."""
    if data is None:
        return ENGLISH
    try:
        lang = json.loads(data)["metadata"][METADATA_KEY]["language"]
    except (TypeError, ValueError, KeyError, RecursionError):
        return ENGLISH
    return lang if lang in LANGUAGES else ENGLISH


def rebuild_submission(
    template: NotebookTemplate, data: bytes | None, problem: str | None
) -> tuple[NotebookNode, list[str], str | None]:
    """The notebook to grade from the submitted file ``data`` (None: not read, for the reason ``problem``).

    Returns (notebook, notes, why): ``why`` says why the file cannot be graded (not submitted, not a notebook,
    none of this lesson's cells); the notebook is then the blank release, graded without running, and the
    notes hold only that reason."""
    cells, why = (None, None) if data is None else parse_notebook(data)
    if data is None:
        why = problem or Said("grading.not_submitted")
    notebook: NotebookNode | None = None
    notes: list[str] = []
    if cells is not None:
        notebook, notes, found = rebuild(template, cells)
        if not found:
            has_ids = any(nbgrader(c).get("grade_id") for c in cells if isinstance(c, dict))
            why = Said("grading.other_lesson") if has_ids else Said("grading.no_metadata")
    if why or notebook is None:  # no cells always comes with a reason: the blank release, not run
        notebook, _, _ = rebuild(template, template.cells)
        notes = [Said("grading.ungradable", notebook=template.name, why=why)]
    return notebook, notes, why
