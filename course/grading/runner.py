"""The grader's side inside a student's kernel: runs each graded test cell and reports, out of band, whether
all of its code ran.

``install`` runs in a fresh kernel before any student code, so it captures the interpreter as it was: the
real ``exec``, ``marshal.loads``, builtins, and trace functions. A graded cell is then sent as a call to the
runner with a secret nonce and the test compiled by the grader (``compile_test``). The runner executes it
directly, not through IPython, so hooks on IPython's error display, input or AST transformers and replaced
``compile``/builtins have no effect, and it appends ``<nonce> pass`` to the verdict file only when every
statement ran. The grader never takes the cell's outputs as a verdict.

``compile_test`` also makes comparisons strict: every value a test obtains by calling something, compares,
combines with an operator or tests for truth must not carry comparison or arithmetic behaviour written by the
student (an object whose ``__eq__`` always returns True fails the test instead of passing it).

Limits: the runner shares the student's process. A forged pass line (the nonce is in the request, the
verdict file open in the process) counts only if the test then runs to its end without error
(``execute._run_cell``). Code written against a specific test is not stopped here: a function the test calls
can rewrite the test's globals (its reference value, say), read its frames or patch the library it compares
with. That is why graded exercises are not tested here but checked outside the student's process
(``exercise``, ``probe``): the runner serves only test cells that declare no exercise.

Longer than the other modules on purpose: this is all the grader's code that runs inside the student's
kernel, imported there once before any student code; kept in one module so what the kernel trusts is read,
reviewed and captured (``install``) as one piece.
"""

from __future__ import annotations

import ast
import base64
import builtins
import linecache
import marshal
import os
import sys
import types

# Methods that see the other operand: an object defining them can agree with whatever it is compared to.
WATCHED_METHODS = (
    "__eq__",
    "__ne__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__contains__",
    "__add__",
    "__radd__",
    "__sub__",
    "__rsub__",
    "__mul__",
    "__rmul__",
    "__truediv__",
    "__rtruediv__",
    "__floordiv__",
    "__rfloordiv__",
    "__mod__",
    "__rmod__",
    "__pow__",
    "__rpow__",
    "__matmul__",
    "__rmatmul__",
    "__and__",
    "__rand__",
    "__or__",
    "__ror__",
    "__xor__",
    "__rxor__",
    "__array_ufunc__",
    "__array_function__",
    "__torch_function__",
)
HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: set for classes created by a class statement
CHECK_BUDGET = 1_000_000  # container elements inspected per value


class _Harden(ast.NodeTransformer):
    """Route values through the trust check wherever they are compared, combined, called for or tested."""

    def __init__(self, trust_name: str):
        self.trust_name = trust_name

    def wrap(self, node: ast.expr) -> ast.expr:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == self.trust_name:
            return node
        return ast.copy_location(ast.Call(ast.Name(self.trust_name, ast.Load()), [node], []), node)

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        return self.wrap(node)

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        if not all(isinstance(op, ast.Is | ast.IsNot) for op in node.ops):
            node.left = self.wrap(node.left)
            node.comparators = [self.wrap(c) for c in node.comparators]
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        node.left, node.right = self.wrap(node.left), self.wrap(node.right)
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        self.generic_visit(node)
        node.operand = self.wrap(node.operand)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.expr:
        self.generic_visit(node)
        node.values = [self.wrap(v) for v in node.values]
        return node

    def _test(self, node):
        self.generic_visit(node)
        node.test = self.wrap(node.test)
        return node

    visit_Assert = visit_If = visit_While = visit_IfExp = _test

    def visit_comprehension(self, node: ast.comprehension) -> ast.comprehension:
        self.generic_visit(node)
        node.ifs = [self.wrap(i) for i in node.ifs]
        return node


def compile_test(source: str, trust_name: str, filename: str) -> bytes:
    """A grade cell's test code: IPython syntax translated, comparisons made strict, compiled, marshalled.

    Line numbers stay those of ``source``, so tracebacks point at the instructor's lines."""
    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager().transform_cell(source)
    tree = ast.fix_missing_locations(_Harden(trust_name).visit(ast.parse(python, filename)))
    return marshal.dumps(compile(tree, filename, "exec", dont_inherit=True, optimize=0))


