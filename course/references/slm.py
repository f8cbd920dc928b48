"""Lesson 02, small language models: reference solutions and the declarations of its graded exercises.

Parameters of a dense decoder from its config (Exercise 1), the size of its KV cache (Exercise 2), and whether it
fits a GPU in a real storage format (Exercise 3, built on the other two). Cases are the course's real dense configs
plus random configs in the same ``config.json`` form; the random ones carry no ``model_type``, like the exercise's
toy config.
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


def _beyond_any_library_config(rng: random.Random) -> dict[str, Any]:
    """A dense decoder config far larger than any real model: a hidden size and a vocabulary of over 2**32 each, so
    the embedding matrix alone holds more than 2**63 entries. The formula counts it exactly in Python's integers;
    building the model with a library to count its parameters, even on PyTorch's meta device, fails (no tensor
    holds 2**63 entries), so composing library code does not answer the exercise."""
    heads = rng.choice([16, 32, 64])
    width = 2**28 + rng.randint(0, 2**20)
    config = dict(_random_config(rng, small=False), num_attention_heads=heads, hidden_size=heads * width)
    config["vocab_size"] = 2**32 + rng.randint(0, 2**32)
    config["intermediate_size"] = config["hidden_size"] * rng.choice([2, 3, 4]) + rng.randint(0, 64)
    if config.get("num_key_value_heads"):
        config["num_key_value_heads"] = rng.choice([k for k in (1, 2, 4, 8, heads) if heads % k == 0])
    if config.get("head_dim"):
        config["head_dim"] = rng.choice([width, 2**27, 2**29])
    return config


def _real_configs(rng: random.Random, k: int) -> list[dict[str, Any]]:
    from course.models.configs import load_config

    return [dict(load_config(name)) for name in rng.sample(DENSE_MODELS, k)]


def _count_cases(rng: random.Random) -> list[dict]:
    configs = _real_configs(rng, 3)
    configs += [_random_config(rng, small=True) for _ in range(6)]
    configs += [_random_config(rng, small=False) for _ in range(8)]
    configs += [_beyond_any_library_config(rng) for _ in range(2)]
    rng.shuffle(configs)
    return [call(config) for config in configs]


#: The toy config of Exercise 1's visible tests (196 parameters), also an edge case of the drawn ones.
TOY_CONFIG = {
    "vocab_size": 10,
    "hidden_size": 4,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "intermediate_size": 8,
    "tie_word_embeddings": True,
}
_COUNT_EDGE = [
    call(TOY_CONFIG),
    call(dict(TOY_CONFIG, tie_word_embeddings=False)),
    call({key: value for key, value in TOY_CONFIG.items() if key != "num_key_value_heads"}),  # no GQA
    call(dict(TOY_CONFIG, head_dim=6)),
    call(dict(TOY_CONFIG, vocab_size=10 * 2**31, hidden_size=4 * 2**31)),  # the visible test's huge toy
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


# ---------------------------------------------------------------- Exercise 3: does it fit?


def feasible(
    config: dict[str, Any], precision: str, context_length: int, gpu_gib: float, kv_precision: str = "bf16"
) -> dict[str, Any]:
    """Memory to run a dense decoder on a GPU, and whether it fits: its weights in format ``precision`` (the layers at
    the format's ``bits``, the embeddings at ``embedding_bits``, the head, or the tied embedding matrix, at
    ``head_bits``), the KV cache of one sequence of ``context_length`` tokens in ``kv_precision``, and the runtime's
    headroom, against ``gpu_gib`` GiB."""
    from course.lessons.slm.fit import RUNTIME_HEADROOM_GIB
    from course.models.memory import GIB
    from course.models.quant import kv_bytes_per_value, weight_format

    fmt = weight_format(precision)
    vocabulary_matrix = config["vocab_size"] * config["hidden_size"]
    tied = config.get("tie_word_embeddings", False)
    layers = count_dense_parameters(config) - vocabulary_matrix * (1 if tied else 2)
    bits = layers * fmt.bits + vocabulary_matrix * fmt.head_bits
    if not tied:
        bits += vocabulary_matrix * fmt.embedding_bits
    weights = bits / 8
    kv = kv_cache_size(config, context_length, 1, kv_bytes_per_value(kv_precision))
    total = weights + kv + RUNTIME_HEADROOM_GIB * GIB
    return {"weights": weights, "kv_cache": kv, "total": total, "fits": total <= gpu_gib * GIB}


def _formats() -> tuple[list[str], list[str]]:
    from course.models.quant import KV_FORMATS, weight_formats

    return list(weight_formats()), list(KV_FORMATS)


def _feasible_cases(rng: random.Random) -> list[dict]:
    """Real dense configs and random ones (tied or not), every weight and KV format, contexts from none to 128k
    tokens, GPUs from 2 to 80 GiB."""
    weight_names, kv_names = _formats()
    configs = _real_configs(rng, 3) + [_random_config(rng, small=False) for _ in range(9)]
    rng.shuffle(configs)
    cases = []
    for config in configs:
        context = rng.choice([0, 512, 2048, 4096, 8192, 32768, 131072, rng.randint(1, 50000)])
        gpu = rng.choice([2, 4, 6, 8, 12, 16, 24, 48, 80, round(rng.uniform(2, 80), 1)])
        cases.append(call(config, rng.choice(weight_names), context, gpu, rng.choice(kv_names)))
    return cases


def _feasible_edge() -> list[dict]:
    from course.lessons.slm.fit import RUNTIME_HEADROOM_GIB
    from course.models.configs import load_config
    from course.models.memory import GIB

    nemo, small = load_config("mistral-nemo-12b"), load_config("llama-3.2-1b")  # untied; tied embeddings
    return [
        call(nemo, "Q4_K_M", 4096, 8),  # the challenge: over by about half a GiB
        call(nemo, "Q4_0", 4096, 8, "q8_0"),
        call(nemo, "GPTQ-4bit", 2048, 12, "fp8"),
        call(small, "Q4_K_M", 8192, 4, "bf16"),  # the tied matrix is stored once, at the head's rate
        call(small, "GPTQ-4bit", 0, 2, "q4_0"),
        call(dict(TOY_CONFIG), "Q8_0", 10, 1, "fp16"),
        # a total exactly equal to the GPU's memory fits: 196 int4 weights (98 bytes) plus the headroom
        call(dict(TOY_CONFIG), "int4", 0, RUNTIME_HEADROOM_GIB + 98 / GIB, "bf16"),
    ]


# ---------------------------------------------------------------- the visible tests of the test cells

_COUNT_DENSE_PARAMETERS_TESTS = r"""
toy = {"vocab_size": 10, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2,
       "num_key_value_heads": 1, "intermediate_size": 8, "tie_word_embeddings": True}
