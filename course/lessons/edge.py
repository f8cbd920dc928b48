"""Edge deployment: export a causal LM to ONNX, run it in ONNX Runtime, quantise it to int8, compare.

The exported graph maps ``input_ids`` (batch, sequence) to ``logits`` (batch, sequence, vocabulary)
with no KV cache: every generation step re-reads the whole sequence. That is slower than a cached
decoder for long outputs, but it is one small, honest graph, and PyTorch is run the same way in the
comparison so that all three runtimes do exactly the same work.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from course.cache import cached_folder
from course.runtime import single_thread
from course.timing import Timing, measure_interleaved

if TYPE_CHECKING:
    import onnxruntime
    import torch
    from matplotlib.figure import Figure

INPUT_NAME = "input_ids"
OUTPUT_NAME = "logits"
PYTORCH_DIR = "pytorch"
ONNX_FP32 = "model.fp32.onnx"
ONNX_INT8 = "model.int8.onnx"
BACKENDS = ("PyTorch fp32", "ORT fp32", "ORT int8")
# Config entries that saving a model fills in, which do not change what it computes.
_VOLATILE_CONFIG_KEYS = {"architectures", "dtype", "torch_dtype", "transformers_version", "_name_or_path"}

LogitsFn = Callable[[np.ndarray], np.ndarray]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Hide the exporter's and quantiser's log chatter (missing torchvision ops, pre-processing hints)."""
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.ERROR)
    torch_onnx = logging.getLogger("torch.onnx")
    previous_torch = torch_onnx.level
    torch_onnx.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(previous)
        torch_onnx.setLevel(previous_torch)


@contextlib.contextmanager
def _no_hf_progress_bars() -> Iterator[None]:
    """Silence transformers' own progress bars (loading and saving weights) for a moment."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def _logits_only(model: torch.nn.Module) -> torch.nn.Module:
    """Wrap a causal LM so that its forward takes ``input_ids`` and returns only the logits."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, use_cache=False).logits

    return LogitsOnly(model).eval()


def export_onnx(model: torch.nn.Module, path: str | Path, example_length: int = 8) -> Path:
    """Export ``model`` (a Hugging Face causal LM) to ``path`` with ``torch.onnx.export(..., dynamo=True)``.

    Batch and sequence length stay dynamic, so one file serves every prompt length. The model is
    moved to the CPU (in place) first: the exported file is meant for CPU runtimes.
    """
    import torch

    if example_length < 2:
        raise ValueError("example_length must be at least 2 so that the sequence axis stays dynamic")
    model = model.to("cpu").eval()
    vocab = model.config.vocab_size
    max_positions = getattr(model.config, "max_position_embeddings", 4096)
    example = torch.randint(0, vocab, (2, example_length), generator=torch.Generator().manual_seed(0))
    dims = {
        0: torch.export.Dim("batch", min=1, max=1024),
        1: torch.export.Dim("sequence", min=2, max=max_positions),
    }
    path = Path(path)
    with _quiet(), torch.no_grad():
        program = torch.onnx.export(
            _logits_only(model),
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes={INPUT_NAME: dims},
            verbose=False,
        )
        program.save(str(path))
    _strip_debug_info(path)
    return path


def _strip_debug_info(path: Path) -> None:
    """Drop the exporter's per-node debug notes (Python stack traces, FX names): they double a tiny file."""
    import onnx

    model = onnx.load(str(path))

    def strip(graph) -> None:
        for node in graph.node:
            node.ClearField("metadata_props")
            node.ClearField("doc_string")
            for attribute in node.attribute:
                if attribute.HasField("g"):
                    strip(attribute.g)

    strip(model.graph)
    onnx.save(model, str(path))


def op_types(path: str | Path) -> Counter[str]:
    """How many nodes of each operator type an ONNX file holds."""
    import onnx

    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def quantize_int8(source: str | Path, target: str | Path) -> Path:
    """Quantise the weights of an ONNX model to int8 with ONNX Runtime's dynamic quantisation.

    Weights are stored as int8 with a scale; activations are quantised on the fly at run time,
    so no calibration data is needed.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet():
        quantize_dynamic(Path(source), Path(target), weight_type=QuantType.QInt8)
    return Path(target)


def fingerprint(model: torch.nn.Module) -> str:
    """A short hash of the model's config and weights, used to name its cached exports."""
    config = {k: v for k, v in model.config.to_dict().items() if k not in _VOLATILE_CONFIG_KEYS}
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu").contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class EdgeFiles:
    """The three deployable forms of one model, side by side in one cached folder."""

    folder: Path

    @property
    def pytorch(self) -> Path:
        return self.folder / PYTORCH_DIR

    @property
    def onnx_fp32(self) -> Path:
        return self.folder / ONNX_FP32

    @property
    def onnx_int8(self) -> Path:
        return self.folder / ONNX_INT8


