"""Tiny models: real classes, real structure, small sizes, and they run."""

import pytest
import torch

from course.models.configs import MODEL_NAMES, load_config, model_card
from course.models.tiny import TINY_HIDDEN, build_tiny, tiny_config

TEXT_MODELS = [name for name in MODEL_NAMES if name != "llama-3.2-11b-vision"]


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_tiny_text_model_keeps_the_class_and_structure(name):
    model = build_tiny(name)
    real = load_config(name)
    assert type(model).__name__ == model_card(name).architecture
    assert not model.training
    config = model.config
    assert config.hidden_size <= TINY_HIDDEN
    real_ratio = real["num_attention_heads"] // real["num_key_value_heads"]
    assert config.num_attention_heads // config.num_key_value_heads == real_ratio
    for key in ("num_local_experts", "num_experts_per_tok", "tie_word_embeddings"):
        if key in real:
            assert getattr(config, key) == real[key]
    out = model.generate(torch.tensor([[5, 6, 7]]), max_new_tokens=3, do_sample=False, pad_token_id=0)
    assert out.shape == (1, 6)


def test_tiny_models_are_seeded():
    first = build_tiny("mistral-7b", seed=3).lm_head.weight
    again = build_tiny("mistral-7b", seed=3).lm_head.weight
    other = build_tiny("mistral-7b", seed=4).lm_head.weight
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_overrides_apply():
    config = tiny_config("phi-3.5-mini", num_hidden_layers=3, vocab_size=100)
    assert config.num_hidden_layers == 3 and config.vocab_size == 100
    vision = tiny_config("llama-3.2-11b-vision", text_config={"vocab_size": 300})
    assert vision.text_config.vocab_size == 300 and vision.text_config.cross_attention_layers == [1]


def test_tiny_vision_model_sees_an_image():
    model = build_tiny("llama-3.2-11b-vision")
    vision = model.config.vision_config
    assert type(model).__name__ == "MllamaForConditionalGeneration"
    ids = torch.tensor([[model.config.image_token_index, 5, 6, 7]])
    pixels = torch.randn(1, 1, vision.max_num_tiles, 3, vision.image_size, vision.image_size)
    out = model(
        input_ids=ids,
        pixel_values=pixels,
        aspect_ratio_ids=torch.tensor([[1]]),
        aspect_ratio_mask=torch.ones(1, 1, vision.max_num_tiles, dtype=torch.long),
        cross_attention_mask=torch.ones(1, 4, 1, vision.max_num_tiles, dtype=torch.long),
    )
    assert out.logits.shape == (1, 4, model.config.text_config.vocab_size)
