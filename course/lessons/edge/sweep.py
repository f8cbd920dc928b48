"""Lesson 06 §7 (Fewer bytes, more tokens/s?): decoding one token multiplies every weight matrix by one vector. When
the weights are far larger than the CPU caches, that product streams them from RAM, and a format with fewer bytes per
weight should read them faster. This sweep times one such product in ONNX Runtime, fp32 against int8
(``quantize_dynamic``: ``MatMulInteger``) and int4 (``MatMulNBitsQuantizer``: ``MatMulNBits``), for growing
matrices, and sets the measurements beside the bound of lesson 02's measured bandwidth
(``course.lessons.slm.speed.measure_products``).

The model files are cached (``course.cache``): the first run writes and quantises them, a warm run only times them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from course.timing import Timing, measure_interleaved

#: The formats the sweep times, in order: the first is the baseline.
SWEEP_FORMATS = ("fp32", "int8", "int4")
#: ONNX Runtime's 4-bit blocks: 32 weights share a scale, as in GGUF's Q4_0 (4.5 bits per weight, symmetric).
INT4_BLOCK = 32

#: ``quantize(source, target)``: writes an int8 version of the ONNX file ``source`` at ``target`` (exercise 3's
#: ``quantize_int8``).
Quantizer = Callable[[Path, Path], object]


@dataclass(frozen=True)
class SweepPoint:
    """One matrix size: the time of one vector times an ``size x size`` weight, per format, and the bytes read."""

    size: int
    timings: dict[str, Timing]
    weight_bytes: dict[str, int]

    def tokens_per_second(self, fmt: str) -> float:
        """One product per second is one layer's worth of a token: the rate if every matrix were this one."""
        return 1.0 / self.timings[fmt].median

    def speedup(self, fmt: str) -> float:
        """How many times faster than fp32."""
        return self.timings["fp32"].median / self.timings[fmt].median

    def gb_per_second(self, fmt: str) -> float:
        """Weight bytes read per second (GB/s)."""
        return self.weight_bytes[fmt] / self.timings[fmt].median / 1e9


def matmul_model(size: int, path: Path, seed: int = 0) -> Path:
    """A one-node ONNX model ``Y = X @ W`` with a random ``size x size`` float32 weight (what a linear layer
    without bias does to ``X``, one row per token)."""
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
    return path


def quantize_int4(source: str | Path, target: str | Path, block_size: int = INT4_BLOCK) -> Path:
    """Weight-only 4-bit quantisation in ONNX Runtime: every ``MatMul`` with a constant weight becomes the contrib
    operator ``MatMulNBits`` (com.microsoft), whose weights are stored in blocks of ``block_size`` 4-bit values with
    one scale per block (``onnxruntime.quantization.matmul_nbits_quantizer``). ``quantize_dynamic`` has no 4-bit
    type: it writes int8 only.

    ``accuracy_level=4`` lets the CPU kernel quantise the activation vector to int8 and use integer dot products.
    """
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quantizer = MatMulNBitsQuantizer(
        onnx.load(str(source)), bits=4, block_size=block_size, is_symmetric=True, accuracy_level=4
    )
    quantizer.process()
    quantizer.model.save_model_to_file(str(target))
    return Path(target)


def weight_bytes(path: str | Path) -> int:
    """Bytes of the constant tensors (the weights, their scales and zero points) of an ONNX file."""
    import onnx
    from onnx import numpy_helper

    return sum(numpy_helper.to_array(t).nbytes for t in onnx.load(str(path)).graph.initializer)


def _sweep_files(size: int, quantize_int8: Quantizer) -> dict[str, Path]:
    """The cached fp32, int8 and int4 files of one matrix size (the int8 file written by ``quantize_int8``)."""
    from course.cache import cached_folder
    from course.lessons.edge.export import function_key, quiet

    def build(folder: Path) -> None:
        fp32 = matmul_model(size, folder / "fp32.onnx")
        with quiet():
            quantize_int8(fp32, folder / "int8.onnx")
            quantize_int4(fp32, folder / "int4.onnx")

    folder = cached_folder(f"edge-sweep-v1-{size}-{function_key(quantize_int8)}", build)
    return {fmt: folder / f"{fmt}.onnx" for fmt in SWEEP_FORMATS}


def decode_sweep(sizes: Sequence[int], quantize_int8: Quantizer, repeats: int = 20) -> list[SweepPoint]:
    """Time one vector times a ``size x size`` weight in ONNX Runtime, in fp32, int8 and int4, for each size.

    One token, one thread (the same work on the same core); the formats take turns call by call
    (:func:`course.timing.measure_interleaved`), so a burst of other work slows them all alike.
    """
    from tqdm.auto import tqdm

    from course.languages import say
    from course.lessons.edge.runtimes import load_session

    if not sizes or min(sizes) < INT4_BLOCK or any(size % INT4_BLOCK for size in sizes):
        raise ValueError(f"sizes needs at least one matrix size, each a multiple of {INT4_BLOCK}.")
    rng = np.random.default_rng(1)
    points = []
    for size in tqdm(sizes, desc=say("edge.progress_sizes")):
        files = _sweep_files(size, quantize_int8)
        feed = {"X": rng.standard_normal((1, size)).astype(np.float32)}
        runs = [partial(load_session(files[fmt], threads=1).run, None, feed) for fmt in SWEEP_FORMATS]
        timings = measure_interleaved(runs, repeats=repeats, warmup=3)
        points.append(
            SweepPoint(
                size,
                dict(zip(SWEEP_FORMATS, timings, strict=True)),
                {fmt: weight_bytes(files[fmt]) for fmt in SWEEP_FORMATS},
            )
        )
    return points
