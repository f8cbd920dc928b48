"""Lesson 07 §7: the shipped model answers as the original in every runtime, and the local assistant refuses bad
input with a message that says what to do."""

import pytest

from course.lessons.capstone import pipelines, shipping
from course.lessons.edge import llamacpp
from course.lessons.prompting import helpdesk, model, prompts
from course.references.capstone import score_answer
from course.references.edge import export_onnx, ort_greedy, quantize_int8


@pytest.fixture(scope="module")
def shipped_tiny(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("COURSE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    tokenizer = model.build_tokenizer()
    tiny = model.build_model(tokenizer)
    return tiny, tokenizer, shipping.ship(tiny, tokenizer, export_onnx, quantize_int8)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_every_runtime_answers_as_pytorch(shipped_tiny):
    tiny, tokenizer, shipped = shipped_tiny
    assert shipped.gguf_q8_0.is_file() and shipped.onnx_int8.stat().st_size < shipped.onnx_fp32.stat().st_size
    runtimes = shipping.decoders(shipped, ort_greedy, tokenizer.eos_token_id)
    assert set(runtimes) >= {"PyTorch fp32", "ONNX Runtime fp32", "ONNX Runtime int8"}
    assert ("llama.cpp Q8_0" in runtimes) == llamacpp.available()
    requests = helpdesk.held_out_requests(helpdesk.quill())[:6]
    prompted = [prompts.zero_shot(r) for r in requests]
    ids = tokenizer(prompts.render(prompted[0]), add_special_tokens=False)["input_ids"]
    reference = runtimes["PyTorch fp32"][0](list(ids), 4)
    assert runtimes["ONNX Runtime fp32"][0](list(ids), 4) == reference
    if "llama.cpp Q8_0" in runtimes:
        assert len(runtimes["llama.cpp Q8_0"][0](list(ids), 4)) <= 4
    results = shipping.measure_runtimes(runtimes, tokenizer, prompted, score_answer)
    assert [r.runtime for r in results] == list(runtimes)
    assert all(0 <= r.exact <= 1 and r.tokens_per_second > 0 and r.size_bytes > 0 for r in results)
    assert "| ONNX Runtime int8 |" in shipping.markdown_table(results)


def test_merged_turns_lora_into_a_plain_model(monkeypatch):
    monkeypatch.setitem(pipelines.FINE_TUNING, "steps", 2)
    tokenizer = model.build_tokenizer()
    tuned = pipelines.fine_tune(model.build_model(tokenizer), tokenizer, pipelines.qa_pairs(helpdesk.quill())[:4])
    plain = shipping.merged(tuned.model)
    assert type(plain).__name__ == "LlamaForCausalLM"
    assert shipping.merged(plain) is plain


def test_the_assistant_says_what_to_do_with_bad_input(shipped_tiny):
    tiny, tokenizer, shipped = shipped_tiny
    decode = shipping.decoders(shipped, ort_greedy, tokenizer.eos_token_id)["ONNX Runtime int8"][0]
    quill = helpdesk.quill()
    assistant = shipping.Assistant(tokenizer, decode, lambda r, notes: prompts.zero_shot(r), quill.documents())
    assert isinstance(assistant.reply("Problem with my invoice.", "route"), str)
    with pytest.raises(ValueError, match="'route'"):
        assistant.reply("Problem with my invoice.", "ticket")
    with pytest.raises(ValueError, match="Type a ticket"):
        assistant.reply("   ", "answer")
