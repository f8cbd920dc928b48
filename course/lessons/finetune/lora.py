"""LoRA on a whole model, with the LoRA layer the student writes: adapters in, off, merged, and counted.

Lesson 05 §3 (LoRA from scratch), §6 (LoRA on the tiny Phi-3 with the student's class), §7 (adapter off) and §9
(merging). What rank-r adapters add to a linear layer, ``r * (in + out)``, is lesson 05's exercise 1, and the LoRA
layer itself (``base(x) + (alpha / r) * x A^T B^T``, merged into ``W + (alpha / r) B A``) is exercise 2, the
student's ``MyLoRALinear``: these functions take that class as an argument and never build a layer of their own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from torch import nn


def trainable_parameters(module: nn.Module) -> int:
    """How many parameters of ``module`` will be updated by training (``requires_grad``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def add_adapters(model: nn.Module, layer_class: type, targets: Sequence[str], r: int, alpha: float) -> int:
    """Freeze every weight of ``model``, then replace each ``nn.Linear`` whose name ends with one of ``targets``
    by ``layer_class(linear, r=r, alpha=alpha)`` (a LoRA layer). Returns how many layers were adapted."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    chosen = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and name.rsplit(".", 1)[-1] in targets
    ]
    if not chosen:
        raise ValueError(f"No linear layer of the model is named {', '.join(targets)}; check the target names.")
    for name, linear in chosen:
        parent_name, _, child = name.rpartition(".")
        adapter = layer_class(linear, r=r, alpha=alpha).to(linear.weight.device)
        setattr(model.get_submodule(parent_name) if parent_name else model, child, adapter)
    return len(chosen)


def _adapters(model: nn.Module) -> list[nn.Module]:
    return [module for module in model.modules() if hasattr(module, "lora_A") and hasattr(module, "merge")]


@contextlib.contextmanager
def adapters_off(model: nn.Module) -> Iterator[nn.Module]:
    """Inside the block, every LoRA layer of ``model`` adds nothing (its ``scaling`` is 0): the base model."""
    adapters = _adapters(model)
    saved = [adapter.scaling for adapter in adapters]
    try:
        for adapter in adapters:
            # torch types Module.__setattr__ for tensors and modules only; a plain attribute takes any value
            adapter.scaling = 0.0  # type: ignore[assignment]
        yield model
    finally:
        for adapter, scaling in zip(adapters, saved, strict=True):
            adapter.scaling = scaling


def merge_adapters(model: nn.Module) -> int:
    """Replace every LoRA layer of ``model`` by its ``merge()``, a plain ``nn.Linear``; returns how many."""
    adapters = {id(module) for module in _adapters(model)}
    named = [(name, module) for name, module in model.named_modules() if id(module) in adapters]
    for name, adapter in named:
        parent_name, _, child = name.rpartition(".")
        merged = adapter.merge().to(adapter.lora_A.device)
        setattr(model.get_submodule(parent_name) if parent_name else model, child, merged)
    return len(named)


def adapter_state(model: nn.Module) -> dict:
    """Only the adapters' weights (every ``lora_A`` and ``lora_B``): what an adapter file holds."""
    return {name: tensor for name, tensor in model.state_dict().items() if "lora_" in name}
