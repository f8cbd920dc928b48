"""The arithmetic over config.json values behind the course's model sizes: parameters part by part, and the values
a KV cache holds.

It lives here, with the grader, because it answers lesson 02's exercises (``count_dense_parameters``: parameters of
a dense decoder from its config; ``kv_cache_size``: its KV cache), and the grading sandbox hides this folder. The
kernel-visible package ``course.models`` ships only its results, for the course's own models:
``course/models/configs/sizes.json``, written by ``python -m tools.model_sizes`` and checked against this module by
the tests (which also check this arithmetic, number for number, against models built from the real transformers
classes, at full size on the meta device and as tiny models).

The arithmetic follows the transformers implementations of the course's architectures (Llama, Mistral, Phi-3,
Mixtral, PhiMoE, Mllama); a config says which by its ``model_type``.
"""

from __future__ import annotations

from typing import Any

from course.models.configs import head_dim, text_config
from course.models.params import ParameterCount

_MOE_TYPES = {"mixtral", "phimoe"}
#: The course's architectures (``model_type``).
ARCHITECTURES = frozenset({"llama", "mistral", "phi3", "mixtral", "phimoe", "mllama"})


def _check_architecture(config: dict[str, Any], what: str) -> None:
    model_type = config.get("model_type")
    if model_type not in ARCHITECTURES:
        supported = ", ".join(sorted(ARCHITECTURES))
        raise ValueError(f"Cannot compute {what} for model_type {model_type!r}; supported: {supported}.")


# ---------------------------------------------------------------- parameters


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


def count_from_config(config: dict[str, Any]) -> ParameterCount:
    """Total and active parameters of a config of one of the course's architectures (its ``model_type`` says
    which), part by part."""
    _check_architecture(config, "parameters")
    if config["model_type"] == "mllama":
        parts, inactive = _mllama(config), 0
    else:
        parts, inactive = _decoder(config)
    total = sum(parts.values())
    return ParameterCount(total=total, active=total - inactive, by_part=parts)


# ---------------------------------------------------------------- KV cache


def vision_tokens(config: dict[str, Any]) -> int:
    """Tokens one image becomes in Mllama: every tile's patches plus its class token."""
    vision = config["vision_config"]
    patches = (vision["image_size"] // vision["patch_size"]) ** 2 + 1
    return vision["max_num_tiles"] * patches


def kv_values(config: dict[str, Any]) -> dict[str, int]:
    """Values the KV cache holds for a config of one of the course's architectures: ``per_token`` for each text
    token (2 x KV heads x head_dim over the self-attention layers) and ``per_image`` for each image (the
    cross-attention layers' keys and values of its vision tokens; 0 for a text-only model).

    Bytes = (per_token x tokens + per_image x images) x bytes per value x batch.
    """
    _check_architecture(config, "the KV cache")
    text = text_config(config)
    kv_heads = text.get("num_key_value_heads") or text["num_attention_heads"]
    per_layer = 2 * kv_heads * head_dim(config)  # one key and one value vector per KV head
    cross_layers = len(text.get("cross_attention_layers", []))
    self_layers = text["num_hidden_layers"] - cross_layers
    per_image = cross_layers * vision_tokens(config) * per_layer if cross_layers else 0
    return {"per_token": self_layers * per_layer, "per_image": per_image}


def model_sizes(config: dict[str, Any]) -> dict[str, Any]:
    """The entry of ``course/models/configs/sizes.json`` for a config: parameters and KV values."""
    count = count_from_config(config)
    return {
        "total": count.total,
        "active": count.active,
        "by_part": dict(count.by_part),
        "kv_values": kv_values(config),
    }


def all_model_sizes() -> dict[str, dict[str, Any]]:
    """``model_sizes`` of every course model (``MODEL_NAMES``), from the shipped configs, by name."""
    from course.models.configs import MODEL_NAMES, load_config

    return {name: model_sizes(load_config(name)) for name in sorted(MODEL_NAMES)}


__all__ = ["ARCHITECTURES", "all_model_sizes", "count_from_config", "kv_values", "model_sizes", "vision_tokens"]
