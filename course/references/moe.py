"""Lesson 03, Mixture of Experts: reference solutions and the declarations of its graded exercises.

The router and the layer are the course's reference ``top_k_routing`` and ``MoELayer`` (they used to live in
``course.lessons.moe.layer``, where a submission could have called them); the lesson now runs the student's
``top_k_router`` and ``MyMoELayer``, and falls back to these while an exercise is unfinished.
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F
from torch import nn

from course.grading.exercise import Exercise, call, close
from course.lessons.moe.layer import Expert

LESSON = "03-mixture-of-experts"


def _check_top_k(k: int, num_experts: int) -> None:
    if not isinstance(k, int) or not 1 <= k <= num_experts:
        raise ValueError(f"top-k must be an integer between 1 and the number of experts ({num_experts}); got {k!r}.")


def top_k_routing(router_logits: torch.Tensor, k: int, renormalize: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixtral's routing: softmax over the experts, keep the ``k`` largest, rescale them to sum to one (with
    ``renormalize=False``, Qwen2-MoE's default: keep the ``k`` probabilities as they are).

    ``router_logits`` is ``(tokens, experts)``; returns ``(weights, indices)``, both ``(tokens, k)``,
    the weights in float32, highest first.
    """
    if router_logits.dim() != 2:
        raise ValueError(f"router_logits must be (tokens, experts); got shape {tuple(router_logits.shape)}.")
    _check_top_k(k, router_logits.shape[-1])
    probs = F.softmax(router_logits.float(), dim=-1)
    weights, indices = probs.topk(k, dim=-1)
    return (weights / weights.sum(dim=-1, keepdim=True) if renormalize else weights), indices


def top_k_router(hidden_states: torch.Tensor, router_weight: torch.Tensor, k: int, renormalize: bool = True):
    """Exercise 1: route each token to its k best experts; returns (weights, indices), both (tokens, k).

    Both ways of weighing the chosen experts are asked for (rescaled, as Mixtral does, or raw, as Qwen2-MoE does
    by default), so no library router that does one of them (transformers' Mixtral router, which the course's
    ``to_transformers_block`` exposes) answers the exercise on its own."""
    _check_top_k(k, router_weight.shape[0])
    return top_k_routing(hidden_states @ router_weight.T, k, renormalize)


class MoELayer(nn.Module):
    """Exercise 2 (``MyMoELayer``): a sparse MoE feed-forward layer, a linear router picks ``top_k`` experts per
    token. Each token's output is the routing-weighted sum of its chosen experts' outputs; the other experts do no
    work for that token."""

    def __init__(self, hidden_size: int, intermediate_size: int, num_experts: int, top_k: int):
        super().__init__()
        _check_top_k(top_k, num_experts)
        self.hidden_size, self.intermediate_size = hidden_size, intermediate_size
        self.num_experts, self.top_k = num_experts, top_k
        self.router = nn.Linear(hidden_size, num_experts, bias=False)
        self.experts = nn.ModuleList(Expert(hidden_size, intermediate_size) for _ in range(num_experts))

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if hidden_states.shape[-1] != self.hidden_size:
            raise ValueError(
                f"Expected the last dimension to be hidden_size={self.hidden_size}; "
                f"got shape {tuple(hidden_states.shape)}."
            )
        flat = hidden_states.reshape(-1, self.hidden_size)
        weights, indices = top_k_routing(self.router(flat), self.top_k)
        out = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):
            token, slot = torch.where(indices == e)
            if token.numel():
                out.index_add_(0, token, (expert(flat[token]) * weights[token, slot, None]).to(out.dtype))
        return out.reshape(hidden_states.shape)


MyMoELayer = MoELayer


def active_parameters(config: dict, total: int) -> int:
    """Exercise 3: parameters one token uses in a model with this config and this total parameter count."""
    experts = config.get("num_local_experts")
    if not experts:
        return total
    one_expert = 3 * config["hidden_size"] * config["intermediate_size"]
    return total - config["num_hidden_layers"] * (experts - config["num_experts_per_tok"]) * one_expert


