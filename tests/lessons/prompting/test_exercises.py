"""Lesson 01's graded exercises: the references reproduce the old hidden tests' facts, plausible wrong answers
fail the comparison, and every case runs on the reference."""

import math
import random

import numpy as np
import pytest

from course.lessons.prompting.prompts import support_task, with_examples
from course.references import exercises
from course.references.prompting import break_even_volume, cost_per_1000_requests, three_c_prompt, top_k
from course.text.tokenizers import count_tokens
from tests.grading_helpers import checked

LESSON = "01-beyond-the-prompt"
EXERCISES = exercises(LESSON)


def verdict(grade_id, candidate, seed=5):
    """Whether ``candidate`` passes the exercise's check (``tests.grading_helpers.checked``)."""
    return checked(LESSON, grade_id, candidate, seed)


def test_every_exercise_is_declared_for_its_test_cell():
    assert set(EXERCISES) == {"test-three-c-prompt", "test-cost-per-1000", "test-top-k", "test-break-even"}


@pytest.mark.parametrize("grade_id", sorted(EXERCISES))
def test_the_reference_passes_its_own_check(grade_id):
    passed, line = verdict(grade_id, EXERCISES[grade_id].reference)
    assert passed, line


# ---------------------------------------------------------------- the old hidden tests' facts


def test_three_c_prompt_facts():
    assert three_c_prompt("  Summarise.  ", " some text ", context="   ", constraints=(" Be brief. ",)) == (
        "Summarise.\n\nConstraints:\n- Be brief.\n\nInput: some text\nOutput:"
    )
    assert three_c_prompt("Translate.", "chat", context=" French speakers. ") == (
        "Translate.\n\nContext: French speakers.\n\nInput: chat\nOutput:"
    )
    for bad in [
        dict(instruction=" ", query="x"),
        dict(instruction="Do.", query=""),
        dict(instruction="Do.", query="x", constraints=["ok", "  "]),
    ]:
        with pytest.raises(ValueError):
            three_c_prompt(**bad)
    task = support_task()
    for ticket in task.incoming + task.examples:  # the lesson's zero-shot prompts keep their layout
        prompt = with_examples(three_c_prompt(task.instruction, ticket.text, task.context, task.constraints), ())
        assert prompt.startswith(task.instruction.strip() + "\n\nContext: ") and prompt.endswith("\nOutput:")


def test_cost_facts():
    text = "노트가 휴대폰과 노트북 사이에서 동기화되지 않아요."
    for tokenizer in ("tekken", "mistral-7b-v0.3"):
        for rates in [(0.2, 0.6), (3.0, 15.0), (0.0, 1.0)]:
            n_in, n_out = count_tokens(text, tokenizer), count_tokens("bug", tokenizer)
            expected = 1000 * (n_in * rates[0] + n_out * rates[1]) / 1e6
            assert math.isclose(cost_per_1000_requests(text, "bug", tokenizer, *rates), expected, rel_tol=1e-9)
    assert math.isclose(
        cost_per_1000_requests(text, "", "tekken", 4.0, 1.0), 2 * cost_per_1000_requests(text, "", "tekken", 2.0, 1.0)
    )
    tekken = cost_per_1000_requests(text, "", "tekken", 1.0, 0)
    assert tekken != cost_per_1000_requests(text, "", "mistral-7b-v0.3", 1.0, 0)
    for bad in [(-1.0, 1.0), (1.0, -0.5)]:
        with pytest.raises(ValueError):
            cost_per_1000_requests(text, "bug", "tekken", *bad)


def test_top_k_facts():
    assert top_k([0.5, 0.1], 10) == [0, 1]
    assert top_k([], 3) == []
    assert [int(i) for i in top_k(np.array([0.0, 2.0, 1.0, 2.0]), 3)] == [1, 3, 2]
    for bad in (0, -2, 2.5):
        with pytest.raises(ValueError):
            top_k([1.0, 2.0], bad)
    rng = np.random.default_rng(1)
    for _ in range(50):
        scores = rng.integers(0, 5, size=int(rng.integers(1, 20))).astype(float)
        k = int(rng.integers(1, 25))
        assert top_k(scores, k) == list(np.argsort(-scores, kind="stable")[:k])


