"""Lesson 06 §6 (llama.cpp, the engine under Ollama): run the GGUF files in llama.cpp through its Python binding
``llama-cpp-python``, check that its tokenizer and the file's prompt template reproduce training, and measure each
file beside the other runtimes (size, load time, latency, tokens/s, logits against PyTorch, exact match).

llama.cpp keeps a KV cache: each new token is one forward step over one position, where the exported ONNX graph and
the PyTorch loop re-read the whole sequence. For answers of a few tokens after a short prompt the difference is small,
and the lesson says so next to the table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from course.languages import say
from course.lessons.edge.benchmark import EdgeResult
from course.lessons.edge.export import size_bytes
from course.timing import measure_interleaved

if TYPE_CHECKING:
    import llama_cpp

INSTALL_HINT = (
    "llama-cpp-python is not installed: `pip install -e '.[edge]'` builds it from source (a few minutes; "
    "README.md gives the build options that keep it small)."
)


def install_hint() -> str:
    """:data:`INSTALL_HINT` in the reader's language."""
    return say("edge.install_llamacpp")


def available() -> bool:
    """Whether the ``llama_cpp`` binding can be imported."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


def load_llama(path: str | Path, threads: int = 1) -> llama_cpp.Llama:
    """A llama.cpp model from a GGUF file, on ``threads`` CPU threads, with its full context.

    ``logits_all`` keeps the logits of every position in ``Llama.scores`` (the binding keeps none otherwise, as its
    sampler runs inside llama.cpp); the ONNX graph computes them for every position too."""
    try:
        from llama_cpp import Llama
    except ImportError as error:
        raise ImportError(install_hint()) from error
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path} does not exist; write it first with gguf.write_gguf(...).")
    return Llama(str(path), n_ctx=0, n_threads=threads, n_threads_batch=threads, logits_all=True, verbose=False)


def tokenize(llm: llama_cpp.Llama, text: str) -> list[int]:
    """llama.cpp's own token ids for ``text``, without BOS/EOS, special tokens read as text."""
    return llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)


def last_logits(llm: llama_cpp.Llama, ids: Sequence[int]) -> np.ndarray:
    """The logits llama.cpp computes for the token after ``ids`` (a fresh KV cache)."""
    llm.reset()
    llm.eval(list(ids))
    return np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)


def greedy(llm: llama_cpp.Llama, ids: Sequence[int], max_new_tokens: int, eos_id: int | None = None) -> list[int]:
    """Greedy decoding in llama.cpp with its KV cache: the prompt once, then one position per new token."""
    new: list[int] = []
    logits = last_logits(llm, ids)
    for _ in range(max_new_tokens):
        token = int(np.argmax(logits))
        if token == eos_id:
            break
        new.append(token)
        llm.eval([token])
        logits = llm.scores[llm.n_tokens - 1]
    return new


def answer(llm: llama_cpp.Llama, prompt: str, eos_id: int | None, max_new_tokens: int = 8) -> str:
    """llama.cpp's greedy answer to ``prompt``, tokenised and detokenised by llama.cpp itself."""
    new = greedy(llm, tokenize(llm, prompt), max_new_tokens, eos_id)
    return llm.detokenize(new).decode("utf-8", errors="replace").strip()


def benchmark_gguf(
    files: dict[str, Path],
    prompts: Sequence[Sequence[int]],
    examples: Sequence[tuple[str, str]],
    reference_logits: Callable[[np.ndarray], np.ndarray],
    eos_id: int | None,
    new_tokens: int = 8,
    repeats: int = 20,
) -> list[EdgeResult]:
    """Measure each GGUF file (``label -> path``) in llama.cpp, one thread, as :func:`benchmark.benchmark` measures
    the other runtimes: file size, load time, one forward pass over ``prompts[0]``, tokens/s of ``new_tokens``
    greedy tokens, the largest difference of the last position's logits from ``reference_logits`` (PyTorch) over
    ``prompts``, and exact match on ``examples`` with llama.cpp's own tokenizer."""
    from tqdm.auto import tqdm

    if not prompts:
        raise ValueError("prompts is empty; pass at least one list of token ids.")
    labels = list(files)
    with tqdm(total=3 + len(labels), desc="llama.cpp") as bar:
        loads = measure_interleaved([partial(load_llama, files[label]) for label in labels], repeats=3, warmup=1)
        models = [load_llama(files[label]) for label in labels]
        bar.update()
        first = list(prompts[0])
        latencies = measure_interleaved([partial(last_logits, llm, first) for llm in models], repeats, warmup=3)
        bar.update()
        steps = [partial(greedy, llm, first, new_tokens) for llm in models]  # no EOS: always new_tokens tokens
        generations = measure_interleaved(steps, repeats=repeats, warmup=2)
        bar.update()
        results = []
        for index, label in enumerate(labels):
            llm = models[index]
            worst = 0.0
            for prompt in prompts:
                expected = reference_logits(np.asarray([list(prompt)], dtype=np.int64))[0, -1]
                worst = max(worst, float(np.max(np.abs(last_logits(llm, prompt) - expected))))
            right = sum(answer(llm, p, eos_id).split() == a.split() for p, a in examples)
            results.append(
                EdgeResult(
                    name=label,
                    size_bytes=size_bytes(files[label]),
                    load=loads[index],
                    latency=latencies[index],
                    tokens_per_second=new_tokens / generations[index].median,
                    max_logit_diff=worst,
                    exact_match=right / len(examples),
                )
            )
            bar.update()
    return results
