"""Lesson 02 §3: tiny models timed, and this machine's memory bandwidth."""

from course.lessons.slm import speed


def test_speed_models_grow_and_keep_the_architecture():
    models = [speed.speed_model("mistral-7b", size) for size in speed.SPEED_SIZES]
    sizes = [sum(p.numel() for p in model.parameters()) for model in models]
    assert sizes == sorted(sizes) and sizes[-1] > 10 * sizes[0]
    model = speed.speed_model("mistral-7b", "small")
    assert type(model).__name__ == "MistralForCausalLM"
    assert model.config.num_attention_heads // model.config.num_key_value_heads == 4  # Mistral 7B's GQA ratio
    phi = speed.speed_model("phi-3.5-mini", "small")
    assert phi.config.num_key_value_heads == phi.config.num_attention_heads


def test_measure_speed_returns_positive_rates():
    results = speed.measure_speed(names=("mistral-7b",), sizes=("small",), prompt_tokens=8, new_tokens=2, repeats=1)
    assert len(results) == 1
    assert results[0].prefill_tokens_per_s > 0 and results[0].decode_tokens_per_s > 0


def test_measure_copy_bandwidth_is_plausible():
    assert 0.1 < speed.measure_copy_bandwidth(megabytes=16, repeats=1) < 10_000
