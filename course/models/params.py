"""Parameter counts computed from a config's shapes, part by part.

The arithmetic follows the transformers implementations of the course's
architectures (Llama, Mistral, Phi-3, Mixtral, PhiMoE, Mllama); the unit tests
check it, number for number, against models built from the real classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from course.models.configs import _course_config, head_dim, text_config

_MOE_TYPES = {"mixtral", "phimoe"}
_SUPPORTED = {"llama", "mistral", "phi3", "mixtral", "phimoe", "mllama"}


@dataclass(frozen=True)
class ParameterCount:
    """Total parameters, those used for one token (they differ for MoE), and a breakdown by part."""

    total: int
    active: int
    by_part: dict[str, int] = field(default_factory=dict)

    @property
    def is_sparse(self) -> bool:
        return self.active < self.total


def _attention(hidden: int, heads: int, kv_heads: int, dim: int, bias: bool) -> int:
    """q, k, v and o projections; with GQA, k and v have ``kv_heads`` heads only."""
    q_out, kv_out = heads * dim, kv_heads * dim
    weights = hidden * q_out + 2 * hidden * kv_out + q_out * hidden
    biases = q_out + 2 * kv_out + hidden if bias else 0
    return weights + biases


def _gated_mlp(hidden: int, intermediate: int, bias: bool = False) -> int:
    """gate, up and down projections of a SwiGLU MLP."""
    return 3 * hidden * intermediate + ((2 * intermediate + hidden) if bias else 0)


def _decoder(config: dict[str, Any]) -> tuple[dict[str, int], int]:
    """Parts of a decoder-only LM, and the parameters of the experts a token does not use."""
    model_type = config["model_type"]
    hidden, layers = config["hidden_size"], config["num_hidden_layers"]
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    vocab, intermediate = config["vocab_size"], config["intermediate_size"]
    norm = 2 * hidden if model_type == "phimoe" else hidden  # PhiMoE uses LayerNorm (weight and bias)

    attention = _attention(hidden, heads, kv_heads, head_dim(config), config.get("attention_bias", False))
    parts = {
        "embeddings": vocab * hidden,
        "attention": layers * attention,
        "norms": (2 * layers + 1) * norm,
    }
    inactive = 0
    if model_type in _MOE_TYPES:
        experts, top_k = config["num_local_experts"], config["num_experts_per_tok"]
        one_expert = _gated_mlp(hidden, intermediate)
        parts["experts"] = layers * experts * one_expert
        parts["router"] = layers * hidden * experts
        inactive = layers * (experts - top_k) * one_expert
    else:
        parts["mlp"] = layers * _gated_mlp(hidden, intermediate, config.get("mlp_bias", False))
    if not config.get("tie_word_embeddings", False):
        parts["lm_head"] = vocab * hidden + (vocab if config.get("lm_head_bias", False) else 0)
    return parts, inactive


def _vision_encoder(vision: dict[str, Any]) -> int:
    """Mllama's ViT: patch conv, tile/position embeddings, local and gated global layers."""
    hidden, intermediate = vision["hidden_size"], vision["intermediate_size"]
    patch, tiles = vision["patch_size"], vision["max_num_tiles"]
    patches = (vision["image_size"] // patch) ** 2 + 1  # +1: the class token
    aspect_ids = len(vision["supported_aspect_ratios"]) + 1
    layer_norm = 2 * hidden

    def layer(gated: bool) -> int:
        attention = 4 * hidden * hidden  # q, k, v, o without bias
        mlp = 2 * hidden * intermediate + intermediate + hidden  # fc1, fc2 with bias
        return attention + mlp + 2 * layer_norm + (2 if gated else 0)

    embeddings = (
        vision["num_channels"] * patch * patch * hidden  # patch embedding, no bias
        + hidden  # class embedding
        + 1
        + patches * hidden
        + aspect_ids * tiles * patches * hidden  # gated position + tile-position
        + 2 * (aspect_ids * tiles * hidden + 1)  # pre- and post-tile embeddings with their gates
    )
    return (
        embeddings
        + 2 * layer_norm  # layernorm_pre, layernorm_post
        + vision["num_hidden_layers"] * layer(gated=False)
        + vision["num_global_layers"] * layer(gated=True)
    )


def _mllama(config: dict[str, Any]) -> dict[str, int]:
    text, vision = config["text_config"], config["vision_config"]
    hidden, intermediate = text["hidden_size"], text["intermediate_size"]
    heads = text["num_attention_heads"]
    kv_heads = text.get("num_key_value_heads") or heads
    dim = head_dim(config)
    layers = text["num_hidden_layers"]
    cross = len(text["cross_attention_layers"])
    attention = _attention(hidden, heads, kv_heads, dim, bias=False)
    vocab = text["vocab_size"]
    parts = {
        "embeddings": (vocab + 8) * hidden,  # Mllama reserves 8 extra rows for image special tokens
        "attention": (layers - cross) * attention,
        # cross-attention: same projections, plus q/k RMSNorms over one head and two tanh gates
        "cross_attention": cross * (attention + 2 * dim + 2),
        "mlp": layers * _gated_mlp(hidden, intermediate),
        "norms": (2 * layers + 1) * hidden,
        "vision_encoder": _vision_encoder(vision),
        "projector": vision["vision_output_dim"] * hidden + hidden,
    }
    if not text.get("tie_word_embeddings", False):
        parts["lm_head"] = vocab * hidden
    return parts


def _count(config: dict[str, Any]) -> ParameterCount:
    """The arithmetic over a config of one of the course's architectures (its ``model_type`` says which).

    Private: the course's public functions take course model names only (lesson 02 asks students to write this
    arithmetic for their own configs).
    """
    model_type = config.get("model_type")
    if model_type not in _SUPPORTED:
        supported = ", ".join(sorted(_SUPPORTED))
        raise ValueError(f"Cannot count parameters for model_type {model_type!r}; supported: {supported}.")
    if model_type == "mllama":
        parts, inactive = _mllama(config), 0
    else:
        parts, inactive = _decoder(config)
    total = sum(parts.values())
    return ParameterCount(total=total, active=total - inactive, by_part=parts)


def count_parameters(name: str) -> ParameterCount:
    """Count the parameters of a course model, by its name (see ``MODEL_NAMES``), part by part.

    It takes names only: lesson 02's Exercise 1 asks for this arithmetic on config.json values. To count a config of
    your own, write the arithmetic, or build the model and add up ``p.numel()`` over its parameters.
    """
    return _count(_course_config(name, "count_parameters"))


def non_embedding_parameters(name: str) -> int:
    """Parameters of course model ``name`` outside the token embeddings and the output head (what scales with depth
    and width)."""
    count = _count(_course_config(name, "non_embedding_parameters"))
    return count.total - count.by_part["embeddings"] - count.by_part.get("lm_head", 0)


__all__ = ["ParameterCount", "count_parameters", "non_embedding_parameters", "text_config"]
