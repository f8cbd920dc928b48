"""What it costs to serve a Mixture-of-Experts model: memory for every weight, bandwidth for the weights a decode
step reads.

Lesson 03 §3 (Serving an MoE) and §4 (the tiny model's routing, measured). Generating a token reads, once,
every weight the step uses (the bound itself is ``course.models.bandwidth``). At batch 1 that is the shared weights
and the ``k`` experts the token picks in each layer: the *active* weights. With ``B`` sequences decoded together,
each layer runs every expert that at least one of the ``B`` tokens picked, so a step reads more of the experts as
``B`` grows, up to the whole model; memory must hold the whole model at any batch size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Accelerator:
    """A device to serve on, with the two numbers that matter here, as its datasheet gives them (GB = 10^9 bytes)."""

    name: str
    memory_gb: float
    bandwidth_gb_s: float
    source: str


#: One GPU that holds either course MoE model in bf16 (Mixtral 8x7B's weights are about 93 GB).
H200 = Accelerator(
    name="NVIDIA H200 SXM",
    memory_gb=141.0,
    bandwidth_gb_s=4800.0,
    source="NVIDIA H200 Tensor Core GPU datasheet: 141 GB of HBM3e memory, 4.8 TB/s of memory bandwidth",
)


def _check_routing(num_experts: int, top_k: int, batch: int) -> None:
    if not 1 <= top_k <= num_experts:
        raise ValueError(f"top_k must be between 1 and num_experts ({num_experts}); got {top_k}.")
    if batch < 1:
        raise ValueError(f"batch must be at least 1 token per decode step; got {batch}.")


def expected_experts_hit(num_experts: int, top_k: int, batch: int) -> float:
    """Expected number of distinct experts one layer runs in a decode step of ``batch`` tokens, if each token picks
    ``top_k`` of ``num_experts`` experts uniformly at random: ``E * (1 - (1 - k/E) ** B)``.

    A token leaves a given expert out with probability ``1 - k/E``; ``B`` independent tokens all leave it out with
    probability ``(1 - k/E) ** B``. Real routers are neither uniform nor independent (similar tokens pick the same
    experts, and some experts are busier than others), so they hit fewer experts than this: read it as the upper
    end of what a batch reads.
    """
    _check_routing(num_experts, top_k, batch)
    return num_experts * (1 - (1 - top_k / num_experts) ** batch)


def experts_hit(indices: torch.Tensor, num_experts: int, batch: int, samples: int = 200, seed: int = 0) -> float:
    """Measured: the mean number of distinct experts among the choices ``indices`` (tokens x k, one layer's routing)
    of ``batch`` tokens drawn at random (without replacement), over ``samples`` draws."""
    tokens, top_k = indices.shape
    _check_routing(num_experts, top_k, batch)
    if batch > tokens:
        raise ValueError(f"batch ({batch}) cannot exceed the number of routed tokens ({tokens}).")
    generator = torch.Generator().manual_seed(seed)
    hits = 0
    for _ in range(samples):
        rows = torch.randperm(tokens, generator=generator)[:batch]
        hits += indices[rows].cpu().unique().numel()
    return hits / samples


def parameters_read_per_step(shared: float, per_expert: float, num_experts: int, top_k: int, batch: int) -> float:
    """Parameters one decode step of ``batch`` tokens reads from memory (expected, uniform routing): the shared
    weights once, and each expert every layer is expected to run (``per_expert``: one expert's weights summed over
    all layers). At batch 1 this is the active parameters; for large batches it approaches the total."""
    return shared + expected_experts_hit(num_experts, top_k, batch) * per_expert
