"""Lesson 03's graded exercises: the references reproduce what the old hidden tests asserted, the driver works on
the reference, and plausible wrong answers fail the comparison."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course.grading.values import decode
from course.lessons.moe.drivers import moe_layer
from course.lessons.moe.layer import Expert, to_transformers_block
from course.models.configs import MODEL_NAMES, load_config
from course.models.params import count_parameters
from course.models.tiny import build_tiny, tiny_config_dict
from course.references import exercises
from course.references.moe import MoELayer, active_parameters, top_k_router, top_k_routing
from tests.grading.library_probe import router_via_mixtral_block, router_via_phimoe_block
from tests.grading_helpers import checked

LESSON = "03-mixture-of-experts"
DRIVER = "course.lessons.moe.drivers:moe_layer"


def _verdict(grade_id, candidate, seed=5):
    """Whether ``candidate`` passes the exercise's check (``tests.grading_helpers.checked``)."""
    return checked(LESSON, grade_id, candidate, seed)


def test_every_exercise_passes_with_its_reference():
    for grade_id, exercise in exercises(LESSON).items():
        assert _verdict(grade_id, exercise.reference)[0], grade_id


# ---------------------------------------------------------------- the router


def test_router_reproduces_the_old_hidden_tests():
    torch.manual_seed(0)
    for tokens, experts, k in [(1, 4, 1), (33, 8, 2), (7, 16, 2), (5, 5, 5), (12, 8, 3)]:
        h, W = torch.randn(tokens, 24), torch.randn(experts, 24)
        w, i = top_k_router(h, W, k)
        assert w.shape == i.shape == (tokens, k)
        assert torch.equal(i, (h @ W.T).topk(k, dim=-1).indices)
        assert torch.allclose(w.sum(-1), torch.ones(tokens), atol=1e-5)
        assert (w[:, :-1] >= w[:, 1:]).all()
    w, _ = top_k_router(torch.randn(4, 8), torch.randn(6, 8), 1)
    assert torch.allclose(w, torch.ones(4, 1))
    h, W = torch.randn(3, 8), torch.randn(4, 8)
    w, i = top_k_router(h, W, 4)
    assert torch.allclose(w, torch.softmax(h @ W.T, -1).gather(1, i), atol=1e-5)
    for bad in (0, 7):
        with pytest.raises(ValueError):
            top_k_router(torch.randn(3, 4), torch.randn(6, 4), bad)


def _no_renormalisation(hidden_states, router_weight, k, renormalize=True):
    return torch.softmax(hidden_states @ router_weight.T, -1).topk(k, dim=-1)


def _no_range_check(hidden_states, router_weight, k, renormalize=True):
    weights, indices = torch.softmax(hidden_states @ router_weight.T, -1).topk(max(k, 1), dim=-1)
    return (weights / weights.sum(-1, keepdim=True) if renormalize else weights), indices


def _softmax_after_top_k(hidden_states, router_weight, k):
    scores, indices = (hidden_states @ router_weight.T).topk(k, dim=-1)
    return torch.softmax(scores * 2, -1), indices


def _always_renormalises(hidden_states, router_weight, k, renormalize=True):
    return top_k_router(hidden_states, router_weight, k)


@pytest.mark.parametrize(
    "wrong",
    [
        _no_renormalisation,
        _no_range_check,
        _softmax_after_top_k,
        _always_renormalises,
        router_via_mixtral_block,
        router_via_phimoe_block,
    ],
)
def test_wrong_routers_fail(wrong):
    passed, line = _verdict("test-top-k-router", wrong)
    assert not passed and "matched the reference on" in line


def _softmax_over_the_best_scores(hidden_states, router_weight, k, renormalize=True):
    """The Mixtral paper's formula for the rescaled weights: a softmax over the k best scores only."""
    if not 1 <= k <= router_weight.shape[0]:
        raise ValueError(f"k must be between 1 and {router_weight.shape[0]}")
    scores, indices = (hidden_states @ router_weight.T).topk(k, dim=-1)
    if renormalize:
        return torch.softmax(scores, dim=-1), indices
    return torch.softmax(hidden_states @ router_weight.T, dim=-1).gather(1, indices), indices


