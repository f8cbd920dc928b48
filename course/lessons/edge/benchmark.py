"""Lesson 06 §6 (Six runtimes, side by side, in one run) and §8: measure PyTorch fp32, ORT fp32 and
ORT int8 in one run and compare them (choosing the runtime to deploy is lesson 06's exercise 5, the student's
``choose_deployment``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from course.languages import say
from course.languages.monospace import columns, pad
from course.lessons.edge.export import EdgeFiles, size_bytes
from course.lessons.edge.runtimes import (
    GenerateFn,
    LogitsFn,
    LogitsSession,
    as_ids,
    load_pytorch,
    load_session,
    max_logit_difference,
    ort_logits,
    torch_logits,
)
from course.runtime import single_thread
from course.timing import Timing, measure_interleaved

if TYPE_CHECKING:
    pass


BACKENDS = ("PyTorch fp32", "ORT fp32", "ORT int8")


@dataclass(frozen=True)
class EdgeResult:
    """One runtime's measurements: everything the comparison table and plot show."""

    name: str
    size_bytes: int
    load: Timing
    latency: Timing
    tokens_per_second: float
    max_logit_diff: float
    exact_match: float


def benchmark(
    files: EdgeFiles,
    prompts: Sequence[Sequence[int]],
    score: Callable[[LogitsFn], float],
    generate: GenerateFn,
    new_tokens: int = 16,
    repeats: int = 20,
) -> list[EdgeResult]:
    """Measure PyTorch fp32, ONNX Runtime fp32 and ONNX Runtime int8 on the same machine, in one run.

    Every runtime runs on one CPU thread (PyTorch through ``course.runtime.single_thread``, ONNX Runtime
    sessions with one intra-op thread), so all three do the same work on the same core.

    ``prompts`` are token-id lists: the first one is timed (one forward pass, and ``new_tokens``
    greedy steps for tokens/s), all of them are used for the largest logit difference vs PyTorch.
    Loads, forward passes and generations are timed in turns across the runtimes
    (:func:`course.timing.measure_interleaved`), ``repeats`` times each (loads 3 times).
    ``score(logits_fn)`` returns the task's exact-match for a runtime; ``generate(session, ids, new_tokens)`` is
    the greedy loop timed for tokens/s (the student's ``ort_greedy``), each runtime wrapped as a session.
    """
    from tqdm.auto import tqdm

    if not prompts:
        raise ValueError("prompts is empty; pass at least one list of token ids.")
    loaders: list[Callable[[], object]] = [
        lambda: load_pytorch(files.pytorch),
        lambda: load_session(files.onnx_fp32),
        lambda: load_session(files.onnx_int8),
    ]
    wraps: list[Callable[[Any], LogitsFn]] = [torch_logits, ort_logits, ort_logits]
    paths = [files.pytorch, files.onnx_fp32, files.onnx_int8]
    latency_ids = np.asarray([as_ids(prompts[0])], dtype=np.int64)
    # One thread for every runtime: the same work on the same core, and no time lost handing tiny matrix
    # products between threads (on a busy 2-core machine that can make PyTorch a hundred times slower).
    # The runtimes take turns call by call, so a burst of other work slows them all alike.
    with single_thread(), tqdm(total=3 + len(BACKENDS), desc=say("edge.progress_benchmark")) as bar:
        loads = measure_interleaved(loaders, repeats=3, warmup=1)
        runs = [wrap(load()) for wrap, load in zip(wraps, loaders, strict=True)]
        bar.update()
        latencies = measure_interleaved([partial(run, latency_ids) for run in runs], repeats=repeats, warmup=3)
        bar.update()
        steps = [partial(generate, LogitsSession(run), prompts[0], new_tokens) for run in runs]
        generations = measure_interleaved(steps, repeats=repeats, warmup=2)
        bar.update()
        results = []
        for index, name in enumerate(BACKENDS):
            results.append(
                EdgeResult(
                    name=name,
                    size_bytes=size_bytes(paths[index]),
                    load=loads[index],
                    latency=latencies[index],
                    tokens_per_second=new_tokens / generations[index].median,
                    max_logit_diff=0.0 if index == 0 else max_logit_difference(runs[0], runs[index], prompts),
                    exact_match=score(runs[index]),
                )
            )
            bar.update()
    return results


def ratios(results: Sequence[EdgeResult], baseline: str = BACKENDS[0]) -> dict[str, dict[str, float]]:
    """For each runtime: how many times smaller and faster than ``baseline`` (above 1 means better)."""
    by_name = {r.name: r for r in results}
    if baseline not in by_name:
        raise KeyError(f"No result named {baseline!r}; have {', '.join(by_name)}")
    base = by_name[baseline]
    return {
        r.name: {
            "smaller": base.size_bytes / r.size_bytes,
            "faster_latency": base.latency.median / r.latency.median,
            "faster_tokens": r.tokens_per_second / base.tokens_per_second,
            "exact_match_change": r.exact_match - base.exact_match,
        }
        for r in results
    }


def format_table(results: Sequence[EdgeResult]) -> str:
    """The measurements as a fixed-width text table."""
    header = (
        f"{pad(say('edge.col_runtime'), 14)}{pad(say('edge.col_size_mb'), 9, '>')}"
        f"{pad(say('edge.col_load_ms'), 9, '>')}{pad(say('edge.col_latency_ms'), 12, '>')}{'IQR ms':>8}"
        f"{'tokens/s':>10}{'max |dlogit|':>14}{pad(say('edge.col_exact_match'), 13, '>')}"
    )
    lines = [header, "-" * columns(header)]
    for r in results:
        lines.append(
            f"{r.name:<14}{r.size_bytes / 1e6:>9.2f}{r.load.median * 1e3:>9.1f}"
            f"{r.latency.median * 1e3:>12.2f}{r.latency.spread * 1e3:>8.2f}"
            f"{r.tokens_per_second:>10.1f}{r.max_logit_diff:>14.2e}{r.exact_match:>13.1%}"
        )
    return "\n".join(lines)
