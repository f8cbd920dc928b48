"""Lesson 01, beyond the prompt: reference solutions and the declarations of its graded exercises.

BM25 scoring (Exercise 1), the cost of 1,000 requests (Exercise 2) and the break-even volume (Exercise 3). Cases
use the lesson's own data (Quill's notes, tickets and questions, the real tokenizers) and random inputs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from fractions import Fraction

from course.grading.exercise import EXACT, Exercise, call, close

LESSON = "01-beyond-the-prompt"


# ---------------------------------------------------------------- Exercise 1: BM25


def bm25_scores(query: Sequence[str], documents: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75):
    """The BM25 score of every document (a list of words) for ``query`` (a list of words).

    For each word ``q`` of the query (a repeated word counts each time), a document with ``f`` occurrences of
    ``q`` and ``length`` words gains ``idf(q) * f * (k1 + 1) / (f + k1 * (1 - b + b * length / avgdl))``, where
    ``avgdl`` is the mean document length and ``idf(q) = ln(1 + (N - n + 0.5) / (n + 0.5))`` with ``N``
    documents of which ``n`` contain ``q``. A word a document does not contain adds nothing to it, even with
    ``k1 = 0``, where the fraction reads 0/0. No documents give no scores; when every document is empty, every score
    is 0. ``k1`` must be a finite number >= 0 and ``b`` within [0, 1] (NaN is neither), else ``ValueError``.
    """
    if not (0 <= k1 < math.inf and 0 <= b <= 1):
        raise ValueError(f"BM25 needs a finite k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}.")
    n_docs = len(documents)
    if n_docs == 0:
        return []
    avgdl = sum(len(d) for d in documents) / n_docs
    if avgdl == 0:
        return [0.0] * n_docs
    counts: list[dict[str, int]] = [{} for _ in documents]
    for doc, count in zip(documents, counts, strict=True):
        for word in doc:
            count[word] = count.get(word, 0) + 1
    scores = [0.0] * n_docs
    for word in query:
        containing = sum(word in count for count in counts)
        idf = math.log(1 + (n_docs - containing + 0.5) / (containing + 0.5))
        for i, (doc, count) in enumerate(zip(documents, counts, strict=True)):
            f = count.get(word, 0)
            if f:
                scores[i] += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len(doc) / avgdl))
    return scores


def _bm25_cases(rng: random.Random) -> list[dict]:
    from course.lessons.prompting.helpdesk import quill, random_company, solved_examples
    from course.lessons.prompting.retrieval import words

    cases = []
    for index in range(14):
        company = quill() if index % 2 else random_company(rng)
        documents = [words(d.text) for d in company.documents()]
        texts = [r.text for r in solved_examples(company)]
        if index % 3 == 2:  # ranking solved examples instead of notes
            documents = [words(t) for t in rng.sample(texts, rng.randint(2, 12))]
        rng.shuffle(documents)
        query = words(rng.choice(texts))
        if index % 4 == 3:
            query = query + rng.sample(query, min(2, len(query)))  # repeated query words
        params = {} if index % 5 == 0 else {"k1": round(rng.uniform(0.0, 3.0), 2), "b": round(rng.uniform(0, 1), 2)}
        cases.append(call(query, documents, **params))
    vocabulary = "refund days plan invoice card crash sync email export templates trial storage".split()
    for _ in range(6):  # random bags of words, with repeats and empty documents
        documents = [rng.choices(vocabulary, k=rng.randint(0, 8)) for _ in range(rng.randint(1, 7))]
        k1 = rng.choice([0.0, 0.0, 0.5, 1.2, 2.0])  # k1 = 0: a word a document lacks still adds nothing
        cases.append(call(rng.choices(vocabulary, k=rng.randint(1, 4)), documents, k1=k1))
    return cases


_BM25_EDGE = [
    call(["refund"], [["refund", "days"], ["invoice"]]),
    call(["refund"], [["refund", "refund", "days"], ["refund", "plan", "days", "free"], ["invoice"]]),
    call(["crash"], [["crash"], ["crash", "crash", "crash"], ["sync"]], k1=1.2, b=0.0),
    call(["crash"], [["crash"], ["crash", "crash", "crash"]], k1=0.0),
    call(["crash"], [["crash"], ["sync"], []], k1=0.0),  # absent with k1 = 0: 0/0 in the formula, 0 by the text
    call(["crash", "sync"], [["crash", "crash"], ["sync"], ["refund"]], k1=0.0, b=1.0),
    call([], [["refund", "days"], ["invoice"]]),
    call(["refund"], []),
    call(["refund"], [[], []]),
    call(["missing"], [["refund"], ["days"]]),
    call(["refund"], [["refund"]], k1=-1.0),
    call(["refund"], [["refund"]], b=1.5),
    call(["refund"], [["refund"]], k1=math.nan),
    call(["refund"], [["refund"]], k1=math.inf),
    call(["refund"], [["refund"]], b=math.nan),
]


# ---------------------------------------------------------------- Exercise 2: the cost of 1,000 requests


def cost_per_1000_requests(prompt: str, answer: str, tokenizer: str, input_rate: float, output_rate: float) -> float:
    """Dollars for 1,000 requests sending ``prompt`` and getting ``answer``, rates in $ per million tokens. A rate
    that is negative, NaN or infinite raises ``ValueError`` (a price must be a finite number >= 0)."""
    from course.text.tokenizers import count_tokens

    if not (0 <= input_rate < math.inf and 0 <= output_rate < math.inf):
        raise ValueError(f"Rates must be finite and not negative, got {input_rate} and {output_rate}.")
    per_request = (count_tokens(prompt, tokenizer) * input_rate + count_tokens(answer, tokenizer) * output_rate) / 1e6
    return 1000 * per_request


_TOKENIZERS = ("tekken", "mistral-7b-v0.3")


def _cost_cases(rng: random.Random) -> list[dict]:
    from course.lessons.prompting.helpdesk import held_out_requests, quill, solved_examples
    from course.lessons.prompting.prompts import render, three_c, zero_shot
    from course.text.passages import load_all

    company = quill()
    requests = held_out_requests(company) + solved_examples(company)
    texts = [render(zero_shot(r)) for r in requests] + [render(three_c(r, company)) for r in requests]
    texts += list(load_all("slm-on-a-laptop").values())
    answers = [r.answer for r in requests] + ["", "I cannot tell from the notes."]
    cases = []
    for index in range(16):
        prompt = "\n\n".join(rng.sample(texts, rng.randint(1, 3)))
        rates = [round(rng.uniform(0, 20), 2), round(rng.uniform(0, 60), 2)]
        if index % 8 == 7:
            rates[rng.randrange(2)] = -round(rng.uniform(0.01, 5), 2)  # must raise ValueError
        elif index % 8 == 3:
            rates[rng.randrange(2)] = rng.choice([math.nan, math.inf, -math.inf])  # must raise ValueError too
        elif index % 5 == 4:
            rates[rng.randrange(2)] = 0.0
        cases.append(call(prompt, rng.choice(answers), rng.choice(_TOKENIZERS), *rates))
    return cases


_KOREAN = "노트가 휴대폰과 노트북 사이에서 동기화되지 않아요."
_COST_EDGE = [
    call("Route this ticket: my card was declined.", "billing", "tekken", 2.0, 8.0),
    call("", "", "tekken", 2.0, 8.0),
    *[call(_KOREAN, "bug", tok, *rates) for tok in _TOKENIZERS for rates in [(0.2, 0.6), (3.0, 15.0), (0.0, 1.0)]],
    call(_KOREAN, "", "tekken", 4.0, 1.0),
    call(_KOREAN, "bug", "tekken", -1.0, 1.0),
    call(_KOREAN, "bug", "tekken", 1.0, -0.5),
    call(_KOREAN, "bug", "tekken", math.nan, 1.0),
    call(_KOREAN, "bug", "tekken", 1.0, math.inf),
    call(_KOREAN, "bug", "tekken", -math.inf, 1.0),
    call("", "", "tekken", math.nan, 0.0),  # no tokens, but still no price: NaN is refused before counting
]


# ---------------------------------------------------------------- Exercise 3: the break-even volume

# A drawn volume must be this far (relatively) from a tie for every honest arithmetic to agree: floats err by a few
# units of 2**-53 (about 1.1e-16) in a total, so a gap of 1e-14 of the total is decided the same way by floats,
# Decimal and Fraction, whether they read 0.1 as the decimal it is written as or as the binary float it is.
CLEAR_OF_TIES = Fraction(1, 10**14)


def _as_written(value: float) -> Fraction:
    """The decimal number ``value`` is written as (``0.1`` is 1/10), not the binary float it holds."""
    return Fraction(repr(value))


def ties_are_exact_and_clear(upfront_a: float, per_request_a: float, upfront_b: float, per_request_b: float) -> bool:
    """Whether every honest arithmetic finds the same break-even between two paths costing ``upfront + n *
    per_request`` (floats, ``Decimal`` from the text of the numbers, ``Fraction`` of the floats, integers): the
    two totals are either exactly equal at a whole number of requests in every reading (the decimal numbers as
    written are also exact binary floats), or differ by at least :data:`CLEAR_OF_TIES` of the larger total at the
    whole numbers around the crossing. The exercises draw only such costs, so that no honest solution depends on
    rounding."""
    written = [_as_written(v) for v in (upfront_a, per_request_a, upfront_b, per_request_b)]
    ua, pa, ub, pb = written
    if pa == pb:
        return True  # parallel totals: no crossing (distinct floats are written differently)
    crossing = (ub - ua) / (pa - pb)
    if crossing <= 0:
        return True  # the totals never meet after 0 requests, or meet there, where they are the upfronts themselves
    if crossing.denominator == 1:
        given = (upfront_a, per_request_a, upfront_b, per_request_b)
        return all(w == Fraction(v) for w, v in zip(written, given, strict=True))
    for n in (math.floor(crossing), math.ceil(crossing)):
        a, b = ua + n * pa, ub + n * pb
        if abs(a - b) < CLEAR_OF_TIES * max(a, b):
            return False
    return True


def break_even_volume(upfront: float, prompting_per_request: float, tuned_per_request: float) -> int | None:
    """The smallest whole number of requests ``n`` at which the fine-tuned path is strictly cheaper,
    ``upfront + n * tuned_per_request < n * prompting_per_request``; ``None`` when the fine-tuned path saves
    nothing per request (it never becomes cheaper). A negative cost raises ``ValueError`` before anything else.

    Computed exactly (``Fraction`` of the numbers as given), so a volume at which both paths cost exactly the same
    is never taken for cheaper by a rounding."""
    if upfront < 0 or prompting_per_request < 0 or tuned_per_request < 0:
        raise ValueError("Costs cannot be negative.")
    saving = Fraction(prompting_per_request) - Fraction(tuned_per_request)
    if saving <= 0:
        return None
    return math.floor(Fraction(upfront) / saving) + 1


def exact_tie(rng: random.Random, most: int) -> tuple[float, float, float]:
    """``(upfront, cheap, saving)``, multiples of 1/1024 whose decimals are exact binary floats, with ``upfront``
    exactly ``saving`` times a whole number of requests from 1 to ``most``: at that volume the two totals are
    equal in every arithmetic."""
    saving = rng.randint(1, 64) / 1024
    return saving * rng.randint(1, most), rng.randint(0, 64) / 1024, saving


def _break_even_cases(rng: random.Random) -> list[dict]:
    cases: list[dict] = []
    while len(cases) < 20:
        index = len(cases)
        upfront = round(rng.uniform(1, 50_000), rng.choice([0, 2, 6]))
        tuned = round(rng.uniform(0, 0.01), 7)
        if index % 7 == 6:  # no saving: never cheaper
            prompting = round(max(0.0, tuned - rng.uniform(0, 0.005)), 7)
        else:
            prompting = round(tuned + rng.uniform(1e-5, 0.02), 7)
        if ties_are_exact_and_clear(0, prompting, upfront, tuned):  # else draw again
            cases.append(call(upfront, prompting, tuned))
    for _ in range(4):  # exact ties: equal cost is not yet cheaper
        upfront, tuned, saving = exact_tie(rng, 50_000)
        cases.append(call(upfront, tuned + saving, tuned))
    return cases


_BREAK_EVEN_EDGE = [
    call(1000, 0.75, 0.25),
    call(1001, 0.75, 0.25),
    call(0, 0.3, 0.1),
    call(1000, 0.5, 0.5),
    call(50, 0.1, 0.2),
    call(7, 0.01, 0.001),
    call(0.0, 0.0, 0.0),
    call(-1, 0.2, 0.1),
    call(1, -0.2, 0.1),
    call(1, 0.2, -0.1),
]


# ---------------------------------------------------------------- the visible tests of the test cells

_BM25_SCORES_TESTS = r"""
_scores = bm25_scores(["refund"], [["refund", "days"], ["invoice"]])
# N = 2 documents, n = 1 contains "refund"; the first has f = 1 and 2 words, and avgdl = 1.5
assert math.isclose(_scores[0], math.log(1 + 1.5 / 1.5) * 1 * 2.5 / (1 + 1.5 * (0.25 + 0.75 * 2 / 1.5)))
assert _scores[1] == 0, "a document without the query word scores 0"
_tf = bm25_scores(["crash"], [["crash"], ["crash", "crash", "crash"], ["sync"]], k1=1.2, b=0.0)
assert _tf[0] < _tf[1] < 3 * _tf[0], "more occurrences score higher, but with diminishing returns"
assert bm25_scores(["refund"], []) == [], "no documents, no scores"
assert bm25_scores(["crash"], [["crash"], ["sync"]], k1=0.0)[1] == 0, "an absent word adds nothing, even with k1 = 0"
for _bad in ({"k1": -1.0}, {"k1": float("nan")}, {"k1": float("inf")}, {"b": 1.5}):
    try:
        bm25_scores(["refund"], [["refund"]], **_bad)
    except ValueError:
        pass
    else:
        raise AssertionError(f"{_bad} must raise ValueError")
