"""How the grader exercises lesson 05's LoRA layer: the same way on the student's class and on the reference.

A case holds plain data only: the base layer's weights when the layer is built (``weight_at_build``,
``bias_at_build``) and the ones loaded into it afterwards (``weight``, ``bias``; the biases None for a layer
without one), ``r``, ``alpha``, the values ``A`` and ``B`` of the new ``lora_A`` and ``lora_B``, and an input ``x``.
"""

from __future__ import annotations

import functools


@functools.cache
def _linear_map_class():
    import torch
    from torch import nn

    class LinearMap(nn.Module):
        """The grader's base layer: a linear map ``x W^T + b`` with ``nn.Linear``'s attributes (``in_features``,
        ``out_features``, ``weight`` of shape ``out x in``, ``bias`` of shape ``out`` or None) that is not an
        ``nn.Linear``. A LoRA layer written from the formula works on any such layer; one that hands the work to a
        library's LoRA layer meets a layer type the library was not written for."""

        def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
            super().__init__()
            self.out_features, self.in_features = weight.shape
            self.weight = nn.Parameter(weight.detach().clone())
            self.bias = None if bias is None else nn.Parameter(bias.detach().clone())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = x @ self.weight.T
            return out if self.bias is None else out + self.bias

    return LinearMap


def lora_layer(target, case: dict) -> dict:
    """Build ``target(base, r=r, alpha=alpha)`` around a base layer that is a linear map but no ``nn.Linear``
    (see ``_linear_map_class``), and observe what the exercise asks: the layer starts equal to its base, A is
    random and B zero with the right shapes, and only A and B train. Then, as loading a checkpoint into a model
    built earlier does, it copies new weights into the base and replaces ``lora_A`` and ``lora_B`` by new
    ``nn.Parameter``s, and observes the forward pass, where gradients flow, the weight and bias that ``merge()``
    stores in its ``nn.Linear`` (not what the returned object computes: a subclass could compute anything), and
    that merging left the base's weights as they were.

    So the layer must compute from its base, ``lora_A`` and ``lora_B`` as they are when it is called: a layer
    that copied them at construction (into a library's LoRA layer, say) computes with stale weights."""
    import torch
    from torch import nn

    def floats(value):
        return None if value is None else value.float()

    weight, bias, x = case["weight"].float(), floats(case["bias"]), case["x"].float()
    base = _linear_map_class()(case["weight_at_build"].float(), floats(case["bias_at_build"]))
    with torch.no_grad():
        built_out = base(x)
    layer = target(base, r=case["r"], alpha=case["alpha"])
    seen: dict[str, object] = {}
    with torch.no_grad():
        seen["starts_equal_to_base"] = bool(torch.allclose(layer(x), built_out, rtol=1e-5, atol=1e-6))
    seen["base_kept"] = layer.base is base
    seen["A_shape"] = list(layer.lora_A.shape)
    seen["B_shape"] = list(layer.lora_B.shape)
    seen["A_random"] = bool(torch.count_nonzero(layer.lora_A.detach()) > 0)
    seen["B_zero"] = bool(torch.count_nonzero(layer.lora_B.detach()) == 0)
    seen["trainable"] = sum(p.numel() for p in layer.parameters() if p.requires_grad)
    with torch.no_grad():
        base.weight.copy_(weight)
        if bias is not None:
            base.bias.copy_(bias)
    lora_A, lora_B = nn.Parameter(case["A"].float().clone()), nn.Parameter(case["B"].float().clone())
    layer.lora_A, layer.lora_B = lora_A, lora_B
    out = layer(x)
    seen["forward"] = out.detach().clone()
    out.sum().backward()
    seen["grads"] = {
        "base_weight": base.weight.grad is not None,
        "base_bias": base.bias is not None and base.bias.grad is not None,
        "A": None if lora_A.grad is None else lora_A.grad.detach().clone(),
        "B": None if lora_B.grad is None else lora_B.grad.detach().clone(),
    }
    merged = layer.merge()
    seen["merged_is_linear"] = isinstance(merged, nn.Linear)
    seen["merged_weight"], seen["merged_bias"] = _stored_weights(merged)
    seen["base_unchanged_by_merge"] = bool(torch.equal(base.weight.detach(), weight)) and (
        bias is None or bool(torch.equal(base.bias.detach(), bias))
    )
    return seen


def _stored_weights(layer: object) -> tuple[object, object]:
    """(weight, bias) as an ``nn.Linear`` stores them (None for a missing bias, or for an object that is no
    ``nn.Linear``), read from its parameter table as ``nn.Module`` itself reads it: a subclass's ``forward``,
    properties or ``__getattr__`` take no part, so a merge is checked by the weights it holds."""
    from torch import nn

    if not isinstance(layer, nn.Linear):
        return None, None
    table = object.__getattribute__(layer, "__dict__").get("_parameters")
    if not isinstance(table, dict):
        return None, None
    weight, bias = dict.get(table, "weight"), dict.get(table, "bias")
    return _plain(weight), _plain(bias)


def _plain(value: object) -> object:
    """A stored tensor's values as a plain tensor; None for anything else."""
    import torch

    return torch.Tensor.detach(value).clone() if isinstance(value, torch.Tensor) else None
