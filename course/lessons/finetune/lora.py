"""LoRA's arithmetic: the trainable parameters of a module.

Lesson 05 §3 (LoRA from scratch) and §7 (trainable parameters). What rank-r adapters add to a linear layer,
``r * (in + out)``, is lesson 05's exercise 1 (``course.references.finetune``). The LoRA layer itself
(``base(x) + (alpha / r) * x A^T B^T``, merged into ``W + (alpha / r) B A``) is lesson 05's exercise 2, the
student's ``MyLoRALinear``; the lesson uses the student's class.
"""

from __future__ import annotations

from torch import nn


def trainable_parameters(module: nn.Module) -> int:
    """How many parameters of ``module`` will be updated by training (``requires_grad``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
