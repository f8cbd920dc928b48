"""Memory arithmetic: weights per precision and a GQA-aware KV cache."""

import pytest

from course.models.configs import load_config
from course.models.memory import (
    GIB,
    _kv_cache_bytes,
    bytes_per_param,
    kv_cache_bytes,
    total_inference_bytes,
    weight_bytes,
)
from course.models.params import count_parameters


def test_weight_bytes_per_precision():
    n = 1_000_001
    assert weight_bytes(n, "fp32") == 4 * n
    assert weight_bytes(n, "bf16") == weight_bytes(n, "fp16") == 2 * n
    assert weight_bytes(n, "int8") == n
    assert weight_bytes(n, "int4") == (n + 1) // 2  # two weights per byte, rounded up


def test_bad_precision_and_negative_count():
    with pytest.raises(ValueError, match="int4"):
        bytes_per_param("int3")
    with pytest.raises(ValueError):
        weight_bytes(-1, "fp32")


def test_mistral_7b_kv_cache_by_hand():
    # 32 layers x 2 (K and V) x 8 KV heads x 128 dims x 2 bytes = 131,072 bytes per token
    assert kv_cache_bytes("mistral-7b", 1, precision="bf16") == 131_072
    assert kv_cache_bytes("mistral-7b", 4096, batch=2) == 2 * 4096 * 131_072


def test_gqa_shrinks_the_cache():
    config = load_config("mistral-7b")
    without_gqa = dict(config, num_key_value_heads=config["num_attention_heads"])
    assert _kv_cache_bytes(without_gqa, 1000) == 4 * _kv_cache_bytes(config, 1000)
    assert _kv_cache_bytes(config, 1000) == kv_cache_bytes("mistral-7b", 1000)


def test_vision_cache_adds_cross_attention_for_images():
    text_only = kv_cache_bytes("llama-3.2-11b-vision", 100)
    with_image = kv_cache_bytes("llama-3.2-11b-vision", 100, images=1)
    # 8 cross-attention layers x 4 tiles x (40 x 40 + 1) patches, 2 x 8 heads x 128 dims x 2 bytes
    assert with_image - text_only == 8 * 4 * 1601 * 2 * 8 * 128 * 2
    assert text_only == 32 * 100 * 2 * 8 * 128 * 2  # the 32 self-attention layers only


def test_total_inference_bytes_adds_weights_and_cache():
    total = total_inference_bytes("llama-3.2-1b", "int4", 2048)
    weights = weight_bytes(count_parameters("llama-3.2-1b").total, "int4")
    assert total == weights + kv_cache_bytes("llama-3.2-1b", 2048)
    assert 0.5 < total / GIB < 1.0


def test_bad_context_is_rejected():
    with pytest.raises(ValueError):
        kv_cache_bytes("mistral-7b", -1)


def test_only_course_model_names_are_counted():
    # lesson 02 asks students for this arithmetic on config.json values; the course's count is not theirs
    config = load_config("mistral-7b")
    bare = {k: v for k, v in config.items() if k != "model_type"}
    for not_a_name in (dict(config, model_type="mistral"), bare, "mistral-7b-v0.3"):
        with pytest.raises(ValueError, match="takes a course model name such as 'mistral-7b'"):
            kv_cache_bytes(not_a_name, 100)
    with pytest.raises(ValueError, match="model_type"):
        _kv_cache_bytes(bare, 100)
