"""The course's one fit model: bytes to run a model, and where they fit (lessons 02 and 06)."""

import pytest

from course.models.fit import CPU, GPU, NO_FIT, MemoryNeed, fits, inference_memory, place
from course.models.memory import GIB, kv_cache_bytes, weight_bytes
from course.models.params import count_parameters


def test_placement_rules():
    assert place(5 * GIB, vram_gib=6, ram_gib=16) == GPU
    assert place(10 * GIB, vram_gib=6, ram_gib=16) == CPU
    assert place(15 * GIB, vram_gib=6, ram_gib=16) == NO_FIT  # 2 GiB stay with the OS
    assert place(15 * GIB, vram_gib=6, ram_gib=16, reserve_gib=0) == CPU
    with pytest.raises(ValueError):
        place(1, vram_gib=-1, ram_gib=16)


def test_inference_memory_adds_weights_cache_and_headroom():
    need = inference_memory("mistral-nemo-12b", "int4", 4096, kv_precision="fp16", headroom_gib=0.5)
    assert need.weights == weight_bytes(count_parameters("mistral-nemo-12b").total, "int4")
    assert need.kv_cache == kv_cache_bytes("mistral-nemo-12b", 4096, precision="fp16")
    assert need.headroom == GIB // 2
    assert need.total == need.weights + need.kv_cache + need.headroom
    assert MemoryNeed(1, 2).total == 3


def test_fits_keeps_the_reserve():
    assert fits(8 * GIB, 8) and not fits(8 * GIB + 1, 8)
    assert not fits(7 * GIB, 8, reserve_gib=2) and fits(6 * GIB, 8, reserve_gib=2)
