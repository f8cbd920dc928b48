"""Compute per token, measured: a tiny Mixtral against two dense Mistral twins.

Lesson 03 §5 (Compute per token, measured).

Mixtral is Mistral with its feed-forward network replaced by experts, so the
fair comparison is the same architecture with a dense feed-forward network
that is either as large as the experts one token uses (same *active* size) or
as large as all experts together (same *total* size).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import torch

from course.languages import say
from course.models.tiny import build_tiny, model_class, tiny_config, tiny_config_dict
from course.runtime import single_thread
from course.timing import Timing, measure


@dataclass(frozen=True)
class Contender:
    """One model in the latency race: the course model whose class it uses, and its size overrides."""

    label: str
    name: str
    overrides: dict[str, Any]

    def config(self) -> dict[str, Any]:
        return tiny_config_dict(self.name, **self.overrides)

    @cached_property
    def _counts(self) -> tuple[int, int, int]:
        """Total, active and embedding parameters, counted on the model itself (built on the meta device: shapes
        only, no memory, no random numbers drawn)."""
        with torch.device("meta"):
            model = model_class(self.name)(tiny_config(self.name, **self.overrides))
        total = sum(p.numel() for p in model.parameters())
        config = model.config
        experts, top_k = getattr(config, "num_local_experts", 0), getattr(config, "num_experts_per_tok", 0)
        unused = 0
        for module in model.modules():
            if experts and type(module).__name__.endswith("Experts"):  # one layer's experts, fused in 3D tensors
                per_expert = sum(p.numel() for p in module.parameters()) // experts
                unused += (experts - top_k) * per_expert
        embeddings = model.get_input_embeddings().weight.numel()
        return total, total - unused, embeddings

    @property
    def total(self) -> int:
        return self._counts[0]

    @property
    def active(self) -> int:
        """The parameters one token uses: all but the experts the router does not pick for it."""
        return self._counts[1]

    @property
    def flops_per_token(self) -> int:
        """2 x the active weights one token multiplies (the embedding lookup is a copy, not a product)."""
        total, active, embeddings = self._counts
        return 2 * (active - embeddings)

    def build(self):
        return build_tiny(self.name, **self.overrides)


def contenders(
    hidden_size: int = 256,
    intermediate_size: int = 512,
    num_experts: int = 8,
    top_k: int = 2,
    layers: int = 2,
) -> list[Contender]:
    """The MoE model and its dense twins with the same active and the same total feed-forward size."""
    if not 1 <= top_k <= num_experts:
        raise ValueError(f"top_k must be between 1 and num_experts ({num_experts}); got {top_k}.")
    head_dim = 32
    if hidden_size % (4 * head_dim):
        raise ValueError(f"hidden_size must be a multiple of {4 * head_dim} (heads of {head_dim}, GQA ratio 4).")
    shared = dict(
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        head_dim=head_dim,
        num_attention_heads=hidden_size // head_dim,
        num_key_value_heads=hidden_size // head_dim // 4,
    )
    return [
        Contender(
            say("moe.contender_moe", experts=num_experts, k=top_k),
            "mixtral-8x7b",
            dict(shared, intermediate_size=intermediate_size, num_local_experts=num_experts, num_experts_per_tok=top_k),
        ),
        Contender(
            say("moe.contender_same_active"), "mistral-7b", dict(shared, intermediate_size=top_k * intermediate_size)
        ),
        Contender(
            say("moe.contender_same_total"),
            "mistral-7b",
            dict(shared, intermediate_size=num_experts * intermediate_size),
        ),
    ]


def time_forward(model, input_ids: torch.Tensor, repeats: int = 5, warmup: int = 1) -> Timing:
    """Seconds for one forward pass over ``input_ids`` (no KV cache), on one CPU thread or the GPU."""
    ids = input_ids.to(next(model.parameters()).device)
    cuda = ids.is_cuda

    def step() -> None:
        model(input_ids=ids, use_cache=False)
        if cuda:
            torch.cuda.synchronize()

    with single_thread(), torch.inference_mode():
        return measure(step, repeats=repeats, warmup=warmup)
