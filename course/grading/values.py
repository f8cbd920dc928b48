"""Plain data across the kernel boundary: the inputs a check gives the student's code and what it hands back.

The grader never takes an object from a student's process. The kernel encodes what the student's code returned
into JSON text with :func:`encode`; the grader rebuilds plain values from that text with :func:`decode` and
compares them with reference results it computed itself. A class the student wrote can therefore never take
part in a comparison: whatever its ``__eq__`` says, only its data crosses, and an object of a kind this module
does not know crosses as ``{"__unsupported__": type name}``, which equals nothing.

Encoding reads values through the base types' own methods (``int.__int__``, ``list.__iter__``,
``numpy.ndarray.tolist``...), so a subclass that lies about itself is read for what it holds. The same
encoding carries a check's inputs into the kernel, where :func:`decode` rebuilds them as the types they were
(tensors as tensors, arrays as arrays, records as ``types.SimpleNamespace``).
"""

from __future__ import annotations

import base64
import math
import sys
import types
from typing import Any

MAX_ITEMS = 2_000_000  # numbers, strings and containers in one encoded value
MAX_DEPTH = 64


class _TooLarge(Exception):
    pass


def _builtin_name(klass: type) -> str:
    """The nearest class in ``klass``'s ancestry that Python itself defines (a student's ``MyError(ValueError)``
    reads as ``ValueError``)."""
    for base in type.__dict__["__mro__"].__get__(klass):
        if base.__module__ == "builtins":
            return base.__qualname__
    return "BaseException"


def raised(error: BaseException) -> dict:
    """How an exception raised by the code under test is reported: its nearest built-in class, and for a failed
    import the module it wanted (so feedback can say that a reference solution is not available)."""
    report = {"__raised__": _builtin_name(type(error))}
    if isinstance(error, ImportError):
        report["module"] = str(getattr(error, "name", "") or "")[:120]
    return report


def encode(value: object) -> object:
    """``value`` as JSON-ready data; containers too large or too deep become ``{"__unsupported__": ...}``."""
    budget = [MAX_ITEMS]
    try:
        return _encode(value, budget, 0)
    except _TooLarge:
        return {"__unsupported__": "a value too large or too deeply nested to compare"}


def _encode(value: object, budget: list[int], depth: int) -> object:
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise _TooLarge
    numpy = sys.modules.get("numpy")
    torch = sys.modules.get("torch")
    if value is None or type(value) is bool:
        return value
    if numpy is not None and isinstance(value, numpy.generic):
        return _encode(numpy.generic.item(value), budget, depth + 1)
    if isinstance(value, bool):
        return bool(int.__int__(value))
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        number = float.__float__(value)
        return number if math.isfinite(number) else {"__float__": repr(number)}
    if isinstance(value, complex):
        return {
            "__complex__": [
                _encode(complex.real.__get__(value), budget, depth + 1),
                _encode(complex.imag.__get__(value), budget, depth + 1),
            ]
        }
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, budget, depth + 1) for v in tuple.__iter__(value)]}
    if isinstance(value, list):
        return [_encode(v, budget, depth + 1) for v in list.__iter__(value)]
    if isinstance(value, dict):
        return {
            "__dict__": [[_encode(k, budget, depth + 1), _encode(v, budget, depth + 1)] for k, v in dict.items(value)]
        }
    if isinstance(value, set | frozenset):
        return {"__set__": [_encode(v, budget, depth + 1) for v in set.__iter__(set(value))]}
    if isinstance(value, types.SimpleNamespace):
        return {"__record__": _encode(dict(vars(value)), budget, depth + 1)}
    if numpy is not None and isinstance(value, numpy.ndarray):
        return _array(
            "numpy",
            str(value.dtype),
            numpy.ndarray.tolist(numpy.asarray(value).ravel()),
            list(value.shape),
            budget,
            depth,
        )
    if torch is not None and isinstance(value, torch.Tensor):
        with torch._C.DisableTorchFunctionSubclass():
            plain = torch.Tensor.detach(value).cpu()
            dtype = str(plain.dtype).removeprefix("torch.")
            if dtype == "bfloat16" or dtype == "float16":
                plain, dtype = plain.float(), "float32"
            return _array("torch", dtype, plain.reshape(-1).tolist(), list(plain.shape), budget, depth)
    return {"__unsupported__": f"an object of type {type(value).__qualname__[-100:]}"}


def _array(kind: str, dtype: str, flat: list, shape: list[int], budget: list[int], depth: int) -> dict:
    budget[0] -= len(flat)
    if budget[0] < 0:
        raise _TooLarge
    if dtype == "object":
        flat = [_encode(v, budget, depth + 1) for v in flat]
    else:
        flat = [v if not isinstance(v, float) or math.isfinite(v) else {"__float__": repr(v)} for v in flat]
    return {"__array__": {"kind": kind, "dtype": dtype, "shape": shape, "data": flat}}


def decode(data: object, *, tensors: bool = True) -> object:
    """Values from :func:`encode`'s data. Arrays come back as numpy arrays, or torch tensors where they were
    tensors and ``tensors`` is true (the grader compares with numpy; a kernel gives the student tensors)."""
    if isinstance(data, list):
        return [decode(v, tensors=tensors) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        return dict(data) if isinstance(data, dict) else data
    [(tag, body)] = data.items()
    if tag == "__float__":
        return float(body)
    if tag == "__complex__":
        parts: list[Any] = [decode(v) for v in body]  # what complex() takes: it rejects anything else itself
        return complex(*parts)
    if tag == "__bytes__":
        return base64.b64decode(body)
    if tag == "__tuple__":
        return tuple(decode(v, tensors=tensors) for v in body)
    if tag == "__dict__":
        return {_hashable(decode(k, tensors=tensors)): decode(v, tensors=tensors) for k, v in body}
    if tag == "__set__":
        return frozenset(_hashable(decode(v, tensors=tensors)) for v in body)
    if tag == "__record__":
        fields = decode(body, tensors=tensors)
        if not isinstance(fields, dict):
            raise TypeError(f"a record's fields are not a mapping but {type(fields).__name__}")
        return types.SimpleNamespace(**{str(k): v for k, v in fields.items()})
    if tag == "__array__":
        return _decode_array(body, tensors)
    return dict(data)  # __raised__, __unsupported__ and other reports stay as they are


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def _decode_array(body: dict, tensors: bool) -> object:
    import numpy

    flat = [decode(v) if isinstance(v, dict) else v for v in body["data"]]
    dtype = "object" if body["dtype"] == "object" else body["dtype"]
    array = numpy.array(flat, dtype=dtype).reshape(body["shape"])
    if tensors and body["kind"] == "torch":
        import torch

        return torch.from_numpy(array.copy())
    return array
