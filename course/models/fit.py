"""Does a model fit? Bytes to run it, and where they fit (lesson 02 §2 and §6, lesson 06 §8).

One model of inference memory for the whole course: the weights at a precision,
the KV cache for a context, and whatever headroom the caller adds for the runtime;
then a comparison with a memory size (less a reserve for the operating system).
Lesson 02 asks "does it fit this GPU?" (:func:`fits`), lesson 06 "GPU, CPU or
nowhere?" (:func:`place`). Read every total as a lower bound (see ``course.models.memory``).
"""

from __future__ import annotations

from dataclasses import dataclass

from course.models.memory import GIB, kv_cache_bytes, weight_bytes

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
    """Weights of course model ``name`` at ``precision``, a ``kv_precision`` KV cache for ``batch`` x
    ``context_length`` tokens, and ``headroom_gib`` GiB for the runtime.

    A Mixture-of-Experts model holds every expert in memory, so the weights count the total parameters.
    """
    from course.models.params import count_parameters

    return MemoryNeed(
        weights=weight_bytes(count_parameters(name).total, precision),
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
