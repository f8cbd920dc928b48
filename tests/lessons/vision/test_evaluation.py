"""Lesson 04 §5-6: asking, scoring, gates, and loading real weights."""

import math

import pytest
import torch

from course.lessons.vision import evaluation, gated, tiny, training
from course.lessons.vision.data import chance_accuracy, make_examples
from course.models.weights import WeightsNotFoundError
from course.references.vision import gated_cross_attention


def test_extract_answer():
    assert evaluation.extract_answer("The shape is a red circle.", "colour") == "red"
    assert evaluation.extract_answer("The shape is a red circle.", "shape") == "circle"
    assert evaluation.extract_answer("Purple", "colour") == "purple"
    assert evaluation.extract_answer("I cannot tell", "shape") == ""
    with pytest.raises(KeyError, match="colour"):
        evaluation.extract_answer("red", "size")


def test_untrained_model_does_not_answer(model, processor):
    examples = make_examples(10, tiny.TILE_SIZE, seed=9)
    result = evaluation.evaluate(model, processor, examples)
    assert set(result.accuracy) == {"colour", "shape"}
    assert len(result.predictions) == len(examples)
    assert all(acc < 0.5 for acc in result.accuracy.values())
    with pytest.raises(ValueError, match="one question per picture"):
        evaluation.answer_questions(model, processor, [examples[0].image], [])


def test_closed_gates_cut_the_picture_off_and_are_restored(model, processor):
    layer = model.model.language_model.layers[1]
    with torch.no_grad():
        layer.cross_attn_attn_gate.fill_(0.7)
        layer.cross_attn_mlp_gate.fill_(-0.4)
    examples = make_examples(2, tiny.TILE_SIZE, seed=1)
    batch = tiny.encode(processor, examples)
    swapped = dict(batch, pixel_values=batch["pixel_values"].flip(0))
    with torch.no_grad():
        assert not torch.allclose(model(**batch).logits, model(**swapped).logits)
        with evaluation.closed_gates(model):
            assert set(evaluation.gate_values(model).values()) == {0.0}
            assert torch.allclose(model(**batch).logits, model(**swapped).logits)
    assert evaluation.gate_values(model) == pytest.approx(
        {"layer 1 attention": math.tanh(0.7), "layer 1 MLP": math.tanh(-0.4)}
    )


def test_missing_weights_say_what_to_do(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="download"):
        evaluation.load_vision_model("meta-llama/not-a-model-on-this-machine")
    with pytest.raises(WeightsNotFoundError):
        evaluation.load_vision_model(tmp_path)  # a folder without config.json


@pytest.mark.slow
def test_the_lesson_model_beats_chance_and_needs_the_picture():
    settings = training.TrainingSettings()
    model, processor = evaluation.load_vision_model(training.pretrained_parts(settings))
    gated.use_gated_blocks(model, gated_cross_attention)
    gated.freeze_all_but_the_adapter(model)
    training.train_adapter(model, processor, training.training_examples(settings), settings)
    held_out = evaluation.held_out_examples(100)
    result = evaluation.evaluate(model, processor, held_out)
    assert result.accuracy["colour"] >= 0.9
    assert result.accuracy["shape"] >= 0.6
    with evaluation.closed_gates(model):
        blind = evaluation.evaluate(model, processor, held_out)
    for kind, accuracy in blind.accuracy.items():
        assert accuracy <= chance_accuracy(kind) + 0.15, (kind, accuracy)
