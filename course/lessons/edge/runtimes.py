"""Lesson 06 §3 (Run it in ONNX Runtime) and §6: load each exported form, run it as ``ids -> logits``,
generate greedily with any of them and score the task's exact match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from course.lessons.edge.export import INPUT_NAME, OUTPUT_NAME, no_hf_progress_bars

if TYPE_CHECKING:
    import onnxruntime
    import torch


LogitsFn = Callable[[np.ndarray], np.ndarray]


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

    with no_hf_progress_bars():  # a bar per load would drown the benchmark's own progress bar
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


def as_ids(prompt_ids: Sequence[int]) -> list[int]:
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
    ids = as_ids(prompt_ids)
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
        ids = np.asarray([as_ids(prompt)], dtype=np.int64)
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
