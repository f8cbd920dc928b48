"""Lesson 06 §6 (When does int8 pay off?): one matrix multiplication in ONNX Runtime, fp32 against
dynamic int8, for growing weight sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from course.lessons.edge.export import quantize_int8
from course.lessons.edge.runtimes import load_session
from course.runtime import single_thread
from course.timing import Timing, measure_interleaved

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class SweepPoint:
    """One matrix size: the time of ``tokens x size`` @ ``size x size`` in fp32 and in int8."""

    size: int
    fp32: Timing
    int8: Timing

    @property
    def speedup(self) -> float:
        return self.fp32.median / self.int8.median


def _matmul_model(size: int, path: Path, seed: int = 0) -> None:
    """A one-node ONNX model ``Y = X @ W`` with a random ``size x size`` weight."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = (np.random.default_rng(seed).standard_normal((size, size)) / np.sqrt(size)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"])],
        f"matmul{size}",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["tokens", size])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["tokens", size])],
        [numpy_helper.from_array(weight, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.save(model, str(path))


def int8_matmul_sweep(sizes: Sequence[int], tokens: int = 32, repeats: int = 20) -> list[SweepPoint]:
    """Time one matrix multiplication in ONNX Runtime, fp32 vs dynamic int8, for growing weight sizes.

    Small products are dominated by the fixed cost of quantising the activations at run time; large
    ones by the arithmetic, where int8 wins. One thread, as in :func:`benchmark`; files go to a
    temporary folder.
    """
    import tempfile

    from tqdm.auto import tqdm

    if not sizes or min(sizes) < 1 or tokens < 1:
        raise ValueError("sizes needs at least one positive matrix size, and tokens must be at least 1.")
    x = np.random.default_rng(1).standard_normal((tokens, max(sizes))).astype(np.float32)
    points = []
    with tempfile.TemporaryDirectory() as folder, single_thread():
        for size in tqdm(sizes, desc="matrix sizes"):
            fp32, int8 = Path(folder) / f"mm{size}.onnx", Path(folder) / f"mm{size}.int8.onnx"
            _matmul_model(size, fp32)
            quantize_int8(fp32, int8)
            feed = {"X": np.ascontiguousarray(x[:, :size])}
            runs = [partial(load_session(path).run, None, feed) for path in (fp32, int8)]
            points.append(SweepPoint(size, *measure_interleaved(runs, repeats=repeats, warmup=3)))
    return points
