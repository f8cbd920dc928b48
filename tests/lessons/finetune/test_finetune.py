import pytest

from course.lessons import finetune
from course.models.configs import load_config
from course.text.vocab import build_word_tokenizer

EXAMPLES = [("say a b", "b a"), ("say c d", "d c"), ("say a c", "c a"), ("say b d", "d b")]


@pytest.fixture(scope="module")
def tokenizer():
    return build_word_tokenizer([p + " " + a for p, a in EXAMPLES])


def tiny_model(tokenizer, seed=0):
    from course.models.tiny import build_tiny

    return build_tiny("phi-3.5-mini", seed=seed, vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                      pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)


def test_encode_masks_the_prompt_and_ends_with_eos(tokenizer):
    (ids, labels), = finetune.encode(tokenizer, [("say a b", "b a")])
    assert len(ids) == len(labels) == 6  # say a b | b a </s>
    assert labels[:3] == [-100] * 3
    assert labels[3:] == ids[3:] and ids[-1] == tokenizer.eos_token_id


def test_collate_pads_on_the_right(tokenizer):
    encoded = finetune.encode(tokenizer, [("say a", "b"), ("say a b", "b a")])
    batch = finetune.collate(encoded, tokenizer.pad_token_id)
    assert batch["input_ids"].shape == (2, 6)
    assert batch["attention_mask"][0].tolist() == [1, 1, 1, 1, 0, 0]  # say a | b </s>
    assert batch["labels"][0, 4:].tolist() == [-100, -100]
    assert batch["input_ids"][0, 4:].tolist() == [tokenizer.pad_token_id] * 2


def test_training_lowers_the_loss_and_records_evaluations(tokenizer):
    model = tiny_model(tokenizer)
    before = finetune.mean_loss(model, tokenizer, EXAMPLES)
    log = finetune.train(model, tokenizer, EXAMPLES, steps=30, lr=1e-2, batch_size=4, eval_examples=EXAMPLES,
                         eval_every=10, measure={"loss": lambda m: finetune.mean_loss(m, tokenizer, EXAMPLES)},
                         progress=False)
    after = finetune.mean_loss(model, tokenizer, EXAMPLES)
    assert after < before / 2
    assert len(log.train_loss) == 30
    assert log.eval_steps == [0, 10, 20, 30]
    assert log.eval_loss[0] == pytest.approx(before, rel=1e-4)
    assert log.measurements["loss"][-1] == pytest.approx(after, rel=1e-4)


def test_training_refuses_a_frozen_model_and_bad_settings(tokenizer):
    model = tiny_model(tokenizer)
    with pytest.raises(ValueError, match="steps"):
        finetune.train(model, tokenizer, EXAMPLES, steps=0, lr=1e-3, progress=False)
    with pytest.raises(ValueError, match="example"):
        finetune.train(model, tokenizer, [], steps=1, lr=1e-3, progress=False)
    model.requires_grad_(False)
    with pytest.raises(ValueError, match="LoRA"):
        finetune.train(model, tokenizer, EXAMPLES, steps=1, lr=1e-3, progress=False)


def test_lora_parameters_match_peft_on_a_tiny_phi3(tokenizer):
    from peft import LoraConfig, get_peft_model

    from course.models.tiny import tiny_config_dict

    config = tiny_config_dict("phi-3.5-mini", hidden_size=32, intermediate_size=64)
    for r, targets in [(2, finetune.PHI3_LORA_TARGETS), (4, ("qkv_proj", "o_proj"))]:
        peft_model = get_peft_model(tiny_model(tokenizer), LoraConfig(r=r, target_modules=list(targets)))
        trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
        assert finetune.lora_parameters(config, r, targets) == trainable


def test_lora_parameters_of_phi35_mini():
    config = load_config("phi-3.5-mini")
    # per layer: qkv 3072 -> 9216, o 3072 -> 3072, gate_up 3072 -> 16384, down 8192 -> 3072
    assert finetune.lora_parameters(config, 16) == 32 * 16 * (12288 + 6144 + 19456 + 11264)
    assert finetune.lora_parameters(config, 8, ["o_proj"]) == 32 * 8 * 6144
    with pytest.raises(ValueError, match="q_proj"):
        finetune.lora_parameters(config, 8, ["q_proj"])
    with pytest.raises(ValueError, match="Phi-3"):
        finetune.phi3_linear_shapes(load_config("mistral-7b"))


def test_training_memory_full_vs_lora():
    full = finetune.training_memory(1000, 1000, "bf16")
    assert (full.weights, full.gradients, full.optimizer, full.activations) == (2000, 2000, 12000, 0)
    assert full.total == 16 * 1000
    lora = finetune.training_memory(1000, 10, "bf16", activations=500)
    assert lora.as_dict() == {"weights": 2000, "gradients": 20, "optimizer states": 120, "activations": 500}
    assert finetune.training_memory(1000, 1000, "fp32").weights == 4000
    with pytest.raises(ValueError):
        finetune.training_memory(10, 11)


def test_activation_bytes_follow_the_formula():
    config = {"hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 3}
    assert finetune.activation_bytes(config, batch=2, sequence=4) == 3 * 4 * 2 * 8 * (34 + 5 * 2 * 4 / 8)
    big = finetune.activation_bytes(config, batch=2, sequence=8)
    assert big > 2 * finetune.activation_bytes(config, batch=2, sequence=4)  # attention grows with s^2
    with pytest.raises(ValueError):
        finetune.activation_bytes(config, batch=0, sequence=4)


@pytest.mark.parametrize(
    "losses, patience, expected",
    [
        ([3.0, 2.0, 1.5, 1.6, 1.7, 1.8], 2, (2, 4)),
        ([3.0, 2.0, 1.5, 1.6, 1.4, 1.8], 2, (4, 5)),
        ([3.0, 2.0, 1.0], 1, (2, 2)),
        ([1.0], 3, (0, 0)),
        ([1.0, 1.0, 1.0], 1, (0, 1)),
    ],
)
def test_early_stopping(losses, patience, expected):
    assert finetune.early_stopping(losses, patience) == expected


def test_early_stopping_refuses_bad_input():
    with pytest.raises(ValueError):
        finetune.early_stopping([], 2)
    with pytest.raises(ValueError):
        finetune.early_stopping([1.0], 0)


def test_folder_bytes(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x" * 10)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"y" * 5)
    assert finetune.folder_bytes(tmp_path) == 15
