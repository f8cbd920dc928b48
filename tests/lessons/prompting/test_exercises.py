"""Lesson 01's graded exercises: the references keep their facts, plausible wrong answers fail the comparison,
and every case runs on the reference."""

import math
import random

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from course.references import exercises
from course.references.prompting import bm25_scores, break_even_volume, cost_per_1000_requests
from course.text.tokenizers import count_tokens
from tests.grading_helpers import checked

LESSON = "01-beyond-the-prompt"
EXERCISES = exercises(LESSON)


def verdict(grade_id, candidate, seed=5):
    """Whether ``candidate`` passes the exercise's check (``tests.grading_helpers.checked``)."""
    return checked(LESSON, grade_id, candidate, seed)


def test_every_exercise_is_declared_for_its_test_cell():
    assert set(EXERCISES) == {"test-bm25-scores", "test-cost-per-1000", "test-break-even"}


@pytest.mark.parametrize("grade_id", sorted(EXERCISES))
def test_the_reference_passes_its_own_check(grade_id):
    passed, line = verdict(grade_id, EXERCISES[grade_id].reference)
    assert passed, line


# ---------------------------------------------------------------- the references' facts


def test_bm25_by_hand_and_its_properties():
    scores = bm25_scores(["refund"], [["refund", "days"], ["invoice"]])
    idf = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))
    assert scores[0] == pytest.approx(idf * 2.5 / (1 + 1.5 * (0.25 + 0.75 * 2 / 1.5)))
    assert scores[1] == 0
    rare, common = bm25_scores(["a", "b"], [["a", "b"], ["b"], ["b"]])[0:2]
    assert rare > common, "a word few documents contain weighs more"
    short, long = bm25_scores(["a"], [["a"], ["a", "x", "y", "z"]])
    assert short > long, "length normalisation favours the short document"
    flat = bm25_scores(["a"], [["a"], ["a", "x", "y", "z"]], b=0.0)
    assert flat[0] == pytest.approx(flat[1]), "b = 0 ignores length"
    assert bm25_scores([], [["a"]]) == [0.0] and bm25_scores(["a"], []) == [] and bm25_scores(["a"], [[], []]) == [0, 0]
    for bad in [dict(k1=-1.0), dict(b=1.5), dict(b=-0.1), dict(k1=math.nan), dict(k1=math.inf), dict(b=math.nan)]:
        with pytest.raises(ValueError):
            bm25_scores(["a"], [["a"]], **bad)


def test_bm25_with_k1_zero_ignores_an_absent_word_and_scores_a_present_one_by_its_idf():
    """With ``k1 = 0`` the fraction is f / f for a word the document contains and 0/0 for one it lacks: the
    exercise text says the absent word adds nothing, so the score is the IDF where the word is, 0 elsewhere."""
    scores = bm25_scores(["crash"], [["crash", "crash"], ["sync"], []], k1=0.0)
    assert scores == [pytest.approx(math.log(1 + 2.5 / 1.5)), 0.0, 0.0]


def test_the_grader_checks_the_edge_cases_the_exercise_text_states():
    """No documents, ``k1 = 0`` on a word a document lacks, and NaN or infinite rates: each stated behaviour is
    among the cases every grading run checks, not left to a lucky draw."""
    bm25 = EXERCISES["test-bm25-scores"].edge_cases
    assert any(c["args"][1] == [] for c in bm25), "no documents"
    assert any(c["kwargs"].get("k1") == 0 and any(set(c["args"][0]) - set(d) for d in c["args"][1]) for c in bm25), (
        "k1 = 0 with a query word absent from a document"
    )
    assert any(math.isnan(c["kwargs"].get("k1", 0.0)) for c in bm25) and any(
        math.isinf(c["kwargs"].get("k1", 0.0)) for c in bm25
    )
    rates = [c["args"][3:] for c in EXERCISES["test-cost-per-1000"].edge_cases]
    assert any(math.isnan(r) for pair in rates for r in pair) and any(math.isinf(r) for pair in rates for r in pair)


def test_bm25_ranks_like_rank_bm25_where_no_idf_is_negative():
    """rank-bm25's Okapi uses ln((N - n + 0.5) / (n + 0.5)), floored; with every word rare the two IDFs are
    monotone in n, so the rankings agree."""
    rng = random.Random(0)
    words = [f"w{i}" for i in range(40)]
    for _ in range(50):
        documents = [rng.sample(words, rng.randint(1, 6)) for _ in range(12)]
        query = [rng.choice(documents[rng.randrange(12)])]
        ours = bm25_scores(query, documents)
        theirs = BM25Okapi(documents).get_scores(query)
        if np.all(np.asarray(theirs) >= 0):
            assert np.argmax(ours) == np.argmax(theirs)


