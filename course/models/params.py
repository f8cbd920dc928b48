"""Parameter counts of the course's models, part by part, shipped as data.

The numbers live in ``course/models/configs/sizes.json``: ``python -m tools.model_sizes`` computes them from the real
configs with the grader's arithmetic (``course.references.sizes``, which follows the transformers implementations of
Llama, Mistral, Phi-3, Mixtral, PhiMoE and Mllama), and the tests check them, number for number, against models
built from the real transformers classes. Nothing here counts from a config: lesson 02 asks students to write that
arithmetic, so the functions take course model names only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from course.models.configs import _course_config, text_config


@dataclass(frozen=True)
class ParameterCount:
    """Total parameters, those used for one token (they differ for MoE), and a breakdown by part."""

    total: int
    active: int
    by_part: dict[str, int] = field(default_factory=dict)

    @property
    def is_sparse(self) -> bool:
        return self.active < self.total


@cache
def _all_sizes() -> dict[str, Any]:
    text = resources.files("course.models.configs").joinpath("sizes.json").read_text(encoding="utf-8")
    return json.loads(text)


def _course_sizes(name: Any, function: str) -> dict[str, Any]:
    """The sizes.json entry of course model ``name`` for ``function``, which takes course model names only."""
    _course_config(name, function)  # the same check and message as every function that takes a course model name
    return _all_sizes()[name]


def count_parameters(name: str) -> ParameterCount:
    """Count the parameters of a course model, by its name (see ``MODEL_NAMES``), part by part.

    It takes names only: lesson 02's Exercise 1 asks for this arithmetic on config.json values. To count a config of
    your own, write the arithmetic, or build the model and add up ``p.numel()`` over its parameters.
    """
    sizes = _course_sizes(name, "count_parameters")
    return ParameterCount(total=sizes["total"], active=sizes["active"], by_part=dict(sizes["by_part"]))


def non_embedding_parameters(name: str) -> int:
    """Parameters of course model ``name`` outside the token embeddings and the output head (what scales with depth
    and width)."""
    sizes = _course_sizes(name, "non_embedding_parameters")
    return sizes["total"] - sizes["by_part"]["embeddings"] - sizes["by_part"].get("lm_head", 0)


__all__ = ["ParameterCount", "count_parameters", "non_embedding_parameters", "text_config"]
