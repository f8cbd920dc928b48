"""Lesson 05 §1 (what full fine-tuning costs), §5 (the full-FT vs LoRA table) and §7 (adapters on disk): the
memory that training needs, full or LoRA, computed from a real config or a tiny model's counts, and the size of a
saved model or adapter.

How many parameters LoRA trains on a Phi-3 model is lesson 05's exercise 1: the lesson counts with the
student's ``phi3_lora_parameters`` and hands the count to :func:`training_memory`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Mixed-precision AdamW keeps, for every trainable parameter, an fp32 master copy and two fp32 moments.
OPTIMIZER_BYTES_PER_TRAINABLE = 4 + 4 + 4


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes that training needs, by kind."""

    weights: int
    gradients: int
    optimizer: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations

    def as_dict(self) -> dict[str, int]:
        return {
            "weights": self.weights,
            "gradients": self.gradients,
            "optimizer states": self.optimizer,
            "activations": self.activations,
        }


def activation_bytes(config: dict, batch: int, sequence: int) -> int:
    """A rough size of the activations kept for the backward pass, in 16-bit, without recomputation.

    Uses the per-layer estimate ``s b h (34 + 5 a s / h)`` bytes of Korthikanti et al. (2022),
    "Reducing Activation Recomputation in Large Transformer Models" (s: tokens, b: batch,
    h: hidden size, a: attention heads). LoRA needs these too: gradients must flow back
    through the frozen layers to reach the adapters.
    """
    if batch < 1 or sequence < 1:
        raise ValueError("batch and sequence must be at least 1.")
    h, a = config["hidden_size"], config["num_attention_heads"]
    per_layer = sequence * batch * h * (34 + 5 * a * sequence / h)
    return math.ceil(config["num_hidden_layers"] * per_layer)


def training_memory(
    total_params: int, trainable_params: int, precision: str = "bf16", activations: int = 0
) -> TrainingMemory:
    """Memory to train a model of ``total_params`` of which ``trainable_params`` are updated.

    Every weight is held at ``precision``; only trainable ones need a gradient (same
    precision) and AdamW states (:data:`OPTIMIZER_BYTES_PER_TRAINABLE` bytes each).
    """
    from course.models.memory import weight_bytes

    if not 0 <= trainable_params <= total_params:
        raise ValueError("trainable_params must be between 0 and total_params.")
    return TrainingMemory(
        weights=weight_bytes(total_params, precision),
        gradients=weight_bytes(trainable_params, precision),
        optimizer=trainable_params * OPTIMIZER_BYTES_PER_TRAINABLE,
        activations=activations,
    )


# Plain fp32 AdamW (how the course trains its tiny models) keeps two fp32 moments per trainable parameter.
FP32_ADAM_MOMENT_BYTES = 4 + 4


def fp32_training_bytes(total_params: int, trainable_params: int) -> int:
    """Memory to train an fp32 model with plain AdamW, before activations, computed (not measured): 4 bytes per
    weight, and per trainable parameter a 4-byte gradient and :data:`FP32_ADAM_MOMENT_BYTES` of moments."""
    if not 0 <= trainable_params <= total_params:
        raise ValueError("trainable_params must be between 0 and total_params.")
    return 4 * total_params + (4 + FP32_ADAM_MOMENT_BYTES) * trainable_params


def folder_bytes(path) -> int:
    """Total size of the files under ``path`` (a saved model or adapter)."""
    from pathlib import Path

    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