def _numpy_router(hidden_states, router_weight, k, renormalize=True):
    """numpy arrays and float64 throughout, a stable sort instead of topk."""
    import numpy as np

    if k < 1 or k > router_weight.shape[0]:
        raise ValueError("k out of range")
    scores = hidden_states.double().numpy() @ router_weight.double().numpy().T
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    indices = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    weights = np.take_along_axis(probs, indices, axis=1)
    return (weights / weights.sum(axis=1, keepdims=True) if renormalize else weights), indices


@pytest.mark.parametrize("honest", [_softmax_over_the_best_scores, _numpy_router])
def test_honest_routers_pass(honest):
    assert _verdict("test-top-k-router", honest)[0]


# ---------------------------------------------------------------- the layer


def test_layer_reference_reproduces_the_old_hidden_tests():
    for hidden, inter, experts, k, shape in [
        (16, 24, 4, 1, (7, 16)),
        (32, 48, 16, 2, (3, 4, 32)),
        (8, 8, 3, 3, (5, 8)),
    ]:
        torch.manual_seed(hidden + experts)
        layer = MoELayer(hidden, inter, experts, k)
        x = torch.randn(*shape)
        with torch.no_grad():
            y = layer(x)
            assert y.shape == x.shape
            assert torch.allclose(y, to_transformers_block(layer)(x.reshape(1, -1, hidden)).reshape(shape), atol=1e-5)


def test_driver_builds_the_layer_with_the_given_weights_and_sees_the_work_each_expert_does():
    edge = [decode(case) for case in exercises(LESSON)["test-moe-layer"].draw(0)]
    preferred = edge[3]  # the router always prefers expert 2, k = 1
    seen = moe_layer(MoELayer, preferred)
    assert seen["rows"] == [[0, 0, 0], [0, 0, 0], [6, 6, 6], [0, 0, 0]]
    assert torch.allclose(seen["inputs"][2], preferred["x"].double().sum(0)) and not seen["inputs"][[0, 1, 3]].any()
    expert = Expert(8, 16)
    with torch.no_grad():
        for name in ("gate_proj", "up_proj", "down_proj"):
            getattr(expert, name).weight.copy_(preferred["weights"][f"experts.2.{name}.weight"])
        with_bias = expert(preferred["x"]) + preferred["expert_bias"][2]
        assert torch.allclose(seen["output"], with_bias, atol=1e-5), "the driver's experts carry the case's bias"
    for case in edge:
        seen = moe_layer(MoELayer, case)
        assert seen["output"].shape == case["x"].shape
        tokens = case["x"].numel() // case["sizes"][0]
        assert sum(rows[0] for rows in seen["rows"]) == tokens * case["sizes"][3], "k expert rows per token"


class _DenseLayer(MoELayer):
    """Right numbers, but every expert runs on every token."""

    def forward(self, hidden_states):
        flat = hidden_states.reshape(-1, self.hidden_size)
        weights, indices = top_k_routing(self.router(flat), self.top_k)
        table = torch.zeros(flat.shape[0], len(self.experts)).scatter(1, indices, weights)
        out = sum(table[:, e, None] * expert(flat) for e, expert in enumerate(self.experts))
        return out.reshape(hidden_states.shape)


class _UnweightedLayer(MoELayer):
    """Forgets the routing weights: sums the chosen experts' outputs."""

    def forward(self, hidden_states):
        flat = hidden_states.reshape(-1, self.hidden_size)
        _, indices = top_k_routing(self.router(flat), self.top_k)
        out = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):
            rows, _ = torch.where(indices == e)
            if len(rows):
                out.index_add_(0, rows, expert(flat[rows]))
        return out.reshape(hidden_states.shape)


class _TransformersLayer(MoELayer):
    """Hands the work to transformers' block: its own experts never run."""

    def forward(self, hidden_states):
        flat = hidden_states.reshape(1, -1, self.hidden_size)
        return to_transformers_block(self)(flat).reshape(hidden_states.shape)


