"""Bytes a model needs: its weights at a chosen precision, and the KV cache for a context.

Weights: parameters x bytes per parameter. For int8 and int4 this ignores the
small overhead of quantisation scales and zero-points (about 0.5 to 6 % in
common group-wise formats), and nothing here counts activations, the runtime
or the operating system; treat the results as lower bounds.

KV cache: values per token (2 x KV heads x head_dim over the self-attention layers) and per image (Llama 3.2
Vision's cross-attention layers) x bytes per value x batch. Those values, like the parameter counts, are shipped in
``course/models/configs/sizes.json``, computed from the real configs by ``course.references.sizes`` (run
``python -m tools.model_sizes``) and verified by the tests against the real transformers classes; this module holds
no arithmetic over configs (lesson 02 asks students to write it).
"""

from __future__ import annotations

import math

from course.models.params import _course_sizes

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
    config.json values. The values cached per token and per image come from ``course/models/configs/sizes.json``
    (see ``course.models.params``).
    """
    sizes = _course_sizes(name, "kv_cache_bytes")["kv_values"]
    if context_length < 0 or batch < 1 or images < 0:
        raise ValueError("context_length and images must be >= 0 and batch >= 1.")
    values = sizes["per_token"] * context_length + sizes["per_image"] * images
    return math.ceil(values * bytes_per_param(precision) * batch)


def total_inference_bytes(
    name: str, precision: str, context_length: int, batch: int = 1, kv_precision: str = "bf16"
) -> int:
    """Weights at ``precision`` plus the KV cache (kept at ``kv_precision``) for one course model."""
    from course.models.fit import inference_memory

    return inference_memory(name, precision, context_length, batch, kv_precision).total
