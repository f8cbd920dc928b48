"""Mixture of Experts (lesson 03): the expert FFN, how an MoE layer maps onto transformers, routing statistics.

Lesson 03 §1 (From one feed-forward network to many experts), §3 (compute per token) and §4 (routing statistics).

The router and the layer are the student's exercises (``top_k_router``, ``MyMoELayer``); their references live
with the grader, in ``course.references.moe``. A layer keeps one small SwiGLU feed-forward network per expert
(``Expert``), as the original Mixtral checkpoints did. transformers 5 stores the experts of a layer fused into two
3D tensors (``gate_up_proj``: experts x 2*intermediate x hidden, ``down_proj``: experts x hidden x intermediate);
``to_transformers_block`` copies a layer's weights into that layout so both can be compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from course.models.configs import _course_config
from course.models.params import count_parameters


class Expert(nn.Module):
    """One expert: the gated (SwiGLU) feed-forward network of Mistral and Phi, without biases."""

    def __init__(self, hidden_size: int, intermediate_size: int):
        super().__init__()
        self.gate_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.up_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.down_proj = nn.Linear(intermediate_size, hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


ARCHITECTURES = ("mixtral", "phimoe")


class MoELayerLike(Protocol):
    """What :func:`to_transformers_block` reads of a layer: the lesson's ``MyMoELayer`` has it."""

    router: nn.Linear
    experts: Iterable[Any]  # Expert-like modules: gate_proj, up_proj, down_proj
    top_k: int


def to_transformers_block(layer: MoELayerLike, architecture: str = "mixtral") -> nn.Module:
    """The transformers sparse MoE block of ``architecture`` with the weights of ``layer``, in eval mode.

    ``layer`` needs what the lesson's ``MyMoELayer`` has: ``router`` (a bias-free ``nn.Linear``), ``experts``
    (``Expert`` modules) and ``top_k``. The per-expert matrices are stacked into the fused
    3D tensors transformers uses: gate and up projections concatenated, then one
    ``down_proj`` per expert. ``"mixtral"`` routes like Mixtral (softmax, top-k, renormalise); ``"phimoe"``
    (Phi-3.5-MoE) picks its two experts with "sparsemixer", which weighs them differently.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {architecture!r}; choose one of: {', '.join(ARCHITECTURES)}.")
    try:
        router, experts, top_k = layer.router.weight, list(layer.experts), layer.top_k
        gate_up = torch.stack([torch.cat([e.gate_proj.weight, e.up_proj.weight]) for e in experts])
        down = torch.stack([e.down_proj.weight for e in experts])
    except AttributeError as err:
        raise TypeError(
            "The layer must look like the lesson's MyMoELayer: .router (nn.Linear), "
            f".experts (Expert modules with gate_proj, up_proj, down_proj) and .top_k ({err})."
        ) from None
    if architecture == "phimoe" and top_k != 2:
        raise ValueError(f"Phi-3.5-MoE's sparsemixer always picks 2 experts; this layer has top_k={top_k}.")
    num_experts, hidden = router.shape
    sizes: dict[str, Any] = dict(
        hidden_size=hidden,
        intermediate_size=down.shape[-1],
        num_local_experts=num_experts,
        num_experts_per_tok=top_k,
        experts_implementation="eager",  # the plain loop over experts, as in the reference layer
    )
    if architecture == "mixtral":
        from transformers import MixtralConfig
        from transformers.models.mixtral.modeling_mixtral import MixtralSparseMoeBlock

        mixtral = MixtralSparseMoeBlock(MixtralConfig(router_jitter_noise=0.0, **sizes))
        block: nn.Module = mixtral.to(device=router.device, dtype=router.dtype)
        weights: tuple[torch.Tensor, ...] = (
            mixtral.gate.weight,
            mixtral.experts.gate_up_proj,
            mixtral.experts.down_proj,
        )
    else:
        from transformers import PhimoeConfig
        from transformers.models.phimoe.modeling_phimoe import PhimoeSparseMoeBlock

        phimoe = PhimoeSparseMoeBlock(PhimoeConfig(**sizes))
        block = phimoe.to(device=router.device, dtype=router.dtype)
        weights = (phimoe.router.weight, phimoe.experts.gate_up_proj, phimoe.experts.down_proj)
    with torch.no_grad():
        for weight, value in zip(weights, (router, gate_up, down), strict=True):
            weight.copy_(value)
    return block.eval()


# ---------------------------------------------------------------- routing statistics


def expert_load(indices: torch.Tensor, num_experts: int) -> torch.Tensor:
    """Share of all routing slots (tokens x top-k) that each expert received; sums to one."""
    counts = torch.bincount(indices.reshape(-1).cpu(), minlength=num_experts).float()
    if counts.numel() != num_experts:
        raise ValueError(f"indices refer to expert {counts.numel() - 1}, but there are only {num_experts} experts.")
    return counts / counts.sum()


def imbalance(load: torch.Tensor) -> float:
    """The busiest expert's load divided by a fair share (1 / experts): 1.0 is perfectly even."""
    return float(load.max() * load.numel())


def routing_table(weights: torch.Tensor, indices: torch.Tensor, num_experts: int) -> torch.Tensor:
    """A ``(tokens, experts)`` matrix: each token's routing weight on its chosen experts, zero elsewhere."""
    table = torch.zeros(indices.shape[0], num_experts, dtype=torch.float32)
    return table.scatter(1, indices.cpu(), weights.detach().float().cpu())


def _routers(model: nn.Module) -> list[nn.Module]:
    routers = [m for m in model.modules() if type(m).__name__.endswith("TopKRouter")]
    if not routers:
        raise ValueError(f"{type(model).__name__} has no MoE router (a *TopKRouter module); pass an MoE model.")
    return routers


@torch.no_grad()
def capture_routing(model: nn.Module, input_ids: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Run ``model`` once in eval mode and return, per MoE layer, the ``(weights, indices)`` its router chose.

    Works for the transformers Mixtral and PhiMoE models: their routers return
    ``(logits, weights, indices)``, recorded here with forward hooks.
    """
    captured: list[tuple[torch.Tensor, torch.Tensor]] = []

    def record(_module: nn.Module, _inputs: tuple, out: tuple) -> None:
        captured.append((out[1], out[2]))

    hooks = [router.register_forward_hook(record) for router in _routers(model)]
    was_training = model.training
    model.eval()
    try:
        model(input_ids=input_ids.to(next(model.parameters()).device))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return captured


# ---------------------------------------------------------------- parameters and compute


def forward_flops_per_token(name: str) -> int:
    """Multiply-add FLOPs of one token's forward pass through course model ``name``: 2 x the active weights it
    multiplies.

    The embedding lookup is a copy, not a product, so it is left out; so are the
    attention scores, which grow with the context rather than with the weights. The counts are the course's
    (``count_parameters``: shipped in ``course/models/configs/sizes.json``, computed from the real configs).
    """
    _course_config(name, "forward_flops_per_token")  # a course model name, or an error that names this function
    count = count_parameters(name)
    return 2 * (count.active - count.by_part["embeddings"])
