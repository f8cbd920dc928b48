"""The laptop budget: weights + KV cache of the real configs against RAM and VRAM."""

from __future__ import annotations

import pytest

from course.lessons.edge import budget as edge_budget
from course.models.configs import MODEL_NAMES


def test_every_model_and_precision_has_a_row():
    rows = edge_budget.laptop_budget(16, 6)
    assert len(rows) == 2 * len(MODEL_NAMES)
    assert {r.precision for r in rows} == {"int8", "int4"}


def test_mistral_nemo_numbers_follow_from_its_config():
    nemo = edge_budget.find_row(edge_budget.laptop_budget(16, 6, context_length=8192), "mistral-nemo-12b", "int4")
    # 40 layers x 8 KV heads x 128 dims x (key + value) x 2 bytes x 8192 tokens
    assert nemo.kv_bytes == 40 * 8 * 128 * 2 * 2 * 8192
    assert nemo.weight_bytes == pytest.approx(nemo.total_params / 2, abs=1)
    assert 12.0e9 < nemo.total_params < 12.4e9
    assert nemo.placement == edge_budget.CPU  # 6.9 GiB does not fit 6 GiB of VRAM
    assert (
        edge_budget.find_row(edge_budget.laptop_budget(16, 8), "mistral-nemo-12b", "int4").placement == edge_budget.GPU
    )


def test_moe_models_need_all_experts_in_memory():
    row = edge_budget.find_row(edge_budget.laptop_budget(16, 0), "mixtral-8x7b", "int4")
    assert row.active_params < row.total_params / 3
    assert row.weight_bytes == pytest.approx(row.total_params / 2, abs=1)
    assert row.placement == edge_budget.NO_FIT


def test_longer_context_grows_only_the_kv_cache():
    short = edge_budget.find_row(edge_budget.laptop_budget(16, 6, context_length=1024), "phi-3.5-mini", "int4")
    long = edge_budget.find_row(edge_budget.laptop_budget(16, 6, context_length=8192), "phi-3.5-mini", "int4")
    assert long.weight_bytes == short.weight_bytes
    assert long.kv_bytes == 8 * short.kv_bytes


def test_speed_bound_uses_active_weights_and_placement_bandwidth():
    rows = edge_budget.laptop_budget(64, 0, context_length=1)
    mixtral = edge_budget.find_row(rows, "mixtral-8x7b", "int4")
    dense = edge_budget.find_row(rows, "mistral-7b", "int4")
    # a token reads ~13B active weights of Mixtral, ~7B of Mistral 7B
    assert mixtral.decode_tokens_per_second(100) < dense.decode_tokens_per_second(100)
    assert mixtral.decode_tokens_per_second(100) > dense.decode_tokens_per_second(100) / 3
    assert edge_budget.speed_bound(dense, 50, 500) == pytest.approx(dense.decode_tokens_per_second(50))
    gpu = edge_budget.find_row(edge_budget.laptop_budget(16, 8), "llama-3.2-1b", "int4")
    assert edge_budget.speed_bound(gpu, 50, 500) == pytest.approx(gpu.decode_tokens_per_second(500))
    nofit = edge_budget.find_row(edge_budget.laptop_budget(8, 0), "mixtral-8x7b", "int8")
    assert edge_budget.speed_bound(nofit, 50, 500) is None
    with pytest.raises(ValueError):
        dense.decode_tokens_per_second(0)


def test_table_plot_and_errors():
    import matplotlib

    matplotlib.use("Agg")
    rows = edge_budget.laptop_budget(16, 6, models=["llama-3.2-1b", "mixtral-8x7b"])
    table = edge_budget.format_budget(rows, 60, 300)
    assert "llama-3.2-1b" in table and "does not fit" in table
    assert edge_budget.plot_budget(rows, 16, 6).axes
    with pytest.raises(KeyError):
        edge_budget.find_row(rows, "gpt-9", "int4")
    with pytest.raises(ValueError):
        edge_budget.laptop_budget(16, 6, context_length=0)
    assert "Ollama" in rows[0].runtime