def export_all(model: torch.nn.Module, tokenizer=None) -> EdgeFiles:
    """Save ``model`` as PyTorch (safetensors), ONNX fp32 and ONNX int8, cached by its fingerprint."""

    def build(folder: Path) -> None:
        with _no_hf_progress_bars():
            model.save_pretrained(folder / PYTORCH_DIR)
        if tokenizer is not None:
            tokenizer.save_pretrained(folder / PYTORCH_DIR)
        export_onnx(model, folder / ONNX_FP32)
        quantize_int8(folder / ONNX_FP32, folder / ONNX_INT8)

    return EdgeFiles(cached_folder(f"edge-export-v2-{fingerprint(model)}", build))


def size_bytes(path: str | Path) -> int:
    """Bytes on disk of a file, or of every file under a folder."""
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; export the model first with export_all(model).")
    return path.stat().st_size


def load_session(path: str | Path, threads: int | None = None) -> onnxruntime.InferenceSession:
    """An ONNX Runtime CPU session; ``threads`` defaults to PyTorch's thread count for a fair comparison."""
    import onnxruntime as ort
    import torch

    if not Path(path).is_file():
        raise FileNotFoundError(f"{path} does not exist; export the model first with export_all(model).")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def load_pytorch(folder: str | Path) -> torch.nn.Module:
    """The saved PyTorch model, on CPU, in eval mode."""
    from transformers import AutoModelForCausalLM

    with _no_hf_progress_bars():  # a bar per load would drown the benchmark's own progress bar
        return AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True).to("cpu").eval()


