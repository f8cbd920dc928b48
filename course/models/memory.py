"""Bytes a model needs: its weights at a chosen precision, and the KV cache for a context.

Weights: parameters x bytes per parameter. For int8 and int4 this ignores the
small overhead of quantisation scales and zero-points (about 0.5 to 6 % in
common group-wise formats), and nothing here counts activations, the runtime
or the operating system; treat the results as lower bounds.
"""

from __future__ import annotations

import math
from typing import Any

from course.models.configs import _course_config, head_dim, text_config

#: The course's architectures (``model_type``), as in ``course.models.params``.
_ARCHITECTURES = {"llama", "mistral", "phi3", "mixtral", "phimoe", "mllama"}
BYTES_PER_PARAM: dict[str, float] = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "int8": 1.0, "int4": 0.5}
GIB = 1024**3


def bytes_per_param(precision: str) -> float:
    """4 for fp32, 2 for bf16/fp16, 1 for int8, 0.5 for int4."""
    try:
        return BYTES_PER_PARAM[precision]
    except KeyError:
        raise ValueError(f"Unknown precision {precision!r}; choose one of: {', '.join(BYTES_PER_PARAM)}.") from None


def weight_bytes(n_params: int, precision: str) -> int:
    """Bytes to hold ``n_params`` weights at ``precision`` (int4 packs two weights per byte)."""
    if n_params < 0:
        raise ValueError(f"n_params must be a non-negative number of parameters, got {n_params}.")
    return math.ceil(n_params * bytes_per_param(precision))


def _vision_tokens(config: dict[str, Any]) -> int:
    """Tokens one image becomes in Mllama: every tile's patches plus its class token."""
    vision = config["vision_config"]
    patches = (vision["image_size"] // vision["patch_size"]) ** 2 + 1
    return vision["max_num_tiles"] * patches


def _kv_cache_bytes(
    config: dict[str, Any], context_length: int, batch: int = 1, precision: str = "bf16", images: int = 0
) -> int:
    """The arithmetic of :func:`kv_cache_bytes` over a config of one of the course's architectures (private: the
    public function takes course model names only)."""
    if context_length < 0 or batch < 1 or images < 0:
        raise ValueError("context_length and images must be >= 0 and batch >= 1.")
    if config.get("model_type") not in _ARCHITECTURES:
        raise ValueError(
            f"The KV-cache arithmetic knows the course's architectures ({', '.join(sorted(_ARCHITECTURES))}), not "
            f"model_type {config.get('model_type')!r}."
        )
    text = text_config(config)
    kv_heads = text.get("num_key_value_heads") or text["num_attention_heads"]
    per_token_per_layer = 2 * kv_heads * head_dim(config) * bytes_per_param(precision)
    cross_layers = len(text.get("cross_attention_layers", []))
    self_layers = text["num_hidden_layers"] - cross_layers
    tokens = self_layers * context_length
    if cross_layers and images:
        tokens += cross_layers * images * _vision_tokens(config)
    return math.ceil(tokens * per_token_per_layer * batch)


def kv_cache_bytes(
    name: str,
    context_length: int,
    batch: int = 1,
    precision: str = "bf16",
    images: int = 0,
) -> int:
    """Bytes of the key/value cache of course model ``name`` for ``batch`` sequences of ``context_length`` tokens.

    Per layer and token the cache holds one key and one value vector for each
    *key/value* head, so grouped-query attention (fewer KV heads than query
    heads) shrinks it. For Llama 3.2 Vision the self-attention layers cache the
    text tokens and the cross-attention layers cache the keys and values of the
    ``images`` images (each ``max_num_tiles`` tiles of patches).

    It takes course model names only (see ``MODEL_NAMES``): lesson 02's Exercise 2 asks for this arithmetic on
    config.json values.
    """
    return _kv_cache_bytes(_course_config(name, "kv_cache_bytes"), context_length, batch, precision, images)


def total_inference_bytes(
    name: str, precision: str, context_length: int, batch: int = 1, kv_precision: str = "bf16"
) -> int:
    """Weights at ``precision`` plus the KV cache (kept at ``kv_precision``) for one course model."""
    from course.models.fit import inference_memory

    return inference_memory(name, precision, context_length, batch, kv_precision).total
