"""Lesson 03 §3: what a decode step reads (the experts a batch hits) and the graded serving question's key."""

import json
import random

import pytest
import torch

from course.lessons.moe import serving
from course.models.bandwidth import decode_tokens_per_second_bound
from course.models.configs import load_config
from course.models.params import count_parameters
from course.quiz.questions import load_questions
from tests.conftest import LAYOUT

LESSON = "03-mixture-of-experts"


def _simulated_hits(num_experts: int, top_k: int, batch: int, trials: int = 4000) -> float:
    """Distinct experts among ``batch`` tokens that each pick ``top_k`` different experts at random."""
    rng = random.Random(0)
    experts = range(num_experts)
    return sum(len({e for _ in range(batch) for e in rng.sample(experts, top_k)}) for _ in range(trials)) / trials


@pytest.mark.parametrize(("num_experts", "top_k", "batch"), [(8, 2, 1), (8, 2, 4), (16, 2, 8), (16, 2, 32), (6, 3, 2)])
def test_expected_experts_hit_matches_a_simulation_of_uniform_routing(num_experts, top_k, batch):
    expected = serving.expected_experts_hit(num_experts, top_k, batch)
    assert expected == pytest.approx(_simulated_hits(num_experts, top_k, batch), rel=0.02)


def test_expected_experts_hit_at_its_limits():
    assert serving.expected_experts_hit(8, 2, 1) == pytest.approx(2)  # one token: its k experts
    assert serving.expected_experts_hit(8, 8, 3) == pytest.approx(8)  # every expert picked by every token
    assert serving.expected_experts_hit(16, 2, 1000) == pytest.approx(16)
    for bad in [(8, 0, 1), (8, 9, 1), (8, 2, 0)]:
        with pytest.raises(ValueError):
            serving.expected_experts_hit(*bad)


def test_parameters_read_per_step_go_from_active_to_total():
    for name in ("mixtral-8x7b", "phi-3.5-moe"):
        count, config = count_parameters(name), load_config(name)
        experts, top_k = config["num_local_experts"], config["num_experts_per_tok"]
        shared = count.total - count.by_part["experts"]
        one_expert = count.by_part["experts"] // experts
        assert serving.parameters_read_per_step(shared, one_expert, experts, top_k, 1) == pytest.approx(count.active)
        assert serving.parameters_read_per_step(shared, one_expert, experts, top_k, 4096) == pytest.approx(count.total)
        reads = [serving.parameters_read_per_step(shared, one_expert, experts, top_k, b) for b in (1, 2, 8, 64)]
        assert reads == sorted(reads)


def test_experts_hit_counts_distinct_experts_in_random_batches():
    indices = torch.tensor([[0, 1]] * 10 + [[2, 3]] * 10)
    assert serving.experts_hit(indices, 4, batch=1) == 2
    assert serving.experts_hit(indices, 4, batch=20) == 4
    assert 2 < serving.experts_hit(indices, 4, batch=2, samples=500) < 4
    same = torch.tensor([[5, 1]] * 30)  # a router that always picks the same two: far below the uniform estimate
    assert serving.experts_hit(same, 8, batch=16) == 2 < serving.expected_experts_hit(8, 2, 16)
    with pytest.raises(ValueError, match="cannot exceed"):
        serving.experts_hit(indices, 4, batch=21)


def test_the_lesson_gpu_holds_both_moe_models_in_bf16():
    for name in ("mixtral-8x7b", "phi-3.5-moe"):
        assert 2 * count_parameters(name).total / 1e9 < serving.H200.memory_gb


def test_the_graded_serving_question_key_is_the_computed_answer():
    """The scenario of `moe-serving-budget`, recomputed: the keyed option, and only it, states both numbers."""
    question = load_questions(LESSON, "en")["moe-serving-budget"]
    for given in ("16 experts per layer, 2 used per token", "hold 1.5B parameters", "holds 1.5B", "bf16", "1,000 GB/s"):
        assert given in question.prompt
    shared = one_expert = 1.5e9
    total, active = shared + 16 * one_expert, shared + 2 * one_expert
    memory_gb = 2 * total / 1e9
    speed = decode_tokens_per_second_bound(2 * active, 1000)
    key = json.loads(LAYOUT.answer_key_file(LESSON).read_text())["answers"]["moe-serving-budget"]
    right = [o.id for o in question.options if f"{memory_gb:.0f} GB" in o.text and f"about {speed:.0f} " in o.text]
    assert right == key
