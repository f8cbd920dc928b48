"""The shipped configs: complete, consistent, and named as the rest of the course expects."""

import pytest

from course.models.configs import MODEL_NAMES, head_dim, load_config, model_card, text_config

EXPECTED_CLASSES = {
    "phi-3.5-mini": "Phi3ForCausalLM",
    "phi-3.5-moe": "PhimoeForCausalLM",
    "mistral-7b": "MistralForCausalLM",
    "mistral-small": "MistralForCausalLM",
    "mistral-nemo-12b": "MistralForCausalLM",
    "llama-3.2-1b": "LlamaForCausalLM",
    "llama-3.2-3b": "LlamaForCausalLM",
    "llama-3.2-11b-vision": "MllamaForConditionalGeneration",
    "mixtral-8x7b": "MixtralForCausalLM",
}


def test_every_model_has_a_config_and_a_card():
    assert set(MODEL_NAMES) == set(EXPECTED_CLASSES)
    for name in MODEL_NAMES:
        card = model_card(name)
        assert card.architecture == EXPECTED_CLASSES[name]
        assert card.hf_repo.count("/") == 1
        assert card.published_total > 1e9 and card.source


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_config_has_the_shapes_that_matter(name):
    text = text_config(load_config(name))
    for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"):
        assert isinstance(text[key], int) and text[key] > 0, key
    assert text["num_attention_heads"] % text["num_key_value_heads"] == 0  # GQA groups are whole


def test_load_config_returns_a_copy():
    config = load_config("mistral-7b")
    config["hidden_size"] = 1
    assert load_config("mistral-7b")["hidden_size"] == 4096


def test_head_dim_explicit_and_derived():
    assert head_dim(load_config("mistral-nemo-12b")) == 128  # explicit: 5120 / 32 would be 160
    assert head_dim(load_config("phi-3.5-mini")) == 3072 // 32
    assert head_dim(load_config("llama-3.2-11b-vision")) == 4096 // 32


def test_moe_cards_publish_active_parameters():
    assert model_card("mixtral-8x7b").published_active == pytest.approx(12.9e9)
    assert model_card("phi-3.5-moe").published_active == pytest.approx(6.6e9)
    assert model_card("mistral-7b").published_active is None


def test_unknown_model_names_the_choices():
    with pytest.raises(KeyError, match="mistral-7b"):
        load_config("gpt-5")
