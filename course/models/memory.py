"""Bytes a model needs: its weights in a storage format, and the KV cache for a context (the course's one memory
model: lessons 02, 06, and the sizes quoted in 03 to 05).

Weights: each kind of matrix at its format's rate (``course.models.quant``): the decoder layers at ``bits``, the token
embeddings at ``embedding_bits``, the output head at ``head_bits``. Real formats carry their block scales and keep some
matrices at higher precision, so a 4-bit Mistral NeMo file is about 7.5 GB, not the 6.1 GB of half a byte per weight.
Nothing here counts activations, the runtime or the operating system: callers add headroom (``course.models.fit``).

KV cache: values per token (2 x KV heads x head_dim over the self-attention layers) and per image (Llama 3.2 Vision's
cross-attention layers) x bytes per value x batch. Those values, like the parameter counts, are shipped in
``course/models/configs/sizes.json``, computed from the real configs by ``course.references.sizes`` (run
``python -m tools.model_sizes``) and verified by the tests against the real transformers classes; this module holds
no arithmetic over configs (lesson 02 asks students to write it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from course.models.params import _course_sizes
from course.models.quant import kv_bytes_per_value, weight_format

GIB = 1024**3


def bytes_per_param(precision: str) -> float:
    """Bytes per weight of the decoder layers in format ``precision``: 4 for fp32, 2 for bf16, 0.5625 for Q4_0, ..."""
    return weight_format(precision).bytes_per_weight


def weight_bytes(n_params: int, precision: str) -> int:
    """Bytes to hold ``n_params`` weights, all at the decoder-layer rate of ``precision``.

    A bare count does not say which weights are embeddings; for a course model use :func:`model_weight_bytes`, which
    stores the embeddings and the head at their own rates."""
    if n_params < 0:
        raise ValueError(f"n_params must be a non-negative number of parameters, got {n_params}.")
    return math.ceil(n_params * bytes_per_param(precision))


@dataclass(frozen=True)
class WeightBytes:
    """A model's weights in one format, by kind of matrix."""

    embeddings: int  # the token-embedding matrix (0 when tied: the head holds it)
    head: int  # the output head (the shared matrix when the embeddings are tied)
    layers: int  # everything else: decoder layers, final norm, experts, vision encoder

    @property
    def total(self) -> int:
        return self.embeddings + self.head + self.layers


def model_weight_bytes(name: str, precision: str) -> WeightBytes:
    """Bytes of the weights of course model ``name`` stored in format ``precision`` (see ``course.models.quant``).

    It takes course model names only (see ``MODEL_NAMES``): lesson 02's Exercise 3 asks for this arithmetic on
    config.json values."""
    fmt = weight_format(precision)
    parts = _course_sizes(name, "model_weight_bytes")["by_part"]
    vocabulary_matrix, head = parts["embeddings"], parts.get("lm_head")
    layers = sum(parts.values()) - vocabulary_matrix - (head or 0)
    if head is None:  # tied: one matrix, stored as the head
        embeddings_bits, head_bits = 0.0, vocabulary_matrix * fmt.head_bits
    else:
        embeddings_bits, head_bits = vocabulary_matrix * fmt.embedding_bits, head * fmt.head_bits
    return WeightBytes(
        embeddings=math.ceil(embeddings_bits / 8),
        head=math.ceil(head_bits / 8),
        layers=math.ceil(layers * fmt.bits / 8),
    )


def kv_cache_bytes(
    name: str,
    context_length: int,
    batch: int = 1,
    precision: str = "bf16",
    images: int = 0,
) -> int:
    """Bytes of the key/value cache of course model ``name`` for ``batch`` sequences of ``context_length`` tokens,
    each value stored in KV format ``precision`` (``course.models.quant.KV_FORMATS``: bf16, fp8, q8_0, ...).

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
    return math.ceil(values * kv_bytes_per_value(precision) * batch)
