"""The course's one fit model: bytes to run a model in a real format, where they fit, and how many layers a GPU
can hold when the rest run from RAM (lessons 02 and 06)."""

import pytest

from course.models.fit import CPU, GPU, NO_FIT, MemoryNeed, Offload, fits, inference_memory, offload, place
from course.models.memory import GIB, kv_cache_bytes, model_weight_bytes


def test_placement_rules():
    assert place(5 * GIB, vram_gib=6, ram_gib=16) == GPU
    assert place(10 * GIB, vram_gib=6, ram_gib=16) == CPU
    assert place(15 * GIB, vram_gib=6, ram_gib=16) == NO_FIT  # 2 GiB stay with the OS
    assert place(15 * GIB, vram_gib=6, ram_gib=16, reserve_gib=0) == CPU
    with pytest.raises(ValueError):
        place(1, vram_gib=-1, ram_gib=16)


def test_inference_memory_adds_weights_cache_and_headroom():
    need = inference_memory("mistral-nemo-12b", "Q4_K_M", 4096, kv_precision="fp16", headroom_gib=0.5)
    assert need.weights == model_weight_bytes("mistral-nemo-12b", "Q4_K_M").total
    assert need.kv_cache == kv_cache_bytes("mistral-nemo-12b", 4096, precision="fp16")
    assert need.headroom == GIB // 2
    assert need.total == need.weights + need.kv_cache + need.headroom
    assert MemoryNeed(1, 2).total == 3


def test_the_challenge_verdict_rests_on_the_real_file_size():
    # half a byte per weight would fit the 8 GiB GPU; the Q4_K_M file does not, the Q4_0 file with a q8_0 cache does
    need = {p: inference_memory("mistral-nemo-12b", p, 4096, headroom_gib=1).total for p in ("int4", "Q4_K_M")}
    assert fits(need["int4"], 8) and not fits(need["Q4_K_M"], 8)
    assert fits(inference_memory("mistral-nemo-12b", "Q4_0", 4096, kv_precision="q8_0", headroom_gib=1).total, 8)


def test_fits_keeps_the_reserve():
    assert fits(8 * GIB, 8) and not fits(8 * GIB + 1, 8)
    assert not fits(7 * GIB, 8, reserve_gib=2) and fits(6 * GIB, 8, reserve_gib=2)


def test_offload_keeps_as_many_layers_as_fit():
    split = offload("mistral-nemo-12b", "Q4_K_M", 4096, 8, headroom_gib=1)
    assert split.layers == 40 and 0 < split.gpu_layers < 40 and split.cpu_layers == 40 - split.gpu_layers
    assert split.gpu_bytes <= 8 * GIB
    need = inference_memory("mistral-nemo-12b", "Q4_K_M", 4096, headroom_gib=1)
    assert split.gpu_bytes + split.cpu_bytes == need.total
    # one more layer would not fit
    per_layer = (need.weights - model_weight_bytes("mistral-nemo-12b", "Q4_K_M").embeddings) / 40
    assert split.gpu_bytes + per_layer * 0.9 > 8 * GIB
    everything = offload("mistral-nemo-12b", "Q4_K_M", 4096, 24, headroom_gib=1)
    assert everything == Offload(40, 40, need.total, 0)
    assert offload("mistral-nemo-12b", "Q4_K_M", 4096, 1, headroom_gib=1).gpu_layers == 0


def test_more_memory_never_holds_fewer_layers():
    held = [offload("mistral-small", "Q4_K_M", 8192, gib, "q8_0", 1).gpu_layers for gib in range(2, 20)]
    assert held == sorted(held) and held[0] == 0 and held[-1] == 40
