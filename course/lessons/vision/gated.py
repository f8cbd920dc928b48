"""Lesson 04 §5: the tiny model's cross-attention layers, built around a gated cross-attention block.

The block is the student's exercise (``gated_cross_attention``; its reference is the grader's, in
``course.references.vision``); the lesson passes the student's function to ``use_gated_blocks``, which puts a
``GatedCrossAttentionLayer`` calling it in place of every cross-attention layer of a tiny
``MllamaForConditionalGeneration``. The rest of the model (vision encoder, projector, self-attention layers) is
the real transformers code.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

Block = Callable[..., torch.Tensor]


class GatedCrossAttentionLayer(nn.Module):
    """A decoder layer that lets the text read the picture: ``block`` (a gated cross-attention), then a
    tanh-gated MLP, as in Llama 3.2 Vision. Both gates start at 0, so the layer starts as the identity.

    It replaces Mllama's ``MllamaCrossAttentionDecoderLayer`` (same call, same gate names, so
    ``evaluation.gate_values`` and ``closed_gates`` work on it). Unlike the real layer it has full-width keys and
    values, no query/key norms, and lets every text token see the picture (in the lesson's prompts the picture
    comes first).
    """

    def __init__(self, hidden_size: int, heads: int, intermediate_size: int, block: Block, layer_idx: int):
        super().__init__()
        from transformers.models.mllama.modeling_mllama import MllamaTextMLP, MllamaTextRMSNorm

        if hidden_size % heads:
            raise ValueError(f"hidden_size ({hidden_size}) must be a multiple of heads ({heads}).")
        self.block, self.heads, self.layer_idx = block, heads, layer_idx
        self.query = nn.Linear(hidden_size, hidden_size, bias=False)
        self.key = nn.Linear(hidden_size, hidden_size, bias=False)
        self.value = nn.Linear(hidden_size, hidden_size, bias=False)
        self.output = nn.Linear(hidden_size, hidden_size, bias=False)
        self.cross_attn_attn_gate = nn.Parameter(torch.zeros(1))
        self.post_attention_layernorm = MllamaTextRMSNorm(hidden_size)
        self.mlp = MllamaTextMLP(_MlpSizes(hidden_size, intermediate_size))
        self.cross_attn_mlp_gate = nn.Parameter(torch.zeros(1))

    def forward(self, hidden_states, cross_attention_states=None, past_key_values=None, **_unused):
        """The model calls every decoder layer with the same arguments; this one needs the picture's tokens.

        During generation the picture comes once, with the prompt: it is kept in the layer's slot of the key/value
        cache and read back at every following step.
        """
        image = cross_attention_states
        if image is not None and past_key_values is not None:
            past_key_values.update(image[:, None], image[:, None], self.layer_idx)
        elif image is None:
            image = past_key_values.layers[self.layer_idx].keys[:, 0]
        weights = (self.query.weight, self.key.weight, self.value.weight, self.output.weight)
        hidden_states = self.block(hidden_states, image, *weights, self.cross_attn_attn_gate[0], self.heads)
        update = self.mlp(self.post_attention_layernorm(hidden_states))
        return hidden_states + self.cross_attn_mlp_gate.tanh() * update


class _MlpSizes:
    """The two sizes ``MllamaTextMLP`` reads from a config."""

    def __init__(self, hidden_size: int, intermediate_size: int):
        self.hidden_size, self.intermediate_size, self.hidden_act = hidden_size, intermediate_size, "silu"


def use_gated_blocks(model, block: Block, seed: int = 0):
    """Replace every cross-attention layer of a tiny Mllama model by a fresh ``GatedCrossAttentionLayer`` calling
    ``block``; returns the model. The new layers start with closed gates, so the model still answers as before."""
    text = model.model.language_model
    config = model.config.text_config
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    for index in config.cross_attention_layers:
        text.layers[index] = GatedCrossAttentionLayer(
            config.hidden_size, config.num_attention_heads, config.intermediate_size, block, index
        ).to(model.device)
    torch.random.set_rng_state(generator_state)
    return model


def adapter_parameters(model) -> list[nn.Parameter]:
    """What learns to see: the projector and the cross-attention layers."""
    layers = [model.model.language_model.layers[i] for i in model.config.text_config.cross_attention_layers]
    return [*model.model.multi_modal_projector.parameters(), *(p for layer in layers for p in layer.parameters())]


def freeze_all_but_the_adapter(model) -> dict[str, int]:
    """Freeze the language model and the vision encoder, leave the adapter trainable; the parameter counts of
    each part (``"trained"``, ``"frozen language model"``, ``"frozen vision encoder"``)."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    adapter = adapter_parameters(model)
    for parameter in adapter:
        parameter.requires_grad_(True)
    adapter_ids = {id(p) for p in adapter}
    language = [p for p in model.model.language_model.parameters() if id(p) not in adapter_ids]
    language += list(model.lm_head.parameters())
    return {
        "trained": sum(p.numel() for p in adapter),
        "frozen language model": sum(p.numel() for p in language),
        "frozen vision encoder": sum(p.numel() for p in model.model.vision_model.parameters()),
    }
