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
from dataclasses import dataclass
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
            if plain.is_floating_point() and dtype not in ("float32", "float64"):  # bfloat16, float16, float8...
                plain, dtype = plain.float(), "float32"
            elif plain.is_complex() and dtype not in ("complex64", "complex128"):  # complex32
                plain, dtype = plain.to(torch.complex64), "complex64"
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
    tensors and ``tensors`` is true (the grader compares with numpy; a kernel gives the student tensors).

    The data comes from the student's kernel, where anything, the encoder included, can be replaced, so it is
    read as untrusted: any tagged part that is not what :func:`encode` makes (an unknown tag, a malformed body, a
    dtype numpy does not know, a shape that does not fit the data) comes back as ``{"__unsupported__": ...}``, which
    equals nothing, and a key or set member that cannot be hashed as an :class:`Unhashable`. Decoding never
    raises: a value the grader cannot read is a wrong answer for that check, never a crash of the grader."""
    try:
        return _decode(data, tensors)
    except Exception:  # RecursionError and MemoryError included: the whole value is unreadable
        return unreadable()


@dataclass(frozen=True, eq=False)
class Unhashable:
    """A dict key or set member that decodes to something unhashable (an unsupported object, a dict, an array):
    equal only to itself, so never to an expected key."""

    what: str


def unreadable(what: str = "a value the grader could not read") -> dict:
    return {"__unsupported__": what}


_ARRAY_KINDS = "biufcUSO"  # numbers, booleans, strings and objects; never records, dates or unknown dtypes
MAX_ARRAY_BYTES = 1 << 28


def _decode(data: object, tensors: bool) -> object:
    if isinstance(data, list):
        return [_decode(v, tensors) for v in data]
    if not isinstance(data, dict):
        return data  # from JSON text: None, a bool, a number or a string
    [tag] = data if len(data) == 1 else [""]
    if not (isinstance(tag, str) and tag.startswith("__") and tag.endswith("__")) or tag == "__raised__":
        return {key: _decode(value, tensors) for key, value in data.items()}  # a plain JSON object, or a report
    try:
        return _tagged(tag, data[tag], tensors)
    except Exception:  # this part only: the rest of the value is still read
        return unreadable()


def _tagged(tag: str, body: object, tensors: bool) -> object:
    if tag == "__unsupported__":
        return unreadable(body[:200] if isinstance(body, str) else "a value the grader could not read")
    if tag == "__float__":
        return float(_expect(body, str))
    if tag == "__complex__":
        real, imag = (_expect(_decode(v, tensors), int | float) for v in _expect(body, list))
        return complex(real, imag)
    if tag == "__bytes__":
        return base64.b64decode(_expect(body, str), validate=True)
    if tag == "__tuple__":
        return tuple(_decode(v, tensors) for v in _expect(body, list))
    if tag == "__dict__":
        pairs = [_expect(pair, list) for pair in _expect(body, list)]
        return {_hashable(_decode(k, tensors)): _decode(v, tensors) for k, v in pairs}
    if tag == "__set__":
        return frozenset(_hashable(_decode(v, tensors)) for v in _expect(body, list))
    if tag == "__record__":
        fields = _expect(_decode(body, tensors), dict)
        return types.SimpleNamespace(**{str(k): v for k, v in fields.items()})
    if tag == "__array__":
        return _decode_array(_expect(body, dict), tensors)
    raise ValueError(f"unknown tag {tag[:40]!r}")


def _expect(value: Any, kind: Any) -> Any:
    """``value``, when it is of ``kind``; else the data is malformed."""
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise TypeError(f"expected {kind}, got {type(value).__name__}")
    return value


def _hashable(value: object) -> object:
    if isinstance(value, list):
        value = tuple(_hashable(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return Unhashable(type(value).__name__)
    return value


def _decode_array(body: dict, tensors: bool) -> object:
    import numpy

    dtype = numpy.dtype(_expect(body["dtype"], str))
    shape = [_expect(n, int) for n in _expect(body["shape"], list)]
    data = _expect(body["data"], list)
    if dtype.kind not in _ARRAY_KINDS or any(n < 0 for n in shape) or math.prod(shape) != len(data):
        raise ValueError("not an array encode makes")
    if dtype.itemsize * len(data) > MAX_ARRAY_BYTES:
        raise ValueError("too large an array")
    flat = [_decode(v, tensors) if isinstance(v, dict) else v for v in data]
    array = numpy.empty(len(flat), dtype=dtype)  # one element each, whatever the elements are (lists too)
    array[...] = flat if dtype.kind != "O" else _objects(flat)
    array = array.reshape(shape)
    if tensors and body["kind"] == "torch":
        import torch

        return torch.from_numpy(array.copy())
    return array


def _objects(flat: list) -> object:
    import numpy

    array = numpy.empty(len(flat), dtype=object)
    for index, value in enumerate(flat):
        array[index] = value
    return array
