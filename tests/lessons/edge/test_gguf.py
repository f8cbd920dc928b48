"""GGUF writing and reading, the llama.cpp layout, the Modelfile and Ollama detection."""

from __future__ import annotations

import numpy as np
import pytest

from course.lessons.edge import gguf, ollama
from course.text.vocab import build_word_tokenizer


@pytest.fixture(scope="module")
def model_and_tokenizer():
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    tokenizer = build_word_tokenizer(["repeat the words : apple bird cat ."])
    torch.manual_seed(0)
    config = MistralConfig(
        vocab_size=len(tokenizer) + 3,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=128,
    )
    return MistralForCausalLM(config).eval(), tokenizer


def test_permutation_interleaves_the_two_rotary_halves_of_each_head():
    weights = np.arange(8 * 3, dtype=np.float32).reshape(8, 3)
    permuted = gguf._permute(weights, heads=2)
    # head 0 has rows 0-3, halves [0, 1] and [2, 3]: llama.cpp wants them as 0, 2, 1, 3
    assert np.array_equal(permuted[:, 0], weights[[0, 2, 1, 3, 4, 6, 5, 7], 0])


def test_llama_queries_and_keys_are_reordered_other_tensors_are_not(model_and_tokenizer):
    model, _ = model_and_tokenizer
    tensors = gguf.gguf_tensors(model)
    attention = model.model.layers[0].self_attn
    q = attention.q_proj.weight.detach().numpy()
    k = attention.k_proj.weight.detach().numpy()
    assert np.array_equal(tensors["blk.0.attn_q.weight"], gguf._permute(q, 4))
    assert np.array_equal(tensors["blk.0.attn_k.weight"], gguf._permute(k, 2))
    assert np.array_equal(tensors["blk.0.attn_v.weight"], attention.v_proj.weight.detach().numpy())


def test_f32_file_reads_back_exactly(model_and_tokenizer, tmp_path):
    model, tokenizer = model_and_tokenizer
    contents = gguf.read_gguf(gguf.write_gguf(model, tokenizer, tmp_path / "m.gguf", "f32"))
    errors = gguf.roundtrip_errors(model, contents)
    assert len(errors) == 2 * 9 + 3  # 9 tensors per block, plus embeddings, final norm and output
    assert max(errors.values()) == 0.0
    assert set(contents.types.values()) == {"F32"}


def test_metadata_describes_a_llama_model(model_and_tokenizer, tmp_path):
    model, tokenizer = model_and_tokenizer
    meta = gguf.read_gguf(gguf.write_gguf(model, tokenizer, tmp_path / "m.gguf", "f32")).metadata
    assert meta["general.architecture"] == "llama"
    assert meta["llama.block_count"] == 2
    assert meta["llama.attention.head_count"] == 4 and meta["llama.attention.head_count_kv"] == 2
    assert meta["llama.rope.dimension_count"] == 16
    tokens = meta["tokenizer.ggml.tokens"]
    assert len(tokens) == model.config.vocab_size
    assert tokens[tokenizer.eos_token_id] == "</s>"
    assert tokens[tokenizer.convert_tokens_to_ids("apple")] == "\u2581apple"
    assert tokens[-1].startswith("[PAD")
    assert meta["tokenizer.ggml.eos_token_id"] == tokenizer.eos_token_id


def test_q8_0_is_smaller_and_close(model_and_tokenizer, tmp_path):
    model, tokenizer = model_and_tokenizer
    f32 = gguf.write_gguf(model, tokenizer, tmp_path / "f32.gguf", "f32")
    q8 = gguf.write_gguf(model, tokenizer, tmp_path / "q8.gguf", "q8_0")
    assert f32.stat().st_size / q8.stat().st_size > 3
    contents = gguf.read_gguf(q8)
    assert contents.types["blk.0.ffn_down.weight"] == "Q8_0"
    assert contents.types["blk.0.attn_norm.weight"] == "F32"
    errors = gguf.roundtrip_errors(model, contents)
    largest_weight = max(float(np.abs(t).max()) for t in gguf.gguf_tensors(model).values())
    assert 0 < max(errors.values()) <= largest_weight / 127


def test_roundtrip_errors_catch_a_wrong_file(model_and_tokenizer, tmp_path):
    model, tokenizer = model_and_tokenizer
    contents = gguf.read_gguf(gguf.write_gguf(model, tokenizer, tmp_path / "m.gguf", "f32"))
    contents.tensors["blk.1.attn_v.weight"] = contents.tensors["blk.1.attn_v.weight"] + 1.0
    assert gguf.roundtrip_errors(model, contents)["blk.1.attn_v.weight"] == pytest.approx(1.0)
    del contents.tensors["output.weight"]
    with pytest.raises(ValueError, match="lacks"):
        gguf.roundtrip_errors(model, contents)


def test_bad_inputs_say_what_to_do(model_and_tokenizer, tmp_path):
    model, tokenizer = model_and_tokenizer
    with pytest.raises(ValueError, match="precision"):
        gguf.write_gguf(model, tokenizer, tmp_path / "m.gguf", "q2")
    with pytest.raises(FileNotFoundError, match="write_gguf"):
        gguf.read_gguf(tmp_path / "absent.gguf")


