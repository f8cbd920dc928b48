"""Lesson 04's tiny Llama 3.2 Vision: built from the real classes, trained, evaluated, saved and loaded."""

import math

import pytest
import torch

from course.lessons import vision_model as vm
from course.lessons.vision import IMAGE_TOKEN
from course.lessons.vision_data import ANSWERS, chance_accuracy, make_examples
from course.models.weights import WeightsNotFoundError

SMALL = vm.TrainingSettings(n_images=24, vision_epochs=2, epochs=2, batch_size=16, warmup_steps=2)


@pytest.fixture(scope="module")
def processor():
    return vm.tiny_processor()


@pytest.fixture()
def model(processor):
    return vm.build_tiny_model(processor, seed=0)


def test_tokenizer_knows_every_word_and_ends_with_the_image_token(processor):
    tokenizer = processor.tokenizer
    assert tokenizer.convert_tokens_to_ids(IMAGE_TOKEN) == len(tokenizer) - 1
    for token in vm.CHAT_TOKENS:
        assert len(tokenizer(token, add_special_tokens=False)["input_ids"]) == 1
    words = [w for options in ANSWERS.values() for w in options] + ["user", "assistant"]
    ids = tokenizer(" ".join(words), add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token_id not in ids and len(ids) == len(words)


def test_tiny_model_has_the_real_structure(model, processor):
    assert type(model).__name__ == "MllamaForConditionalGeneration"
    text, vision_config = model.config.text_config, model.config.vision_config
    image_id = processor.tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    assert model.config.image_token_index == image_id == text.vocab_size
    assert text.cross_attention_layers == [1] and text.num_hidden_layers == 3
    assert (vision_config.image_size, vision_config.patch_size) == (vm.TILE_SIZE, vm.PATCH_SIZE)
    assert vision_config.num_global_layers == 1
    assert vm.gate_values(model) == {"layer 1 attention": 0.0, "layer 1 MLP": 0.0}
    assert processor.image_processor.size.height == vm.TILE_SIZE
    assert sum(p.numel() for p in model.parameters()) < 1_000_000


def test_labels_cover_only_the_answer_and_the_end_of_turn(processor):
    examples = make_examples(3, vm.TILE_SIZE, seed=0)
    batch = vm.encode(processor, examples, with_answers=True)
    tokenizer = processor.tokenizer
    for row, example in zip(range(len(examples)), examples, strict=True):
        labelled = batch["labels"][row][batch["labels"][row] != -100]
        assert tokenizer.convert_ids_to_tokens(labelled.tolist()) == [example.answer, vm.END_OF_TURN]
    assert batch["cross_attention_mask"].shape[:2] == batch["input_ids"].shape
    plain = vm.encode(processor, examples)
    assert "labels" not in plain and tokenizer.padding_side == "left"


def test_one_begin_of_text_even_with_a_tokenizer_that_adds_one():
    from tokenizers import processors

    processor = vm.tiny_processor()
    tokenizer = processor.tokenizer
    # Llama 3's real tokenizer adds <|begin_of_text|> itself; the chat template has already written it
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tokenizer.bos_token_id)])
    assert tokenizer("red")["input_ids"][0] == tokenizer.bos_token_id
    examples = make_examples(1, vm.TILE_SIZE, seed=0)
    for batch in (vm.encode(processor, examples), vm.encode(processor, examples, with_answers=True)):
        assert (batch["input_ids"] == tokenizer.bos_token_id).sum(dim=1).tolist() == [1, 1]


def test_extract_answer():
    assert vm.extract_answer("The shape is a red circle.", "colour") == "red"
    assert vm.extract_answer("The shape is a red circle.", "shape") == "circle"
    assert vm.extract_answer("Purple", "colour") == "purple"
    assert vm.extract_answer("I cannot tell", "shape") == ""
    with pytest.raises(KeyError, match="colour"):
        vm.extract_answer("red", "size")


def test_untrained_model_does_not_answer(model, processor):
    examples = make_examples(10, vm.TILE_SIZE, seed=9)
    result = vm.evaluate(model, processor, examples)
    assert set(result.accuracy) == {"colour", "shape"}
    assert len(result.predictions) == len(examples)
    assert all(acc < 0.5 for acc in result.accuracy.values())
    with pytest.raises(ValueError, match="one question per picture"):
        vm.answer_questions(model, processor, [examples[0].image], [])


