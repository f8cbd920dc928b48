"""The nbgrader cell format, in one place: the solution and hidden-test markers, a cell's ``metadata.nbgrader``
read without trusting it, what kind of cell that makes, and the grade cell of a graded quiz question.

Release, grading, feedback, the sample submissions, ``tools/notebook.py`` and the tests all use these, so the
format is written down once. Nothing here imports more than the standard library.
"""

from __future__ import annotations

import ast
import re

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
# Marks that must never reach a student.
FORBIDDEN_MARKS = tuple(m.removeprefix("### ") for m in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN))

# A block's content, from the line after BEGIN to END (what an instructor wrote between the marks).
_HIDDEN_BLOCK = re.compile(rf"{BEGIN_HIDDEN}\n(.*?){END_HIDDEN}", re.S)
_SOLUTION_BLOCK = re.compile(rf"{BEGIN_SOLUTION}\n(.*?){END_SOLUTION}", re.S)
# A whole hidden block with the blanks around it and the end of its line.
_HIDDEN_WITH_LINE = re.compile(rf"[ \t]*{BEGIN_HIDDEN}.*?{END_HIDDEN}[ \t]*\n?", re.S)
# A whole hidden block, marks included, nothing around it.
_HIDDEN_EXACT = re.compile(rf"{BEGIN_HIDDEN}.*?{END_HIDDEN}", re.S)
# A solution mark's own line.
_SOLUTION_MARK_LINE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)

KINDS = ("solution", "test", "quiz", "manual", "task", "locked")
# The nbgrader flags that make a cell part of the lesson (and that a student must not change).
FLAGS = ("grade", "solution", "locked", "points", "task")


# --- a cell, as it comes (from a student's file, possibly malformed) ---------------------------------------


def cell_source(cell: dict) -> str | None:
    """A cell's source as one string (nbformat stores a string or a list of lines); None when it is neither."""
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    return source if isinstance(source, str) else None


def nbgrader(cell: dict) -> dict:
    """A cell's ``metadata.nbgrader``, or ``{}`` when it is missing or not a mapping."""
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def grade_id_of(cell: dict) -> str | None:
    """The cell's nbgrader grade id, if it has a string one."""
    value = nbgrader(cell).get("grade_id")
    return value if isinstance(value, str) else None


def trusted_source(cell: dict) -> str:
    """The source of a cell of a trusted notebook (an instructor's, or a release built from one); ValueError when
    it is malformed, which only a broken file can be."""
    source = cell_source(cell)
    if source is None:
        raise ValueError(f"a notebook cell's source is neither a string nor a list of strings: {cell!r:.200}")
    return source


def trusted_grade_id(cell: dict) -> str:
    """The grade id of an nbgrader cell of a trusted notebook; ValueError when it has no string one."""
    grade_id = grade_id_of(cell)
    if grade_id is None:
        raise ValueError(f"an nbgrader cell has no grade id: {cell!r:.200}")
    return grade_id


def positions(cells: list) -> dict[str, int]:
    """``{grade id: index}`` of the nbgrader cells of a rebuilt (trusted) notebook."""
    return {c.metadata["nbgrader"]["grade_id"]: i for i, c in enumerate(cells) if "nbgrader" in c.metadata}


def is_solution(cell: dict) -> bool:
    return bool(nbgrader(cell).get("solution"))


def is_graded(cell: dict) -> bool:
    """A grade cell: tests, a quiz key, or a manually graded answer."""
    return bool(nbgrader(cell).get("grade"))


def is_lesson_cell(meta: dict) -> bool:
    """Whether nbgrader tracks the cell (graded, solution, read-only or task) and it has a grade id."""
    return bool(meta.get("grade_id")) and any(meta.get(k) for k in ("grade", "solution", "locked", "task"))


def points(cell: dict) -> float:
    return float(nbgrader(cell).get("points", 0))


