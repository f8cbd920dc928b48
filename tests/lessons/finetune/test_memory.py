"""Lesson 05 §2 and §9: what training needs in memory, and sizes on disk."""

import pytest

from course.lessons.finetune import memory
from course.models.configs import load_config
from course.references import finetune as references


def test_lora_parameters_of_phi35_mini():
    config = load_config("phi-3.5-mini")
    # per layer: qkv 3072 -> 9216, o 3072 -> 3072, gate_up 3072 -> 16384, down 8192 -> 3072
    assert references.phi3_lora_parameters(config, 16) == 32 * 16 * (12288 + 6144 + 19456 + 11264)
    assert references.phi3_lora_parameters(config, 8, ["o_proj"]) == 32 * 8 * 6144
    with pytest.raises(ValueError, match="q_proj"):
        references.phi3_lora_parameters(config, 8, ["q_proj"])
    with pytest.raises(ValueError, match="Phi-3"):
        references.phi3_linear_shapes(load_config("mistral-7b"))


def test_training_memory_full_vs_lora():
    full = memory.training_memory(1000, 1000, "bf16")
    assert (full.weights, full.gradients, full.optimizer, full.activations) == (2000, 2000, 12000, 0)
    assert full.total == 16 * 1000
    lora = memory.training_memory(1000, 10, "bf16", activations=500)
    assert lora.as_dict() == {"weights": 2000, "gradients": 20, "optimizer states": 120, "activations": 500}
    assert memory.training_memory(1000, 1000, "fp32").weights == 4000
    with pytest.raises(ValueError):
        memory.training_memory(10, 11)


def test_activation_bytes_follow_the_formula():
    config = {"hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 3}
    assert memory.activation_bytes(config, batch=2, sequence=4) == 3 * 4 * 2 * 8 * (34 + 5 * 2 * 4 / 8)
    big = memory.activation_bytes(config, batch=2, sequence=8)
    assert big > 2 * memory.activation_bytes(config, batch=2, sequence=4)  # attention grows with s^2
    with pytest.raises(ValueError):
        memory.activation_bytes(config, batch=0, sequence=4)


def test_folder_bytes(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x" * 10)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"y" * 5)
    assert memory.folder_bytes(tmp_path) == 15


def test_fp32_training_bytes_counts_weights_gradients_and_two_moments():
    from course.lessons.finetune.memory import fp32_training_bytes

    assert fp32_training_bytes(1000, 1000) == 1000 * 16
    assert fp32_training_bytes(1000, 10) == 4000 + 10 * 12
    with pytest.raises(ValueError):
        fp32_training_bytes(10, 11)
