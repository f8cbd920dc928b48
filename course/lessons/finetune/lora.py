"""LoRA from scratch: a linear layer with a frozen weight and a trainable low-rank update.

Lesson 05 §3 (LoRA from scratch) and §7 (trainable parameters).

``LoRALinear(base, r, alpha)`` computes ``base(x) + (alpha / r) * x A^T B^T`` where
``A`` is ``r x in_features`` (random) and ``B`` is ``out_features x r`` (zeros), so the
wrapped layer starts out exactly equal to ``base``. Only ``A`` and ``B`` train;
``merge()`` folds the update into one ordinary ``nn.Linear`` with weight
``W + (alpha / r) B A``, so inference costs nothing extra.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable rank-``r`` update scaled by ``alpha / r``."""

    def __init__(self, base: nn.Linear, r: int, alpha: float | None = None) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRALinear wraps an nn.Linear, not {type(base).__name__}.")
        if not 1 <= r <= min(base.in_features, base.out_features):
            raise ValueError(
                f"rank r={r} must be between 1 and min(in_features, out_features) = "
                f"{min(base.in_features, base.out_features)}."
            )
        self.base = base
        for parameter in self.base.parameters():
            parameter.requires_grad_(False)
        self.r = r
        self.alpha = float(r if alpha is None else alpha)
        self.scaling = self.alpha / r
        weight = base.weight
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features, dtype=weight.dtype, device=weight.device))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, dtype=weight.dtype, device=weight.device))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scaling * ((x @ self.lora_A.T) @ self.lora_B.T)

    def delta_weight(self) -> torch.Tensor:
        """The update ``(alpha / r) B A`` that LoRA adds to the frozen weight."""
        return self.scaling * (self.lora_B @ self.lora_A)

    @torch.no_grad()
    def merge(self) -> nn.Linear:
        """A plain ``nn.Linear`` whose weight is ``W + (alpha / r) B A``: same outputs, no extra cost."""
        merged = nn.Linear(
            self.base.in_features,
            self.base.out_features,
            bias=self.base.bias is not None,
            dtype=self.base.weight.dtype,
            device=self.base.weight.device,
        )
        merged.weight.copy_(self.base.weight + self.delta_weight())
        if self.base.bias is not None:
            merged.bias.copy_(self.base.bias)
        return merged


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
