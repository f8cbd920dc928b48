"""Lesson 07's break-even between two pipelines: honest solutions that do the arithmetic in different ways all
earn the points.

The exercise states the tie rule (equal totals are not yet cheaper). The reference is exact, and the grader draws
only costs whose ties are exact in every reading and whose other volumes are clear of ties
(``course.references.prompting.ties_are_exact_and_clear``, shared with lesson 01); these tests hold it to that on
many seeds, with solutions written from the exercise text.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal
from fractions import Fraction

from course.references import exercises
from course.references.capstone import break_even
from course.references.prompting import exact_tie, ties_are_exact_and_clear
from tests.grading_helpers import drawn_cases, honest_variant_tests

LESSON = "07-capstone"
EXERCISE = exercises(LESSON)["test-break-even"]


def _cheap_first(upfront_a, per_request_a, upfront_b, per_request_b):
    """``((upfront, per_request) of the pipeline cheaper per request, the other's)``, after the checks the text
    puts first; None when both cost the same per request."""
    if min(upfront_a, per_request_a, upfront_b, per_request_b) < 0:
        raise ValueError("Costs cannot be negative.")
    if per_request_a == per_request_b:
        return None
    a, b = (upfront_a, per_request_a), (upfront_b, per_request_b)
    return (a, b) if per_request_a < per_request_b else (b, a)


def float_inequality(*costs):
    """The stated inequality in floats, tried upwards from just below the estimate."""
    pair = _cheap_first(*costs)
    if pair is None:
        return None
    (u1, c1), (u2, c2) = pair
    n = max(0, math.floor((u1 - u2) / (c2 - c1)) - 2)
    while not u1 + n * c1 < u2 + n * c2:
        n += 1
    return n


def float_floor(*costs):
    """The course's first reference: ``max(0, floor(upfront gap / saving) + 1)`` in floats."""
    pair = _cheap_first(*costs)
    if pair is None:
        return None
    (u1, c1), (u2, c2) = pair
    return max(0, math.floor((u1 - u2) / (c2 - c1)) + 1)


def decimal_as_written(*costs):
    """Money in ``Decimal``, read from the numbers' text, counting up from the ceiling of the crossing."""
    pair = _cheap_first(*costs)
    if pair is None:
        return None
    (u1, c1), (u2, c2) = ((Decimal(str(u)), Decimal(str(c))) for u, c in pair)
    n = max(0, int(((u1 - u2) / (c2 - c1)).to_integral_value(rounding="ROUND_CEILING")))
    return n + 1 if u1 + n * c1 == u2 + n * c2 else n


def fraction_of_floats(*costs):
    """``Fraction`` of the floats as given: exact binary values."""
    pair = _cheap_first(*costs)
    if pair is None:
        return None
    (u1, c1), (u2, c2) = ((Fraction(u), Fraction(c)) for u, c in pair)
    return max(0, math.floor((u1 - u2) / (c2 - c1)) + 1)


def integer_division(*costs):
    """Whole numbers only: every cost over one common denominator, then ``//``."""
    pair = _cheap_first(*costs)
    if pair is None:
        return None
    ratios = [x.as_integer_ratio() for pipeline in pair for x in pipeline]
    common = math.lcm(*(d for _, d in ratios))
    u1, c1, u2, c2 = (n * (common // d) for n, d in ratios)
    return max(0, (u1 - u2) // (c2 - c1) + 1)


HONEST = [float_inequality, float_floor, decimal_as_written, fraction_of_floats, integer_division]


def test_every_drawn_cost_has_exact_ties_or_none_near():
    for seed, cases in drawn_cases(EXERCISE, range(300)):
        for case in cases:
            if min(case["args"]) >= 0:
                assert ties_are_exact_and_clear(*case["args"]), (seed, case)


def test_what_the_filter_rejects_splits_honest_solutions():
    split = (30.0, 0.001, 0.0, 0.003)  # 15,000 requests: a tie as written in decimal, not in binary floats
    assert decimal_as_written(*split) == 15001 and fraction_of_floats(*split) == 15000
    assert not ties_are_exact_and_clear(*split)


def test_constructed_exact_ties_are_not_yet_cheaper_in_every_arithmetic():
    rng = random.Random(7)
    for _ in range(500):
        upfront, cheap, saving = exact_tie(rng, 40_000)
        volume = Fraction(upfront) / Fraction(saving)
        for costs in [(upfront, cheap, 0.0, cheap + saving), (0.0, cheap + saving, upfront, cheap)]:
            for solution in [break_even, *HONEST]:
                assert solution(*costs) == volume + 1, (solution.__name__, costs)


def test_equal_upfronts_tie_at_zero_requests_in_every_arithmetic():
    for costs in [(10.0, 0.002, 10.0, 0.001), (1234.56, 0.0031, 1234.56, 0.0047), (0.0, 0.3, 0.0, 0.1)]:
        assert {solution(*costs) for solution in [break_even, *HONEST]} == {1}, costs


TestHonestSolutions = honest_variant_tests(LESSON, "test-break-even", HONEST)