# ---------------------------------------------------------------- cases


def _generator(rng: random.Random) -> torch.Generator:
    return torch.Generator().manual_seed(rng.randrange(2**31))


def _router_case(tokens: int, experts: int, k: int, hidden: int, gen: torch.Generator, renormalize=None) -> dict:
    """A router call; ``renormalize=None`` leaves the argument out (its default, True, applies)."""
    args = (torch.randn(tokens, hidden, generator=gen), torch.randn(experts, hidden, generator=gen), k)
    return call(*args) if renormalize is None else call(*args, renormalize=renormalize)


def _router_cases(rng: random.Random) -> list[dict]:
    cases = []
    for index in range(14):
        experts = rng.randint(2, 16)
        k = rng.randint(1, min(4, experts))
        renormalize = [None, True, False][index % 3]
        cases.append(
            _router_case(rng.randint(1, 40), experts, k, rng.choice([8, 16, 24]), _generator(rng), renormalize)
        )
    cases.append(_router_case(rng.randint(2, 9), 6, 6, 8, _generator(rng)))  # k = experts: the whole softmax
    cases.append(_router_case(5, 6, rng.choice([0, 7, 9]), 8, _generator(rng)))  # k out of range: ValueError
    return cases


def _router_edge_cases() -> list[dict]:
    gen = torch.Generator().manual_seed(3)
    sizes = [(1, 4, 1), (33, 8, 2), (7, 16, 2), (5, 5, 5), (12, 8, 3), (4, 6, 1), (3, 4, 4)]
    cases = [_router_case(tokens, experts, k, 24, gen) for tokens, experts, k in sizes]
    # the raw probabilities: k = 1 (not 1.0), k = experts (the whole softmax, summing to one anyway) and between
    cases += [
        _router_case(tokens, experts, k, 24, gen, False) for tokens, experts, k in [(6, 4, 1), (5, 5, 5), (9, 8, 3)]
    ]
    cases += [_router_case(3, 6, bad, 4, gen) for bad in (0, 7)]  # must raise ValueError
    cases.append(_router_case(3, 6, 7, 4, gen, False))
    return cases


def _layer_weights(hidden: int, inter: int, experts: int, gen: torch.Generator) -> dict:
    """The layer's parameters by the names the exercise prescribes (``router``, ``experts.N.*_proj``)."""
    weights = {"router.weight": torch.randn(experts, hidden, generator=gen) / hidden**0.5}
    for e in range(experts):
        weights[f"experts.{e}.gate_proj.weight"] = torch.randn(inter, hidden, generator=gen) / hidden**0.5
        weights[f"experts.{e}.up_proj.weight"] = torch.randn(inter, hidden, generator=gen) / hidden**0.5
        weights[f"experts.{e}.down_proj.weight"] = torch.randn(hidden, inter, generator=gen) / inter**0.5
    return weights


def _layer_case(hidden: int, inter: int, experts: int, k: int, shape: tuple, gen: torch.Generator) -> dict:
    """A layer case for ``course.lessons.moe.drivers.moe_layer``: sizes, the layer's weights, the input, and the
    ``down_proj`` bias of each of the experts the driver puts in the layer (so only running them gives their
    output)."""
    return {
        "sizes": [hidden, inter, experts, k],
        "weights": _layer_weights(hidden, inter, experts, gen),
        "expert_bias": torch.randn(experts, hidden, generator=gen) / 2,
        "x": torch.randn(*shape, hidden, generator=gen),
    }


def _layer_cases(rng: random.Random) -> list[dict]:
    cases = []
    for _ in range(10):
        hidden, inter = rng.choice([8, 16, 32]), rng.choice([8, 24, 48])
        experts = rng.randint(2, 12)
        k = rng.randint(1, min(3, experts))
        shape = rng.choice([(rng.randint(1, 12),), (rng.randint(1, 3), rng.randint(1, 6))])
        cases.append(_layer_case(hidden, inter, experts, k, shape, _generator(rng)))
    return cases


