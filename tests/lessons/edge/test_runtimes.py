"""Lesson 06 §3: the runtimes agree, greedy generation and exact match."""

from __future__ import annotations

import numpy as np
import pytest

from course.lessons.edge import export, runtimes
from course.references.edge import greedy_generate, ort_greedy


def _counting_model(vocab: int = 10):
    """Logits that always favour (last token + 1) mod vocab."""

    def run(ids: np.ndarray) -> np.ndarray:
        logits = np.zeros((*ids.shape, vocab), dtype=np.float32)
        for b in range(ids.shape[0]):
            for t in range(ids.shape[1]):
                logits[b, t, (ids[b, t] + 1) % vocab] = 1.0
        return logits

    return run


@pytest.mark.parametrize("shape", [(1, 3), (1, 17), (2, 9)])
def test_onnx_fp32_matches_pytorch_for_any_batch_and_length(tiny_model, files, shape):
    ids = np.random.default_rng(1).integers(0, 64, size=shape, dtype=np.int64)
    reference = runtimes.torch_logits(tiny_model)(ids)
    exported = runtimes.ort_logits(runtimes.load_session(files.onnx_fp32))(ids)
    assert exported.shape == (*shape, 64)
    assert np.max(np.abs(exported - reference)) < 1e-4


def test_int8_is_close_but_not_identical(tiny_model, files):
    prompts = [[1, 5, 9, 12], list(range(3, 30))]
    reference = runtimes.torch_logits(tiny_model)
    fp32 = runtimes.max_logit_difference(
        reference, runtimes.ort_logits(runtimes.load_session(files.onnx_fp32)), prompts
    )
    int8 = runtimes.max_logit_difference(
        reference, runtimes.ort_logits(runtimes.load_session(files.onnx_int8)), prompts
    )
    assert fp32 < 1e-4
    assert fp32 < int8 < 0.5


def test_greedy_generation_is_the_same_in_pytorch_and_onnx_runtime(tiny_model, files):
    prompt = [1, 7, 3, 22]
    torch_tokens = greedy_generate(runtimes.torch_logits(tiny_model), prompt, 10)
    ort_tokens = greedy_generate(runtimes.ort_logits(runtimes.load_session(files.onnx_fp32)), prompt, 10)
    assert len(torch_tokens) == 10
    assert ort_tokens == torch_tokens


def test_greedy_generate_follows_argmax_and_stops_at_eos():
    run = _counting_model()
    assert greedy_generate(run, [3], 4) == [4, 5, 6, 7]
    assert greedy_generate(run, [3], 10, eos_id=6) == [4, 5]
    assert greedy_generate(run, [3], 0) == []
    with pytest.raises(ValueError, match="empty"):
        greedy_generate(run, [], 3)
    with pytest.raises(ValueError, match="max_new_tokens"):
        greedy_generate(run, [1], -1)


def test_max_logit_difference_finds_the_largest_gap():
    base = _counting_model()

    def shifted(ids):
        out = base(ids)
        out[0, -1, 0] += 0.25
        return out

    assert runtimes.max_logit_difference(base, shifted, [[1, 2], [4]]) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        runtimes.max_logit_difference(base, shifted, [])


def test_missing_files_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="export_all"):
        runtimes.load_session(tmp_path / "absent.onnx")
    with pytest.raises(FileNotFoundError, match="export_all"):
        export.size_bytes(tmp_path / "absent.onnx")


def test_task_exact_match_compares_decoded_words():
    from course.text.vocab import build_word_tokenizer

    tokenizer = build_word_tokenizer(["a b c d"])  # ids: 4 special tokens, then a=4, b=5, c=6, d=7
    run = _counting_model(vocab=8)  # after d comes 0 (<pad>), 1 (<s>), then 2 (</s>) stops
    examples = [("a", "b c d"), ("b", "c d"), ("c", "d a")]
    assert runtimes.task_exact_match(ort_greedy, run, tokenizer, examples) == pytest.approx(2 / 3)
    assert runtimes.task_exact_match(ort_greedy, run, tokenizer, examples, max_new_tokens=1) == 0.0
    with pytest.raises(ValueError, match="task_examples"):
        runtimes.task_exact_match(ort_greedy, run, tokenizer, [])