def test_stage_one_trains_the_encoder_and_stage_two_keeps_it(model, processor):
    examples = make_examples(SMALL.n_images, vm.TILE_SIZE, seed=0)
    encoder = model.model.vision_model
    start = {name: p.detach().clone() for name, p in encoder.named_parameters()}
    vision_losses = vm.pretrain_vision(model, processor, examples, SMALL)
    assert len(vision_losses) == SMALL.vision_epochs * math.ceil(SMALL.n_images / SMALL.batch_size)
    assert any(not torch.equal(start[name], p) for name, p in encoder.named_parameters())
    after_stage_one = {name: p.detach().clone() for name, p in encoder.named_parameters()}
    gate_before = model.model.language_model.layers[1].cross_attn_attn_gate.detach().clone()
    losses = vm.train(model, processor, examples, SMALL)
    assert len(losses) == SMALL.epochs * math.ceil(len(examples) / SMALL.batch_size)
    assert all(torch.equal(after_stage_one[name], p) for name, p in encoder.named_parameters())
    assert not torch.equal(gate_before, model.model.language_model.layers[1].cross_attn_attn_gate)
    assert losses[-1] < losses[0]


def test_learning_rate_warms_up_then_decays():
    factors = [vm._lr_factor(step, 100, 10) for step in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert factors[10:] == sorted(factors[10:], reverse=True) and factors[-1] < 0.01


def test_closed_gates_cut_the_picture_off_and_are_restored(model, processor):
    layer = model.model.language_model.layers[1]
    with torch.no_grad():
        layer.cross_attn_attn_gate.fill_(0.7)
        layer.cross_attn_mlp_gate.fill_(-0.4)
    examples = make_examples(2, vm.TILE_SIZE, seed=1)
    batch = vm.encode(processor, examples)
    swapped = dict(batch, pixel_values=batch["pixel_values"].flip(0))
    with torch.no_grad():
        assert not torch.allclose(model(**batch).logits, model(**swapped).logits)
        with vm.closed_gates(model):
            assert set(vm.gate_values(model).values()) == {0.0}
            assert torch.allclose(model(**batch).logits, model(**swapped).logits)
    assert vm.gate_values(model) == pytest.approx({"layer 1 attention": math.tanh(0.7), "layer 1 MLP": math.tanh(-0.4)})


def test_trained_model_is_cached_and_loads_through_the_weights_path(monkeypatch):
    folder = vm.trained_tiny_model(SMALL)
    assert SMALL.cache_name in folder.name
    losses = vm.training_losses(folder)
    assert len(losses["answering"]) == SMALL.epochs * math.ceil(2 * SMALL.n_images / SMALL.batch_size)
    assert len(losses["vision"]) == SMALL.vision_epochs * math.ceil(SMALL.n_images / SMALL.batch_size)

    def no_training(*args, **kwargs):
        raise AssertionError("a cached model must not be trained again")

    monkeypatch.setattr(vm, "train", no_training)
    assert vm.trained_tiny_model(SMALL) == folder
    model, processor = vm.load_vision_model(folder)
    assert type(model).__name__ == "MllamaForConditionalGeneration" and not model.training
    assert type(processor).__name__ == "MllamaProcessor"
    asked = make_examples(1, vm.TILE_SIZE, seed=3)
    replies = vm.answer_questions(model, processor, [e.image for e in asked], [e.question for e in asked])
    assert len(replies) == 2 and all(isinstance(reply, str) for reply in replies)


def test_missing_weights_say_what_to_do(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="download"):
        vm.load_vision_model("meta-llama/not-a-model-on-this-machine")
    with pytest.raises(WeightsNotFoundError):
        vm.load_vision_model(tmp_path)  # a folder without config.json


@pytest.mark.slow
def test_the_lesson_model_beats_chance_and_needs_the_picture():
    model, processor = vm.load_vision_model(vm.trained_tiny_model())
    held_out = vm.held_out_examples(100)
    result = vm.evaluate(model, processor, held_out)
    assert result.accuracy["colour"] >= 0.9
    assert result.accuracy["shape"] >= 0.6
    with vm.closed_gates(model):
        blind = vm.evaluate(model, processor, held_out)
    for kind, accuracy in blind.accuracy.items():
        assert accuracy <= chance_accuracy(kind) + 0.15, (kind, accuracy)
