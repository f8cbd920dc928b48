"""How the grader exercises lesson 06's exercises, the same way on the student's code and on the reference.

``greedy_session`` hands the greedy loop a scripted session built from plain data; ``latency_fake_clock``
times a function with a fake clock built from given durations.
"""

from __future__ import annotations

import numpy as np


class ScriptedSession:
    """Stands in for an ONNX Runtime session over a vocabulary of ``vocab`` tokens, and records what it is fed.

    ``counting``: the logits at each position favour (that position's token + 1) mod ``vocab``.
    ``table``: the logits at position ``i`` are row ``(token + i) mod vocab`` of ``table`` (vocab x vocab).
    """

    def __init__(self, vocab: int, table: np.ndarray | None = None) -> None:
        self.vocab, self.table, self.fed = vocab, table, []

    def run(self, output_names, feed: dict) -> list[np.ndarray]:
        x = feed["input_ids"]
        self.fed.append({"dtype": str(x.dtype), "shape": list(x.shape), "ids": np.asarray(x).tolist()})
        tokens = np.asarray(x)[0].astype(np.int64)
        if self.table is None:
            logits = np.zeros((1, len(tokens), self.vocab), dtype=np.float32)
            logits[0, np.arange(len(tokens)), (tokens + 1) % self.vocab] = 1.0
        else:
            logits = self.table[(tokens + np.arange(len(tokens))) % self.vocab][None]
        return [logits]


def greedy_session(target, case: dict) -> dict:
    """``target(session, prompt, max_new_tokens, eos_id)`` on a scripted session: the new tokens, and every
    input the session was fed (dtype, shape and ids: the whole sequence so far, each step)."""
    table = case.get("table")
    session = ScriptedSession(case["vocab"], None if table is None else np.asarray(table, dtype=np.float32))
    new = target(session, list(case["prompt"]), case["max_new_tokens"], case["eos_id"])
    return {"new": new, "fed": session.fed}


class FakeClock:
    """A clock that only moves when the timed function runs: each call takes the next duration."""

    def __init__(self, durations) -> None:
        self.now, self.durations, self.calls = 0.0, [float(d) for d in durations], 0

    def __call__(self) -> float:
        return self.now

    def work(self) -> None:
        self.now += self.durations[self.calls]
        self.calls += 1


def latency_fake_clock(target, case: dict) -> dict:
    """``target(fn, repeats=..., warmup=..., clock=clock)`` with a fake clock: the result and how many times
    ``fn`` ran. With ``{"real": True}``, a real function on the default clock: only whether the result is
    plausible (a median between 0 and 1 s, an IQR of 0 or more)."""
    if case.get("real"):
        median, iqr = target(lambda: sum(range(1000)), repeats=5, warmup=1)
        return {"plausible": bool(0 < median < 1 and iqr >= 0)}
    clock = FakeClock(case["durations"])
    kwargs = {"repeats": case["repeats"], "clock": clock}
    if "warmup" in case:
        kwargs["warmup"] = case["warmup"]
    result = target(clock.work, **kwargs)
    return {"result": result, "calls": clock.calls}
