"""Lesson 06 §2 (Export to ONNX) and §4 (Quantise to int8): a causal LM saved as PyTorch, ONNX fp32 and
ONNX int8, side by side in one cached folder. The export and quantisation calls themselves are the student's
(exercises 1 and 3; the references are in ``course.references.edge``): ``export_all`` takes them as arguments.

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from course.cache import cached_folder

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel


INPUT_NAME = "input_ids"
OUTPUT_NAME = "logits"
PYTORCH_DIR = "pytorch"
ONNX_FP32 = "model.fp32.onnx"
ONNX_INT8 = "model.int8.onnx"
# Config entries that saving a model fills in, which do not change what it computes.
_VOLATILE_CONFIG_KEYS = {"architectures", "dtype", "torch_dtype", "transformers_version", "_name_or_path"}


@contextlib.contextmanager
def quiet() -> Iterator[None]:
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


def logits_only(model: torch.nn.Module) -> torch.nn.Module:
    """Wrap a causal LM so that its forward takes ``input_ids`` and returns only the logits: the one-input,
    one-output module that the exporter traces (exercise 1's ``export_onnx`` exports it)."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, use_cache=False).logits

    return LogitsOnly(model.to("cpu")).eval()


def strip_debug_info(path: str | Path) -> Path:
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
    return Path(path)


def op_types(path: str | Path) -> Counter[str]:
    """How many nodes of each operator type an ONNX file holds."""
    import onnx

    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def fingerprint(model: PreTrainedModel) -> str:
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


def function_key(fn: Callable) -> str:
    """A short hash of a function's compiled code: a cached file made by ``fn`` is made again when ``fn`` changes
    (a student's corrected exercise), not when the notebook is merely run again. A wrapper made with
    ``functools.wraps`` (``course.fallback.yours_or_reference``) is keyed by the function it wraps."""
    import inspect

    fn = inspect.unwrap(fn)
    code = fn.__code__
    digest = hashlib.sha256(code.co_code)
    digest.update(repr((code.co_consts, code.co_names, fn.__defaults__)).encode())
    return digest.hexdigest()[:12]


def export_fp32(model: PreTrainedModel, export_onnx: Callable[[torch.nn.Module, Path], object]) -> Path:
    """The fp32 ONNX file of ``model`` written by ``export_onnx(model, path)``, without the exporter's debug notes,
    cached by the model's fingerprint and the function's code.

    In the lesson ``export_onnx`` is the student's (exercise 1); elsewhere pass ``course.references.edge``'s.
    """

    def build(folder: Path) -> None:
        with quiet():
            export_onnx(model, folder / ONNX_FP32)
        if not (folder / ONNX_FP32).is_file():
            raise FileNotFoundError(f"export_onnx did not write {folder / ONNX_FP32}; save the model there.")
        strip_debug_info(folder / ONNX_FP32)

    return cached_folder(f"edge-onnx-v3-{fingerprint(model)}-{function_key(export_onnx)}", build) / ONNX_FP32


def export_all(
    model: PreTrainedModel,
    tokenizer,
    export_onnx: Callable[[torch.nn.Module, Path], object],
    quantize_int8: Callable[[Path, Path], object],
) -> EdgeFiles:
    """Save ``model`` as PyTorch (safetensors), ONNX fp32 (:func:`export_fp32`) and ONNX int8 (written by
    ``quantize_int8(fp32_path, int8_path)``) in one folder, cached by the model's fingerprint and the two functions'
    code. In the lesson the two functions are the student's (exercises 1 and 3); elsewhere, pass the references in
    ``course.references.edge``.
    """
    import shutil

    fp32 = export_fp32(model, export_onnx)

    def build(folder: Path) -> None:
        with no_hf_progress_bars():
            model.save_pretrained(folder / PYTORCH_DIR)
        if tokenizer is not None:
            tokenizer.save_pretrained(folder / PYTORCH_DIR)
        shutil.copyfile(fp32, folder / ONNX_FP32)
        with quiet():
            quantize_int8(folder / ONNX_FP32, folder / ONNX_INT8)
        if not (folder / ONNX_INT8).is_file():
            raise FileNotFoundError(f"quantize_int8 did not write {folder / ONNX_INT8}.")

    key = f"{fingerprint(model)}-{function_key(export_onnx)}-{function_key(quantize_int8)}"
    return EdgeFiles(cached_folder(f"edge-export-v3-{key}", build))


def size_bytes(path: str | Path) -> int:
    """Bytes on disk of a file, or of every file under a folder."""
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; export the model first with export_all(model).")
    return path.stat().st_size
