"""The course's one decode-speed bound: bandwidth over the bytes one token reads (lessons 02 and 06), split between
GPU and CPU memory, and the roofline."""

import pytest

from course.models.bandwidth import (
    attainable_gflops,
    decode_bytes_per_token,
    decode_tokens_per_second_bound,
    split_tokens_per_second_bound,
)
from course.models.memory import kv_cache_bytes, model_weight_bytes, weight_bytes
from course.models.params import count_parameters


def test_decode_bound():
    # 1e9 parameters at bf16 = 2 GB; 100 GB/s -> 50 tokens/s at most
    assert decode_tokens_per_second_bound(weight_bytes(1_000_000_000, "bf16"), 100) == pytest.approx(50)
    assert decode_tokens_per_second_bound(weight_bytes(1_000_000_000, "int4"), 100) == pytest.approx(200)
    with pytest.raises(ValueError):
        decode_tokens_per_second_bound(weight_bytes(10, "bf16"), 0)
    with pytest.raises(ValueError):
        decode_tokens_per_second_bound(0, 100)


def test_a_token_reads_everything_but_the_embedding_matrix_and_its_cache():
    weights = model_weight_bytes("mistral-nemo-12b", "Q4_K_M")
    read = decode_bytes_per_token("mistral-nemo-12b", "Q4_K_M", 4096)
    assert read == pytest.approx(weights.head + weights.layers + kv_cache_bytes("mistral-nemo-12b", 4096), abs=2)
    tied = model_weight_bytes("llama-3.2-1b", "bf16")  # the tied matrix is read as the head
    assert decode_bytes_per_token("llama-3.2-1b", "bf16", 0) == pytest.approx(tied.total, abs=2)


def test_a_mixture_of_experts_token_reads_its_active_experts_only():
    count = count_parameters("mixtral-8x7b")
    read = decode_bytes_per_token("mixtral-8x7b", "bf16", 0)
    assert read < 2 * count.active < 2 * count.total / 3
    assert read == pytest.approx(2 * (count.active - count.by_part["embeddings"]), abs=2)


def test_the_vision_encoder_is_not_read_per_token():
    parts = count_parameters("llama-3.2-11b-vision").by_part
    read = decode_bytes_per_token("llama-3.2-11b-vision", "bf16", 0)
    skipped = parts["embeddings"] + parts["vision_encoder"] + parts["projector"]
    assert read == pytest.approx(2 * (sum(parts.values()) - skipped), abs=2)


def test_split_bound_lies_between_all_on_gpu_and_all_on_cpu():
    args = ("mistral-nemo-12b", "Q4_K_M", 4096)
    read = decode_bytes_per_token(*args)
    gpu = split_tokens_per_second_bound(*args, gpu_layers=40, gpu_gb_s=256, cpu_gb_s=50)
    cpu = split_tokens_per_second_bound(*args, gpu_layers=0, gpu_gb_s=256, cpu_gb_s=50)
    head = model_weight_bytes("mistral-nemo-12b", "Q4_K_M").head
    assert gpu == pytest.approx(decode_tokens_per_second_bound(read, 256))
    assert cpu == pytest.approx(1 / (head / 256e9 + (read - head) / 50e9))
    middle = split_tokens_per_second_bound(*args, gpu_layers=36, gpu_gb_s=256, cpu_gb_s=50)
    assert cpu < middle < gpu
    with pytest.raises(ValueError, match="between 0 and 40"):
        split_tokens_per_second_bound(*args, gpu_layers=41, gpu_gb_s=256, cpu_gb_s=50)


def test_roofline():
    assert attainable_gflops(0.5, peak_gflops=100, bandwidth_gb_s=10) == 5  # bound by bandwidth
    assert attainable_gflops(64, peak_gflops=100, bandwidth_gb_s=10) == 100  # bound by arithmetic
