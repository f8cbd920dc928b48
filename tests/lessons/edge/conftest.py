"""The tiny model and its exported files, shared by lesson 06's tests."""

from __future__ import annotations

import pytest

from course.lessons.edge import export


@pytest.fixture(scope="session")
def tiny_model():
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    torch.manual_seed(0)
    config = MistralConfig(
        vocab_size=64,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=64,
    )
    return MistralForCausalLM(config).eval()


@pytest.fixture(scope="session")
def files(tiny_model):
    from course.references.edge import export_onnx, quantize_int8

    return export.export_all(tiny_model, None, export_onnx, quantize_int8)
