"""Lesson 02, small language models: reference solutions and the declarations of its graded exercises.

Parameters of a dense decoder from its config (Exercise 1), the size of its KV cache (Exercise 2), and the
challenge's deployment choice (Exercise 3). Cases are the course's real dense configs plus random configs in the
same ``config.json`` form; the random ones carry no ``model_type``, like the exercise's toy config.
"""

from __future__ import annotations

import random
from typing import Any

from course.grading.exercise import EXACT, Exercise, call, close

LESSON = "02-small-language-models"

#: The course's dense decoder-only models (the others are MoE or multimodal).
DENSE_MODELS = ("phi-3.5-mini", "mistral-7b", "mistral-small", "mistral-nemo-12b", "llama-3.2-1b", "llama-3.2-3b")


# ---------------------------------------------------------------- Exercise 1: parameters of a dense decoder


def count_dense_parameters(config: dict[str, Any]) -> int:
    """Parameters of a dense decoder-only model (Llama/Mistral/Phi-3 layout), from its config.json values:
    embeddings, per layer q/k/v/o projections (GQA: k and v have ``num_key_value_heads`` heads), a gated MLP and
    two RMSNorms, a final norm, and an output head unless the embeddings are tied."""
    h, layers, vocab = config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    d = config.get("head_dim") or h // heads
    attention = h * heads * d + 2 * h * kv_heads * d + heads * d * h
    mlp = 3 * h * config["intermediate_size"]
    per_layer = attention + mlp + 2 * h
    total = vocab * h + layers * per_layer + h
    if not config.get("tie_word_embeddings", False):
        total += vocab * h
    return total


def _random_config(rng: random.Random, small: bool) -> dict[str, Any]:
    """A dense decoder config as config.json values, with or without GQA, an explicit head_dim and tied
    embeddings; ``small`` keeps it buildable in a test, otherwise it has real-model sizes."""
    heads = rng.choice([2, 4, 8]) if small else rng.choice([8, 16, 24, 32, 40, 48, 64])
    kv = rng.choice([k for k in (1, 2, 4, 8, heads) if heads % k == 0])
    width = rng.choice([4, 8]) if small else rng.choice([64, 80, 96, 128])
    if small:
        vocab, layers, intermediate = rng.randint(50, 300), rng.randint(1, 3), rng.randint(8, 40)
    else:
        vocab = rng.choice([32000, 32768, 128256, 131072, rng.randint(1, 9) * 10007])
        layers = rng.randint(8, 80)
        intermediate = heads * width * rng.choice([2, 3, 4]) + rng.randint(0, 64)
    config: dict[str, Any] = {
        "vocab_size": vocab,
        "hidden_size": heads * width,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": intermediate,
        "tie_word_embeddings": rng.random() < 0.5,
    }
    roll = rng.random()
    if roll < 0.6:
        config["num_key_value_heads"] = kv
    elif roll < 0.7:
        config["num_key_value_heads"] = None  # as some config.json files write it: no GQA
    roll = rng.random()
    if roll < 0.3:
        config["head_dim"] = rng.choice([6, 12]) if small else rng.choice([64, 128, 256])
    elif roll < 0.4:
        config["head_dim"] = None
    if rng.random() < 0.3:
        del config["tie_word_embeddings"]  # left out: not tied
    return config


def _real_configs(rng: random.Random, k: int) -> list[dict[str, Any]]:
    from course.models.configs import load_config

    return [dict(load_config(name)) for name in rng.sample(DENSE_MODELS, k)]


def _count_cases(rng: random.Random) -> list[dict]:
    configs = _real_configs(rng, 3)
    configs += [_random_config(rng, small=True) for _ in range(6)]
    configs += [_random_config(rng, small=False) for _ in range(8)]
    rng.shuffle(configs)
    return [call(config) for config in configs]


_TOY = {
    "vocab_size": 10,
    "hidden_size": 4,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "intermediate_size": 8,
    "tie_word_embeddings": True,
}
_COUNT_EDGE = [
    call(_TOY),
    call(dict(_TOY, tie_word_embeddings=False)),
    call({key: value for key, value in _TOY.items() if key != "num_key_value_heads"}),  # no GQA
    call(dict(_TOY, head_dim=6)),
]


# ---------------------------------------------------------------- Exercise 2: the KV cache


def kv_cache_size(config: dict[str, Any], context_length: int, batch: int, bytes_per_value: float) -> float:
    """Bytes of the KV cache of a dense decoder: a key and a value vector per KV head, per layer and token."""
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    d = config.get("head_dim") or config["hidden_size"] // heads
    return 2 * config["num_hidden_layers"] * kv_heads * d * context_length * batch * bytes_per_value


_BYTES = [0.5, 1, 2, 4]


def _kv_cases(rng: random.Random) -> list[dict]:
    from course.models.configs import load_config

    configs = _real_configs(rng, 3) + [dict(load_config("mixtral-8x7b"))]
    configs += [_random_config(rng, small=rng.random() < 0.3) for _ in range(10)]
    rng.shuffle(configs)
    cases = []
    for config in configs:
        context = rng.choice([1, 100, 2048, 4096, 8192, 32768, 131072, rng.randint(1, 20000)])
        cases.append(call(config, context, rng.randint(1, 8), rng.choice(_BYTES + [rng.choice([0.75, 1.5])])))
    return cases


