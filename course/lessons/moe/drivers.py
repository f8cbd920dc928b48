"""Drivers for lesson 03's graded exercises (``course.grading.drivers``): they build and run the code under test
the same way on the student's side and on the grader's, and hand back plain data. They hold no expected value."""

from __future__ import annotations

import torch
from torch import nn

from .layer import Expert


class _Tally:
    """The work one expert did: rows through each of its projections, and the sum of the rows it was given."""

    def __init__(self, hidden: int):
        self.rows = {"gate_proj": 0, "up_proj": 0, "down_proj": 0}
        self.inputs = torch.zeros(hidden, dtype=torch.float64)


class _Projection(nn.Linear):
    """One of an expert's projections that tallies the work it does: the rows it multiplies (a 0-row call adds
    nothing) and, for the expert's first projection, the sum of those rows. It tallies in its own ``forward``, so
    every way of running the expert counts (``expert(x)``, ``expert.forward(x)``, the projections one by one),
    not only the calls that fire hooks."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, tally: _Tally, part: str):
        super().__init__(weight.shape[1], weight.shape[0], bias=bias is not None)
        with torch.no_grad():
            self.weight.copy_(weight)
            if bias is not None:
                self.bias.copy_(bias)
        self._tally, self._part = tally, part

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.detach().reshape(-1, x.shape[-1])
        self._tally.rows[self._part] += rows.shape[0]
        if self._part == "gate_proj":
            self._tally.inputs += rows.double().sum(dim=0)
        return super().forward(x)


def _watched_expert(weights: dict, number: int, bias: torch.Tensor, tally: _Tally) -> Expert:
    """The case's expert ``number`` as an ``Expert`` whose projections tally their work (see ``_Projection``),
    with a ``down_proj`` bias: its output is not what the weights alone give, so a layer that reads the experts'
    weights instead of running them (transformers' fused MoE block, for one) gets another output."""
    gate, up, down = (weights[f"experts.{number}.{name}.weight"] for name in ("gate_proj", "up_proj", "down_proj"))
    expert = Expert(gate.shape[1], gate.shape[0])
    expert.gate_proj = _Projection(gate, None, tally, "gate_proj")
    expert.up_proj = _Projection(up, None, tally, "up_proj")
    expert.down_proj = _Projection(down, bias, tally, "down_proj")
    return expert


def moe_layer(target, case: dict) -> dict:
    """Build ``target(hidden_size, intermediate_size, num_experts, top_k)`` (the exercise's ``MyMoELayer``), copy
    the case's weights into its parameters by the names the exercise prescribes (``router.weight``,
    ``experts.N.gate_proj.weight``, ``experts.N.up_proj.weight``, ``experts.N.down_proj.weight``), put the
    driver's own experts (same weights, plus the case's ``down_proj`` biases) in ``layer.experts``, run the layer
    on the case's input, and report its output and the work each expert did: the rows each of its projections
    processed and the sum of the rows it was given. So "experts no token chose do no work" is observed from the
    work itself: an expert called on 0 rows did none, and one called directly (``expert.forward``) is counted."""
    hidden, intermediate, experts, top_k = case["sizes"]
    layer = target(hidden, intermediate, experts, top_k)
    parameters = dict(layer.named_parameters())
    with torch.no_grad():
        for name, value in case["weights"].items():
            if name not in parameters:
                raise KeyError(f"the layer has no parameter {name!r}")
            parameters[name].copy_(value)
    if len(layer.experts) != experts:
        raise ValueError(f"the layer has {len(layer.experts)} experts, not {experts}")
    tallies = [_Tally(hidden) for _ in range(experts)]
    for number, tally in enumerate(tallies):
        layer.experts[number] = _watched_expert(case["weights"], number, case["expert_bias"][number], tally)
    with torch.no_grad():
        output = layer(case["x"])
    work = {
        "rows": [list(tally.rows.values()) for tally in tallies],
        "inputs": torch.stack([tally.inputs for tally in tallies]),
    }
    if not isinstance(output, torch.Tensor):
        return {"output": output, **work}
    return {"output": output.detach().float(), **work}
