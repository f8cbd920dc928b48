"""Lesson 06's graded exercises: the references reproduce the old hidden tests' facts, the drivers work on the
references, and plausible wrong answers fail the comparison."""

from __future__ import annotations

import statistics
from types import SimpleNamespace

import numpy as np
import pytest

from course.grading.drivers import observe
from course.grading.values import decode, encode
from course.lessons.edge.drivers import FakeClock, ScriptedSession
from course.references import edge as references
from course.references import exercises
from tests.grading_helpers import checked

LESSON = "06-edge-deployment"


def _verdict(grade_id, candidate, seed=11):
    """Whether ``candidate`` passes the exercise's check (``tests.grading_helpers.checked``)."""
    return checked(LESSON, grade_id, candidate, seed)[0]


def test_every_exercise_is_declared_and_the_references_pass():
    declared = exercises(LESSON)
    assert set(declared) == {"test-ort-greedy", "test-latency-stats", "test-choose-deployment"}
    for grade_id, exercise in declared.items():
        assert _verdict(grade_id, exercise.reference), grade_id


# -- exercise 1 --------------------------------------------------------------------------------------------


def _notebook_greedy(session, prompt_ids, max_new_tokens, eos_id=None):
    sequence, new = list(prompt_ids), []
    for _ in range(max_new_tokens):
        logits = session.run(None, {"input_ids": np.asarray([sequence], dtype=np.int64)})[0]
        token = int(np.argmax(logits[0, -1]))
        if token == eos_id:
            break
        sequence.append(token)
        new.append(token)
    return new


def test_ort_greedy_reproduces_the_old_hidden_tests():
    scripted = ScriptedSession(6)
    assert references.ort_greedy(scripted, [1], 10, eos_id=4) == [2, 3]
    assert [fed["shape"] for fed in scripted.fed] == [[1, 1], [1, 2], [1, 3]]
    assert all(fed["dtype"] == "int64" for fed in scripted.fed)
    assert references.ort_greedy(ScriptedSession(6), [0, 1], 3) == [2, 3, 4]
    assert references.ort_greedy(ScriptedSession(6), [0, 1], 0) == []
    seen = observe("course.lessons.edge.drivers:greedy_session", references.ort_greedy,
                   decode(encode(references._GREEDY_EDGE_CASES[0])))  # fmt: skip
    assert seen == {
        "new": [2, 3],
        "fed": [{"dtype": "int64", "shape": [1, n], "ids": [[1, 2, 3][:n]]} for n in (1, 2, 3)],
    }


def test_ort_greedy_wrong_answers_fail():
    def first_position(session, prompt_ids, max_new_tokens, eos_id=None):
        sequence, new = list(prompt_ids), []
        for _ in range(max_new_tokens):
            token = int(np.argmax(session.run(None, {"input_ids": np.asarray([sequence])})[0][0, 0]))
            if token == eos_id:
                break
            sequence.append(token)
            new.append(token)
        return new

    def keeps_eos(session, prompt_ids, max_new_tokens, eos_id=None):
        sequence, new = list(prompt_ids), []
        for _ in range(max_new_tokens):
            token = int(np.argmax(session.run(None, {"input_ids": np.asarray([sequence])})[0][0, -1]))
            new.append(token)
            if token == eos_id:
                break
            sequence.append(token)
        return new

    def last_token_only(session, prompt_ids, max_new_tokens, eos_id=None):  # no context: feeds one token
        last, new = prompt_ids[-1], []
        for _ in range(max_new_tokens):
            token = int(np.argmax(session.run(None, {"input_ids": np.asarray([[last]], dtype=np.int64)})[0][0, -1]))
            if token == eos_id:
                break
            new.append(token)
            last = token
        return new

    assert _verdict("test-ort-greedy", _notebook_greedy)
    for wrong in (first_position, keeps_eos, last_token_only):
        assert not _verdict("test-ort-greedy", wrong), wrong.__name__


# -- exercise 2 --------------------------------------------------------------------------------------------


