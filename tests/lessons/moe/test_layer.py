"""Lesson 03: the reference router and MoE layer (course.references.moe), transformers twins, routing, FLOPs."""

import pytest
import torch
from torch import nn

from course.lessons.moe.layer import (
    Expert,
    capture_routing,
    expert_load,
    forward_flops_per_token,
    imbalance,
    routing_table,
    to_transformers_block,
)
from course.models.configs import load_config, model_card
from course.models.params import count_parameters
from course.models.tiny import build_tiny
from course.references.moe import MoELayer, top_k_routing
from course.runtime import single_thread


def test_top_k_routing_picks_the_best_experts_and_weights_sum_to_one():
    torch.manual_seed(0)
    logits = torch.randn(50, 8)
    weights, indices = top_k_routing(logits, 3)
    assert weights.shape == indices.shape == (50, 3)
    assert torch.equal(indices, logits.topk(3, dim=-1).indices)
    assert torch.allclose(weights.sum(-1), torch.ones(50))
    assert (weights[:, :-1] >= weights[:, 1:]).all()
    probs = torch.softmax(logits, -1).gather(1, indices)
    assert torch.allclose(weights, probs / probs.sum(-1, keepdim=True))


def test_top_k_routing_edge_cases():
    weights, _ = top_k_routing(torch.randn(4, 5), 1)
    assert torch.equal(weights, torch.ones(4, 1))
    logits = torch.randn(3, 4)
    weights, indices = top_k_routing(logits, 4)
    assert torch.allclose(weights, torch.softmax(logits, -1).gather(1, indices))
    for bad in (0, 5, 2.0):
        with pytest.raises(ValueError, match="between 1 and the number of experts"):
            top_k_routing(torch.randn(3, 4), bad)
    with pytest.raises(ValueError, match="tokens, experts"):
        top_k_routing(torch.randn(2, 3, 4), 1)


def test_expert_is_a_swiglu_ffn():
    torch.manual_seed(0)
    expert = Expert(6, 10)
    x = torch.randn(3, 6)
    manual = expert.down_proj.weight @ (
        torch.nn.functional.silu(expert.gate_proj.weight @ x.T) * (expert.up_proj.weight @ x.T)
    )
    assert torch.allclose(expert(x), manual.T, atol=1e-6)


def test_moe_layer_is_the_weighted_sum_of_the_chosen_experts():
    torch.manual_seed(1)
    layer = MoELayer(16, 24, num_experts=6, top_k=2)
    x = torch.randn(2, 5, 16)
    with torch.no_grad():
        out = layer(x)
        flat = x.reshape(-1, 16)
        weights, indices = top_k_routing(layer.router(flat), 2)
        expected = torch.stack(
            [
                sum(w * layer.experts[e](flat[t]) for w, e in zip(weights[t], indices[t].tolist(), strict=True))
                for t in range(len(flat))
            ]
        )
    assert out.shape == x.shape
    assert torch.allclose(out.reshape(-1, 16), expected, atol=1e-6)


def test_moe_layer_runs_only_the_chosen_experts():
    layer = MoELayer(8, 8, num_experts=4, top_k=1)
    with torch.no_grad():
        layer.router.weight.zero_()
        layer.router.weight[3, 0] = 50.0
    ran = []
    for n, expert in enumerate(layer.experts):
        expert.register_forward_hook(lambda _m, _i, _o, n=n: ran.append(n))
    x = torch.rand(5, 8) + 0.1
    with torch.no_grad():
        out = layer(x)
        assert ran == [3]
        assert torch.allclose(out, layer.experts[3](x), atol=1e-6)


def test_moe_layer_rejects_bad_shapes_and_top_k():
    with pytest.raises(ValueError, match="hidden_size=8"):
        MoELayer(8, 8, 4, 2)(torch.randn(3, 7))
    with pytest.raises(ValueError, match="between 1 and the number of experts"):
        MoELayer(8, 8, 4, 5)


@pytest.mark.parametrize("experts,top_k", [(8, 2), (4, 1), (3, 3), (16, 2)])
def test_reference_matches_transformers_mixtral_block(experts, top_k):
    torch.manual_seed(experts + top_k)
    layer = MoELayer(32, 48, experts, top_k)
    block = to_transformers_block(layer, "mixtral")
    assert type(block).__name__ == "MixtralSparseMoeBlock"
    assert block.experts.gate_up_proj.shape == (experts, 96, 32)
    assert block.experts.down_proj.shape == (experts, 32, 48)
    x = torch.randn(3, 9, 32) * 3
    with torch.no_grad():
        assert (layer(x) - block(x)).abs().max() < 1e-5


