"""Lesson 02 §6: the challenge's check of a {model, tokenizer, precision} choice."""

import pytest

from course.lessons.slm import deployment
from course.text.passages import load_all

TEXTS = load_all("slm-on-a-laptop")


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
    problems = deployment.deployment_problems(choice, TEXTS)
    assert problems and any(fragment in p for p in problems), problems


def test_the_seed_solution_passes_and_depends_on_the_gpu():
    choice = {"model": "mistral-nemo-12b", "tokenizer": "tekken", "precision": "int4"}
    assert deployment.deployment_problems(choice, TEXTS) == []
    assert deployment.deployment_problems(choice, TEXTS, memory_gib=6) != []
    bigger = {"model": "mistral-nemo-12b", "tokenizer": "tekken", "precision": "bf16"}
    assert deployment.deployment_problems(bigger, TEXTS, memory_gib=48) == []
