"""Lesson 02 §3 (Speed against size, measured): how fast a real small model, SmolLM2-135M-Instruct, generates in
llama.cpp on this machine, against the bound that this machine's memory bandwidth sets.

Why a real model: tiny models built for the lesson stay in the processor's caches and are dominated by per-step
overheads, so their speed says nothing about what limits a real model. Generating one token reads every weight of
SmolLM2 once (its token embeddings are tied to the output head, so even they are read in full), so its tokens per
second are at most *bandwidth ÷ bytes of its tensors*. The bandwidth (``speed.measure_products``, a matrix-vector
product) and the decoding are measured with the same number of threads: a bound from more threads than llama.cpp
uses would not bound it.

llama.cpp (``llama-cpp-python``) is an optional extra. Where it is missing, :func:`measure_decode` raises
``ImportError`` saying how to install it, and the lesson shows the bound without a measurement rather than time
something else: the PyTorch copy of the model (``smollm2.load_torch``) is float32, so it reads eight times the bytes,
through Python's overhead at every step, and its first load converts the file for a minute or more.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass

#: Tokens generated per timed run, and timed runs (after one warm-up): a few seconds in all on 2 cores.
DECODE_TOKENS = 32
DECODE_REPEATS = 3
#: The prompt the generation starts from (its processing, the prefill, is not timed).
DECODE_PROMPT = "Explain in three sentences why the sky is blue."


def decode_threads() -> int:
    """Threads for both measurements: the machine's cores, at most 4 (more seldom raises bandwidth further on a
    laptop, and keeps the lesson from hogging a shared machine)."""
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class DecodeSpeed:
    """Decode speeds of repeated runs, each generating ``tokens`` tokens on ``threads`` threads."""

    threads: int
    tokens: int
    tokens_per_second: tuple[float, ...]  # one per timed run

    @property
    def median(self) -> float:
        return statistics.median(self.tokens_per_second)

    @property
    def low(self) -> float:
        return min(self.tokens_per_second)

    @property
    def high(self) -> float:
        return max(self.tokens_per_second)


def measure_decode(threads: int, tokens: int = DECODE_TOKENS, repeats: int = DECODE_REPEATS) -> DecodeSpeed:
    """Greedy decoding of SmolLM2 in llama.cpp on ``threads`` threads: the prompt is processed first, then the time
    from the first generated token to the ``tokens + 1``-th is timed (``tokens`` steps of one token each), in
    ``repeats`` runs after a warm-up run. Raises ``ImportError`` (with the install command) without llama.cpp."""
    if threads < 1 or tokens < 1 or repeats < 1:
        raise ValueError("threads, tokens and repeats must all be at least 1.")
    from course.models import smollm2

    llm = smollm2.load_llama(n_ctx=256, n_threads=threads, n_threads_batch=threads)
    prompt = llm.tokenize(DECODE_PROMPT.encode(), add_bos=True)
    rates = []
    for _ in range(repeats + 1):
        started = 0.0
        for step, _token in enumerate(llm.generate(prompt, top_k=1, temp=0.0, reset=True)):
            if step == 0:
                started = time.perf_counter()  # the prompt is processed and the first token chosen
            elif step == tokens:
                rates.append(tokens / (time.perf_counter() - started))
                break
    return DecodeSpeed(threads, tokens, tuple(rates[1:]))  # the first run warms up


def plot_decode(measured: DecodeSpeed | None, bound: float, ax=None):
    """A bar for the bandwidth bound and, when there is a measurement, one for the measured median with its range
    (lowest to highest run)."""
    import matplotlib.pyplot as plt

    from course.languages import say

    ax = ax or plt.subplots(figsize=(6, 2.4))[1]
    labels, values = [say("slm.decode_bound_bar")], [bound]
    if measured is not None:
        labels.append(say("slm.decode_measured_bar", threads=measured.threads))
        values.append(measured.median)
    bars = ax.barh(labels, values, color=["#bbbbbb", "#4c72b0"][: len(values)])
    if measured is not None:
        error = [[measured.median - measured.low], [measured.high - measured.median]]
        ax.errorbar(measured.median, 1, xerr=error, color="black", capsize=4)
    ax.bar_label(bars, fmt="%.0f", padding=4)
    ax.set_xlim(0, max(values) * 1.2)
    ax.set_xlabel(say("slm.decode_axis"))
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    return ax