# embeddings 40 + q 16 + k 8 + v 8 + o 16 + mlp 96 + norms 8 + final norm 4
assert count_dense_parameters(toy) == 196, count_dense_parameters(toy)
assert count_dense_parameters(dict(toy, tie_word_embeddings=False)) == 236
assert count_dense_parameters(load_config("mistral-7b")) == 7_248_023_552, "Mistral 7B, from its config"
huge = dict(toy, vocab_size=10 * 2**31, hidden_size=4 * 2**31)  # far beyond 2**63: Python's integers, exactly
assert count_dense_parameters(huge) == 405_828_369_853_538_369_536, count_dense_parameters(huge)
"""

_KV_CACHE_SIZE_TESTS = r"""
mistral = load_config("mistral-7b")
assert kv_cache_size(mistral, 1, 1, 2) == 131_072, "32 layers x 2 x 8 KV heads x 128 dims x 2 bytes"
assert kv_cache_size(mistral, 4096, 2, 2) == 2 * 4096 * 131_072
"""

_FEASIBLE_TESTS = r"""
nemo = load_config("mistral-nemo-12b")  # 12,247,782,400 parameters, untied 131,072 x 5,120 embeddings and head
bf16 = feasible(nemo, "bf16", 4096, 80)
assert bf16["weights"] == 2 * 12_247_782_400, "bf16: 2 bytes for every weight"
assert bf16["kv_cache"] == 4096 * 163_840, "40 layers x 2 x 8 KV heads x 128 dims x 2 bytes per token"
assert bf16["total"] == bf16["weights"] + bf16["kv_cache"] + fit.RUNTIME_HEADROOM_GIB * GIB, "plus the headroom"
assert bf16["fits"] is True and feasible(nemo, "bf16", 4096, 24)["fits"] is False, "fits: True or False"
toy = {"vocab_size": 10, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2,
       "num_key_value_heads": 1, "intermediate_size": 8, "tie_word_embeddings": True}
# 196 weights: the tied 10 x 4 matrix at the head's rate, the 156 others at the layers' rate
assert feasible(toy, "GPTQ-4bit", 0, 1)["weights"] == (156 * 4.15625 + 40 * 16) / 8
assert feasible(toy, "Q4_0", 0, 1)["weights"] == (156 * 4.5 + 40 * 6.5625) / 8
untied = dict(toy, tie_word_embeddings=False)  # 236 weights: embeddings at Q4_0, a 40-weight head at Q6_K
assert feasible(untied, "Q4_0", 0, 1)["weights"] == (196 * 4.5 + 40 * 6.5625) / 8
assert feasible(toy, "int8", 100, 1, "q8_0")["kv_cache"] == 2 * 1 * 1 * 2 * 100 * 8.5 / 8
exactly = fit.RUNTIME_HEADROOM_GIB + 98 / GIB  # 196 int4 weights take 98 bytes: a GPU exactly that size
assert feasible(toy, "int4", 0, exactly)["fits"] is True, "a total equal to the GPU's memory fits"
"""


EXERCISES = [
    Exercise(
        grade_id="test-count-parameters",
        target="count_dense_parameters",
        points=3,
        about=(
            "calls your function on configs it draws itself (the course's dense models and random ones, with and "
            "without GQA, head_dim and tied embeddings, some far larger than any real model, with counts beyond "
            "2**63) and compares with the reference."
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
        grade_id="test-feasible",
        target="feasible",
        points=3,
        about=(
            "calls your function on inputs it draws itself (the course's dense configs and random ones, every weight "
            "and KV-cache format, contexts and GPU sizes) and compares with the reference."
        ),
        tests=_FEASIBLE_TESTS,
        reference=feasible,
        cases=_feasible_cases,
        edge_cases=_feasible_edge(),
        compare=close(rtol=1e-9, atol=1e-6),
    ),
]