"""

_COST_PER_1000_REQUESTS_TESTS = r"""
_prompt, _answer = "Route this ticket: my card was declined.", "billing"
# Tekken reads the prompt as 9 tokens ("Route", " this", " ticket", ":", " my", " card", " was", " declined", ".")
# and the answer as 2 ("b", "illing"): one request costs 9 x $2 + 2 x $8 = $34 per million, so 1,000 cost $0.034
assert abs(cost_per_1000_requests(_prompt, _answer, "tekken", 2.0, 8.0) - 0.034) < 1e-12, "9 and 2 tokens at $2 and $8"
# the output rate prices the answer: with the rates swapped, 9 x $8 + 2 x $2 = $76 per million requests
assert abs(cost_per_1000_requests(_prompt, _answer, "tekken", 8.0, 2.0) - 0.076) < 1e-12, "input and output rates"
_korean = "노트가 휴대폰과 노트북 사이에서 동기화되지 않아요."
# the count depends on the tokenizer: Tekken reads this sentence as 16 tokens, Mistral 7B v0.3's tokenizer as 35
assert abs(cost_per_1000_requests(_korean, "", "tekken", 1.0, 0.0) - 0.016) < 1e-12, "16 Tekken tokens at $1"
assert abs(cost_per_1000_requests(_korean, "", "mistral-7b-v0.3", 1.0, 0.0) - 0.035) < 1e-12, "use the tokenizer given"
assert cost_per_1000_requests("", "", "tekken", 2.0, 8.0) == 0, "no tokens cost nothing"
for _bad in (-8.0, float("nan"), float("inf")):
    try:
        cost_per_1000_requests(_prompt, _answer, "tekken", 2.0, _bad)
    except ValueError:
        pass
    else:
        raise AssertionError(f"a rate of {_bad} must raise ValueError")