_MISTRAL_7B_SHAPE = {  # the attention shapes of Mistral 7B's config.json
    "vocab_size": 32768,
    "hidden_size": 4096,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "intermediate_size": 14336,
}
_KV_EDGE = [
    call(_MISTRAL_7B_SHAPE, 1, 1, 2),
    call(_MISTRAL_7B_SHAPE, 4096, 2, 2),
    call(_MISTRAL_7B_SHAPE, 0, 1, 2),  # an empty context caches nothing
    call(dict(_MISTRAL_7B_SHAPE, num_key_value_heads=None), 100, 3, 4),  # no GQA
    call(dict(_MISTRAL_7B_SHAPE, head_dim=64), 8192, 1, 1),
]


# ---------------------------------------------------------------- Exercise 3: the deployment choice


def choose_deployment() -> dict[str, str]:
    """Model, tokenizer and precision for the laptop translation tool."""
    return {"model": "mistral-nemo-12b", "tokenizer": "tekken", "precision": "int4"}


def _passages() -> dict[str, str]:
    from course.text.passages import load_all

    return dict(load_all("slm-on-a-laptop"))


def _deployment_cases(rng: random.Random) -> list[dict]:
    """The challenge's passages, in random subsets and orders of their languages: any choice the lesson's rules
    accept passes every one of them."""
    texts = _passages()
    cases = []
    for _ in range(6):
        languages = rng.sample(sorted(texts), rng.randint(1, len(texts)))
        cases.append({"texts": {lang: texts[lang] for lang in languages}})
    return cases


def _deployment_edge() -> list[dict]:
    return [{"texts": _passages()}]


# ---------------------------------------------------------------- the visible tests of the test cells

_COUNT_DENSE_PARAMETERS_TESTS = r"""
toy = {"vocab_size": 10, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2,
       "num_key_value_heads": 1, "intermediate_size": 8, "tie_word_embeddings": True}
# embeddings 40 + q 16 + k 8 + v 8 + o 16 + mlp 96 + norms 8 + final norm 4
assert count_dense_parameters(toy) == 196, count_dense_parameters(toy)
assert count_dense_parameters(dict(toy, tie_word_embeddings=False)) == 236
assert count_dense_parameters(load_config("mistral-7b")) == 7_248_023_552, "Mistral 7B, from its config"
"""

_KV_CACHE_SIZE_TESTS = r"""
mistral = load_config("mistral-7b")
assert kv_cache_size(mistral, 1, 1, 2) == 131_072, "32 layers x 2 x 8 KV heads x 128 dims x 2 bytes"
assert kv_cache_size(mistral, 4096, 2, 2) == 2 * 4096 * 131_072
"""

_CHOOSE_DEPLOYMENT_TESTS = r"""
choice = choose_deployment()
assert set(choice) == {"model", "tokenizer", "precision"}, "return exactly the keys model, tokenizer, precision"
assert choice["model"] in deployment.MODEL_TOKENIZER, f"model must be one of {sorted(deployment.MODEL_TOKENIZER)}"
assert choice["precision"] in fit.PRECISIONS, f"precision must be one of {fit.PRECISIONS}"
"""


EXERCISES = [
    Exercise(
        grade_id="test-count-parameters",
        target="count_dense_parameters",
        points=3,
        about=(
            "calls your function on configs it draws itself (the course's dense models and random ones, with and "
            "without GQA, head_dim and tied embeddings) and compares with the reference."
        ),
        tests=_COUNT_DENSE_PARAMETERS_TESTS,
        reference=count_dense_parameters,
        cases=_count_cases,
        edge_cases=_COUNT_EDGE,
        compare=EXACT,
    ),
    Exercise(
        grade_id="test-kv-cache",
        target="kv_cache_size",
        points=2,
        about=(
            "calls your function on inputs it draws itself (the course's configs and random ones, contexts, batches "
            "and bytes per value) and compares with the reference."
        ),
        tests=_KV_CACHE_SIZE_TESTS,
        reference=kv_cache_size,
        cases=_kv_cases,
        edge_cases=_KV_EDGE,
        compare=close(rtol=1e-9, atol=0.0),
    ),
    Exercise(
        grade_id="test-choose-deployment",
        target="choose_deployment",
        points=2,
        about=(
            "asks the lesson's own check (`deployment.deployment_problems`) what is wrong with your choice, on the "
            "challenge's passages: any choice that passes it earns the points."
        ),
        tests=_CHOOSE_DEPLOYMENT_TESTS,
        reference=choose_deployment,
        # the full passages first (the old hidden test), then random subsets of their languages
        cases=lambda rng: [*_deployment_edge(), *_deployment_cases(rng)],
        compare=EXACT,
        driver="course.lessons.slm.drivers:deployment_problems",
    ),
]
