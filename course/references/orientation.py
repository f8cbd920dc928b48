"""Lesson 00, orientation: the exercise that shows how exercises are graded (parameters of a linear layer)."""

from __future__ import annotations

import random

from course.grading.exercise import Exercise, call


def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of ``torch.nn.Linear(in_features, out_features, bias)``, counted by torch itself (on the meta
    device: no memory is allocated, so real model sizes are cheap)."""
    import torch

    with torch.device("meta"):
        layer = torch.nn.Linear(in_features, out_features, bias=bias)
    return sum(p.numel() for p in layer.parameters())


def _linear_cases(rng: random.Random) -> list[dict]:
    sizes = [1, 2, 3, 7, 64, 512, 768, 4096, 5120, 14336, 32000, 131072]
    cases = []
    for _ in range(12):
        bias = rng.random() < 0.5
        cases.append(
            call(rng.choice(sizes + [rng.randint(1, 9999)]), rng.choice(sizes + [rng.randint(1, 9999)]), bias=bias)
        )
    cases.append(call(rng.randint(1, 50), rng.randint(1, 50)))  # bias left at its default
    return cases


# ---------------------------------------------------------------- the visible tests of the test cells

_LINEAR_PARAMETERS_TESTS = r"""
assert linear_parameters(3, 2) == 8, "3 inputs x 2 outputs = 6 weights, plus 2 biases"
assert linear_parameters(3, 2, bias=False) == 6, "without bias, only the 6 weights count"
"""


EXERCISES = [
    Exercise(
        grade_id="test-linear-parameters",
        target="linear_parameters",
        points=2,
        about="calls your function on inputs it draws itself, and compares with PyTorch.",
        tests=_LINEAR_PARAMETERS_TESTS,
        reference=linear_parameters,
        cases=_linear_cases,
        edge_cases=[call(1, 1, bias=True), call(1, 1, bias=False), call(3, 2), call(4096, 14336, bias=False)],
    ),
]