"""

_BREAK_EVEN_VOLUME_TESTS = r"""
assert break_even_volume(1000, 0.75, 0.25) == 2001, "at 2,000 requests both paths cost $1,500: not yet cheaper"
assert break_even_volume(1001, 0.75, 0.25) == 2003
assert break_even_volume(1000, 0.5, 0.5) is None, "no saving per request: never"
"""


EXERCISES = [
    Exercise(
        grade_id="test-bm25-scores",
        target="bm25_scores",
        points=2,
        about=(
            "calls your function on inputs it draws itself (Quill's notes and other companies', solved tickets "
            "and questions, random bags of words, repeated and missing words, empty documents, other k1 and b, "
            "k1 = 0, bad parameters) and compares with the reference."
        ),
        tests=_BM25_SCORES_TESTS,
        reference=bm25_scores,
        cases=_bm25_cases,
        edge_cases=_BM25_EDGE,
        compare=close(rtol=1e-9, atol=1e-12),
    ),
    Exercise(
        grade_id="test-cost-per-1000",
        target="cost_per_1000_requests",
        points=2,
        about=(
            "calls your function on inputs it draws itself (the lesson's prompts, passages in several languages, "
            "both tokenizers, random, negative, NaN and infinite rates) and compares with the reference."
        ),
        tests=_COST_PER_1000_REQUESTS_TESTS,
        reference=cost_per_1000_requests,
        cases=_cost_cases,
        edge_cases=_COST_EDGE,
        compare=close(rtol=1e-9, atol=1e-12),
    ),
    Exercise(
        grade_id="test-break-even",
        target="break_even_volume",
        points=2,
        about=(
            "calls your function on inputs it draws itself (random costs, exact ties, no saving, negative costs)"
            " and compares with the reference."
        ),
        tests=_BREAK_EVEN_VOLUME_TESTS,
        reference=break_even_volume,
        cases=_break_even_cases,
        edge_cases=_BREAK_EVEN_EDGE,
        compare=EXACT,
    ),
]
