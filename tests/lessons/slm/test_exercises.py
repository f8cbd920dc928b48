"""Lesson 02's graded exercises: the references reproduce the old hidden tests' facts, plausible wrong answers
fail the comparison, and the deployment driver works on the reference."""

import random

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from course.grading.values import decode, encode
from course.lessons.slm.drivers import deployment_problems
from course.models.configs import load_config
from course.models.memory import kv_cache_bytes
from course.models.params import count_parameters
from course.references import exercises
from course.references.slm import choose_deployment, count_dense_parameters, kv_cache_size
from course.text.passages import load_all
from tests.grading_helpers import checked

LESSON = "02-small-language-models"
EXERCISES = exercises(LESSON)


def verdict(grade_id, candidate, seed=5):
    """Whether ``candidate`` passes the exercise's check (``tests.grading_helpers.checked``)."""
    return checked(LESSON, grade_id, candidate, seed)


def test_every_exercise_is_declared_for_its_test_cell():
    assert set(EXERCISES) == {"test-count-parameters", "test-kv-cache", "test-choose-deployment"}


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


def test_kv_cache_matches_the_course_arithmetic():
    for name in ["phi-3.5-mini", "mistral-small", "mistral-nemo-12b", "llama-3.2-1b", "llama-3.2-3b", "mixtral-8x7b"]:
        for context, batch, precision in [(1, 1, "bf16"), (8192, 3, "fp32"), (100, 2, "int8")]:
            expected = kv_cache_bytes(name, context, batch, precision)
            got = kv_cache_size(load_config(name), context, batch, {"bf16": 2, "fp32": 4, "int8": 1}[precision])
            assert got == expected, (name, context, batch, precision)
    assert kv_cache_size(load_config("mistral-7b"), 0, 1, 2) == 0


def test_the_choice_passes_the_lessons_check_and_the_driver_reports_problems():
    texts = load_all("slm-on-a-laptop")
    assert deployment_problems(choose_deployment, {"texts": texts}) == []
    wrong = {"model": "mistral-7b", "tokenizer": "mistral-7b-v0.3", "precision": "int4"}
    assert deployment_problems(lambda: wrong, {"texts": texts})
    assert deployment_problems(lambda: ["mistral-nemo-12b"], {"texts": texts})


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


def _too_big():
    return {"model": "mistral-nemo-12b", "tokenizer": "tekken", "precision": "int8"}


def _wrong_tokenizer():
    return {"model": "mistral-nemo-12b", "tokenizer": "mistral-7b-v0.3", "precision": "int4"}


def _sentencepiece_model():
    return {"model": "mistral-7b", "tokenizer": "mistral-7b-v0.3", "precision": "int4"}


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
        ("test-choose-deployment", _too_big),
        ("test-choose-deployment", _wrong_tokenizer),
        ("test-choose-deployment", _sentencepiece_model),
    ],
)
def test_plausible_wrong_answers_fail(grade_id, wrong):
    for seed in (0, 1, 2):
        passed, line = verdict(grade_id, wrong, seed)
        assert not passed, (wrong.__name__, line)


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
