"""Lesson 07, the capstone: reference solutions and the declarations of its graded exercises.

Scoring an answer, exactly and softly (Exercise 1), packing retrieved notes into a token budget (Exercise 2) and
the break-even volume between two measured pipelines (Exercise 3). Cases use the help desk's own texts (notes of
Quill and of random companies, held-out requests, the model's typical over-long answers) and random inputs.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from fractions import Fraction

from course.grading.exercise import EXACT, Exercise, call, close
from course.references.prompting import exact_tie, ties_are_exact_and_clear

LESSON = "07-capstone"


# ---------------------------------------------------------------- Exercise 1: exact and soft scores

_WORD = re.compile(r"[a-z0-9-]+")


def score_answer(prediction: str, answer: str) -> tuple[bool, float]:
    """``(exact, f1)``: ``exact`` when ``prediction`` equals ``answer`` once surrounding whitespace is removed
    from both; ``f1`` the harmonic mean of precision and recall over their words (lower-case runs of letters,
    digits and hyphens), counting repeated words as often as they appear in both; 1.0 when neither has a word,
    0.0 when only one has none or they share none."""
    exact = prediction.strip() == answer.strip()
    predicted, expected = _WORD.findall(prediction.lower()), _WORD.findall(answer.lower())
    if not predicted and not expected:
        return exact, 1.0
    shared = sum((Counter(predicted) & Counter(expected)).values())
    if shared == 0:
        return exact, 0.0
    precision, recall = shared / len(predicted), shared / len(expected)
    return exact, 2 * precision * recall / (precision + recall)


def _score_cases(rng: random.Random) -> list[dict]:
    from course.lessons.prompting.helpdesk import TEAMS, held_out_requests, quill

    answers = [r.answer for r in held_out_requests(quill())]
    tails = ["", " input", " input :", " input : i", " days", " tickets go to", "\n", "."]
    cases = []
    for _ in range(18):
        answer = rng.choice(answers)
        kind = rng.randrange(5)
        if kind == 0:
            prediction = answer + rng.choice(tails)
        elif kind == 1:
            prediction = rng.choice([*TEAMS, "30", "90", "7"]) + rng.choice(tails)
        elif kind == 2:
            prediction = " ".join(rng.choices([answer, "billing", "bug", "input", "the", "30"], k=rng.randint(1, 5)))
        elif kind == 3:
            prediction = rng.choice([answer.upper(), f"  {answer}  ", f"{answer}.", f"The answer is {answer}"])
        else:
            prediction = answer
        cases.append(call(prediction, answer))
    return cases


_SCORE_EDGE = [
    call("billing", "billing"),
    call("billing input : i", "billing"),
    call(" 30 ", "30"),
    call("Billing", "billing"),
    call("how-to", "how-to"),
    call("how to", "how-to"),
    call("30 30", "30"),
    call("", ""),
    call("", "bug"),
    call("bug", ""),
    call("...", "."),
    call("account bug", "bug account"),
]


# ---------------------------------------------------------------- Exercise 2: notes packed into a budget


def pack_context(query: str, passages: list[str], budget: int) -> list[str]:
    """The passages to put into a RAG prompt: ranked by ``rank_bm25.BM25Okapi`` over their words (``words``
    from ``course.lessons.prompting.retrieval``) for the query's words, best first, ties to the earlier
    passage; passages that score 0 or less are left out; a passage is taken when its Tekken tokens fit in what
    is left of ``budget``, and skipped otherwise (a shorter one further down may still fit)."""
    from rank_bm25 import BM25Okapi

    from course.lessons.prompting.retrieval import words
    from course.text.tokenizers import count_tokens

    if budget < 0:
        raise ValueError(f"The token budget cannot be negative, got {budget}.")
    if not passages:
        return []
    scores = BM25Okapi([words(p) for p in passages]).get_scores(words(query))
    order = sorted(range(len(passages)), key=lambda i: (-scores[i], i))
    chosen, left = [], budget
    for i in order:
        if scores[i] <= 0:
            break
        cost = count_tokens(passages[i], "tekken")
        if cost <= left:
            chosen.append(passages[i])
            left -= cost
    return chosen


def _pack_cases(rng: random.Random) -> list[dict]:
    from course.lessons.prompting.helpdesk import held_out_requests, quill, random_company, solved_examples

    cases = []
    for index in range(14):
        company = quill() if index % 3 == 0 else random_company(rng)
        passages = [d.text for d in company.documents()]
        rng.shuffle(passages)
        if index % 4 == 3:
            passages = rng.sample(passages, rng.randint(1, len(passages)))
        requests = held_out_requests(company) + solved_examples(company)
        query = rng.choice(requests).text
        cases.append(call(query, passages, rng.choice([0, 5, 9, 12, 16, 20, 24, 40, 200])))
    return cases


_PACK_EDGE = [
    call("How many days do I have to ask for a refund?", [], 50),
    call("How many days do I have to ask for a refund?", ["Refund window: within 30 days."], -1),
    call("Problem with my invoice.", ["Invoice tickets go to billing.", "Crash tickets go to bug."], 0),
    call("Problem with my invoice.", ["Invoice tickets go to billing.", "Crash tickets go to bug."], 100),
    call(  # the best note (24 tokens) does not fit; two shorter ones that score lower do
        "Who handles card tickets?",
        [
            "Invoice tickets go to billing. Export tickets go to billing.",
            "Card tickets go to account. Sync tickets go to account. Password tickets go to account. "
            "Email tickets go to account.",
            "Refund window: within 30 days.",
            "Templates tickets go to how-to.",
        ],
        20,
    ),
    call("nothing matches here", ["Invoice tickets go to billing.", "Refund window: within 30 days."], 100),
    call(
        "refund storage",
        [
            "Refund window: within 30 days. " * 3,
            "Storage included: only 5 GB on the free plan.",
            "Refund window: within 30 days.",
        ],
        15,
    ),
]


# ---------------------------------------------------------------- Exercise 3: break-even between two pipelines


def break_even(upfront_a: float, per_request_a: float, upfront_b: float, per_request_b: float) -> int | None:
    """The fewest requests ``n`` (a whole number, 0 or more) from which the pipeline that is cheaper per request
    costs strictly less in total (``upfront + n * per_request``) than the other; ``None`` when both cost the
    same per request. A negative cost raises ``ValueError`` before anything else.

    Computed exactly (``Fraction`` of the numbers as given), so equal totals are never taken for cheaper by a
    rounding."""
    if min(upfront_a, per_request_a, upfront_b, per_request_b) < 0:
        raise ValueError("Costs cannot be negative.")
    if per_request_a == per_request_b:
        return None
    a, b = (Fraction(upfront_a), Fraction(per_request_a)), (Fraction(upfront_b), Fraction(per_request_b))
    (up_cheap, cheap), (up_other, other) = sorted([a, b], key=lambda pipeline: pipeline[1])
    return max(0, math.floor((up_cheap - up_other) / (other - cheap)) + 1)


def _break_even_cases(rng: random.Random) -> list[dict]:
    cases: list[dict] = []
    while len(cases) < 20:
        index = len(cases)
        a = [round(rng.uniform(0, 5_000), rng.choice([0, 2])), round(rng.uniform(0, 0.01), 7)]
        b = [round(rng.uniform(0, 5_000), rng.choice([0, 2])), round(rng.uniform(0, 0.01), 7)]
        if index % 6 == 5:
            b[1] = a[1]  # same cost per request: never
        if ties_are_exact_and_clear(*a, *b):  # else draw again
            cases.append(call(*a, *b) if index % 2 else call(*b, *a))
    for _ in range(4):  # exact ties: equal totals are not yet cheaper
        upfront, cheap, saving = exact_tie(rng, 40_000)
        cases.append(call(upfront, cheap, 0.0, cheap + saving))
    return cases


_BREAK_EVEN_EDGE = [  # costs whose ties are exact in binary floating point (see ties_are_exact_and_clear)
    call(30.0, 0.25, 0.0, 0.75),
    call(0.0, 0.75, 30.0, 0.25),
    call(0.0, 0.25, 30.0, 0.75),
    call(10.0, 0.002, 10.0, 0.001),
    call(10.0, 0.002, 5.0, 0.002),
    call(1000.0, 0.25, 0.0, 0.75),
    call(-1.0, 0.1, 0.0, 0.2),
    call(1.0, 0.1, 0.0, -0.2),
]


# ---------------------------------------------------------------- the visible tests of the test cells

_SCORE_ANSWER_TESTS = r"""
assert score_answer("billing", "billing") == (True, 1.0)
_exact, _f1 = score_answer("billing input : i", "billing")
assert not _exact, "extra words break the format: not an exact match"
assert abs(_f1 - 2 * (1 / 3) * 1 / (1 / 3 + 1)) < 1e-12, "one shared word out of 3 predicted and 1 expected"
assert score_answer(" 30 ", "30") == (True, 1.0), "surrounding whitespace does not count"
assert score_answer("", "bug") == (False, 0.0)
"""

_PACK_CONTEXT_TESTS = r"""
_notes = ["Invoice tickets go to billing.", "Refund window: within 30 days.", "Crash tickets go to bug."]
assert pack_context("Problem with my invoice.", _notes, 100) == ["Invoice tickets go to billing."], (
    "only notes that share a word with the query are taken"
)
assert pack_context("Problem with my invoice.", _notes, 0) == [], "nothing fits in a budget of 0"
assert pack_context("anything", [], 10) == []
"""

_BREAK_EVEN_TESTS = r"""
assert break_even(30.0, 0.25, 0.0, 0.75) == 61, "at 60 requests both cost $45: not yet cheaper"
assert break_even(0.0, 0.75, 30.0, 0.25) == 61, "the order of the two pipelines does not matter"
assert break_even(0.0, 0.25, 30.0, 0.75) == 0, "cheaper up front and per request: cheaper from the start"
assert break_even(10.0, 0.25, 10.0, 0.5) == 1, "as cheap up front: equal totals at 0 requests, cheaper from 1"
assert break_even(10.0, 0.002, 5.0, 0.002) is None
"""


EXERCISES = [
    Exercise(
        grade_id="test-score-answer",
        target="score_answer",
        points=2,
        about=(
            "calls your function on inputs it draws itself (the held-out answers against over-long, wrongly cased,"
            " padded, repeated and empty predictions) and compares both scores with the reference."
        ),
        tests=_SCORE_ANSWER_TESTS,
        reference=score_answer,
        cases=_score_cases,
        edge_cases=_SCORE_EDGE,
        compare=close(rtol=1e-9, atol=1e-12),
    ),
    Exercise(
        grade_id="test-pack-context",
        target="pack_context",
        points=2,
        about=(
            "calls your function on inputs it draws itself (Quill's and other companies' notes in random orders and"
            " subsets, held-out and solved requests, budgets from 0 to 200, repeated notes, a negative budget) and"
            " compares the notes you pick, in order, with the reference."
        ),
        tests=_PACK_CONTEXT_TESTS,
        reference=pack_context,
        cases=_pack_cases,
        edge_cases=_PACK_EDGE,
        compare=EXACT,
    ),
    Exercise(
        grade_id="test-break-even",
        target="break_even",
        points=2,
        about=(
            "calls your function on inputs it draws itself (random costs in either order, equal costs per request,"
            " exact ties, negative costs) and compares with the reference."
        ),
        tests=_BREAK_EVEN_TESTS,
        reference=break_even,
        cases=_break_even_cases,
        edge_cases=_BREAK_EVEN_EDGE,
        compare=EXACT,
    ),
]
