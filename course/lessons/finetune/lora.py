"""LoRA's arithmetic: trainable parameters of a module, and what rank-r adapters add to linear layers.

Lesson 05 §3 (LoRA from scratch) and §7 (trainable parameters). The LoRA layer itself
(``base(x) + (alpha / r) * x A^T B^T``, merged into ``W + (alpha / r) B A``) is lesson 05's exercise 2, the
student's ``MyLoRALinear``; the lesson uses the student's class.
"""

from __future__ import annotations

from torch import nn


def trainable_parameters(module: nn.Module) -> int:
    """How many parameters of ``module`` will be updated by training (``requires_grad``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def lora_parameter_count(shapes: list[tuple[int, int]], r: int) -> int:
    """Trainable parameters of rank-``r`` LoRA on linear layers of ``(in_features, out_features)`` shapes.

    Each layer gets ``A`` (``r x in``) and ``B`` (``out x r``): ``r * (in + out)`` parameters.
    """
    if r < 1:
        raise ValueError("The LoRA rank r must be at least 1.")
    for shape in shapes:
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"Each shape must be (in_features, out_features) with positive sizes, not {shape}.")
    return sum(r * (d_in + d_out) for d_in, d_out in shapes)
