"""Lesson 02's graded questions apply the lesson to scenarios with numbers: their keys are what the course's memory
model computes, so a change of format or headroom that changes an answer fails here."""

import json
import re
from pathlib import Path

import pytest

from course.models.configs import load_config
from course.models.memory import model_weight_bytes
from course.quiz.questions import load_questions
from course.references.slm import feasible

LESSON = "02-small-language-models"
KEY = json.loads((Path(__file__).parents[3] / "samples" / "answers" / f"{LESSON}.json").read_text())["answers"]
QUESTIONS = load_questions(LESSON)


def _gigabytes(text: str) -> float:
    return float(re.search(r"([\d.]+) GB", text).group(1))


def test_gptq_size_key_is_the_closest_option_to_the_computed_size():
    question = QUESTIONS["gptq-size"]
    assert "7,248,023,552" in question.prompt  # the count the lesson computes for Mistral 7B
    size = model_weight_bytes("mistral-7b", "GPTQ-4bit").total / 1e9
    closest = min(question.options, key=lambda o: abs(_gigabytes(o.text) - size))
    assert KEY["gptq-size"] == [closest.id]
    assert abs(_gigabytes(closest.text) - size) < 0.05
    # the distractors are the mistakes the lesson warns about: half a byte everywhere, 4.16 bits everywhere
    ideal = model_weight_bytes("mistral-7b", "int4").total / 1e9
    assert any(abs(_gigabytes(o.text) - ideal) < 0.05 for o in question.options)


@pytest.mark.parametrize(
    ("option", "model", "precision", "kv"),
    [
        ("a", "llama-3.2-3b", "Q8_0", "bf16"),
        ("b", "phi-3.5-mini", "Q4_K_M", "bf16"),
        ("c", "mistral-7b", "Q4_K_M", "q8_0"),
        ("d", "mistral-nemo-12b", "Q4_0", "q8_0"),
    ],
)
def test_six_gib_gpu_key_is_what_feasible_says(option, model, precision, kv):
    question = QUESTIONS["six-gib-gpu"]
    text = next(o.text for o in question.options if o.id == option)
    assert precision in text and kv in text
    fits = feasible(load_config(model), precision, 8192, 6, kv)["fits"]
    assert (option in KEY["six-gib-gpu"]) == fits
    assert "6 GiB" in question.prompt and "8,192" in question.prompt


def test_translator_plan_key_is_the_lessons_recommendation_and_each_distractor_fails_the_table():
    from course.lessons.slm import deployment, fit

    question = QUESTIONS["translator-plan"]
    text = {o.id: o.text for o in question.options}
    options = deployment.CHALLENGE_OPTIONS
    needs = deployment.judge(feasible, options, fit.LAPTOP_GPU_GIB)
    need = dict(zip(options, needs, strict=True))
    best = deployment.recommend(options, needs, "mistral-nemo-12b")
    assert KEY["translator-plan"] == ["c"]
    assert best == deployment.Option("mistral-nemo-12b", "Q4_K_M", "q8_0", embeddings_in_ram=True)
    assert all(words in text["c"] for words in ("Q4_K_M", "8-bit cache", "embeddings in RAM", "check"))
    smallest = deployment.Option("mistral-nemo-12b", "Q4_0", "q8_0")  # b: it fits, at a worse perplexity
    assert "Q4_0" in text["b"] and need[smallest]["fits"]
    assert smallest.perplexity_increase > best.perplexity_increase
    seven = deployment.Option("mistral-7b", "Q4_K_M")  # d: it fits; its claim about quality is what fails
    assert "Mistral 7B" in text["d"] and need[seven]["fits"]
    small = deployment.Option("mistral-small", "Q4_K_M", "q8_0")  # e: does not fit at all
    assert "Mistral Small" in text["e"] and not need[small]["fits"]