class _TransformersWithAFakeTrace(MoELayer):
    """transformers' block does the work; every expert the block's router chose is called on 0 rows, so forward
    hooks fire for exactly the chosen experts."""

    def forward(self, hidden_states):
        flat = hidden_states.reshape(-1, self.hidden_size)
        block = to_transformers_block(self)
        _, _, indices = block.gate(flat)
        for e in indices.unique().tolist():
            self.experts[e](flat[:0])
        return block(flat[None]).reshape(hidden_states.shape)


class _DenseThroughForward(MoELayer):
    """Right numbers, but every expert runs on every token, called as ``expert.forward`` (no hook fires)."""

    def forward(self, hidden_states):
        flat = hidden_states.reshape(-1, self.hidden_size)
        weights, indices = top_k_routing(self.router(flat), self.top_k)
        table = torch.zeros(flat.shape[0], len(self.experts)).scatter(1, indices, weights)
        out = sum(table[:, e, None] * expert.forward(flat) for e, expert in enumerate(self.experts))
        return out.reshape(hidden_states.shape)


class _WeightsRead(MoELayer):
    """Sparse, but computes each expert from its weights instead of running it."""

    def forward(self, hidden_states):
        flat = hidden_states.reshape(-1, self.hidden_size)
        weights, indices = top_k_routing(self.router(flat), self.top_k)
        out = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):
            rows, slot = torch.where(indices == e)
            x = flat[rows]
            y = F.linear(
                F.silu(F.linear(x, expert.gate_proj.weight)) * F.linear(x, expert.up_proj.weight),
                expert.down_proj.weight,
            )
            out.index_add_(0, rows, y * weights[rows, slot, None])
        return out.reshape(hidden_states.shape)


class _RenamedLayer(nn.Module):
    def __init__(self, hidden_size, intermediate_size, num_experts, top_k):
        super().__init__()
        self.gate = nn.Linear(hidden_size, num_experts, bias=False)
        self.experts = nn.ModuleList(Expert(hidden_size, intermediate_size) for _ in range(num_experts))

    def forward(self, hidden_states):
        return hidden_states


@pytest.mark.parametrize(
    "wrong",
    [
        _DenseLayer,
        _UnweightedLayer,
        _TransformersLayer,
        _TransformersWithAFakeTrace,
        _DenseThroughForward,
        _WeightsRead,
        _RenamedLayer,
    ],
)
def test_wrong_layers_fail(wrong):
    passed, line = _verdict("test-moe-layer", wrong)
    assert not passed and "matched the reference on" in line


class _ZeroRowsForUnchosen(MoELayer):
    """Calls every expert, the unchosen ones on 0 rows: no work, as the exercise allows."""

    def forward(self, hidden_states):
        flat = hidden_states.reshape(-1, self.hidden_size)
        weights, indices = top_k_routing(self.router(flat), self.top_k)
        out = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):
            rows, slot = torch.where(indices == e)
            out.index_add_(0, rows, expert(flat[rows]) * weights[rows, slot, None])
        return out.reshape(hidden_states.shape)


class _OneTokenAtATime(MoELayer):
    """Runs each token through its experts one by one, as 1-D vectors, through ``expert.forward``."""

    def forward(self, hidden_states):
        flat = hidden_states.reshape(-1, self.hidden_size)
        weights, indices = top_k_routing(self.router(flat), self.top_k)
        rows = [
            sum(
                w * self.experts[e].forward(token)
                for w, e in zip(weights[t].tolist(), indices[t].tolist(), strict=True)
            )
            for t, token in enumerate(flat)
        ]
        return torch.stack(rows).reshape(hidden_states.shape)


class _ByProjections(MoELayer):
    """Slot by slot, each expert's SwiGLU written out with its own projections."""

    def forward(self, hidden_states):
        flat = hidden_states.reshape(-1, self.hidden_size)
        weights, indices = top_k_routing(self.router(flat), self.top_k)
        out = torch.zeros_like(flat)
        for slot in range(self.top_k):
            for e in indices[:, slot].unique().tolist():
                expert, rows = self.experts[e], torch.where(indices[:, slot] == e)[0]
                x = flat[rows]
                y = expert.down_proj(F.silu(expert.gate_proj(x)) * expert.up_proj(x))
                out[rows] += y * weights[rows, slot, None]
        return out.reshape(hidden_states.shape)