def kind(meta: dict, source: str) -> str:
    """One of KINDS: how grading treats a cell with this ``metadata.nbgrader`` and (trusted) source."""
    if meta.get("solution"):
        return "manual" if meta.get("grade") else "solution"
    if meta.get("task"):
        return "task"
    if meta.get("grade"):
        return "quiz" if quiz_keys(source) else "test"
    return "locked"


def metadata(grade_id: str, *, solution=False, grade=False, locked=True, points=0) -> dict:
    """A new cell's ``metadata`` for nbgrader (schema 3), as the authoring tools write it."""
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


# --- solutions and hidden tests --------------------------------------------------------------------------


def hidden_tests(source: str) -> list[str]:
    """The content of each hidden-test block (the lines between the marks): what a release must not show."""
    return _HIDDEN_BLOCK.findall(source)


def solutions(source: str) -> list[str]:
    """The content of each solution block (the lines between the marks)."""
    return _SOLUTION_BLOCK.findall(source)


def strip_secrets(source: str) -> str:
    """``source`` without its hidden-test and solution blocks: what a student may see anyway. Lines left here
    are no secret even when a block repeats them."""
    return _SOLUTION_BLOCK.sub("", _HIDDEN_BLOCK.sub("", source))


def strip_hidden_tests(source: str) -> str:
    """``source`` without its hidden-test blocks, their indentation and the rest of their last line, for
    feedback: the student sees their visible tests and no trace of the hidden ones."""
    return _HIDDEN_WITH_LINE.sub("", source)


def blank_hidden_tests(source: str) -> str:
    """``source`` with each hidden-test block replaced by as many newlines as it had. Given to the kernel as
    the test's text, so tracebacks (which quote a test's lines) show no hidden line, while the line numbers of
    the visible ones stay right."""
    return _HIDDEN_EXACT.sub(lambda m: "\n" * m.group(0).count("\n"), source)


def remove_solution_marks(source: str) -> str:
    """The instructor's solution cell as a student who solved it would hand it in: the marks' lines removed."""
    return _SOLUTION_MARK_LINE.sub("", source)


def has_hidden_tests(source: str) -> bool:
    return BEGIN_HIDDEN.removeprefix("### ") in source


# --- graded quiz questions -------------------------------------------------------------------------------


def quiz_grade_source(question_id: str, answer: set[str]) -> str:
    """The grade cell of a graded question: its key is a hidden test on the recorded answer (answers.json).

    The format :func:`quiz_keys` reads back::

        from course.quiz import recorded_answer
        assert recorded_answer("question-id") == {"b"}, "..."
    """
    key = "{" + ", ".join(f'"{a}"' for a in sorted(answer)) + "}"
    return (
        f"# Graded from your recorded answer to `{question_id}` when you submit.\n"
        f"{BEGIN_HIDDEN}\n"
        "from course.quiz import recorded_answer\n"
        f'assert recorded_answer("{question_id}") == {key}, "{question_id}: not the expected answer"\n'
        f"{END_HIDDEN}"
    )


def quiz_keys(source: str) -> dict[str, frozenset[str]]:
    """``{question id: key}`` if ``source`` only checks recorded quiz answers (the format of
    :func:`quiz_grade_source`), else ``{}``: such a cell is scored outside the kernel, from answers.json."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    keys: dict[str, frozenset[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and [a.name for a in node.names] == ["recorded_answer"]:
            continue
        test = node.test if isinstance(node, ast.Assert) else None
        if not (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)
            and isinstance(test.left, ast.Call)
            and isinstance(test.left.func, ast.Name)
            and test.left.func.id == "recorded_answer"
            and len(test.left.args) == 1
            and isinstance(test.left.args[0], ast.Constant)
            and isinstance(test.left.args[0].value, str)
        ):
            return {}
        try:
            key = ast.literal_eval(test.comparators[0])
        except ValueError:
            return {}
        if not isinstance(key, set | frozenset) or not all(isinstance(k, str) for k in key):
            return {}
        keys[test.left.args[0].value] = frozenset(key)
    return keys
