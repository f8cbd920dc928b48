"""Lesson 06 §2 (Export to ONNX) and §4 (Quantise to int8): a causal LM saved as PyTorch, ONNX fp32 and
ONNX int8, side by side in one cached folder.

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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from course.cache import cached_folder

if TYPE_CHECKING:
    import torch


INPUT_NAME = "input_ids"
OUTPUT_NAME = "logits"
PYTORCH_DIR = "pytorch"
ONNX_FP32 = "model.fp32.onnx"
ONNX_INT8 = "model.int8.onnx"
# Config entries that saving a model fills in, which do not change what it computes.
_VOLATILE_CONFIG_KEYS = {"architectures", "dtype", "torch_dtype", "transformers_version", "_name_or_path"}


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
def no_hf_progress_bars() -> Iterator[None]:
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
        with no_hf_progress_bars():
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
