"""Lesson 06 §5-6: the GGUF files run in llama.cpp (llama-cpp-python) as the PyTorch model does: same token ids from
the stored tokenizer, same logits within rounding, same greedy answers; the benchmark rows."""

from __future__ import annotations

import numpy as np
import pytest

from course.lessons.edge import gguf, llamacpp
from course.text.vocab import build_word_tokenizer

PROMPTS = ["### Instruction : repeat the words . ### Input : apple bird ### Response :", "cat , apple : bird ?"]


@pytest.fixture(scope="module")
def phi3_files(tmp_path_factory):
    import torch
    from transformers import Phi3Config, Phi3ForCausalLM

    tokenizer = build_word_tokenizer(PROMPTS)
    torch.manual_seed(0)
    config = Phi3Config(
        vocab_size=len(tokenizer) + 5,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=64,
        original_max_position_embeddings=64,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = Phi3ForCausalLM(config).eval()
    folder = tmp_path_factory.mktemp("gguf")
    paths = {p: gguf.write_gguf(model, tokenizer, folder / f"m.{p}.gguf", p) for p in gguf.PRECISIONS}
    return model, tokenizer, paths


def test_missing_files_say_what_to_do(tmp_path):
    pytest.importorskip("llama_cpp")
    with pytest.raises(FileNotFoundError, match="write_gguf"):
        llamacpp.load_llama(tmp_path / "absent.gguf")


def test_llama_cpp_tokenises_and_computes_as_pytorch(phi3_files):
    pytest.importorskip("llama_cpp")
    import torch

    model, tokenizer, paths = phi3_files
    llm = llamacpp.load_llama(paths["f32"])
    for prompt in PROMPTS:
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        assert llamacpp.tokenize(llm, prompt) == ids, prompt
        with torch.no_grad():
            expected = model(input_ids=torch.tensor([ids])).logits[0, -1].numpy()
        assert np.abs(llamacpp.last_logits(llm, ids) - expected).max() < 1e-3
        with torch.no_grad():
            reference = model.generate(torch.tensor([ids]), max_new_tokens=5, do_sample=False, pad_token_id=0)
        assert llamacpp.greedy(llm, ids, 5) == reference[0, len(ids) :].tolist()


def test_benchmark_gguf_measures_every_file(phi3_files):
    pytest.importorskip("llama_cpp")
    import torch

    model, tokenizer, paths = phi3_files
    prompts = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in PROMPTS]

    def reference(ids):
        with torch.no_grad():
            return model(input_ids=torch.from_numpy(ids)).logits.numpy()

    examples = [(PROMPTS[0], "apple bird")]
    files = {f"llama.cpp {p}": path for p, path in paths.items()}
    results = llamacpp.benchmark_gguf(files, prompts, examples, reference, tokenizer.eos_token_id, 4, repeats=3)
    assert [r.name for r in results] == list(files)
    assert results[0].max_logit_diff < 1e-3 < results[2].max_logit_diff  # f32 exact, Q4_0 rounded
    assert results[0].size_bytes > results[1].size_bytes > results[2].size_bytes
    assert all(r.tokens_per_second > 0 and 0 <= r.exact_match <= 1 for r in results)
    with pytest.raises(ValueError, match="prompts"):
        llamacpp.benchmark_gguf(files, [], examples, reference, None)
