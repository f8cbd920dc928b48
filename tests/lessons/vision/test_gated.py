"""Lesson 04 §5: the gated cross-attention layer built around the student's block, inside the tiny Mllama."""

import pytest
import torch

from course.lessons.vision import evaluation, gated, tiny
from course.lessons.vision.data import make_examples
from course.references.vision import gated_cross_attention


def _logits(model, processor, examples):
    return evaluation.answer_logits(model, processor, examples)


def test_new_layers_start_closed_so_the_picture_has_no_effect(model, processor):
    examples = make_examples(3, tiny.TILE_SIZE, seed=4)
    rotated = [
        type(e)(examples[(i + 1) % len(examples)].image, e.kind, e.question, e.answer) for i, e in enumerate(examples)
    ]
    gated.use_gated_blocks(model, gated_cross_attention)
    layer = model.model.language_model.layers[1]
    assert isinstance(layer, gated.GatedCrossAttentionLayer) and layer.block is gated_cross_attention
    assert set(evaluation.gate_values(model).values()) == {0.0}
    assert torch.equal(_logits(model, processor, examples), _logits(model, processor, rotated))
    with torch.no_grad():
        layer.cross_attn_attn_gate.fill_(1.0)
    assert not torch.allclose(_logits(model, processor, examples), _logits(model, processor, rotated))


def test_the_layer_calls_the_block_it_was_given(model, processor):
    calls = []

    def spy(*args):
        calls.append(args[-1])
        return gated_cross_attention(*args)

    gated.use_gated_blocks(model, spy)
    asked = make_examples(2, tiny.TILE_SIZE, seed=5)
    replies = evaluation.answer_questions(model, processor, [e.image for e in asked], [e.question for e in asked])
    assert len(replies) == 4
    assert calls and set(calls) == {model.config.text_config.num_attention_heads}
    assert len(calls) > 1, "generation reads the picture back from the cache at every step"


def test_freezing_counts_every_parameter_once(model):
    gated.use_gated_blocks(model, gated_cross_attention)
    counts = gated.freeze_all_but_the_adapter(model)
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in gated.adapter_parameters(model)}
    assert sum(counts.values()) == sum(p.numel() for p in model.parameters())
    assert counts["frozen vision encoder"] == sum(p.numel() for p in model.model.vision_model.parameters())


def test_a_width_the_heads_do_not_divide_is_refused():
    with pytest.raises(ValueError, match="multiple of heads"):
        gated.GatedCrossAttentionLayer(
            hidden_size=10, heads=4, intermediate_size=8, block=gated_cross_attention, layer_idx=1
        )
