"""Lesson 06, edge deployment: reference solutions and the declarations of its graded exercises."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from types import SimpleNamespace

import numpy as np

from course.grading.exercise import EXACT, Exercise, call, close
from course.lessons.edge.export import INPUT_NAME
from course.lessons.edge.runtimes import LogitsFn, LogitsSession, as_ids

# ---------------------------------------------------------------- exercise 1: greedy generation over a session


def ort_greedy(session, prompt_ids: Sequence[int], max_new_tokens: int, eos_id: int | None = None) -> list[int]:
    """Greedy decoding over an ONNX Runtime session (or anything with its ``run(output_names, feed)``): append
    the most likely next token until ``eos_id`` or ``max_new_tokens``. Returns only the new tokens (without the
    EOS token)."""
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be 0 or more, not {max_new_tokens}")
    ids = as_ids(prompt_ids)
    new: list[int] = []
    for _ in range(max_new_tokens):
        logits = session.run(None, {INPUT_NAME: np.asarray([ids], dtype=np.int64)})[0]
        token = int(np.argmax(logits[0, -1]))
        if token == eos_id:
            break
        ids.append(token)
        new.append(token)
    return new


def greedy_generate(
    logits_fn: LogitsFn, prompt_ids: Sequence[int], max_new_tokens: int, eos_id: int | None = None
) -> list[int]:
    """:func:`ort_greedy` over any ``ids -> logits`` function (PyTorch, ONNX Runtime)."""
    return ort_greedy(LogitsSession(logits_fn), prompt_ids, max_new_tokens, eos_id)


def _greedy_case(kind, vocab, prompt, max_new_tokens, eos_id=None, table=None) -> dict:
    return {"kind": kind, "vocab": vocab, "table": table, "prompt": prompt, "max_new_tokens": max_new_tokens,
            "eos_id": eos_id}  # fmt: skip


def _greedy_cases(rng: random.Random) -> list[dict]:
    cases = []
    for index in range(14):
        vocab = rng.randint(3, 40)
        prompt = [rng.randrange(vocab) for _ in range(rng.randint(1, 8))]
        eos_id = rng.choice([None, rng.randrange(vocab), rng.randrange(vocab)])
        limit = rng.randint(0, 16)
        if index % 2:
            generator = np.random.default_rng(rng.getrandbits(32))
            table = generator.standard_normal((vocab, vocab)).astype(np.float32)
            cases.append(_greedy_case("table", vocab, prompt, limit, eos_id, table))
        else:
            cases.append(_greedy_case("counting", vocab, prompt, limit, eos_id))
    return cases


_GREEDY_EDGE_CASES = [
    _greedy_case("counting", 6, [1], 10, 4),  # stop at EOS and leave it out; feed the whole sequence each step
    _greedy_case("counting", 6, [0, 1], 3),  # the last position decides
    _greedy_case("counting", 6, [1, 2, 3], 0, 4),  # no new tokens asked, none returned
    _greedy_case("counting", 6, [3], 5, 4),  # the very first token is EOS
    _greedy_case("counting", 10, [9], 12),  # wraps around the vocabulary
]

# ---------------------------------------------------------------- exercise 2: latency statistics


def latency_stats(fn: Callable[[], object], repeats: int = 10, warmup: int = 2, clock=time.perf_counter):
    """(median, interquartile range) of the seconds per call of ``fn``, after ``warmup`` untimed calls."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = clock()
        fn()
        samples.append(clock() - start)
    if len(samples) < 2:
        return samples[0], 0.0
    q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    return statistics.median(samples), q3 - q1


def _latency_cases(rng: random.Random) -> list[dict]:
    cases = []
    for _ in range(14):
        warmup, repeats = rng.randint(0, 4), rng.randint(1, 15)
        durations = [round(rng.uniform(0.001, 0.1), 5) for _ in range(warmup + repeats)]
        for _ in range(rng.randint(0, 2)):  # a few slow outliers
            durations[rng.randrange(len(durations))] = round(rng.uniform(1.0, 20.0), 3)
        cases.append({"durations": durations, "repeats": repeats, "warmup": warmup})
    cases.append({"durations": [0.25] * 12, "repeats": 10})  # warm-up left at its default (2)
    return cases


