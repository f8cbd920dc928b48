"""How the grader exercises lesson 05's LoRA layer: the same way on the student's class and on the reference.

A case holds plain data only: the base layer's ``weight`` and ``bias`` (or None), ``r``, ``alpha``, the values
``A`` and ``B`` to put into ``lora_A`` and ``lora_B`` once the layer is built, and an input ``x``.
"""

from __future__ import annotations


def lora_layer(target, case: dict) -> dict:
    """Build ``target(base, r=r, alpha=alpha)`` around an ``nn.Linear`` holding the case's weights, and observe
    what the exercise asks: it starts equal to the base layer, A is random and B zero with the right shapes, only
    A and B train, the forward pass and the merged layer with given A and B, and where gradients flow."""
    import torch
    from torch import nn

    weight, bias, x = case["weight"].float(), case["bias"], case["x"].float()
    base = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        base.weight.copy_(weight)
        if bias is not None:
            base.bias.copy_(bias.float())
        base_out = base(x)
    layer = target(base, r=case["r"], alpha=case["alpha"])
    seen: dict[str, object] = {}
    with torch.no_grad():
        seen["starts_equal_to_base"] = bool(torch.allclose(layer(x), base_out, rtol=1e-5, atol=1e-6))
    seen["base_kept"] = layer.base is base
    seen["A_shape"] = list(layer.lora_A.shape)
    seen["B_shape"] = list(layer.lora_B.shape)
    seen["A_random"] = bool(torch.count_nonzero(layer.lora_A.detach()) > 0)
    seen["B_zero"] = bool(torch.count_nonzero(layer.lora_B.detach()) == 0)
    seen["trainable"] = sum(p.numel() for p in layer.parameters() if p.requires_grad)
    with torch.no_grad():
        layer.lora_A.copy_(case["A"].float())
        layer.lora_B.copy_(case["B"].float())
    out = layer(x)
    seen["forward"] = out.detach().clone()
    out.sum().backward()
    seen["grads"] = {
        "base_weight": base.weight.grad is not None,
        "base_bias": bias is not None and base.bias.grad is not None,
        "A": None if layer.lora_A.grad is None else layer.lora_A.grad.detach().clone(),
        "B": None if layer.lora_B.grad is None else layer.lora_B.grad.detach().clone(),
    }
    merged = layer.merge()
    seen["merged_is_linear"] = isinstance(merged, nn.Linear)
    seen["merged_has_bias"] = getattr(merged, "bias", None) is not None
    with torch.no_grad():
        seen["merged"] = merged(x).detach().clone()
    return seen