def _layer_edge_cases() -> list[dict]:
    gen = torch.Generator().manual_seed(2)
    cases = [
        _layer_case(hidden, inter, experts, k, shape, gen)
        for hidden, inter, experts, k, shape in [(16, 24, 4, 1, (7,)), (32, 48, 16, 2, (3, 4)), (8, 8, 3, 3, (5,))]
    ]
    # a router that always prefers expert 2, with k=1: only expert 2 runs, and the output is its output
    preferred = _layer_case(8, 16, 4, 1, (6,), gen)
    preferred["weights"]["router.weight"] = torch.zeros(4, 8)
    preferred["weights"]["router.weight"][2, 0] = 100.0
    preferred["x"] = preferred["x"].abs() + 0.1
    return [*cases, preferred]


_TOY = {"hidden_size": 4, "intermediate_size": 5, "num_hidden_layers": 3, "num_local_experts": 6}


def _active_cases(rng: random.Random) -> list[dict]:
    cases = []
    for _ in range(14):
        experts = rng.randint(2, 64)
        config = {
            "hidden_size": rng.choice([64, 512, 2048, 4096, rng.randint(8, 8192)]),
            "intermediate_size": rng.choice([256, 1408, 6400, 14336, rng.randint(8, 20000)]),
            "num_hidden_layers": rng.randint(1, 80),
            "num_local_experts": experts,
            "num_experts_per_tok": rng.randint(1, min(8, experts)),
        }
        cases.append(call(config, rng.randint(10**9, 10**12)))
    for _ in range(3):  # dense models: no experts key, or no experts
        config = {"hidden_size": rng.randint(8, 8192), "intermediate_size": rng.randint(8, 30000)}
        config["num_hidden_layers"] = rng.randint(1, 80)
        if rng.random() < 0.5:
            config["num_local_experts"] = 0
        cases.append(call(config, rng.randint(10**6, 10**11)))
    return cases


def _active_edge_cases() -> list[dict]:
    from course.models.configs import load_config
    from course.models.params import count_parameters

    cases = [call(load_config(name), count_parameters(name).total) for name in ("phi-3.5-moe", "mixtral-8x7b")]
    cases += [call(load_config(name), count_parameters(name).total) for name in ("mistral-7b", "phi-3.5-mini")]
    cases.append(call({**_TOY, "num_experts_per_tok": 2}, 10_000))
    cases.append(call({**_TOY, "num_experts_per_tok": 6}, 10_000))  # every expert used: active = total
    return cases


# ---------------------------------------------------------------- the visible tests of the test cells

_TOP_K_ROUTER_TESTS = r"""
import math

# one token, three experts that score 2, 0 and 1: the best two are experts 0 and 2
h, W = torch.tensor([[1.0, 0.0]]), torch.tensor([[2.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
w, i = top_k_router(h, W, 2)
assert i.tolist() == [[0, 2]], "indices: the k highest-scoring experts, best first"
rescaled = [math.e**2 / (math.e**2 + math.e), math.e / (math.e**2 + math.e)]
assert torch.allclose(w, torch.tensor([rescaled])), f"rescaled weights: {w.tolist()}"
raw, _ = top_k_router(h, W, 2, renormalize=False)
denominator = math.e**2 + 1 + math.e  # e^2 + e^0 + e^1
assert torch.allclose(raw, torch.tensor([[math.e**2 / denominator, math.e / denominator]])), f"raw: {raw.tolist()}"
# random inputs: shapes, sums, order
torch.manual_seed(1)
w, i = top_k_router(torch.randn(10, 16), torch.randn(6, 16), 3)
assert w.shape == (10, 3) and i.shape == (10, 3), "weights and indices must both be (tokens, k)"
assert torch.allclose(w.sum(dim=-1), torch.ones(10), atol=1e-5), "each token's weights must sum to one"
assert (w[:, :-1] >= w[:, 1:]).all(), "best first: the weights must not increase along a row"
try:
    top_k_router(torch.randn(2, 4), torch.randn(3, 4), 4)
except ValueError:
    pass
else:
    raise AssertionError("k larger than the number of experts must raise ValueError")
print("visible checks passed")
"""

