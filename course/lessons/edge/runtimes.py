"""Lesson 06 §3 (Run it in ONNX Runtime) and §6: load each exported form, run it as ``ids -> logits``, wrap it
as a session for the student's greedy loop (exercise 2) and score the task's exact match with that loop.
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
        model = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True)
        # transformers wraps PreTrainedModel.to with functools.wraps, which mypy does not bind as a method
        return model.to("cpu").eval()  # type: ignore[arg-type]


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


class LogitsSession:
    """Any ``ids -> logits`` function (PyTorch, ONNX Runtime) as an object with the ``run(output_names, feed)`` of
    an ONNX Runtime session, so that one greedy loop written for a session (lesson 06's exercise 2, the
    student's ``ort_greedy``) drives every runtime."""

    def __init__(self, logits_fn: LogitsFn) -> None:
        self.logits_fn = logits_fn

    def run(self, output_names, feed: dict) -> list[np.ndarray]:
        return [self.logits_fn(feed[INPUT_NAME])]


# ``generate(session, prompt_ids, max_new_tokens, eos_id) -> new token ids``: the student's greedy loop
GenerateFn = Callable[[object, Sequence[int], int, "int | None"], list[int]]


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
    generate: GenerateFn,
    logits_fn: LogitsFn,
    tokenizer,
    examples: Sequence[tuple[str, str]],
    max_new_tokens: int = 8,
) -> float:
    """Share of ``(prompt, answer)`` examples whose greedy answer, word for word, equals ``answer``; the answers
    come from ``generate`` (the student's greedy loop) run over ``logits_fn`` as a session."""
    if not examples:
        raise ValueError("examples is empty; pass (prompt, answer) pairs such as task_examples('test').")
    correct = 0
    for prompt, answer in examples:
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        new = generate(LogitsSession(logits_fn), ids, max_new_tokens, tokenizer.eos_token_id)
        correct += tokenizer.decode(new, skip_special_tokens=True).split() == answer.split()
    return correct / len(examples)
