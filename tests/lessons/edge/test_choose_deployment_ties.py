"""Lesson 06's ``choose_deployment``: solutions written from the exercise text, whatever way they pick, all earn the
points, because the text states every tie rule the grader's draws reach (same size: more tokens/s; same size and
tokens/s: the first in ``results``) and the reference follows it. A solution that breaks the last tie the other
way fails, so the rule is one the draws do test."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from course.references.edge import choose_deployment
from tests.grading_helpers import checked, honest_variant_tests

LESSON = "06-edge-deployment"


def _qualified(results, max_drop):
    best = max(r.exact_match for r in results)
    faster = results[0].tokens_per_second
    return [r for r in results[1:] if r.exact_match >= best - max_drop and r.tokens_per_second > faster]


def sort_with_a_key(results, max_drop=0.0):
    ranked = sorted(_qualified(results, max_drop), key=lambda r: (r.size_bytes, -r.tokens_per_second))
    return ranked[0].name if ranked else results[0].name


def min_over_candidates(results, max_drop=0.0):
    return min(
        _qualified(results, max_drop), key=lambda r: (r.size_bytes, -r.tokens_per_second), default=results[0]
    ).name


def loop_keeping_the_first(results, max_drop=0.0):
    best, chosen = max(r.exact_match for r in results), None
    for r in results[1:]:
        if best - r.exact_match <= max_drop and r.tokens_per_second > results[0].tokens_per_second:
            smaller = chosen is None or r.size_bytes < chosen.size_bytes
            if smaller or r.size_bytes == chosen.size_bytes and r.tokens_per_second > chosen.tokens_per_second:
                chosen = r
    return (chosen or results[0]).name


def two_stable_sorts(results, max_drop=0.0):
    best = max(r.exact_match for r in results)
    ok = [
        r
        for r in results[1:]
        if r.exact_match + max_drop >= best and r.tokens_per_second > results[0].tokens_per_second
    ]
    ranked = sorted(sorted(ok, key=lambda r: r.tokens_per_second, reverse=True), key=lambda r: r.size_bytes)
    return ranked[0].name if ranked else results[0].name


def numpy_lexsort(results, max_drop=0.0):
    ok = _qualified(results, max_drop)
    if not ok:
        return results[0].name
    order = np.lexsort((np.arange(len(ok)), [-r.tokens_per_second for r in ok], [r.size_bytes for r in ok]))
    return ok[int(order[0])].name


HONEST = [sort_with_a_key, min_over_candidates, loop_keeping_the_first, two_stable_sorts, numpy_lexsort]
TestHonestSolutions = honest_variant_tests(LESSON, "test-choose-deployment", HONEST)


def keeps_the_last_of_a_tie(results, max_drop=0.0):
    """Right but for the last tie rule: a loop with ``<=`` keeps the later of two equal runtimes."""
    chosen = None
    for r in _qualified(results, max_drop):
        if chosen is None or (r.size_bytes, -r.tokens_per_second) <= (chosen.size_bytes, -chosen.tokens_per_second):
            chosen = r
    return (chosen or results[0]).name


def _r(name, size, tokens, em):
    return SimpleNamespace(name=name, size_bytes=size, tokens_per_second=tokens, exact_match=em)


def test_the_stated_tie_rules_by_hand():
    base = _r("PyTorch fp32", 4000, 100.0, 0.9)
    twins = [base, _r("first", 1000, 200.0, 0.9), _r("second", 1000, 200.0, 0.9)]
    assert choose_deployment(twins) == "first"
    assert choose_deployment([base, twins[2], twins[1]]) == "second", "the order of results decides, not the name"
    assert choose_deployment([_r("ref", 4000, 100.0, 0.9), _r("int8", 1000, 200.0, 0.8)]) == "ref", (
        "the best exact-match includes the reference's"
    )
    assert choose_deployment([_r("ref", 4000, 100.0, 0.9), _r("int8", 1000, 200.0, 0.8)], 0.1) == "int8"


def test_breaking_the_last_tie_the_other_way_fails_every_run():
    """The edge cases hold a full tie, so the stated rule is checked on every seed, not on 6 % of them."""
    for seed in (0, 1, 2):
        assert not checked(LESSON, "test-choose-deployment", keeps_the_last_of_a_tie, seed)[0]
