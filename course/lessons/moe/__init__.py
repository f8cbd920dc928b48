"""Lesson 03, Mixture of Experts: ``layer`` (§1-2, the layer, routing statistics, compute per token),
``training`` (§3, routing you can see), ``latency`` (§4, compute per token, measured), ``plots`` (§2-4).

``course.lessons.moe.MoELayer`` and ``Expert`` name the reference layer; they load ``layer`` (and torch)
only when asked for.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name in {"Expert", "MoELayer"}:
        from course.lessons.moe import layer

        return getattr(layer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