_LATENCY_EDGE_CASES = [
    {"durations": [100.0, 3.0, 1.0, 2.0, 5.0, 4.0], "repeats": 5, "warmup": 1},
    {"durations": [7.0], "repeats": 1, "warmup": 0},  # one sample: the IQR is 0.0
    {"durations": [9.0, 9.0, 0.5, 0.1, 0.4, 0.2, 0.3, 0.9, 0.6, 0.8, 0.7], "repeats": 9, "warmup": 2},
    {"durations": [1.0] * 4, "repeats": 0, "warmup": 2},  # must raise ValueError
    {"durations": [1.0] * 4, "repeats": -3, "warmup": 0},  # must raise ValueError
    {"real": True},  # the default clock: a real function timed for real
]

# ---------------------------------------------------------------- exercise 3: choosing the deployment


def choose_runtime(results: Sequence, max_exact_match_drop: float = 0.0):
    """The runtime to deploy, from measurements whose first entry is the reference (PyTorch fp32).

    A runtime qualifies when it keeps the task (exact-match within ``max_exact_match_drop`` of the best)
    and generates more tokens/s than the reference. The smallest qualifying file wins, a tie in size
    goes to the faster one; when none qualifies, the reference stays.
    """
    if not results:
        raise ValueError("results is empty; run benchmark(...) first.")
    if not 0.0 <= max_exact_match_drop <= 1.0:
        raise ValueError("max_exact_match_drop is a fraction between 0 and 1 (0.02 means two points).")
    reference = results[0]
    best = max(r.exact_match for r in results)
    qualified = [
        r
        for r in results[1:]
        if r.exact_match >= best - max_exact_match_drop - 1e-12 and r.tokens_per_second > reference.tokens_per_second
    ]
    return min(qualified, key=lambda r: (r.size_bytes, -r.tokens_per_second), default=reference)


def choose_deployment(results: Sequence, max_drop: float = 0.0) -> str:
    """The name of :func:`choose_runtime`'s choice."""
    return choose_runtime(results, max_drop).name


def _record(name, size, tokens, em) -> SimpleNamespace:
    return SimpleNamespace(name=name, size_bytes=size, tokens_per_second=tokens, exact_match=em)


_NAMES = ["PyTorch fp32", "ORT fp32", "ORT int8", "ORT int4", "llama.cpp Q8_0", "llama.cpp Q4_K_M", "TensorRT fp16"]


def _choose_cases(rng: random.Random) -> list[dict]:
    cases = []
    for _ in range(20):
        names = rng.sample(_NAMES, rng.randint(1, 5))
        # sizes and speeds from short lists, so that ties happen; exact-match in 32nds and drops in 32nds or
        # off that grid, so that no comparison sits on a floating-point rounding boundary
        records = [
            _record(
                name,
                rng.choice([1000, 2000, 4000, rng.randint(500, 8000)]),
                rng.choice([50.0, 100.0, 150.0, 300.0, round(rng.uniform(20, 400), 1)]),
                rng.randint(16, 32) / 32,
            )
            for name in names
        ]
        drop = rng.choice([0.0, 0.0, 1 / 32, 2 / 32, 4 / 32, 0.03, 0.1, 1.0])
        cases.append(call(records, drop) if drop or rng.random() < 0.5 else call(records))
    return cases


_BASE = _record("PyTorch fp32", 4000, 100.0, 0.90)
_ROWS = [_BASE, _record("ORT fp32", 4000, 300.0, 0.90), _record("ORT int8", 1000, 250.0, 0.80)]
_CHOOSE_EDGE_CASES = [
    call(_ROWS),  # int8 lost 10 points: not allowed with max_drop=0
    call(_ROWS, max_drop=0.10),  # the smallest that qualifies, even if not the fastest
    call(_ROWS, 0.05),
    call([_BASE, _record("ORT int8", 1000, 90.0, 0.90)]),  # slower than the reference: nothing qualifies
    call([_BASE, _record("x", 1000, 100.0, 0.9)]),  # as fast is not faster
    call([_BASE, _record("slower", 1000, 200.0, 0.9), _record("faster", 1000, 300.0, 0.9)]),  # same size
    call([_record("ref", 4000, 100.0, 0.5), _record("small", 1000, 200.0, 0.9)]),  # the best need not be the ref
    call([_record("only", 10, 1.0, 0.0)]),
]


# ---------------------------------------------------------------- the visible tests of the test cells

