"""Weight and KV-cache formats: bits per weight from llama.cpp's block layouts (the gguf package), the GPTQ/AWQ
layout, and Q4_K_M's average checked against llama.cpp's per-tensor recipe on the course's real configs."""

import pytest
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

from course.models.configs import load_config
from course.models.quant import (
    GPTQ_GROUP_SIZE,
    KV_FORMATS,
    Q4_K_M_Q6_K_SHARE,
    ggml_bits,
    kv_bytes_per_value,
    weight_format,
    weight_formats,
)

# The block layouts as llama.cpp's ggml-common.h declares them, counted by hand (bytes per block / weights per block)
BY_HAND = {
    "Q8_0": (2 + 32) * 8 / 32,  # fp16 scale + 32 int8
    "Q4_0": (2 + 16) * 8 / 32,  # fp16 scale + 32 nibbles
    "Q4_K": (2 + 2 + 12 + 128) * 8 / 256,  # fp16 d and dmin, 12 bytes of 6-bit scales/mins, 256 nibbles
    "Q6_K": (128 + 64 + 16 + 2) * 8 / 256,  # low 4 bits, high 2 bits, 8-bit scales per 16, fp16 d
}


@pytest.mark.parametrize("name", sorted(BY_HAND))
def test_ggml_bits_come_from_the_gguf_package_and_match_the_layouts(name):
    block, size = GGML_QUANT_SIZES[GGMLQuantizationType[name]]
    assert ggml_bits(name) == 8 * size / block == BY_HAND[name]


def test_the_figures_issue_16_names():
    assert weight_format("Q4_0").bits == 4.5 and weight_format("Q8_0").bits == 8.5
    assert 4.75 < weight_format("Q4_K_M").bits < 4.85  # the decoder layers; the whole file averages more
    assert weight_format("GPTQ-4bit").bits == 4 + (16 + 4) / GPTQ_GROUP_SIZE == 4.15625
    assert weight_format("GPTQ-4bit").embedding_bits == weight_format("GPTQ-4bit").head_bits == 16
    assert weight_format("Q4_0").head_bits == weight_format("Q4_K_M").head_bits == ggml_bits("Q6_K")
    assert weight_format("Q8_0").head_bits == ggml_bits("Q8_0")  # Q8_0 keeps its own type for the head
    assert weight_format("int4").bits == 4 and weight_format("bf16").bits == 16


def _use_more_bits(layer: int, layers: int) -> bool:
    """llama.cpp's src/llama-quant.cpp: the layers whose attn_v and ffn_down Q4_K_M stores as Q6_K."""
    return layer < layers // 8 or layer >= 7 * layers // 8 or (layer - layers // 8) % 3 == 2


def _q4_k_m_recipe_bits(name: str) -> float:
    """Bits of a Llama/Mistral model's weights in llama.cpp's Q4_K_M, tensor by tensor (norms in f32)."""
    c = load_config(name)
    h, layers, heads = c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"]
    kv, d, i, vocab = c["num_key_value_heads"], c.get("head_dim") or h // heads, c["intermediate_size"], c["vocab_size"]
    q4k, q6k = ggml_bits("Q4_K"), ggml_bits("Q6_K")
    q, k, v, o, gate, up, down = h * heads * d, h * kv * d, h * kv * d, heads * d * h, h * i, h * i, h * i
    bits = 0.0
    for layer in range(layers):
        upgraded = q6k if _use_more_bits(layer, layers) else q4k
        bits += (q + k + o + gate + up) * q4k + (v + down) * upgraded + 2 * h * 32
    bits += h * 32 + vocab * h * q6k  # final norm, output head (or the tied matrix)
    if not c.get("tie_word_embeddings", False):
        bits += vocab * h * q4k
    return bits


@pytest.mark.parametrize("name", ["llama-3.2-1b", "llama-3.2-3b", "mistral-7b", "mistral-nemo-12b", "mistral-small"])
def test_q4_k_m_average_reproduces_llama_cpps_recipe(name):
    from course.models.memory import model_weight_bytes

    recipe = _q4_k_m_recipe_bits(name) / 8
    assert model_weight_bytes(name, "Q4_K_M").total == pytest.approx(recipe, rel=0.01)


def test_q4_k_m_upgrades_about_a_seventh_of_the_layers_weights():
    assert Q4_K_M_Q6_K_SHARE == pytest.approx(1 / 7)
    layers = 40
    assert sum(_use_more_bits(i, layers) for i in range(layers)) == layers // 2  # half the layers of NeMo


def test_kv_formats():
    assert kv_bytes_per_value("bf16") == kv_bytes_per_value("fp16") == 2
    assert kv_bytes_per_value("fp8") == kv_bytes_per_value("int8") == 1
    assert kv_bytes_per_value("q8_0") == 8.5 / 8 and kv_bytes_per_value("q4_0") == 4.5 / 8
    assert set(KV_FORMATS) == {"fp32", "fp16", "bf16", "fp8", "int8", "q8_0", "q4_0"}


def test_unknown_names_say_what_to_choose():
    with pytest.raises(ValueError, match="Q4_K_M"):
        weight_format("int3")
    with pytest.raises(ValueError, match="q8_0"):
        kv_bytes_per_value("Q8_0")  # weight formats and cache types are spelled as their tools spell them
    with pytest.raises(ValueError, match="ggml type"):
        ggml_bits("Q4_K_M")
    assert all(fmt.source for fmt in weight_formats().values())
