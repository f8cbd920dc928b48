"""Lesson 03, Mixture of Experts: ``layer`` (§1-2, the layer, routing statistics, compute per token),
``training`` (§3, routing you can see), ``latency`` (§4, compute per token, measured), ``plots`` (§2-4).

``course.lessons.moe.Expert`` names the expert FFN; it loads ``layer`` (and torch) only when asked for. The
router and the MoE layer are the student's exercises: their references are the grader's (``course.references``).
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "Expert":
        from course.lessons.moe import layer

        return getattr(layer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