_ORT_GREEDY_TESTS = r'''
class ScriptedSession:
    """Favours (last token + 1) mod 6 and checks what it is fed."""

    def __init__(self):
        self.lengths = []

    def run(self, output_names, feed):
        x = feed["input_ids"]
        assert x.dtype == np.int64 and x.ndim == 2 and x.shape[0] == 1, "feed int64 of shape (1, n)"
        self.lengths.append(x.shape[1])
        logits = np.zeros((1, x.shape[1], 6), dtype=np.float32)
        logits[0, np.arange(x.shape[1]), (x[0] + 1) % 6] = 1.0
        return [logits]


scripted = ScriptedSession()
assert ort_greedy(scripted, [1], 10, eos_id=4) == [2, 3], "stop at EOS and leave it out"
assert scripted.lengths == [1, 2, 3], "each step must feed the whole sequence so far"
assert ort_greedy(ScriptedSession(), [0, 1], 3) == [2, 3, 4], "the last position decides"
assert ort_greedy(session, ids, 0, tokenizer.eos_token_id) == [], "no new tokens asked, none returned"
'''

_LATENCY_STATS_TESTS = r'''
class FakeClock:
    """A clock that only moves when the timed function runs: each call takes the next duration."""

    def __init__(self, durations):
        self.now, self.durations, self.calls = 0.0, list(durations), 0

    def __call__(self):
        return self.now

    def work(self):
        self.now += self.durations[self.calls]
        self.calls += 1


fake = FakeClock([100.0, 3.0, 1.0, 2.0, 5.0, 4.0])  # the first call is the warm-up
median, iqr = latency_stats(fake.work, repeats=5, warmup=1, clock=fake)
assert fake.calls == 6, "one warm-up call plus five timed calls"
assert median == 3.0 and iqr == 2.0, "median of 1..5 is 3, quartiles 2 and 4"
'''

_CHOOSE_DEPLOYMENT_TESTS = r"""
from types import SimpleNamespace


def _r(name, size, tokens, em):
    return SimpleNamespace(name=name, size_bytes=size, tokens_per_second=tokens, exact_match=em)


assert choose_deployment(results) in benchmark.BACKENDS, "return the name of one of the measured backends"
assert choose_deployment(results, max_drop=1.0) in benchmark.BACKENDS
base = _r("PyTorch fp32", 4000, 100.0, 0.90)
rows_ = [base, _r("ORT fp32", 4000, 300.0, 0.90), _r("ORT int8", 1000, 250.0, 0.80)]
assert choose_deployment(rows_) == "ORT fp32", "int8 lost 10 points: not allowed with max_drop=0"
assert choose_deployment(rows_, max_drop=0.10) == "ORT int8", "the smallest that qualifies, even if not the fastest"
assert choose_deployment([base, _r("ORT int8", 1000, 90.0, 0.90)]) == "PyTorch fp32", "slower than the reference"
"""


EXERCISES = [
    Exercise(
        grade_id="test-ort-greedy",
        target="ort_greedy",
        points=2,
        about=(
            "runs your loop over sessions it builds itself (other vocabularies, random logits, with or without EOS), "
            "and compares the new tokens and what the session was fed with the course's loop."
        ),
        tests=_ORT_GREEDY_TESTS,
        reference=ort_greedy,
        cases=_greedy_cases,
        edge_cases=_GREEDY_EDGE_CASES,
        compare=EXACT,
        driver="course.lessons.edge.drivers:greedy_session",
    ),
    Exercise(
        grade_id="test-latency-stats",
        target="latency_stats",
        points=2,
        about=(
            "times fake work with durations it draws itself (outliers, one sample, no warm-up, repeats < 1) and "
            "compares your (median, IQR) and the number of calls with the course's."
        ),
        tests=_LATENCY_STATS_TESTS,
        reference=latency_stats,
        cases=_latency_cases,
        edge_cases=_LATENCY_EDGE_CASES,
        compare=close(rtol=1e-9, atol=1e-12),
        driver="course.lessons.edge.drivers:latency_fake_clock",
    ),
    Exercise(
        grade_id="test-choose-deployment",
        target="choose_deployment",
        points=2,
        about=(
            "calls your function on lists of measurements it draws itself (ties in size, speed and exact-match, "
            "several values of max_drop), and compares with the course's choice."
        ),
        tests=_CHOOSE_DEPLOYMENT_TESTS,
        reference=choose_deployment,
        cases=_choose_cases,
        edge_cases=_CHOOSE_EDGE_CASES,
    ),
]
