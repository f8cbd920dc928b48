"""Lesson 02's graded exercises: the references reproduce the old hidden tests' facts and agree with the course's
memory model, plausible wrong answers fail the comparison, and nothing kernel-visible answers them."""

import random

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from course.grading.values import decode, encode
from course.lessons.slm import fit
from course.models.configs import load_config
from course.models.memory import GIB, kv_cache_bytes, model_weight_bytes
from course.models.params import count_parameters
from course.models.quant import KV_FORMATS, kv_bytes_per_value, weight_format, weight_formats
from course.references import exercises
from course.references.slm import DENSE_MODELS, count_dense_parameters, feasible, kv_cache_size
from tests.grading_helpers import checked

LESSON = "02-small-language-models"
EXERCISES = exercises(LESSON)


def verdict(grade_id, candidate, seed=5):
    """Whether ``candidate`` passes the exercise's check (``tests.grading_helpers.checked``)."""
    return checked(LESSON, grade_id, candidate, seed)


def test_every_exercise_is_declared_for_its_test_cell():
    assert set(EXERCISES) == {"test-count-parameters", "test-kv-cache", "test-feasible"}


@pytest.mark.parametrize("grade_id", sorted(EXERCISES))
def test_the_reference_passes_its_own_check(grade_id):
    passed, line = verdict(grade_id, EXERCISES[grade_id].reference)
    assert passed, line


# ---------------------------------------------------------------- the old hidden tests' facts


@pytest.mark.parametrize("name", ["phi-3.5-mini", "mistral-small", "mistral-nemo-12b", "llama-3.2-1b", "llama-3.2-3b"])
def test_count_matches_the_course_count_of_real_models(name):
    assert count_dense_parameters(load_config(name)) == count_parameters(name).total


def test_count_matches_pytorch_on_random_llama_configs():
    rng = random.Random(7)
    for _ in range(3):
        heads = rng.choice([2, 4, 8])
        kv = rng.choice([k for k in (1, 2, 4, 8) if heads % k == 0])
        config = {
            "vocab_size": rng.randint(50, 300),
            "hidden_size": heads * rng.choice([4, 8]),
            "num_hidden_layers": rng.randint(1, 3),
            "num_attention_heads": heads,
            "num_key_value_heads": kv,
            "intermediate_size": rng.randint(8, 40),
            "tie_word_embeddings": rng.random() < 0.5,
            "head_dim": rng.choice([None, 6]),
        }
        with torch.device("meta"):
            model = LlamaForCausalLM(LlamaConfig(**{k: v for k, v in config.items() if v is not None}))
        assert count_dense_parameters(config) == sum(p.numel() for p in model.parameters()), config


def test_the_grader_draws_configs_pytorch_agrees_with():
    for case in EXERCISES["test-count-parameters"].cases(random.Random(3)):
        config = decode(encode(case))["args"][0]
        if "model_type" in config or config["hidden_size"] > 64:
            continue  # real models and real sizes: checked against the course's count above
        with torch.device("meta"):
            model = LlamaForCausalLM(LlamaConfig(**{k: v for k, v in config.items() if v is not None}))
        assert count_dense_parameters(config) == sum(p.numel() for p in model.parameters()), config


def _counted_by_transformers(config):
    """The attack: build the model from the config with transformers on the meta device and count its weights."""
    settings = {key: value for key, value in config.items() if value is not None}
    with torch.device("meta"):
        model = LlamaForCausalLM(LlamaConfig(**settings))
    return sum(p.numel() for p in model.parameters())


def test_a_count_composed_from_transformers_earns_nothing():
    """A meta-device model counts right on every config of real size, but the grader also draws configs with
    more than 2**63 weights in one matrix, which no library builds: the attack earns nothing, and the formula
    in Python's integers earns the points."""
    exercise = EXERCISES["test-count-parameters"]
    real_sized = [decode(case)["args"][0] for case in exercise.draw(5)]
    real_sized = [config for config in real_sized if config["hidden_size"] < 2**20]
    assert len(real_sized) > 10
    assert all(_counted_by_transformers(config) == count_dense_parameters(config) for config in real_sized)
    passed, line = verdict("test-count-parameters", _counted_by_transformers)
    assert not passed, line
    assert verdict("test-count-parameters", count_dense_parameters)[0]


