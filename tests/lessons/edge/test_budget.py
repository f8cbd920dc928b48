"""The laptop budget: weights in real file formats + KV cache of the real configs against RAM and VRAM (lesson 02's
memory model)."""

from __future__ import annotations

import pytest

from course.languages.monospace import columns
from course.lessons.edge import budget as edge_budget
from course.models.bandwidth import decode_bytes_per_token
from course.models.configs import MODEL_NAMES
from course.models.memory import GIB, model_weight_bytes


def test_every_model_and_precision_has_a_row():
    rows = edge_budget.laptop_budget(16, 6)
    assert len(rows) == 2 * len(MODEL_NAMES)
    assert {r.precision for r in rows} == {"Q8_0", "Q4_K_M"}  # the GGUF files llama.cpp and Ollama run


def test_mistral_nemo_numbers_follow_from_its_config():
    rows = edge_budget.laptop_budget(16, 6, context_length=8192)
    nemo = edge_budget.find_row(rows, "mistral-nemo-12b", "Q4_K_M")
    # 40 layers x 8 KV heads x 128 dims x (key + value) x 2 bytes x 8192 tokens
    assert nemo.kv_bytes == 40 * 8 * 128 * 2 * 2 * 8192
    assert nemo.weight_bytes == model_weight_bytes("mistral-nemo-12b", "Q4_K_M").total
    assert nemo.weight_bytes > 1.2 * nemo.total_params / 2  # the real file, not half a byte per weight
    assert 12.0e9 < nemo.total_params < 12.4e9
    assert nemo.placement == edge_budget.CPU  # about 8.2 GiB does not fit 6 GiB of VRAM
    assert edge_budget.find_row(rows, "mistral-nemo-12b", "Q8_0").placement == edge_budget.CPU  # 13.4 of 14 GiB
    # lesson 06's graded question rests on these placements (nemo-budget: b and c)
    assert edge_budget.find_row(rows, "phi-3.5-moe", "Q4_K_M").placement == edge_budget.NO_FIT
    assert nemo.total_bytes > 8 * GIB  # nor does it fit an 8 GiB GPU with that context
    assert (
        edge_budget.find_row(edge_budget.laptop_budget(16, 10), "mistral-nemo-12b", "Q4_K_M").placement
        == edge_budget.GPU
    )


def test_moe_models_need_all_experts_in_memory():
    row = edge_budget.find_row(edge_budget.laptop_budget(16, 0), "mixtral-8x7b", "Q4_K_M")
    assert row.active_params < row.total_params / 3
    assert row.weight_bytes == model_weight_bytes("mixtral-8x7b", "Q4_K_M").total > row.total_params / 2
    assert row.read_per_token < row.weight_bytes / 3  # a token reads its active experts only
    assert row.placement == edge_budget.NO_FIT


def test_longer_context_grows_only_the_kv_cache():
    short = edge_budget.find_row(edge_budget.laptop_budget(16, 6, context_length=1024), "phi-3.5-mini", "Q4_K_M")
    long = edge_budget.find_row(edge_budget.laptop_budget(16, 6, context_length=8192), "phi-3.5-mini", "Q4_K_M")
    assert long.weight_bytes == short.weight_bytes
    assert long.kv_bytes == 8 * short.kv_bytes


def test_speed_bound_uses_active_weights_and_placement_bandwidth():
    rows = edge_budget.laptop_budget(64, 0, context_length=1)
    mixtral = edge_budget.find_row(rows, "mixtral-8x7b", "Q4_K_M")
    dense = edge_budget.find_row(rows, "mistral-7b", "Q4_K_M")
    assert dense.read_per_token == decode_bytes_per_token("mistral-7b", "Q4_K_M", 1, "fp16")
    # a token reads ~13B active weights of Mixtral, ~7B of Mistral 7B
    assert mixtral.decode_tokens_per_second(100) < dense.decode_tokens_per_second(100)
    assert mixtral.decode_tokens_per_second(100) > dense.decode_tokens_per_second(100) / 3
    assert edge_budget.speed_bound(dense, 50, 500) == pytest.approx(dense.decode_tokens_per_second(50))
    gpu = edge_budget.find_row(edge_budget.laptop_budget(16, 8), "llama-3.2-1b", "Q4_K_M")
    assert edge_budget.speed_bound(gpu, 50, 500) == pytest.approx(gpu.decode_tokens_per_second(500))
    nofit = edge_budget.find_row(edge_budget.laptop_budget(8, 0), "mixtral-8x7b", "Q8_0")
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
        edge_budget.find_row(rows, "gpt-9", "Q4_K_M")
    with pytest.raises(ValueError):
        edge_budget.laptop_budget(16, 6, context_length=0)
    assert "Ollama" in rows[0].runtime


@pytest.mark.parametrize("lang", ["en", "ko", "ja"])
def test_the_budget_table_keeps_its_columns_in_every_language(monkeypatch, lang):
    """Translated headers and the translated "does not fit" are padded by the columns they take on screen."""
    monkeypatch.setenv("COURSE_LANG", lang)
    rows = edge_budget.laptop_budget(16, 6)
    header, rule, *body = edge_budget.format_budget(rows, 60, 250).splitlines()
    assert columns(header) == len(rule) == max(columns(line) for line in body)
    assert edge_budget.placement_label(edge_budget.GPU) == edge_budget.GPU
    if lang == "en":
        assert header.startswith("model                   prec  weights GiB")
        assert edge_budget.find_row(rows, "phi-3.5-moe", "Q4_K_M").runtime.startswith("nothing on this laptop")
    else:
        assert edge_budget.placement_label(edge_budget.NO_FIT) != edge_budget.NO_FIT