def test_parse_modelfile_reads_quotes_repeats_and_multiline_templates():
    text = 'from ./m.gguf\n# a comment\nTEMPLATE """Q: {{ .Prompt }}\nA:"""\nPARAMETER temperature 0\n'
    text += 'PARAMETER stop "</s>"\nPARAMETER stop ###\nSYSTEM "ignored"\n'
    parsed = ollama.parse_modelfile(text)
    assert parsed.source == "./m.gguf"
    assert parsed.template == "Q: {{ .Prompt }}\nA:"
    assert parsed.parameters == {"temperature": ["0"], "stop": ["</s>", "###"]}
    assert ollama.render_template(parsed.template, "red cat") == "Q: red cat\nA:"
    assert ollama.render_template("Q:{{.Prompt}}", "x") == "Q:x"
    with pytest.raises(ValueError, match="never closed"):
        ollama.parse_modelfile('TEMPLATE """Q: {{ .Prompt }}')
    with pytest.raises(ValueError, match="Prompt"):
        ollama.render_template("{{ .System }} {{ .Prompt }}", "x")
    with pytest.raises(ValueError, match="no TEMPLATE"):
        ollama.render_template(None, "x")
    assert ollama.jinja_template("Q: {{ .Prompt }} A:") == "Q: {{ messages[-1]['content'] }} A:"


def test_ollama_detection(monkeypatch):
    monkeypatch.setenv("PATH", "")
    assert ollama.find_ollama() is None
    with pytest.raises(FileNotFoundError, match="ollama.com"):
        ollama.ollama_create_and_generate(".", "m", "hello")


def test_phi3_is_written_with_fused_tensors_and_phi3_metadata(tmp_path):
    import torch
    from transformers import Phi3Config, Phi3ForCausalLM

    tokenizer = build_word_tokenizer(["name the colour : red cat"])
    torch.manual_seed(0)
    config = Phi3Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=64,
        tie_word_embeddings=True,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    model = Phi3ForCausalLM(config).eval()
    assert gguf.architecture(model) == "phi3"
    contents = gguf.read_gguf(gguf.write_gguf(model, tokenizer, tmp_path / "phi3.gguf", "f32"))
    assert contents.metadata["general.architecture"] == "phi3"
    assert contents.metadata["phi3.rope.dimension_count"] == 16
    qkv = contents.tensors["blk.1.attn_qkv.weight"]
    assert qkv.shape == (3 * 64, 64)
    assert np.array_equal(qkv, model.model.layers[1].self_attn.qkv_proj.weight.detach().numpy())
    assert contents.tensors["blk.0.ffn_up.weight"].shape == (2 * 64, 64)  # gate and up, fused
    assert np.array_equal(contents.tensors["output.weight"], contents.tensors["token_embd.weight"])  # tied
    assert max(gguf.roundtrip_errors(model, contents).values()) == 0.0


def test_unsupported_architectures_are_refused():
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=1, n_head=2, vocab_size=16, n_positions=16))
    with pytest.raises(ValueError, match="convert_hf_to_gguf"):
        gguf.gguf_tensors(model)


def test_gguf_weights_load_back_into_the_model(model_and_tokenizer, tmp_path):
    import copy

    import torch

    model, tokenizer = model_and_tokenizer
    ids = torch.tensor([[1, 4, 5, 6, 7]])
    with torch.no_grad():
        reference = model(input_ids=ids).logits
    for precision, tolerance in (("f32", 0.0), ("q8_0", 0.05), ("q4_0", 0.5)):
        contents = gguf.read_gguf(gguf.write_gguf(model, tokenizer, tmp_path / f"{precision}.gguf", precision))
        state = gguf.state_dict_from_gguf(model, contents)
        q = model.model.layers[0].self_attn.q_proj.weight
        assert torch.equal(state["model.layers.0.self_attn.q_proj.weight"], q) == (precision == "f32")
        clone = copy.deepcopy(model)
        clone.load_state_dict(state)
        with torch.no_grad():
            assert float((clone(input_ids=ids).logits - reference).abs().max()) <= tolerance
    del contents.tensors["blk.0.ffn_up.weight"]
    with pytest.raises(ValueError, match="lacks"):
        gguf.state_dict_from_gguf(model, contents)


def test_export_for_ollama_writes_every_precision_the_modelfile_and_the_template(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    text = 'FROM ./unit.q8_0.gguf\nTEMPLATE """Q: {{ .Prompt }} A:"""\n'
    folder = ollama.export_for_ollama(model, tokenizer, text, name="unit")
    expected = ["Modelfile", "unit.f32.gguf", "unit.q4_0.gguf", "unit.q8_0.gguf"]
    assert sorted(p.name for p in folder.iterdir()) == expected
    assert (folder / "Modelfile").read_text() == text
    metadata = gguf.read_gguf(folder / "unit.q4_0.gguf").metadata
    assert metadata["tokenizer.chat_template"] == "Q: {{ messages[-1]['content'] }} A:"
    assert metadata["tokenizer.ggml.model"] == "t5" and metadata["tokenizer.ggml.add_space_prefix"]
    assert ollama.export_for_ollama(model, tokenizer, text, name="unit") == folder
    assert ollama.export_for_ollama(model, tokenizer, text.replace("Q:", "Question:"), name="unit") != folder


def test_q4_0_files_store_4_bit_matrices_and_an_8_bit_head(model_and_tokenizer, tmp_path):
    model, tokenizer = model_and_tokenizer
    contents = gguf.read_gguf(gguf.write_gguf(model, tokenizer, tmp_path / "q4.gguf", "q4_0"))
    assert contents.types["blk.0.attn_q.weight"] == "Q4_0"
    assert contents.types["token_embd.weight"] == "Q8_0" and contents.types["blk.0.attn_norm.weight"] == "F32"
    errors = gguf.roundtrip_errors(model, contents)
    assert 0 < errors["blk.0.attn_q.weight"] < 0.05  # 4-bit rounding of weights of about 0.02