_MYMOELAYER_TESTS = r"""
import math

torch.manual_seed(2)
mine = MyMoELayer(8, 16, num_experts=4, top_k=1)
x = torch.rand(2, 3, 8) + 0.1  # positive features
with torch.no_grad():
    mine.router.weight.zero_()
    mine.router.weight[2] = 10.0  # every token prefers expert 2, by far
    rows = [0] * 4  # the rows each expert is called on
    hooks = [e.register_forward_pre_hook(lambda m, a, n=n: rows.__setitem__(n, rows[n] + a[0][..., 0].numel()))
             for n, e in enumerate(mine.experts)]
    y = mine(x)
    for hook in hooks:
        hook.remove()
    assert y.shape == x.shape, f"output shape {tuple(y.shape)} must equal the input shape {tuple(x.shape)}"
    assert torch.allclose(y, mine.experts[2](x), atol=1e-5), "with top_k=1 a token's output is its expert's output"
    assert rows[0] == rows[1] == rows[3] == 0, f"experts no token chose must do no work (rows: {rows})"
    # top-2 with probabilities 3:1 between experts 0 and 1 (scores log 3 and 0), the others far behind
    mine.top_k = 2
    mine.router.weight.copy_(torch.tensor([math.log(3), 0.0, -10.0, -10.0])[:, None].expand(4, 8))
    token = torch.full((1, 8), 1 / 8)
    y = mine(token)
    expected = 0.75 * mine.experts[0](token) + 0.25 * mine.experts[1](token)
    assert torch.allclose(y, expected, atol=1e-5), "a token's output: its experts' outputs, weighted by the router"
print("visible checks passed")
"""

_ACTIVE_PARAMETERS_TESTS = r"""
phi_config, phi_count = load_config("phi-3.5-moe"), count_parameters("phi-3.5-moe")
got = active_parameters(phi_config, phi_count.total)
print(f"Phi-3.5-MoE: {got / 1e9:.2f}B active")
assert abs(got / model_card("phi-3.5-moe").published_active - 1) < 0.01, "not within 1 % of the model card"
"""


EXERCISES = [
    Exercise(
        grade_id="test-top-k-router",
        target="top_k_router",
        points=2,
        about=(
            "calls your function on inputs it draws itself (sizes, k, renormalize or not, and k out of range), and "
            "compares the weights and indices with the course's reference."
        ),
        tests=_TOP_K_ROUTER_TESTS,
        reference=top_k_router,
        cases=_router_cases,
        edge_cases=_router_edge_cases(),
        compare=close(rtol=1e-4, atol=1e-5),
    ),
    Exercise(
        grade_id="test-moe-layer",
        target="MyMoELayer",
        points=3,
        about=(
            "builds your layer with weights it draws itself, puts its own experts in `self.experts` (they count the "
            "rows they process), runs it on inputs of several shapes, and compares the output, and the work each "
            "expert did, with the course's reference."
        ),
        tests=_MYMOELAYER_TESTS,
        reference=MoELayer,
        cases=_layer_cases,
        edge_cases=_layer_edge_cases(),
        compare=close(rtol=1e-4, atol=1e-5),
        driver="course.lessons.moe.drivers:moe_layer",
    ),
    Exercise(
        grade_id="test-active-parameters",
        target="active_parameters",
        points=2,
        about=(
            "calls your function on configs it draws itself (MoE and dense), and compares with the course's reference."
        ),
        tests=_ACTIVE_PARAMETERS_TESTS,
        reference=active_parameters,
        cases=_active_cases,
        edge_cases=_active_edge_cases(),
    ),
]
