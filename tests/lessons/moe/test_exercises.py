"""Lesson 03's graded exercises: the references reproduce what the old hidden tests asserted, the driver works on
the reference, and plausible wrong answers fail the comparison."""

import pytest
import torch
from torch import nn

from course.grading.values import decode
from course.lessons.moe.drivers import moe_layer
from course.lessons.moe.layer import Expert, to_transformers_block
from course.models.configs import MODEL_NAMES, load_config
from course.models.params import count_parameters
from course.models.tiny import build_tiny, tiny_config_dict
from course.references import exercises
from course.references.moe import MoELayer, active_parameters, top_k_router, top_k_routing
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


def _no_renormalisation(hidden_states, router_weight, k):
    return torch.softmax(hidden_states @ router_weight.T, -1).topk(k, dim=-1)


def _no_range_check(hidden_states, router_weight, k):
    weights, indices = torch.softmax(hidden_states @ router_weight.T, -1).topk(max(k, 1), dim=-1)
    return weights / weights.sum(-1, keepdim=True), indices


def _softmax_after_top_k(hidden_states, router_weight, k):
    scores, indices = (hidden_states @ router_weight.T).topk(k, dim=-1)
    return torch.softmax(scores * 2, -1), indices


@pytest.mark.parametrize("wrong", [_no_renormalisation, _no_range_check, _softmax_after_top_k])
def test_wrong_routers_fail(wrong):
    passed, line = _verdict("test-top-k-router", wrong)
    assert not passed and "matched the reference on" in line


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


def test_driver_builds_the_layer_with_the_given_weights_and_sees_which_experts_run():
    edge = [decode(case) for case in exercises(LESSON)["test-moe-layer"].draw(0)]
    preferred = edge[3]  # the router always prefers expert 2, k = 1
    seen = moe_layer(MoELayer, preferred)
    assert seen["experts_run"] == [2]
    expert = Expert(8, 16)
    with torch.no_grad():
        for name in ("gate_proj", "up_proj", "down_proj"):
            getattr(expert, name).weight.copy_(preferred["weights"][f"experts.2.{name}.weight"])
        assert torch.allclose(seen["output"], expert(preferred["x"]), atol=1e-5)
    for case in edge:
        seen = moe_layer(MoELayer, case)
        assert seen["output"].shape == case["x"].shape


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
    """Hands the work to transformers' block: the right output, but its own experts never run."""

    def forward(self, hidden_states):
        flat = hidden_states.reshape(1, -1, self.hidden_size)
        return to_transformers_block(self)(flat).reshape(hidden_states.shape)


class _RenamedLayer(nn.Module):
    def __init__(self, hidden_size, intermediate_size, num_experts, top_k):
        super().__init__()
        self.gate = nn.Linear(hidden_size, num_experts, bias=False)
        self.experts = nn.ModuleList(Expert(hidden_size, intermediate_size) for _ in range(num_experts))

    def forward(self, hidden_states):
        return hidden_states


@pytest.mark.parametrize("wrong", [_DenseLayer, _UnweightedLayer, _TransformersLayer, _RenamedLayer])
def test_wrong_layers_fail(wrong):
    passed, line = _verdict("test-moe-layer", wrong)
    assert not passed and "matched the reference on" in line


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