def test_kv_cache_matches_the_course_arithmetic():
    for name in ["phi-3.5-mini", "mistral-small", "mistral-nemo-12b", "llama-3.2-1b", "llama-3.2-3b", "mixtral-8x7b"]:
        for context, batch, precision in [(1, 1, "bf16"), (8192, 3, "fp32"), (100, 2, "int8")]:
            expected = kv_cache_bytes(name, context, batch, precision)
            got = kv_cache_size(load_config(name), context, batch, {"bf16": 2, "fp32": 4, "int8": 1}[precision])
            assert got == expected, (name, context, batch, precision)
    assert kv_cache_size(load_config("mistral-7b"), 0, 1, 2) == 0


@pytest.mark.parametrize("name", DENSE_MODELS)
def test_feasible_agrees_with_the_course_memory_model(name):
    for precision in weight_formats():
        for kv in ("bf16", "q8_0"):
            answer = feasible(load_config(name), precision, 4096, 8, kv)
            need = fit.memory_need(name, precision, 4096, kv_precision=kv)
            assert answer["weights"] == pytest.approx(need.weights, abs=3), (name, precision)
            assert answer["kv_cache"] == pytest.approx(need.kv_cache, abs=1)
            assert answer["total"] == pytest.approx(need.total, abs=4)
            assert answer["fits"] == fit.fits(name, precision, 8, 4096, kv_precision=kv)


def test_feasible_on_the_challenge():
    nemo = load_config("mistral-nemo-12b")
    assert feasible(nemo, "int4", 4096, 8)["fits"]  # the lower bound the old lesson rested on
    assert not feasible(nemo, "Q4_K_M", 4096, 8)["fits"]
    assert feasible(nemo, "Q4_0", 4096, 8, "q8_0")["fits"]
    answer = feasible(nemo, "GPTQ-4bit", 0, 80)
    assert answer["weights"] == model_weight_bytes("mistral-nemo-12b", "GPTQ-4bit").total
    assert answer["total"] == answer["weights"] + GIB  # no context: weights and headroom


def test_the_grader_draws_every_format_and_tied_and_untied_configs():
    cases = [decode(case) for case in EXERCISES["test-feasible"].draw(seed=11)]  # edge cases first
    assert {case["args"][1] for case in cases} >= {"Q4_K_M", "Q4_0", "GPTQ-4bit"}
    drawn_kv = {case["args"][4] if len(case["args"]) > 4 else "bf16" for case in cases}
    assert drawn_kv <= set(KV_FORMATS)
    tied = {bool(case["args"][0].get("tie_word_embeddings", False)) for case in cases}
    assert tied == {True, False}
    assert {feasible(*case["args"])["fits"] for case in cases} == {True, False}  # both verdicts occur


# ---------------------------------------------------------------- plausible wrong answers fail


def _all_heads(config):
    h, heads = config["hidden_size"], config["num_attention_heads"]
    d = config.get("head_dim") or h // heads
    per_layer = 4 * h * heads * d + 3 * h * config["intermediate_size"] + 2 * h
    total = config["vocab_size"] * h + config["num_hidden_layers"] * per_layer + h
    return total + (0 if config.get("tie_word_embeddings", False) else config["vocab_size"] * h)


def _always_untied(config):
    return count_dense_parameters(dict(config, tie_word_embeddings=False))


def _no_head_dim(config):
    return count_dense_parameters({k: v for k, v in config.items() if k != "head_dim"})


def _no_norms(config):
    h, layers = config["hidden_size"], config["num_hidden_layers"]
    return count_dense_parameters(config) - 2 * h * layers - h


def _keys_only(config, context_length, batch, bytes_per_value):
    return kv_cache_size(config, context_length, batch, bytes_per_value) / 2


def _query_heads(config, context_length, batch, bytes_per_value):
    return kv_cache_size(
        dict(config, num_key_value_heads=config["num_attention_heads"]), context_length, batch, bytes_per_value
    )


def _hidden_not_head_dim(config, context_length, batch, bytes_per_value):
    return kv_cache_size({k: v for k, v in config.items() if k != "head_dim"}, context_length, batch, bytes_per_value)


def _integer_bytes(config, context_length, batch, bytes_per_value):
    return kv_cache_size(config, context_length, batch, max(1, round(bytes_per_value)))


def _feasible_with(weights, kv_cache=None, headroom_gib=None, gib=GIB):
    """A feasible built like the reference but with one piece of it wrong."""

    def wrong(config, precision, context_length, gpu_gib, kv_precision="bf16"):
        w = weights(config, weight_format(precision))
        kv = (kv_cache or _kv)(config, context_length, kv_precision)
        total = w + kv + (fit.RUNTIME_HEADROOM_GIB if headroom_gib is None else headroom_gib) * gib
        return {"weights": w, "kv_cache": kv, "total": total, "fits": total <= gpu_gib * gib}

    return wrong


