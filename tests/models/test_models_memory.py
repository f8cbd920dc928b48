"""Memory arithmetic: weights in real formats (the layers, embeddings and head each at their own rate) and a GQA-aware
KV cache in any cache format (its values checked against the caches of tiny models built from the real
transformers classes)."""

import pytest
import torch

from course.models.configs import MODEL_NAMES, load_config
from course.models.memory import GIB, WeightBytes, bytes_per_param, kv_cache_bytes, model_weight_bytes, weight_bytes
from course.models.params import count_parameters
from course.models.quant import weight_format
from course.models.tiny import build_tiny, tiny_config_dict
from course.references.sizes import kv_values


def test_weight_bytes_per_precision():
    n = 1_000_001
    assert weight_bytes(n, "fp32") == 4 * n
    assert weight_bytes(n, "bf16") == weight_bytes(n, "fp16") == 2 * n
    assert weight_bytes(n, "int8") == n
    assert weight_bytes(n, "int4") == (n + 1) // 2  # the ideal: two weights per byte, rounded up
    assert weight_bytes(32, "Q4_0") == 18 and weight_bytes(32, "Q8_0") == 34  # one ggml block each


def test_bad_precision_and_negative_count():
    with pytest.raises(ValueError, match="int4"):
        bytes_per_param("int3")
    with pytest.raises(ValueError):
        weight_bytes(-1, "fp32")


def test_nemo_in_real_formats():
    # Mistral NeMo: untied 131,072 x 5,120 embeddings and head, the rest in 40 decoder layers
    vocabulary_matrix, total = 131_072 * 5_120, count_parameters("mistral-nemo-12b").total
    layers = total - 2 * vocabulary_matrix
    gptq = model_weight_bytes("mistral-nemo-12b", "GPTQ-4bit")
    assert gptq.embeddings == gptq.head == 2 * vocabulary_matrix  # 16 bits each
    assert gptq.layers == pytest.approx(layers * 4.15625 / 8, abs=1)
    q4 = model_weight_bytes("mistral-nemo-12b", "Q4_0")
    assert q4.total == pytest.approx((layers + vocabulary_matrix) * 4.5 / 8 + vocabulary_matrix * 6.5625 / 8, abs=2)
    # real 4-bit files are 7 to 8.5 GB, well above half a byte per weight
    ideal = model_weight_bytes("mistral-nemo-12b", "int4").total
    assert ideal == weight_bytes(total, "int4")
    for precision in ("Q4_0", "Q4_K_M", "GPTQ-4bit"):
        size = model_weight_bytes("mistral-nemo-12b", precision).total
        assert 7.0e9 < size < 8.5e9 and size > 1.14 * ideal, precision


def test_tied_embeddings_are_stored_once_at_the_heads_rate():
    llama = model_weight_bytes("llama-3.2-1b", "GPTQ-4bit")  # tied: the head is the embedding matrix
    parts = count_parameters("llama-3.2-1b").by_part
    assert "lm_head" not in parts and llama.embeddings == 0
    assert llama.head == 2 * parts["embeddings"]
    assert llama.total == llama.head + llama.layers
    assert llama.layers == pytest.approx((sum(parts.values()) - parts["embeddings"]) * 4.15625 / 8, abs=1)
    assert WeightBytes(1, 2, 3).total == 6


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_uniform_formats_agree_with_the_plain_count(name):
    total = count_parameters(name).total
    for precision in ("fp32", "bf16", "int8"):
        assert model_weight_bytes(name, precision).total == pytest.approx(weight_bytes(total, precision), abs=2)
    assert weight_format("Q8_0").bits == weight_format("Q8_0").head_bits  # uniform too


def test_mistral_7b_kv_cache_by_hand():
    # 32 layers x 2 (K and V) x 8 KV heads x 128 dims x 2 bytes = 131,072 bytes per token
    assert kv_cache_bytes("mistral-7b", 1, precision="bf16") == 131_072
    assert kv_cache_bytes("mistral-7b", 4096, batch=2) == 2 * 4096 * 131_072


def test_gqa_shrinks_the_cache():
    config = load_config("mistral-7b")
    without_gqa = dict(config, num_key_value_heads=config["num_attention_heads"])
    assert kv_values(without_gqa)["per_token"] == 4 * kv_values(config)["per_token"]
    assert kv_values(config) == {"per_token": 32 * 2 * 8 * 128, "per_image": 0}
    assert kv_values(config)["per_token"] * 1000 * 2 == kv_cache_bytes("mistral-7b", 1000)  # bf16: 2 bytes


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_kv_values_equal_the_cache_of_a_tiny_model_built_from_the_real_class(name):
    model, kv = build_tiny(name), kv_values(tiny_config_dict(name))
    tokens, images = 5, 0
    inputs = {}
    if kv["per_image"]:
        images, vision = 2, model.config.vision_config
        tiles = vision.max_num_tiles
        tokens += images
        inputs = dict(
            pixel_values=torch.randn(1, images, tiles, 3, vision.image_size, vision.image_size),
            aspect_ratio_ids=torch.ones(1, images, dtype=torch.long),
            aspect_ratio_mask=torch.ones(1, images, tiles, dtype=torch.long),
            cross_attention_mask=torch.ones(1, tokens, images, tiles, dtype=torch.long),
        )
    ids = torch.randint(3, 100, (1, tokens))
    if images:
        ids[0, :images] = model.config.image_token_index
    device = next(model.parameters()).device
    with torch.no_grad():
        cache = model(input_ids=ids.to(device), use_cache=True, **{k: v.to(device) for k, v in inputs.items()})
    cached = sum(layer.keys.numel() + layer.values.numel() for layer in cache.past_key_values.layers)
    assert cached == kv["per_token"] * tokens + kv["per_image"] * images


def test_vision_cache_adds_cross_attention_for_images():
    text_only = kv_cache_bytes("llama-3.2-11b-vision", 100)
    with_image = kv_cache_bytes("llama-3.2-11b-vision", 100, images=1)
    # 8 cross-attention layers x 4 tiles x (40 x 40 + 1) patches, 2 x 8 heads x 128 dims x 2 bytes
    assert with_image - text_only == 8 * 4 * 1601 * 2 * 8 * 128 * 2
    assert text_only == 32 * 100 * 2 * 8 * 128 * 2  # the 32 self-attention layers only


def test_kv_cache_in_cache_formats():
    bf16 = kv_cache_bytes("mistral-nemo-12b", 4096)
    assert bf16 == 4096 * 40 * 2 * 8 * 128 * 2 == 640 * 2**20  # 0.625 GiB
    assert kv_cache_bytes("mistral-nemo-12b", 4096, precision="q8_0") == bf16 * 8.5 / 16
    assert kv_cache_bytes("mistral-nemo-12b", 4096, precision="fp8") == bf16 // 2
    assert bf16 < GIB


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
        with pytest.raises(ValueError, match="takes a course model name such as 'mistral-7b'"):
            model_weight_bytes(not_a_name, "Q4_K_M")
    with pytest.raises(ValueError, match="model_type"):
        kv_values(bare)
