"""The memory-bandwidth bound on generation speed (lesson 02 §3 and §6, lesson 06 §8).

Generating one token at a time is limited by how fast the weights (and the KV cache) stream from memory, not by
arithmetic: every new token reads them once and does about 2 operations per weight read, far fewer operations per
byte than a processor can do while it waits (lesson 02 measures both). Real runtimes reach perhaps half of the bound.
"""

from __future__ import annotations

import math

from course.models.memory import kv_cache_bytes, model_weight_bytes
from course.models.params import count_parameters
from course.models.quant import weight_format

#: Parts of a model that one generated token does not read: the vision encoder and projector run once per image.
_ONCE_PER_IMAGE = ("vision_encoder", "projector")


def decode_tokens_per_second_bound(bytes_read_per_token: float, bandwidth_gb_s: float) -> float:
    """Upper bound on tokens/s when each token must read ``bytes_read_per_token`` bytes at ``bandwidth_gb_s`` GB/s."""
    if bandwidth_gb_s <= 0:
        raise ValueError("bandwidth_gb_s must be positive (GB/s; a laptop's RAM gives roughly 50-100 GB/s).")
    if bytes_read_per_token <= 0:
        raise ValueError("bytes_read_per_token must be positive.")
    return bandwidth_gb_s * 1e9 / bytes_read_per_token


def decode_bytes_per_token(name: str, precision: str, context_length: int, kv_precision: str = "bf16") -> int:
    """Bytes that generating one token of course model ``name`` reads: the output head, the decoder layers' weights
    that the token uses (a Mixture-of-Experts model reads only its active experts) and the KV cache of
    ``context_length`` tokens. The token-embedding matrix is not read in full (a token looks up one row)."""
    count = count_parameters(name)
    parts = count.by_part
    outside = parts["embeddings"] + parts.get("lm_head", 0) + sum(parts.get(part, 0) for part in _ONCE_PER_IMAGE)
    layers_read = (count.active - outside) * weight_format(precision).bytes_per_weight
    head = model_weight_bytes(name, precision).head
    return math.ceil(head + layers_read) + kv_cache_bytes(name, context_length, 1, kv_precision)


def split_tokens_per_second_bound(
    name: str,
    precision: str,
    context_length: int,
    gpu_layers: int,
    gpu_gb_s: float,
    cpu_gb_s: float,
    kv_precision: str = "bf16",
) -> float:
    """Upper bound on tokens/s when ``gpu_layers`` decoder layers (and the head) run from GPU memory and the others
    from CPU RAM (``course.models.fit.offload``): each token reads both parts, one after the other."""
    from course.models.configs import _course_config, text_config

    layers = text_config(_course_config(name, "split_tokens_per_second_bound"))["num_hidden_layers"]
    if not 0 <= gpu_layers <= layers:
        raise ValueError(f"gpu_layers must be between 0 and {layers} for {name}.")
    head = model_weight_bytes(name, precision).head
    per_layer = (decode_bytes_per_token(name, precision, context_length, kv_precision) - head) / layers
    on_gpu, on_cpu = head + gpu_layers * per_layer, (layers - gpu_layers) * per_layer
    seconds = on_gpu / (gpu_gb_s * 1e9) + on_cpu / (cpu_gb_s * 1e9)
    return 1 / seconds


def attainable_gflops(intensity: float, peak_gflops: float, bandwidth_gb_s: float) -> float:
    """The roofline: at ``intensity`` operations per byte read, a processor does at most ``peak_gflops``, and at
    most ``intensity x bandwidth`` (it cannot compute on bytes that have not arrived)."""
    return min(peak_gflops, intensity * bandwidth_gb_s)