def torch_logits(model: torch.nn.Module) -> LogitsFn:
    """``ids -> logits`` for a PyTorch causal LM run on CPU without KV cache, like the ONNX graph."""
    import torch

    def run(ids: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(input_ids=torch.from_numpy(ids), use_cache=False).logits.float().numpy()

    return run


def ort_logits(session: onnxruntime.InferenceSession) -> LogitsFn:
    """``ids -> logits`` for an exported model in an ONNX Runtime session."""

    def run(ids: np.ndarray) -> np.ndarray:
        return session.run([OUTPUT_NAME], {INPUT_NAME: ids})[0]

    return run


def _as_ids(prompt_ids: Sequence[int]) -> list[int]:
    ids = [int(i) for i in prompt_ids]
    if not ids:
        raise ValueError("prompt_ids is empty; encode a prompt first (at least one token).")
    return ids


def greedy_generate(
    logits_fn: LogitsFn, prompt_ids: Sequence[int], max_new_tokens: int, eos_id: int | None = None
) -> list[int]:
    """Greedy decoding: append the most likely next token until ``eos_id`` or ``max_new_tokens``.

    Returns only the new tokens (without the EOS token).
    """
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be 0 or more, not {max_new_tokens}")
    ids = _as_ids(prompt_ids)
    new: list[int] = []
    for _ in range(max_new_tokens):
        logits = logits_fn(np.asarray([ids], dtype=np.int64))
        token = int(np.argmax(logits[0, -1]))
        if token == eos_id:
            break
        ids.append(token)
        new.append(token)
    return new


def max_logit_difference(reference: LogitsFn, other: LogitsFn, prompts: Sequence[Sequence[int]]) -> float:
    """The largest absolute difference between two runtimes' logits over every position of ``prompts``."""
    if not prompts:
        raise ValueError("prompts is empty; pass at least one list of token ids.")
    worst = 0.0
    for prompt in prompts:
        ids = np.asarray([_as_ids(prompt)], dtype=np.int64)
        worst = max(worst, float(np.max(np.abs(reference(ids) - other(ids)))))
    return worst


def task_exact_match(
    logits_fn: LogitsFn, tokenizer, examples: Sequence[tuple[str, str]], max_new_tokens: int = 8
) -> float:
    """Share of ``(prompt, answer)`` examples whose greedy answer, word for word, equals ``answer``."""
    if not examples:
        raise ValueError("examples is empty; pass (prompt, answer) pairs such as task_examples('test').")
    correct = 0
    for prompt, answer in examples:
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        new = greedy_generate(logits_fn, ids, max_new_tokens, tokenizer.eos_token_id)
        correct += tokenizer.decode(new, skip_special_tokens=True).split() == answer.split()
    return correct / len(examples)


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
    ``score(logits_fn)`` returns the task's exact-match for a runtime.
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
    latency_ids = np.asarray([_as_ids(prompts[0])], dtype=np.int64)
    # One thread for every runtime: the same work on the same core, and no time lost handing tiny matrix
    # products between threads (on a busy 2-core machine that can make PyTorch a hundred times slower).
    # The runtimes take turns call by call, so a burst of other work slows them all alike.
    with single_thread(), tqdm(total=3 + len(BACKENDS), desc="benchmark") as bar:
        loads = measure_interleaved(loaders, repeats=3, warmup=1)
        runs = [wrap(load()) for wrap, load in zip(wraps, loaders, strict=True)]
        bar.update()
        latencies = measure_interleaved([partial(run, latency_ids) for run in runs], repeats=repeats, warmup=3)
        bar.update()
        generate = [partial(greedy_generate, run, prompts[0], new_tokens) for run in runs]
        generations = measure_interleaved(generate, repeats=repeats, warmup=2)
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


def choose_runtime(results: Sequence[EdgeResult], max_exact_match_drop: float = 0.0) -> EdgeResult:
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


def format_table(results: Sequence[EdgeResult]) -> str:
    """The measurements as a fixed-width text table."""
    header = (
        f"{'runtime':<14}{'size MB':>9}{'load ms':>9}{'latency ms':>12}{'IQR ms':>8}"
        f"{'tokens/s':>10}{'max |dlogit|':>14}{'exact match':>13}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.name:<14}{r.size_bytes / 1e6:>9.2f}{r.load.median * 1e3:>9.1f}"
            f"{r.latency.median * 1e3:>12.2f}{r.latency.spread * 1e3:>8.2f}"
            f"{r.tokens_per_second:>10.1f}{r.max_logit_diff:>14.2e}{r.exact_match:>13.1%}"
        )
    return "\n".join(lines)


def _quartile_bars(timings: Sequence[Timing], scale: float) -> list[list[float]]:
    """Error bars from the first to the third quartile around each median (matplotlib's 2 x N form)."""
    low, high = [], []
    for t in timings:
        q1, q3 = t.quartiles
        low.append((t.median - q1) * scale)
        high.append((q3 - t.median) * scale)
    return [low, high]


def plot_results(results: Sequence[EdgeResult]) -> Figure:
    """Bar charts of size, load time, warm latency, tokens/s and exact-match per runtime.

    Times carry bars from the first to the third quartile.
    """
    import matplotlib.pyplot as plt

    names = [r.name for r in results]
    ms = 1e3
    colours = ["#4c72b0", "#dd8452", "#55a868", "#c44e52"][: len(results)]
    panels = [
        ("file size (MB)", [r.size_bytes / 1e6 for r in results], None),
        ("load time (ms)", [r.load.median * ms for r in results], _quartile_bars([r.load for r in results], ms)),
        ("latency (ms)", [r.latency.median * ms for r in results], _quartile_bars([r.latency for r in results], ms)),
        ("generation (tokens/s)", [r.tokens_per_second for r in results], None),
        ("task exact-match (%)", [r.exact_match * 100 for r in results], None),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.1 * len(panels), 3.2))
    for ax, (title, values, errors) in zip(axes, panels, strict=True):
        ax.bar(names, values, yerr=errors, color=colours, capsize=4)
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        for x, value in enumerate(values):
            label = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
            ax.annotate(label, (x, 0), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                        fontsize=8, color="white", fontweight="bold")
    axes[-1].set_ylim(0, 110)
    fig.suptitle("Same model, three runtimes (lower is better for size and time, higher for tokens/s)")
    fig.tight_layout()
    return fig


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


def plot_sweep(points: Sequence[SweepPoint]) -> Figure:
    """int8-over-fp32 speed-up of one matrix multiplication against the weight size."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot([p.size for p in points], [p.speedup for p in points], marker="o")
    ax.axhline(1.0, color="grey", linestyle="--", label="same speed")
    ax.set_xscale("log", base=2)
    ax.set_xticks([p.size for p in points], labels=[str(p.size) for p in points])
    ax.set_xlabel("weight matrix size n (n x n)")
    ax.set_ylabel("fp32 time / int8 time")
    ax.set_title("When does int8 pay off? One MatMul in ONNX Runtime")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