def _kv(config, context_length, kv_precision):
    return kv_cache_size(config, context_length, 1, kv_bytes_per_value(kv_precision))


def _right_weights(config, fmt):
    return feasible(config, fmt.name, 0, 1)["weights"]


def _all_at_layer_rate(config, fmt):  # forgets that formats keep the embeddings and head apart
    return count_dense_parameters(config) * fmt.bits / 8


def _ignores_tying(config, fmt):  # takes two vocabulary matrices out of the count even when there is one
    vocabulary = config["vocab_size"] * config["hidden_size"]
    layers = count_dense_parameters(config) - 2 * vocabulary
    return (layers * fmt.bits + vocabulary * (fmt.embedding_bits + fmt.head_bits)) / 8


def _tied_at_embedding_rate(config, fmt):
    if not config.get("tie_word_embeddings", False):
        return _right_weights(config, fmt)
    vocabulary = config["vocab_size"] * config["hidden_size"]
    return _right_weights(config, fmt) + vocabulary * (fmt.embedding_bits - fmt.head_bits) / 8


def _ideal_bits(config, fmt):  # half a byte for int4-like formats: the lower bound
    ideal = {"Q8_0": 8, "Q4_0": 4, "Q4_K_M": 4, "GPTQ-4bit": 4}.get(fmt.name, fmt.bits)
    return count_dense_parameters(config) * ideal / 8


def _cache_always_bf16(config, context_length, kv_precision):
    return kv_cache_size(config, context_length, 1, 2)


def _cache_per_batch_of_two(config, context_length, kv_precision):
    return 2 * _kv(config, context_length, kv_precision)


@pytest.mark.parametrize(
    "grade_id, wrong",
    [
        ("test-count-parameters", _all_heads),
        ("test-count-parameters", _always_untied),
        ("test-count-parameters", _no_head_dim),
        ("test-count-parameters", _no_norms),
        ("test-kv-cache", _keys_only),
        ("test-kv-cache", _query_heads),
        ("test-kv-cache", _hidden_not_head_dim),
        ("test-kv-cache", _integer_bytes),
        ("test-feasible", _feasible_with(_all_at_layer_rate)),
        ("test-feasible", _feasible_with(_ignores_tying)),
        ("test-feasible", _feasible_with(_tied_at_embedding_rate)),
        ("test-feasible", _feasible_with(_ideal_bits)),
        ("test-feasible", _feasible_with(_right_weights, kv_cache=_cache_always_bf16)),
        ("test-feasible", _feasible_with(_right_weights, kv_cache=_cache_per_batch_of_two)),
        ("test-feasible", _feasible_with(_right_weights, headroom_gib=0)),
        ("test-feasible", _feasible_with(_right_weights, gib=1e9)),
    ],
)
def test_plausible_wrong_answers_fail(grade_id, wrong):
    for seed in (0, 1, 2):
        passed, line = verdict(grade_id, wrong, seed)
        assert not passed, (wrong.__name__, line)


def test_the_right_pieces_put_together_pass():
    # the wrong answers above fail for their wrong piece, not for the way they are assembled
    passed, line = verdict("test-feasible", _feasible_with(_right_weights))
    assert passed, line


def test_the_course_arithmetic_refuses_the_graders_configs():
    """count_parameters and kv_cache_bytes take course model names only, so they cannot stand in for the exercises
    on the configs the grader draws (bare or real)."""
    for case in EXERCISES["test-count-parameters"].cases(random.Random(0)):
        config = decode(encode(case))["args"][0]
        with pytest.raises(ValueError, match="course model name"):
            count_parameters(config)
    for case in EXERCISES["test-kv-cache"].cases(random.Random(0)):
        config = decode(encode(case))["args"][0]
        with pytest.raises(ValueError, match="course model name"):
            kv_cache_bytes(config, 10)
    for case in EXERCISES["test-feasible"].cases(random.Random(0)):
        config, precision, context = decode(encode(case))["args"][:3]
        with pytest.raises(ValueError, match="course model name"):
            model_weight_bytes(config, precision)
        with pytest.raises(ValueError, match="course model name"):
            fit.memory_need(config, precision, context)
