"""Timing that people can trust: warm-up runs, repeated measurements, median and spread."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Seconds per call over repeated runs."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def quartiles(self) -> tuple[float, float]:
        """The first and third quartiles (both the median for a single run)."""
        if len(self.samples) < 2:
            return self.median, self.median
        q1, _, q3 = statistics.quantiles(self.samples, n=4, method="inclusive")
        return q1, q3

    @property
    def spread(self) -> float:
        """Interquartile range: how much the middle half of the runs varies."""
        q1, q3 = self.quartiles
        return q3 - q1

    def __str__(self) -> str:
        return f"{self.median * 1e3:.2f} ms (IQR {self.spread * 1e3:.2f} ms, n={len(self.samples)})"


def measure(fn: Callable[[], object], repeats: int = 10, warmup: int = 2) -> Timing:
    """Call ``fn`` ``warmup`` times untimed, then time ``repeats`` calls."""
    return measure_interleaved([fn], repeats, warmup)[0]


def measure_interleaved(fns: Sequence[Callable[[], object]], repeats: int = 10, warmup: int = 2) -> list[Timing]:
    """Like :func:`measure` for several functions at once, taking turns: one timed call of each per round.

    A burst of work from another program then slows every contender alike, instead of whichever
    happened to be measured at that moment, so the ratios between them stay fair.
    """
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    for fn in fns:
        for _ in range(warmup):
            fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, times in zip(fns, samples, strict=True):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return [Timing(tuple(times)) for times in samples]