def test_a_wrong_weight_layout_would_be_caught():
    """The comparison can fail: swapping gate and up in the fused tensor changes the output."""
    torch.manual_seed(0)
    layer = MoELayer(16, 16, 4, 2)
    block = to_transformers_block(layer)
    with torch.no_grad():
        block.experts.gate_up_proj.copy_(block.experts.gate_up_proj.roll(16, dims=1))
        x = torch.randn(1, 6, 16)
        assert (layer(x) - block(x)).abs().max() > 1e-3


def test_phimoe_block_picks_the_same_experts_but_weighs_them_differently():
    torch.manual_seed(0)
    layer = MoELayer(32, 48, 8, 2)
    block = to_transformers_block(layer, "phimoe")
    assert type(block).__name__ == "PhimoeSparseMoeBlock"
    x = torch.randn(20, 32)
    with torch.no_grad():
        _, phi_weights, phi_indices = block.router(x)
        _, indices = top_k_routing(layer.router(x), 2)
        assert torch.equal(phi_indices.sort(-1).values, indices.sort(-1).values)
        assert not torch.allclose(phi_weights.sum(-1), torch.ones(20))
        assert (layer(x[None]) - block(x[None])).abs().max() > 1e-3


def test_to_transformers_block_explains_bad_input():
    with pytest.raises(TypeError, match="must look like the lesson's MyMoELayer"):
        to_transformers_block(nn.Linear(3, 3))
    with pytest.raises(ValueError, match="always picks 2 experts"):
        to_transformers_block(MoELayer(8, 8, 4, 1), "phimoe")
    with pytest.raises(ValueError, match="mixtral, phimoe"):
        to_transformers_block(MoELayer(8, 8, 4, 1), "switch")


def test_expert_load_imbalance_and_routing_table():
    indices = torch.tensor([[0, 1], [0, 2], [0, 1]])
    load = expert_load(indices, 4)
    assert torch.allclose(load, torch.tensor([3, 2, 1, 0]) / 6)
    assert imbalance(load) == pytest.approx(2.0)
    assert imbalance(torch.full((8,), 1 / 8)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="only 2 experts"):
        expert_load(indices, 2)
    table = routing_table(torch.tensor([[0.7, 0.3], [0.6, 0.4], [0.5, 0.5]]), indices, 4)
    assert table.shape == (3, 4)
    assert torch.allclose(table[0], torch.tensor([0.7, 0.3, 0.0, 0.0]))
    assert torch.allclose(table.sum(1), torch.ones(3))


@pytest.mark.parametrize("name", ["phi-3.5-moe", "mixtral-8x7b"])
def test_capture_routing_reads_every_moe_layer(name):
    model = build_tiny(name)
    model.train()
    ids = torch.randint(0, model.config.vocab_size, (2, 7))
    routed = capture_routing(model, ids)
    assert model.training, "capture_routing restores the training mode"
    assert len(routed) == model.config.num_hidden_layers
    for weights, indices in routed:
        assert indices.shape == (14, model.config.num_experts_per_tok)
        assert int(indices.max()) < model.config.num_local_experts
        assert weights.shape == indices.shape


def test_capture_routing_needs_an_moe_model():
    with pytest.raises(ValueError, match="no MoE router"):
        capture_routing(build_tiny("mistral-7b"), torch.tensor([[1, 2]]))


def test_forward_flops_per_token():
    dense = count_parameters("mistral-7b")
    assert forward_flops_per_token("mistral-7b") == 2 * (dense.total - dense.by_part["embeddings"])
    moe = count_parameters("phi-3.5-moe")
    flops = forward_flops_per_token("phi-3.5-moe")
    assert flops == 2 * (moe.active - moe.by_part["embeddings"])
    assert abs(flops / 2 / model_card("phi-3.5-moe").published_active - 1) < 0.03
    assert forward_flops_per_token("mixtral-8x7b") < forward_flops_per_token("mistral-7b") * 2
    with pytest.raises(ValueError, match="course model name"):
        forward_flops_per_token(load_config("mistral-7b"))


def test_single_thread_restores_the_thread_count():
    before = torch.get_num_threads()
    with single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
