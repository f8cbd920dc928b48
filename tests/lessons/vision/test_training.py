"""Lesson 04 §5: both training stages and the cached trained model."""

import math

import torch

from course.lessons.vision import evaluation, tiny, training
from course.lessons.vision.data import make_examples

SMALL = training.TrainingSettings(n_images=24, vision_epochs=2, epochs=2, batch_size=16, warmup_steps=2)


def test_stage_one_trains_the_encoder_and_stage_two_keeps_it(model, processor):
    examples = make_examples(SMALL.n_images, tiny.TILE_SIZE, seed=0)
    encoder = model.model.vision_model
    start = {name: p.detach().clone() for name, p in encoder.named_parameters()}
    vision_losses = training.pretrain_vision(model, processor, examples, SMALL)
    assert len(vision_losses) == SMALL.vision_epochs * math.ceil(SMALL.n_images / SMALL.batch_size)
    assert any(not torch.equal(start[name], p) for name, p in encoder.named_parameters())
    after_stage_one = {name: p.detach().clone() for name, p in encoder.named_parameters()}
    gate_before = model.model.language_model.layers[1].cross_attn_attn_gate.detach().clone()
    losses = training.train(model, processor, examples, SMALL)
    assert len(losses) == SMALL.epochs * math.ceil(len(examples) / SMALL.batch_size)
    assert all(torch.equal(after_stage_one[name], p) for name, p in encoder.named_parameters())
    assert not torch.equal(gate_before, model.model.language_model.layers[1].cross_attn_attn_gate)
    assert losses[-1] < losses[0]


def test_trained_model_is_cached_and_loads_through_the_weights_path(monkeypatch):
    folder = training.trained_tiny_model(SMALL)
    assert SMALL.cache_name in folder.name
    losses = training.training_losses(folder)
    assert len(losses["answering"]) == SMALL.epochs * math.ceil(2 * SMALL.n_images / SMALL.batch_size)
    assert len(losses["vision"]) == SMALL.vision_epochs * math.ceil(SMALL.n_images / SMALL.batch_size)

    def no_training(*args, **kwargs):
        raise AssertionError("a cached model must not be trained again")

    monkeypatch.setattr(training, "train", no_training)
    assert training.trained_tiny_model(SMALL) == folder
    model, processor = evaluation.load_vision_model(folder)
    assert type(model).__name__ == "MllamaForConditionalGeneration" and not model.training
    assert type(processor).__name__ == "MllamaProcessor"
    asked = make_examples(1, tiny.TILE_SIZE, seed=3)
    replies = evaluation.answer_questions(model, processor, [e.image for e in asked], [e.question for e in asked])
    assert len(replies) == 2 and all(isinstance(reply, str) for reply in replies)
