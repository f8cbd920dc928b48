"""Lesson 04 §5: the three training stages (text, vision encoder, adapter) and the cached pretrained parts."""

import math

import torch

from course.lessons.vision import evaluation, gated, tiny, training
from course.lessons.vision.data import TEXT_FACTS, make_examples
from course.references.vision import gated_cross_attention

SMALL = training.TrainingSettings(n_images=24, text_steps=30, vision_epochs=2, epochs=2, batch_size=16, warmup_steps=2)


def _copy(module):
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def _same(before, module):
    return all(torch.equal(before[name], p) for name, p in module.named_parameters())


def test_stage_zero_trains_the_text_stack_only(model, processor):
    vision, projector = _copy(model.model.vision_model), _copy(model.model.multi_modal_projector)
    cross = _copy(model.model.language_model.layers[1])
    losses = training.pretrain_language(model, processor, SMALL)
    assert len(losses) == SMALL.text_steps and losses[-1] < losses[0]
    assert _same(vision, model.model.vision_model) and _same(projector, model.model.multi_modal_projector)
    assert _same(cross, model.model.language_model.layers[1]), "a text-only input skips the cross-attention layer"


def test_stage_two_trains_the_adapter_and_leaves_the_rest_alone(model, processor):
    examples = make_examples(SMALL.n_images, tiny.TILE_SIZE, seed=0)
    training.pretrain_vision(model, processor, examples, SMALL)
    gated.use_gated_blocks(model, gated_cross_attention)
    counts = gated.freeze_all_but_the_adapter(model)
    assert counts["trained"] == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert sum(counts.values()) == sum(p.numel() for p in model.parameters())
    frozen_language = _copy(model.model.language_model.layers[0])
    frozen_vision, head = _copy(model.model.vision_model), _copy(model.lm_head)
    text_before = evaluation.text_answers(model, processor, list(TEXT_FACTS)[:4])
    projector = _copy(model.model.multi_modal_projector)
    losses = training.train_adapter(model, processor, examples, SMALL)
    assert len(losses) == SMALL.epochs * math.ceil(len(examples) / SMALL.batch_size) and losses[-1] < losses[0]
    assert _same(frozen_language, model.model.language_model.layers[0]) and _same(head, model.lm_head)
    assert _same(frozen_vision, model.model.vision_model)
    assert not _same(projector, model.model.multi_modal_projector)
    assert evaluation.gate_values(model)["layer 1 attention"] != 0
    text_after = evaluation.text_answers(model, processor, list(TEXT_FACTS)[:4])
    assert torch.equal(text_before.logits, text_after.logits) and text_before.replies == text_after.replies


def test_pretrained_parts_are_cached_and_load_through_the_weights_path(monkeypatch):
    folder = training.pretrained_parts(SMALL)
    assert SMALL.cache_name in folder.name
    losses = training.training_losses(folder)
    assert len(losses["text"]) == SMALL.text_steps
    assert len(losses["vision"]) == SMALL.vision_epochs * math.ceil(SMALL.n_images / SMALL.batch_size)

    def no_training(*args, **kwargs):
        raise AssertionError("cached parts must not be trained again")

    monkeypatch.setattr(training, "pretrain_language", no_training)
    assert training.pretrained_parts(SMALL) == folder
    model, processor = evaluation.load_vision_model(folder)
    assert type(model).__name__ == "MllamaForConditionalGeneration" and not model.training
    assert type(processor).__name__ == "MllamaProcessor"
    asked = make_examples(1, tiny.TILE_SIZE, seed=3)
    replies = evaluation.answer_questions(model, processor, [e.image for e in asked], [e.question for e in asked])
    assert len(replies) == 2 and all(isinstance(reply, str) for reply in replies)
