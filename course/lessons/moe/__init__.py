"""Lesson 03, Mixture of Experts: ``layer`` (§1, §3-4: the expert, the transformers blocks, routing statistics,
compute per token), ``serving`` (§3-4, what a decode step reads), ``training`` (§4, routing you can see),
``latency`` (§5, compute per token, measured), ``plots`` (§2-5).

``course.lessons.moe.Expert`` names the expert FFN; it loads ``layer`` (and torch) only when asked for. The
router and the MoE layer are the student's exercises: their references are the grader's (``course.references``).
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "Expert":
        from course.lessons.moe import layer

        return getattr(layer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