@pytest.mark.parametrize("honest", [_ZeroRowsForUnchosen, _OneTokenAtATime, _ByProjections])
def test_honest_layers_pass(honest):
    assert _verdict("test-moe-layer", honest)[0]


# ---------------------------------------------------------------- active parameters


def test_active_parameters_reproduces_the_old_hidden_tests():
    for name in ["phi-3.5-moe", "mixtral-8x7b", "mistral-7b", "phi-3.5-mini"]:
        count = count_parameters(name)
        assert active_parameters(load_config(name), count.total) == count.active, name
    toy = {
        "hidden_size": 4,
        "intermediate_size": 5,
        "num_hidden_layers": 3,
        "num_local_experts": 6,
        "num_experts_per_tok": 2,
    }
    assert active_parameters(toy, 10_000) == 10_000 - 3 * 4 * 60


def test_active_parameters_are_the_weights_one_token_uses_in_a_tiny_mixtral():
    overrides = dict(num_local_experts=6, num_experts_per_tok=2, tie_word_embeddings=False)
    tiny = build_tiny("mixtral-8x7b", **overrides).cpu()
    tiny(input_ids=torch.tensor([[5]])).logits.sum().backward()
    used = 0
    for name, p in tiny.named_parameters():
        if "experts" in name:
            used += sum(p[e].numel() for e in range(p.shape[0]) if p.grad[e].abs().sum() > 0)
        else:
            used += p.numel()
    total = sum(p.numel() for p in tiny.parameters())
    assert active_parameters(tiny_config_dict("mixtral-8x7b", **overrides), total) == used


def _all_experts(config, total):
    return (
        total
        - config["num_hidden_layers"]
        * config.get("num_local_experts", 0)
        * 3
        * config["hidden_size"]
        * (config["intermediate_size"])
    )


def _forgets_dense_models(config, total):
    one = 3 * config["hidden_size"] * config["intermediate_size"]
    return total - config["num_hidden_layers"] * (config["num_local_experts"] - config["num_experts_per_tok"]) * one


def _library_count(config, total):
    return count_parameters(config).active


def _course_model_lookup(config, total):
    """Recognises the course's models by their config and answers with the course's own count (kernel-visible
    code); every other config gets its total."""
    for name in MODEL_NAMES:
        if load_config(name) == config:
            return count_parameters(name).active
    return total


@pytest.mark.parametrize("wrong", [_all_experts, _forgets_dense_models, _library_count, _course_model_lookup])
def test_wrong_active_parameters_fail(wrong):
    passed, line = _verdict("test-active-parameters", wrong)
    assert not passed and "matched the reference on" in line


# ---------------------------------------------------------------- the visible tests


def _visible_tests_pass(grade_id, **names) -> bool:
    """Whether the test cell's visible checks pass with ``names`` defined, run as the notebook runs them."""
    try:
        exec(exercises(LESSON)[grade_id].tests, {"torch": torch, "nn": nn, **names})
    except Exception:  # an assertion, or a wrong answer's own error: either way the student sees a failure
        return False
    return True


def test_the_visible_tests_hold_no_alternative_solution_and_still_catch_wrong_answers():
    """A visible test that computes the answer another way (transformers' block, as the layer's once did) hands
    the student a solution to paste; the visible tests check properties and small cases worked out by hand."""
    for grade_id in ("test-top-k-router", "test-moe-layer"):
        tests = exercises(LESSON)[grade_id].tests
        for shortcut in ("to_transformers_block", "MixtralSparseMoeBlock", "topk", "softmax", "index_add"):
            assert shortcut not in tests, (grade_id, shortcut)
    assert _visible_tests_pass("test-top-k-router", top_k_router=top_k_router)
    for wrong in [_no_renormalisation, _no_range_check, _always_renormalises]:
        assert not _visible_tests_pass("test-top-k-router", top_k_router=wrong), wrong.__name__
    assert _visible_tests_pass("test-moe-layer", MyMoELayer=MoELayer)
    for wrong in [_DenseLayer, _UnweightedLayer]:
        assert not _visible_tests_pass("test-moe-layer", MyMoELayer=wrong), wrong.__name__