def test_break_even_facts():
    assert break_even_volume(10, 0.4, 0.1) == 34
    assert break_even_volume(0, 0.3, 0.1) == 0
    assert break_even_volume(50, 0.1, 0.2) is None
    assert isinstance(break_even_volume(7, 0.01, 0.001), int)
    for bad in [(-1, 0.2, 0.1), (1, -0.2, 0.1), (1, 0.2, -0.1)]:
        with pytest.raises(ValueError):
            break_even_volume(*bad)
    rng = np.random.default_rng(3)
    for _ in range(300):
        upfront, tuned = float(rng.uniform(1, 5000)), float(rng.uniform(0, 0.01))
        prompting = tuned + float(rng.uniform(1e-5, 0.01))
        n = break_even_volume(upfront, prompting, tuned)
        assert upfront + n * tuned <= n * prompting + 1e-9
        assert upfront + (n - 1) * tuned > (n - 1) * prompting - 1e-9


# ---------------------------------------------------------------- plausible wrong answers fail


def _no_strip(instruction, query, context="", constraints=()):
    sections = [instruction] + ([f"Context: {context}"] if context else [])
    if constraints:
        sections.append("Constraints:\n" + "\n".join(f"- {rule}" for rule in constraints))
    return "\n\n".join([*sections, f"Input: {query}\nOutput:"])


def _no_validation(instruction, query, context="", constraints=()):
    rules = [rule.strip() for rule in constraints]
    sections = [instruction.strip()] + ([f"Context: {context.strip()}"] if context.strip() else [])
    if rules:
        sections.append("Constraints:\n" + "\n".join(f"- {rule}" for rule in rules))
    return "\n\n".join([*sections, f"Input: {query.strip()}\nOutput:"])


def _one_tokenizer(prompt, answer, tokenizer, input_rate, output_rate):
    return cost_per_1000_requests(prompt, answer, "tekken", input_rate, output_rate)


def _per_request(prompt, answer, tokenizer, input_rate, output_rate):
    return cost_per_1000_requests(prompt, answer, tokenizer, input_rate, output_rate) / 1000


def _characters(prompt, answer, tokenizer, input_rate, output_rate):
    if input_rate < 0 or output_rate < 0:
        raise ValueError("negative")
    return (len(prompt) * input_rate + len(answer) * output_rate) / 1000


def _ties_to_higher(scores, k):
    if not isinstance(k, int) or k < 1:
        raise ValueError(k)
    return sorted(range(len(scores)), key=lambda i: (-scores[i], -i))[:k]


def _no_k_check(scores, k):
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))[: int(k)]


def _no_rounding(upfront, prompting, tuned):
    if min(upfront, prompting, tuned) < 0:
        raise ValueError("negative")
    saving = prompting - tuned
    return None if saving <= 0 else math.ceil(upfront / saving)


def _floor(upfront, prompting, tuned):
    if min(upfront, prompting, tuned) < 0:
        raise ValueError("negative")
    saving = prompting - tuned
    return None if saving <= 0 else int(upfront / saving)


def _zero_when_never(upfront, prompting, tuned):
    return break_even_volume(upfront, prompting, tuned) or 0


@pytest.mark.parametrize(
    "grade_id, wrong",
    [
        ("test-three-c-prompt", _no_strip),
        ("test-three-c-prompt", _no_validation),
        ("test-cost-per-1000", _one_tokenizer),
        ("test-cost-per-1000", _per_request),
        ("test-cost-per-1000", _characters),
        ("test-top-k", _ties_to_higher),
        ("test-top-k", _no_k_check),
        ("test-break-even", _no_rounding),
        ("test-break-even", _floor),
        ("test-break-even", _zero_when_never),
    ],
)
def test_plausible_wrong_answers_fail(grade_id, wrong):
    for seed in (0, 1, 2):
        passed, line = verdict(grade_id, wrong, seed)
        assert not passed, (wrong.__name__, line)


def test_cases_are_plain_data_and_repeat_with_the_seed():
    for exercise in EXERCISES.values():
        assert exercise.draw(11) == exercise.draw(11)
        assert 10 <= len(exercise.cases(random.Random(0))) <= 30
