"""Drivers for lesson 03's graded exercises (``course.grading.drivers``): they build and run the code under test
the same way on the student's side and on the grader's, and hand back plain data. They hold no expected value."""

from __future__ import annotations

import torch


def moe_layer(target, case: dict) -> dict:
    """Build ``target(hidden_size, intermediate_size, num_experts, top_k)`` (the exercise's ``MyMoELayer``), copy
    the case's weights into its parameters by the names the exercise prescribes (``router.weight``,
    ``experts.N.gate_proj.weight``, ``experts.N.up_proj.weight``, ``experts.N.down_proj.weight``), run it on the
    case's input and report its output and which experts ran (experts no token chose must not run)."""
    hidden, intermediate, experts, top_k = case["sizes"]
    layer = target(hidden, intermediate, experts, top_k)
    parameters = dict(layer.named_parameters())
    with torch.no_grad():
        for name, value in case["weights"].items():
            if name not in parameters:
                raise KeyError(f"the layer has no parameter {name!r}")
            parameters[name].copy_(value)
    ran: list[int] = []
    hooks = [
        expert.register_forward_hook(lambda _m, _i, _o, n=n: ran.append(n)) for n, expert in enumerate(layer.experts)
    ]
    try:
        with torch.no_grad():
            output = layer(case["x"])
    finally:
        for hook in hooks:
            hook.remove()
    if not isinstance(output, torch.Tensor):
        return {"output": output, "experts_run": sorted(set(ran))}
    return {"output": output.detach().float(), "experts_run": sorted(set(ran))}