def runner_call(runner_name: str, nonce: str, code: bytes, source: str, filename: str) -> str:
    """The line a kernel executes for one graded cell; ``source`` is what its tracebacks may quote."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"{runner_name}({nonce!r}, {b64(code)!r}, {b64(source.encode())!r}, {filename!r})"


def install(runner_name: str, trust_name: str, verdict_path: str, trusted_roots: list[str], user_ns: dict) -> None:
    """Put the runner into the kernel's namespace; called once, before any student code.

    Everything the runner uses is captured now, so later changes to builtins or modules do not reach it."""
    _exec, _loads, _b64 = builtins.exec, marshal.loads, base64.b64decode
    _type, _issubclass, _id, _str, _dict, _set, _list = type, issubclass, id, str, dict, set, list
    _staticmethod, _classmethod, _FunctionType = staticmethod, classmethod, types.FunctionType
    _iterate = {
        tuple: tuple.__iter__,
        list: list.__iter__,
        set: set.__iter__,
        frozenset: frozenset.__iter__,
        dict: dict.items,
    }
    _settrace, _setprofile = sys.settrace, sys.setprofile
    _write, _abspath = os.write, os.path.abspath
    _fd = os.open(verdict_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    _lines = linecache.cache
    _modules, _ModuleType = sys.modules, types.ModuleType
    _BaseException, _AssertionError = BaseException, AssertionError
    _class_dict = type.__dict__["__dict__"].__get__
    _class_mro = type.__dict__["__mro__"].__get__
    _class_flags = type.__dict__["__flags__"].__get__
    _class_name = type.__dict__["__qualname__"].__get__
    _module_dict = _ModuleType.__dict__["__dict__"].__get__
    _builtins = dict(builtins.__dict__)
    # from now on, builtin names used by this module's functions come from this copy
    globals()["__builtins__"] = dict(builtins.__dict__)
    roots = tuple(os.path.join(os.path.abspath(r), "") for r in trusted_roots)
    scalars = {
        _id(t)
        for t in (
            int,
            float,
            complex,
            bool,
            str,
            bytes,
            type(None),
            range,
            slice,
            type(Ellipsis),
            type(NotImplemented),
        )
    }
    watch = {"on": False, "traces": 0}

    def audit(event: str, args: tuple) -> None:
        if watch["on"] and event in ("sys.settrace", "sys.setprofile"):
            watch["traces"] += 1

    sys.addaudithook(audit)

    def trusted_file(filename) -> bool:
        return _type(filename) is _str and filename.startswith(roots)

    def is_module(value) -> bool:
        return _issubclass(_type(value), _ModuleType)

    def library_class(klass: type) -> bool:
        """Defined at the top level of a module loaded from the Python installation or the course package."""
        module = _modules.get(_class_dict(klass).get("__module__"))
        if not is_module(module) or module is _modules.get("__main__"):
            return False
        found = module
        for part in _class_name(klass).split("."):
            found = _module_dict(found).get(part) if is_module(found) else _class_dict(found).get(part)
            if found is None:
                return False
        return found is klass and trusted_file(_module_dict(module).get("__file__"))

    def trusted_class(klass: type) -> bool:
        for base in _class_mro(klass):
            if not _class_flags(base) & HEAPTYPE:
                continue  # built-in types behave as their C code says
            namespace = _class_dict(base)
            defined = [namespace[name] for name in WATCHED_METHODS if name in namespace]
            if defined and not library_class(base):
                return False
            for method in defined:
                if _type(method) in (_staticmethod, _classmethod):
                    method = method.__func__
                if _type(method) is _FunctionType:
                    filename = method.__code__.co_filename
                    # "<string>": made by the standard library (dataclasses, namedtuple); "<frozen ...>": its
                    # frozen modules (collections.abc's Mapping.__eq__, behind UserDict and BatchEncoding)
                    if not (trusted_file(filename) or filename == "<string>" or filename.startswith("<frozen ")):
                        return False
        return True

    def trusted(value):
        """``value`` unchanged, or AssertionError if it or an element brings the student's own comparisons."""
        stack, seen, budget = [value], _set(), CHECK_BUDGET
        numpy = _modules.get("numpy")
        while stack and budget > 0:
            item = stack.pop()
            budget -= 1
            klass = _type(item)
            if _id(klass) in scalars:
                continue
            if not trusted_class(klass):
                raise _AssertionError(
                    "the grader compares only plain values (numbers, strings, containers, arrays, tensors); "
                    f"got an object of type {_class_name(klass)} that defines its own comparisons or "
                    "arithmetic"
                )
            if _id(item) in seen:
                continue
            for base, iterate in _iterate.items():
                if _issubclass(klass, base):
                    seen.add(_id(item))
                    stack.extend(iterate(item))
                    break
            else:
                if numpy is not None and _issubclass(klass, numpy.ndarray) and item.dtype.hasobject:
                    seen.add(_id(item))
                    stack.extend(item.ravel().tolist())
        return value

    def impostors() -> dict[str, object]:
        """Modules loaded from files outside the Python installation and the course package."""
        found = {}
        for name, module in _dict(_modules).items():
            filename = _module_dict(module).get("__file__") if is_module(module) else None
            if _type(filename) is _str and not trusted_file(_abspath(filename)):
                found[name] = module
        return found

    def run(nonce: str, code: str, source: str, filename: str) -> None:
        __tracebackhide__ = True  # noqa: F841 (IPython leaves this frame out of tracebacks)
        _settrace(None)
        _setprofile(None)
        text = _b64(source).decode("utf-8")
        _lines[filename] = (len(text), None, text.splitlines(True), filename)
        compiled = _loads(_b64(code))
        hidden = impostors()
        for name in hidden:
            del _modules[name]
        saved_builtins = user_ns.get("__builtins__")
        user_ns["__builtins__"] = _dict(_builtins)
        # globals named like builtins (a student's own ``sum``) would shadow them in the test
        shadowing = {
            name: user_ns.pop(name)
            for name in _list(user_ns)
            if name in _builtins and not name.startswith("__") and user_ns[name] is not _builtins[name]
        }
        user_ns[trust_name] = trusted
        watch["traces"], watch["on"] = 0, True
        try:
            _exec(compiled, user_ns)
        except _BaseException as error:
            watch["on"] = False
            name = "".join(c for c in _class_name(_type(error)) if c.isalnum() or c in "._")[:80]
            _write(_fd, f"{nonce} fail {name or 'Error'}\n".encode())
            raise
        finally:
            watch["on"] = False
            _settrace(None)  # whatever the code under test installed stops here
            _setprofile(None)
            user_ns.update(shadowing)
            user_ns["__builtins__"] = saved_builtins
            user_ns.pop(trust_name, None)
            _modules.update(hidden)
        if watch["traces"]:
            _write(_fd, f"{nonce} fail tracing\n".encode())
            raise _AssertionError("the code under test installed a trace or profile function")
        _write(_fd, f"{nonce} pass\n".encode())

    user_ns[runner_name] = run