def test_cost_facts():
    text = "노트가 휴대폰과 노트북 사이에서 동기화되지 않아요."
    for tokenizer in ("tekken", "mistral-7b-v0.3"):
        n_in, n_out = count_tokens(text, tokenizer), count_tokens("bug", tokenizer)
        assert math.isclose(cost_per_1000_requests(text, "bug", tokenizer, 3.0, 15.0), (n_in * 3 + n_out * 15) / 1e3)
    assert cost_per_1000_requests(text, "", "tekken", 1.0, 0) != cost_per_1000_requests(
        text, "", "mistral-7b-v0.3", 1.0, 0
    )
    for bad in [(math.nan, 1.0), (1.0, math.inf), (-math.inf, 1.0), (math.nan, 0.0)]:
        with pytest.raises(ValueError):  # a price that is not a finite number >= 0, even for no tokens
            cost_per_1000_requests("", "", "tekken", *bad)


def test_break_even_facts():
    assert break_even_volume(1000, 0.75, 0.25) == 2001  # 2,000 requests cost the same on both paths
    assert break_even_volume(10, 0.4, 0.1) == 34
    assert break_even_volume(0, 0.3, 0.1) == 1  # nothing to repay: the first request is already cheaper
    assert break_even_volume(50, 0.1, 0.2) is None
    assert break_even_volume(0.0, 0.0, 0.0) is None
    for bad in [(-1, 0.2, 0.1), (1, -0.2, 0.1), (1, 0.2, -0.1)]:
        with pytest.raises(ValueError):
            break_even_volume(*bad)


# ---------------------------------------------------------------- plausible wrong answers fail


def _plain_idf(query, documents, k1=1.5, b=0.75):  # ln(N / n): the textbook IDF without smoothing
    n_docs, scores = len(documents), [0.0] * len(documents)
    avgdl = sum(map(len, documents)) / max(1, n_docs)
    if k1 < 0 or not 0 <= b <= 1:
        raise ValueError("bad")
    for word in query:
        n = sum(word in d for d in documents)
        for i, d in enumerate(documents):
            f = d.count(word)
            if f:
                scores[i] += math.log(n_docs / n) * f * (k1 + 1) / (f + k1 * (1 - b + b * len(d) / avgdl))
    return scores


def _no_length_norm(query, documents, k1=1.5, b=0.75):
    return bm25_scores(query, documents, k1, 0.0 if 0 <= b <= 1 else b)


def _term_count(query, documents, k1=1.5, b=0.75):  # shared words, counted
    if k1 < 0 or not 0 <= b <= 1:
        raise ValueError("bad")
    return [float(sum(d.count(w) for w in query)) for d in documents]


def _unique_query_words(query, documents, k1=1.5, b=0.75):
    return bm25_scores(list(dict.fromkeys(query)), documents, k1, b)


def _zero_over_zero(query, documents, k1=1.5, b=0.75):  # the formula applied to absent words too: 0/0 at k1 = 0
    if k1 < 0 or not 0 <= b <= 1:
        raise ValueError("bad")
    if not documents:
        return []
    avgdl = sum(map(len, documents)) / len(documents)
    if avgdl == 0:
        return [0.0] * len(documents)
    scores = [0.0] * len(documents)
    for word in query:
        n = sum(word in d for d in documents)
        idf = math.log(1 + (len(documents) - n + 0.5) / (n + 0.5))
        for i, d in enumerate(documents):
            f = d.count(word)
            scores[i] += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len(d) / avgdl))
    return scores


def _one_tokenizer(prompt, answer, tokenizer, input_rate, output_rate):
    return cost_per_1000_requests(prompt, answer, "tekken", input_rate, output_rate)


def _per_request(prompt, answer, tokenizer, input_rate, output_rate):
    return cost_per_1000_requests(prompt, answer, tokenizer, input_rate, output_rate) / 1000


def _characters(prompt, answer, tokenizer, input_rate, output_rate):
    if input_rate < 0 or output_rate < 0:
        raise ValueError("negative")
    return (len(prompt) * input_rate + len(answer) * output_rate) / 1000


