"""Lesson 02's logic: sizes, memory fit, speed, token counts and the challenge's check."""

import pytest

from course.lessons import slm
from course.models.memory import GIB, kv_cache_bytes, weight_bytes
from course.models.params import count_parameters
from course.text.passages import load_all

TEXTS = load_all("slm-on-a-laptop")


def test_size_table_matches_cards_within_one_percent():
    rows = slm.size_table()
    assert len(rows) == 9
    assert all(abs(row.relative_error) < 0.01 for row in rows)
    moe = {row.name: row for row in rows}["mixtral-8x7b"]
    assert moe.active < moe.total / 3


def test_memory_need_adds_weights_cache_and_headroom():
    need = slm.memory_need("mistral-nemo-12b", "int4", 4096)
    assert need.weights == weight_bytes(count_parameters("mistral-nemo-12b").total, "int4")
    assert need.kv_cache == kv_cache_bytes("mistral-nemo-12b", 4096)
    assert need.headroom == int(slm.RUNTIME_HEADROOM_GIB * GIB)
    assert need.total == need.weights + need.kv_cache + need.headroom


def test_fits_depends_on_precision_memory_and_context():
    assert slm.fits("mistral-nemo-12b", "int4", 8, 4096)
    assert not slm.fits("mistral-nemo-12b", "int8", 8, 4096)
    assert slm.fits("mistral-nemo-12b", "int8", 16, 4096)
    assert not slm.fits("mistral-nemo-12b", "int4", 8, 131072)  # 128k tokens of cache: 20 GiB


def test_decode_bound():
    # 1e9 parameters at bf16 = 2 GB; 100 GB/s -> 50 tokens/s at most
    assert slm.decode_tokens_per_second_bound(1_000_000_000, "bf16", 100) == pytest.approx(50)
    assert slm.decode_tokens_per_second_bound(1_000_000_000, "int4", 100) == pytest.approx(200)
    with pytest.raises(ValueError):
        slm.decode_tokens_per_second_bound(10, "bf16", 0)


def test_speed_models_grow_and_keep_the_architecture():
    models = [slm.speed_model("mistral-7b", size) for size in slm.SPEED_SIZES]
    sizes = [sum(p.numel() for p in model.parameters()) for model in models]
    assert sizes == sorted(sizes) and sizes[-1] > 10 * sizes[0]
    model = slm.speed_model("mistral-7b", "small")
    assert type(model).__name__ == "MistralForCausalLM"
    assert model.config.num_attention_heads // model.config.num_key_value_heads == 4  # Mistral 7B's GQA ratio
    phi = slm.speed_model("phi-3.5-mini", "small")
    assert phi.config.num_key_value_heads == phi.config.num_attention_heads


def test_measure_speed_returns_positive_rates():
    results = slm.measure_speed(
        names=("mistral-7b",), sizes=("small",), prompt_tokens=8, new_tokens=2, repeats=1
    )
    assert len(results) == 1
    assert results[0].prefill_tokens_per_s > 0 and results[0].decode_tokens_per_s > 0


def test_measure_copy_bandwidth_is_plausible():
    assert 0.1 < slm.measure_copy_bandwidth(megabytes=16, repeats=1) < 10_000


def test_token_counts_on_the_course_passage():
    counts = slm.token_counts(TEXTS, ["mistral-7b-v0.3", "tekken"])
    assert len(counts) == 6
    korean_sp = slm.lookup(counts, "ko", "mistral-7b-v0.3")
    korean_tekken = slm.lookup(counts, "ko", "tekken")
    assert korean_sp.tokens / korean_tekken.tokens > 1.5  # Tekken's gain on Korean (Mistral claims 2x)
    assert korean_tekken.chars_per_token == korean_tekken.characters / korean_tekken.tokens
    assert korean_tekken.cost(1_000_000) == korean_tekken.tokens
    with pytest.raises(KeyError):
        slm.lookup(counts, "fr", "tekken")


@pytest.mark.parametrize(
    ("choice", "fragment"),
    [
        ({"model": "mistral-nemo-12b", "tokenizer": "tekken", "precision": "int8"}, "GiB"),
        ({"model": "mistral-small", "tokenizer": "tekken", "precision": "int4"}, "GiB"),
        ({"model": "mistral-7b", "tokenizer": "mistral-7b-v0.3", "precision": "int4"}, "for ko"),
        ({"model": "mistral-7b", "tokenizer": "tekken", "precision": "int4"}, "trained with"),
        ({"model": "phi-3.5-mini", "tokenizer": "tekken", "precision": "int4"}, "offline"),
        ({"model": "mistral-nemo-12b", "tokenizer": "tekken", "precision": "int2"}, "precision"),
        ({"model": "mistral-nemo-12b"}, "keys"),
    ],
)
def test_deployment_problems_name_what_is_wrong(choice, fragment):
    problems = slm.deployment_problems(choice, TEXTS)
    assert problems and any(fragment in p for p in problems), problems


def test_the_seed_solution_passes_and_depends_on_the_gpu():
    choice = {"model": "mistral-nemo-12b", "tokenizer": "tekken", "precision": "int4"}
    assert slm.deployment_problems(choice, TEXTS) == []
    assert slm.deployment_problems(choice, TEXTS, memory_gib=6) != []
    bigger = {"model": "mistral-nemo-12b", "tokenizer": "tekken", "precision": "bf16"}
    assert slm.deployment_problems(bigger, TEXTS, memory_gib=48) == []


def test_plots_draw(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    slm.plot_sizes(slm.size_table())
    slm.plot_breakdown(["llama-3.2-1b", "mixtral-8x7b"])
    ax = slm.plot_memory(["llama-3.2-1b", "mistral-7b"], 8, 4096)
    assert len(ax.patches) == 2 * len(slm.PRECISIONS)
    slm.plot_tokens(slm.token_counts(TEXTS, ["tekken"]), {"en": "English", "ko": "Korean", "ja": "Japanese"})
    slm.plot_speed([slm.SpeedResult("mistral-7b", "small", 1000, 10.0, 1.0)])
    explorer = slm.memory_explorer(["llama-3.2-1b"])
    assert explorer.children  # sliders and output
