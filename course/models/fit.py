"""Does a model fit? Bytes to run it, and where they fit (lesson 02 §2 and §6, lesson 06 §8).

One model of inference memory for the whole course: the weights in a storage format (with the format's real bits
per weight, ``course.models.quant``), the KV cache for a context, and whatever headroom the caller adds for the
runtime; then a comparison with a memory size (less a reserve for the operating system). Lesson 02 asks "does it fit
this GPU, and if not, how many layers can stay on it?" (:func:`fits`, :func:`offload`), lesson 06 "GPU, CPU or
nowhere?" (:func:`place`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from course.models.configs import _course_config, text_config
from course.models.memory import GIB, kv_cache_bytes, model_weight_bytes

GPU, CPU, NO_FIT = "GPU (VRAM)", "CPU (RAM)", "does not fit"


@dataclass(frozen=True)
class MemoryNeed:
    """Bytes to run a model for inference: weights, KV cache, and the runtime's headroom."""

    weights: int
    kv_cache: int
    headroom: int = 0

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.headroom


def inference_memory(
    name: str,
    precision: str,
    context_length: int,
    batch: int = 1,
    kv_precision: str = "bf16",
    headroom_gib: float = 0.0,
) -> MemoryNeed:
    """Weights of course model ``name`` in format ``precision``, a ``kv_precision`` KV cache for ``batch`` x
    ``context_length`` tokens, and ``headroom_gib`` GiB for the runtime.

    A Mixture-of-Experts model holds every expert in memory, so the weights count the total parameters.
    """
    return MemoryNeed(
        weights=model_weight_bytes(name, precision).total,
        kv_cache=kv_cache_bytes(name, context_length, batch, kv_precision),
        headroom=int(headroom_gib * GIB),
    )


def fits(need_bytes: int, memory_gib: float, reserve_gib: float = 0.0) -> bool:
    """Whether ``need_bytes`` fit in ``memory_gib`` GiB once ``reserve_gib`` GiB are kept for others."""
    return need_bytes <= (memory_gib - reserve_gib) * GIB


def place(total_bytes: int, vram_gib: float, ram_gib: float, reserve_gib: float = 2.0) -> str:
    """Where ``total_bytes`` runs: all on the GPU if they fit VRAM, else on the CPU if they fit usable RAM."""
    if vram_gib < 0 or ram_gib < 0 or reserve_gib < 0:
        raise ValueError("vram_gib, ram_gib and reserve_gib must be 0 or more (vram_gib=0: no GPU).")
    if fits(total_bytes, vram_gib):
        return GPU
    if fits(total_bytes, ram_gib, reserve_gib):
        return CPU
    return NO_FIT


@dataclass(frozen=True)
class Offload:
    """A model split between GPU and CPU memory, whole decoder layers (weights and their KV cache) at a time."""

    layers: int
    gpu_layers: int
    gpu_bytes: int  # on the GPU: embeddings, head, the GPU's layers with their KV cache, headroom
    cpu_bytes: int  # in RAM: the other layers with their KV cache

    @property
    def cpu_layers(self) -> int:
        return self.layers - self.gpu_layers


def offload(
    name: str,
    precision: str,
    context_length: int,
    memory_gib: float,
    kv_precision: str = "bf16",
    headroom_gib: float = 0.0,
) -> Offload:
    """How many decoder layers of course model ``name`` fit on a GPU of ``memory_gib`` GiB, the rest running from
    CPU RAM, as llama.cpp's ``--n-gpu-layers`` does.

    The GPU keeps the embeddings, the output head and the headroom; each layer brings its share of the weights and
    of the KV cache (layers are counted as equal, which the mixed-precision formats make approximately true).
    llama.cpp's own split differs in details (it keeps the token embeddings in RAM, and the head on the GPU only
    when every layer is there); this simple split is the same for every runtime.
    """
    layers = text_config(_course_config(name, "offload"))["num_hidden_layers"]
    weights = model_weight_bytes(name, precision)
    kv = kv_cache_bytes(name, context_length, 1, kv_precision)
    per_layer = (weights.layers + kv) / layers
    fixed = weights.embeddings + weights.head + int(headroom_gib * GIB)
    room = memory_gib * GIB - fixed
    gpu_layers = max(0, min(layers, math.floor(room / per_layer)))
    on_gpu = fixed + math.ceil(gpu_layers * per_layer)
    return Offload(layers, gpu_layers, on_gpu, weights.total + kv + int(headroom_gib * GIB) - on_gpu)
