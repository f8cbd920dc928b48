"""Lesson 07's graded exercises: the references keep their facts, plausible wrong answers fail the comparison,
and every case runs on the reference."""

import math
import re
from collections import Counter

import pytest

from course.references import exercises
from course.references.capstone import break_even, pack_context, score_answer
from course.text.tokenizers import count_tokens
from tests.grading_helpers import checked

LESSON = "07-capstone"
EXERCISES = exercises(LESSON)
NOTES = ["Invoice tickets go to billing.", "Refund window: within 30 days.", "Crash tickets go to bug."]


def verdict(grade_id, candidate, seed=5):
    return checked(LESSON, grade_id, candidate, seed)


def test_every_exercise_is_declared_for_its_test_cell():
    assert set(EXERCISES) == {"test-score-answer", "test-pack-context", "test-break-even"}


@pytest.mark.parametrize("grade_id", sorted(EXERCISES))
def test_the_reference_passes_its_own_check(grade_id):
    passed, line = verdict(grade_id, EXERCISES[grade_id].reference)
    assert passed, line


# ---------------------------------------------------------------- the references' facts


def test_score_answer_by_hand():
    assert score_answer("billing", "billing") == (True, 1.0)
    assert score_answer("billing input : i", "billing") == (False, pytest.approx(0.5))
    assert score_answer("30 days", "30") == (False, pytest.approx(2 / 3))
    assert score_answer("Billing", "billing") == (False, 1.0), "case counts for exact match, not for F1"
    assert score_answer("how to", "how-to")[1] == 0.0, "a hyphenated team is one word"
    assert score_answer("30 30", "30")[1] == pytest.approx(2 * 0.5 * 1 / 1.5), "a repeat counts once if shared once"
    assert score_answer("", "") == (True, 1.0) and score_answer("", "bug") == (False, 0.0)


def test_pack_context_ranks_fills_and_skips():
    assert pack_context("Problem with my invoice.", NOTES, 100) == [NOTES[0]]
    assert pack_context("Problem with my invoice.", NOTES, 0) == []
    assert pack_context("nothing in common", NOTES, 100) == []
    long_refund = "Refund window: within 30 days. " * 3
    storage = "Storage included: only 5 GB on the free plan."
    chosen = pack_context("refund storage", [long_refund, storage, NOTES[1]], 15)
    assert long_refund not in chosen and all(count_tokens(p, "tekken") <= 15 for p in chosen)
    assert sum(count_tokens(p, "tekken") for p in chosen) <= 15
    with pytest.raises(ValueError):
        pack_context("refund", NOTES, -1)


def test_break_even_by_hand():
    assert break_even(30.0, 0.25, 0.0, 0.75) == 61  # at 60 requests both cost $45
    assert break_even(0.0, 0.75, 30.0, 0.25) == 61
    assert break_even(0.0, 0.25, 30.0, 0.75) == 0
    assert break_even(30.0, 0.001, 0.0, 0.003) == 15000, "exact: 0.003 - 0.001 in binary is a hair above 0.002"
    assert break_even(10.0, 0.002, 10.0, 0.001) == 1, "as cheap up front: cheaper from the first request"
    assert break_even(10.0, 0.002, 5.0, 0.002) is None
    with pytest.raises(ValueError):
        break_even(-1.0, 0.1, 0.0, 0.2)


# ---------------------------------------------------------------- wrong answers fail


def _f1_without_repeats(prediction, answer):
    exact = prediction.strip() == answer.strip()
    p, a = set(re.findall(r"[a-z0-9-]+", prediction.lower())), set(re.findall(r"[a-z0-9-]+", answer.lower()))
    if not p and not a:
        return exact, 1.0
    shared = len(p & a)
    return (exact, 0.0) if not shared else (exact, 2 * shared / (len(p) + len(a)))


def _f1_splitting_on_spaces(prediction, answer):
    exact = prediction.strip() == answer.strip()
    p, a = prediction.lower().split(), answer.lower().split()
    if not p and not a:
        return exact, 1.0
    shared = sum((Counter(p) & Counter(a)).values())
    return (exact, 0.0) if not shared else (exact, 2 * shared / (len(p) + len(a)))


def _exact_ignoring_case(prediction, answer):
    return prediction.strip().lower() == answer.strip().lower(), score_answer(prediction, answer)[1]


@pytest.mark.parametrize("wrong", [_f1_without_repeats, _f1_splitting_on_spaces, _exact_ignoring_case])
def test_wrong_scorers_fail(wrong):
    assert not verdict("test-score-answer", wrong)[0]


def _packer(cost, stop_at_first_misfit):
    """A plausible wrong packer: ``cost`` counts a passage's tokens, and it may stop at the first that does not fit."""
    from rank_bm25 import BM25Okapi

    from course.lessons.prompting.retrieval import words

    def pack(query, passages, budget):
        if budget < 0:
            raise ValueError("negative")
        if not passages:
            return []
        scores = BM25Okapi([words(p) for p in passages]).get_scores(words(query))
        chosen, left = [], budget
        for i in sorted(range(len(passages)), key=lambda i: (-scores[i], i)):
            if scores[i] <= 0 or (cost(passages[i]) > left and stop_at_first_misfit):
                break
            if cost(passages[i]) <= left:
                chosen.append(passages[i])
                left -= cost(passages[i])
        return chosen

    return pack


_pack_without_skipping = _packer(lambda p: count_tokens(p, "tekken"), stop_at_first_misfit=True)
_pack_counting_words = _packer(lambda p: len(p.split()), stop_at_first_misfit=False)


@pytest.mark.parametrize("wrong", [_pack_without_skipping, _pack_counting_words])
def test_wrong_packers_fail(wrong):
    assert not verdict("test-pack-context", wrong)[0]


def _break_even_not_strict(upfront_a, per_request_a, upfront_b, per_request_b):
    if min(upfront_a, per_request_a, upfront_b, per_request_b) < 0:
        raise ValueError("negative")
    if per_request_a == per_request_b:
        return None
    (u1, c1), (u2, c2) = sorted([(upfront_a, per_request_a), (upfront_b, per_request_b)], key=lambda p: p[1])
    return max(0, math.ceil((u1 - u2) / (c2 - c1)))


def _break_even_never_from_the_start(upfront_a, per_request_a, upfront_b, per_request_b):
    if min(upfront_a, per_request_a, upfront_b, per_request_b) < 0:
        raise ValueError("negative")
    if per_request_a == per_request_b:
        return None
    return math.floor((upfront_b - upfront_a) / (per_request_a - per_request_b)) + 1  # negative, not 0


@pytest.mark.parametrize("wrong", [_break_even_not_strict, _break_even_never_from_the_start])
def test_wrong_break_evens_fail(wrong):
    assert not verdict("test-break-even", wrong)[0]