def _non_finite_rates_priced(prompt, answer, tokenizer, input_rate, output_rate):  # refuses only negative rates
    if input_rate < 0 or output_rate < 0:
        raise ValueError("negative")
    n_in, n_out = count_tokens(prompt, tokenizer), count_tokens(answer, tokenizer)
    return 1000 * (n_in * input_rate + n_out * output_rate) / 1e6


def _no_more_expensive(upfront, prompting, tuned):  # "no dearer" instead of "strictly cheaper"
    if min(upfront, prompting, tuned) < 0:
        raise ValueError("negative")
    saving = prompting - tuned
    return None if saving <= 0 else math.ceil(upfront / saving)


def _real_number(upfront, prompting, tuned):
    if min(upfront, prompting, tuned) < 0:
        raise ValueError("negative")
    saving = prompting - tuned
    return None if saving <= 0 else upfront / saving


def _zero_when_never(upfront, prompting, tuned):
    return break_even_volume(upfront, prompting, tuned) or 0


@pytest.mark.parametrize(
    "grade_id, wrong",
    [
        ("test-bm25-scores", _plain_idf),
        ("test-bm25-scores", _no_length_norm),
        ("test-bm25-scores", _term_count),
        ("test-bm25-scores", _unique_query_words),
        ("test-bm25-scores", _zero_over_zero),
        ("test-cost-per-1000", _one_tokenizer),
        ("test-cost-per-1000", _per_request),
        ("test-cost-per-1000", _characters),
        ("test-cost-per-1000", _non_finite_rates_priced),
        ("test-break-even", _no_more_expensive),
        ("test-break-even", _real_number),
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


# ---------------------------------------------------------------- the visible tests


def _rates_swapped(prompt, answer, tokenizer, input_rate, output_rate):
    return cost_per_1000_requests(prompt, answer, tokenizer, output_rate, input_rate)


def _negative_rates_accepted(prompt, answer, tokenizer, input_rate, output_rate):  # a cost instead of an error
    if min(input_rate, output_rate) < 0:
        return 0.0
    return cost_per_1000_requests(prompt, answer, tokenizer, input_rate, output_rate)


def _visible_tests_pass(grade_id, **names) -> bool:
    """Whether the test cell's visible checks pass with ``names`` defined, run as the notebook runs them."""
    try:
        exec(EXERCISES[grade_id].tests, {"math": math, **names})
    except Exception:  # an assertion, or a wrong answer's own error: either way the student sees a failure
        return False
    return True


def test_the_cost_visible_tests_hold_no_alternative_solution_and_still_catch_wrong_answers():
    """A visible test that computes the cost with ``count_tokens`` (as it once did) hands the student the whole
    function to paste; the visible tests check small cases worked out by hand, with the token counts written
    out, and still fail each typical mistake."""
    tests = EXERCISES["test-cost-per-1000"].tests
    for solution_part in ("count_tokens", "encode(", "1e6", "1_000_000", "1000000", "/ 1000"):
        assert solution_part not in tests, solution_part
    assert _visible_tests_pass("test-cost-per-1000", cost_per_1000_requests=cost_per_1000_requests)
    wrongs = (_one_tokenizer, _per_request, _characters, _rates_swapped, _negative_rates_accepted)
    for wrong in (*wrongs, _non_finite_rates_priced):
        assert not _visible_tests_pass("test-cost-per-1000", cost_per_1000_requests=wrong), wrong.__name__


def test_the_worked_token_counts_are_the_tokenizers_own():
    """The counts the visible test writes out as literals are what the course's tokenizers give."""
    assert count_tokens("Route this ticket: my card was declined.", "tekken") == 9
    assert count_tokens("billing", "tekken") == 2
    korean = "노트가 휴대폰과 노트북 사이에서 동기화되지 않아요."
    assert (count_tokens(korean, "tekken"), count_tokens(korean, "mistral-7b-v0.3")) == (16, 35)


def _nan_k1_accepted(query, documents, k1=1.5, b=0.75):  # NaN passes a "k1 < 0" check
    if k1 < 0 or not 0 <= b <= 1:
        raise ValueError("bad")
    return bm25_scores(query, documents, 1.5 if math.isnan(k1) else k1, b)


def test_the_bm25_visible_tests_check_what_the_text_states():
    """No documents, an absent word with ``k1 = 0`` and refused parameters are stated in the exercise; the
    visible tests let a student see each before submitting."""
    assert _visible_tests_pass("test-bm25-scores", bm25_scores=bm25_scores)
    for wrong in (_zero_over_zero, _nan_k1_accepted, _plain_idf):
        assert not _visible_tests_pass("test-bm25-scores", bm25_scores=wrong), wrong.__name__
