"""The parameter counts: the shipped ones (sizes.json) and the arithmetic behind them (course.references.sizes),
exact against the real transformers classes, within 1 % of the model cards."""

import pytest
import torch
import transformers

from course.models.configs import MODEL_NAMES, load_config, model_card
from course.models.params import count_parameters, non_embedding_parameters
from course.models.tiny import build_tiny, tiny_config_dict
from course.references.sizes import count_from_config


def _real_size_model(name):
    """The full-size model on the meta device: real shapes, no memory."""
    config = load_config(name)
    config_class = type(transformers.AutoConfig.for_model(config["model_type"]))
    with torch.device("meta"):
        return getattr(transformers, model_card(name).architecture)(config_class(**config))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_count_equals_the_real_class_at_full_size(name):
    model = _real_size_model(name)
    real = sum(p.numel() for p in model.parameters())
    assert count_parameters(name).total == count_from_config(load_config(name)).total == real


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_count_equals_a_tiny_model_built_from_the_real_class(name):
    model = build_tiny(name)
    assert count_from_config(tiny_config_dict(name)).total == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_count_within_one_percent_of_the_model_card(name):
    card, count = model_card(name), count_parameters(name)
    assert count.total == pytest.approx(card.published_total, rel=0.01)
    if card.published_active is not None:
        assert count.active == pytest.approx(card.published_active, rel=0.01)
    else:
        assert count.active == count.total


def test_breakdown_sums_to_total_and_names_the_parts():
    for name in MODEL_NAMES:
        count = count_parameters(name)
        assert sum(count.by_part.values()) == count.total
    assert "lm_head" not in count_parameters("llama-3.2-1b").by_part  # tied embeddings
    assert {"experts", "router"} <= set(count_parameters("mixtral-8x7b").by_part)
    vision = count_parameters("llama-3.2-11b-vision").by_part
    assert {"vision_encoder", "cross_attention", "projector"} <= set(vision)


def test_moe_active_is_total_minus_unused_experts():
    count = count_parameters("mixtral-8x7b")
    per_layer_expert = count.by_part["experts"] // (32 * 8)
    assert count.total - count.active == 32 * 6 * per_layer_expert
    assert count.is_sparse and not count_parameters("mistral-7b").is_sparse


def test_gqa_shrinks_attention():
    config = load_config("mistral-7b")
    full = dict(config, num_key_value_heads=config["num_attention_heads"])
    assert count_from_config(full).by_part["attention"] > count_from_config(config).by_part["attention"]
    assert count_from_config(config) == count_parameters("mistral-7b")


def test_non_embedding_parameters():
    count = count_parameters("mistral-7b")
    expected = count.total - count.by_part["embeddings"] - count.by_part["lm_head"]
    assert non_embedding_parameters("mistral-7b") == expected


def test_unsupported_model_type_is_a_clear_error():
    with pytest.raises(ValueError, match="supported"):
        count_from_config({"model_type": "bert"})
    with pytest.raises(ValueError, match="course model name"):
        count_parameters("bert-base")


def _not_names():
    config = load_config("mistral-7b")
    bare = {k: v for k, v in config.items() if k != "model_type"}
    return [dict(config, model_type="mistral"), bare, tiny_config_dict("mixtral-8x7b")]


@pytest.mark.parametrize("function", [count_parameters, non_embedding_parameters])
def test_only_course_model_names_are_counted(function):
    # lesson 02 asks students for this arithmetic on config.json values; the course's count is not theirs
    for config in _not_names():
        with pytest.raises(ValueError, match="takes a course model name such as 'mistral-7b'"):
            function(config)
