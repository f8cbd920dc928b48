"""Lesson 01's break-even volume: honest solutions that do the arithmetic in different ways all earn the points.

The exercise states the tie rule (equal cost is not yet cheaper). Floats, ``Decimal`` read from the numbers' text,
``Fraction`` of the floats and integer division can still disagree where a tie is exact in decimal but not in
binary, or where two totals differ by less than a rounding. The reference is exact, and the grader draws only costs
whose ties are exact in every reading and whose other volumes are clear of ties
(``course.references.prompting.ties_are_exact_and_clear``); these tests hold it to that on many seeds.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal
from fractions import Fraction

from course.references import exercises
from course.references.prompting import break_even_volume, exact_tie, ties_are_exact_and_clear
from tests.grading_helpers import drawn_cases, honest_variant_tests

LESSON = "01-beyond-the-prompt"
EXERCISE = exercises(LESSON)["test-break-even"]


def _refuse_negative(*costs):
    if min(costs) < 0:
        raise ValueError("Costs cannot be negative.")


# ---------------------------------------------------------------- honest solutions, written from the exercise text


def float_inequality(upfront, prompting_per_request, tuned_per_request):
    """The stated inequality in floats, tried upwards from just below the estimate."""
    _refuse_negative(upfront, prompting_per_request, tuned_per_request)
    saving = prompting_per_request - tuned_per_request
    if saving <= 0:
        return None
    n = max(0, int(upfront / saving) - 2)
    while not upfront + n * tuned_per_request < n * prompting_per_request:
        n += 1
    return n


def float_floor(upfront, prompting_per_request, tuned_per_request):
    """The course's first reference: ``floor(upfront / saving) + 1`` in floats."""
    _refuse_negative(upfront, prompting_per_request, tuned_per_request)
    saving = prompting_per_request - tuned_per_request
    return None if saving <= 0 else math.floor(upfront / saving) + 1


def float_ceil_with_tie_check(upfront, prompting_per_request, tuned_per_request):
    """``ceil(upfront / saving)``, one more when the costs are equal there."""
    _refuse_negative(upfront, prompting_per_request, tuned_per_request)
    saving = prompting_per_request - tuned_per_request
    if saving <= 0:
        return None
    n = math.ceil(upfront / saving)
    return n + 1 if upfront + n * tuned_per_request == n * prompting_per_request else n


def decimal_as_written(upfront, prompting_per_request, tuned_per_request):
    """Money in ``Decimal``, read from the numbers' text (0.1 is one tenth)."""
    _refuse_negative(upfront, prompting_per_request, tuned_per_request)
    up, prompting, tuned = (Decimal(str(x)) for x in (upfront, prompting_per_request, tuned_per_request))
    saving = prompting - tuned
    if saving <= 0:
        return None
    return int((up / saving).to_integral_value(rounding="ROUND_FLOOR")) + 1


def fraction_of_floats(upfront, prompting_per_request, tuned_per_request):
    """``Fraction`` of the floats as given: exact binary values."""
    _refuse_negative(upfront, prompting_per_request, tuned_per_request)
    saving = Fraction(prompting_per_request) - Fraction(tuned_per_request)
    return None if saving <= 0 else math.floor(Fraction(upfront) / saving) + 1


def integer_division(upfront, prompting_per_request, tuned_per_request):
    """Whole numbers only: each cost as numerator / denominator, then ``//``."""
    _refuse_negative(upfront, prompting_per_request, tuned_per_request)
    (a, b), (p, q), (t, r) = (x.as_integer_ratio() for x in (upfront, prompting_per_request, tuned_per_request))
    saving_numerator, saving_denominator = p * r - t * q, q * r  # saving = p/q - t/r
    if saving_numerator <= 0:
        return None
    return (a * saving_denominator) // (b * saving_numerator) + 1


HONEST = [
    float_inequality,
    float_floor,
    float_ceil_with_tie_check,
    decimal_as_written,
    fraction_of_floats,
    integer_division,
]


# ---------------------------------------------------------------- the draws


def test_every_drawn_cost_has_exact_ties_or_none_near():
    for seed, cases in drawn_cases(EXERCISE, range(300)):
        for case in cases:
            upfront, prompting, tuned = case["args"]
            if min(upfront, prompting, tuned) >= 0:
                assert ties_are_exact_and_clear(0, prompting, upfront, tuned), (seed, case)


def test_the_draws_still_hold_exact_ties():
    """The filter keeps the ties that test the rule: every run checks volumes where both paths cost the same."""
    for seed, cases in drawn_cases(EXERCISE, range(20)):
        volumes = [Fraction(u) / (Fraction(p) - Fraction(t)) for u, p, t in (c["args"] for c in cases) if p > t >= 0]
        assert sum(volume.denominator == 1 for volume in volumes) >= 4, seed


def test_the_filter_rejects_what_splits_honest_solutions():
    # 30 / (0.003 - 0.001) = 15,000 requests is a tie as written in decimal, but not in binary floats
    split = (30.0, 0.003, 0.001)
    assert decimal_as_written(*split) == 15001 and fraction_of_floats(*split) == 15000
    assert not ties_are_exact_and_clear(0, 0.003, 30.0, 0.001)
    # 1 / 0.3333333333333333 is 3.0000000000000003: totals a rounding apart at 3 requests
    assert not ties_are_exact_and_clear(0, 1 / 3, 1.0, 0.0)
    assert ties_are_exact_and_clear(0, 0.75, 1000, 0.25), "an exact tie in every reading"
    assert ties_are_exact_and_clear(0, 0.3, 31.1, 0.1), "155.5 requests: clear of a tie"


def test_constructed_exact_ties_are_not_yet_cheaper_in_every_arithmetic():
    rng = random.Random(29)
    for _ in range(500):
        upfront, tuned, saving = exact_tie(rng, 50_000)
        volume = Fraction(upfront) / Fraction(saving)
        assert volume.denominator == 1 and ties_are_exact_and_clear(0, tuned + saving, upfront, tuned)
        for solution in [break_even_volume, *HONEST]:
            assert solution(upfront, tuned + saving, tuned) == volume + 1, (solution.__name__, upfront, tuned, saving)


# ---------------------------------------------------------------- honest solutions match the reference

TestHonestSolutions = honest_variant_tests(LESSON, "test-break-even", HONEST)