def test_latency_stats_reproduces_the_old_hidden_tests():
    fake = FakeClock([100.0, 3.0, 1.0, 2.0, 5.0, 4.0])
    assert references.latency_stats(fake.work, repeats=5, warmup=1, clock=fake) == (3.0, 2.0)
    assert fake.calls == 6
    fake = FakeClock([7.0])
    assert references.latency_stats(fake.work, repeats=1, warmup=0, clock=fake) == (7.0, 0.0)
    durations = [9.0, 9.0, 0.5, 0.1, 0.4, 0.2, 0.3, 0.9, 0.6, 0.8, 0.7]
    fake = FakeClock(durations)
    median, iqr = references.latency_stats(fake.work, repeats=9, warmup=2, clock=fake)
    quartiles = statistics.quantiles(durations[2:], n=4, method="inclusive")
    assert median == pytest.approx(statistics.median(durations[2:]))
    assert iqr == pytest.approx(quartiles[2] - quartiles[0])
    assert fake.calls == 11
    with pytest.raises(ValueError):
        references.latency_stats(lambda: None, repeats=0)
    seen = observe("course.lessons.edge.drivers:latency_fake_clock", references.latency_stats, {"real": True})
    assert seen == {"plausible": True}


def test_latency_stats_wrong_answers_fail():
    def no_warmup(fn, repeats=10, warmup=2, clock=None):
        return references.latency_stats(fn, repeats=repeats, warmup=0, clock=clock)

    def mean_and_range(fn, repeats=10, warmup=2, clock=None):
        for _ in range(warmup):
            fn()
        samples = []
        for _ in range(repeats):
            start = clock()
            fn()
            samples.append(clock() - start)
        return sum(samples) / len(samples), max(samples) - min(samples)

    def exclusive_quartiles(fn, repeats=10, warmup=2, clock=None):  # statistics.quantiles' default method
        for _ in range(warmup):
            fn()
        samples = []
        for _ in range(repeats):
            start = clock()
            fn()
            samples.append(clock() - start)
        if len(samples) < 2:
            return samples[0], 0.0
        q1, _, q3 = statistics.quantiles(samples, n=4)
        return statistics.median(samples), q3 - q1

    def no_error(fn, repeats=10, warmup=2, clock=None):
        if repeats < 1:
            return 0.0, 0.0
        return references.latency_stats(fn, repeats=repeats, warmup=warmup, clock=clock)

    for wrong in (no_warmup, mean_and_range, exclusive_quartiles, no_error):
        assert not _verdict("test-latency-stats", wrong), wrong.__name__


# -- exercise 3 --------------------------------------------------------------------------------------------


def _r(name, size, tokens, em):
    return SimpleNamespace(name=name, size_bytes=size, tokens_per_second=tokens, exact_match=em)


def test_choose_deployment_reproduces_the_old_hidden_tests():
    choose = references.choose_deployment
    base = _r("PyTorch fp32", 4000, 100.0, 0.90)
    rows = [base, _r("ORT fp32", 4000, 300.0, 0.90), _r("ORT int8", 1000, 250.0, 0.80)]
    assert choose(rows) == "ORT fp32"
    assert choose(rows, max_drop=0.10) == "ORT int8"
    assert choose(rows, max_drop=0.05) == "ORT fp32"
    assert choose([base, _r("ORT int8", 1000, 90.0, 0.90)]) == "PyTorch fp32"
    assert choose([base, _r("x", 1000, 100.0, 0.9)]) == "PyTorch fp32"
    assert choose([base, _r("slower", 1000, 200.0, 0.9), _r("faster", 1000, 300.0, 0.9)]) == "faster"
    assert choose([_r("ref", 4000, 100.0, 0.5), _r("small", 1000, 200.0, 0.9)]) == "small"
    assert choose([_r("only", 10, 1.0, 0.0)]) == "only"


def test_choose_deployment_wrong_answers_fail():
    def fastest(results, max_drop=0.0):
        best = max(r.exact_match for r in results)
        ok = [
            r
            for r in results[1:]
            if r.exact_match >= best - max_drop and r.tokens_per_second > results[0].tokens_per_second
        ]
        return max(ok, key=lambda r: r.tokens_per_second).name if ok else results[0].name

    def relative_to_reference(results, max_drop=0.0):  # the drop measured from the reference, not the best
        ref = results[0]
        ok = [
            r
            for r in results[1:]
            if r.exact_match >= ref.exact_match - max_drop and r.tokens_per_second > ref.tokens_per_second
        ]
        return min(ok, key=lambda r: (r.size_bytes, -r.tokens_per_second)).name if ok else ref.name

    def ignores_speed(results, max_drop=0.0):
        best = max(r.exact_match for r in results)
        ok = [r for r in results[1:] if r.exact_match >= best - max_drop]
        return min(ok, key=lambda r: (r.size_bytes, -r.tokens_per_second)).name if ok else results[0].name

    for wrong in (fastest, relative_to_reference, ignores_speed):
        assert not _verdict("test-choose-deployment", wrong), wrong.__name__
