"""Lesson 05 §6-8: instruction tuning with the course's training loop, and early stopping."""

import pytest

from course.lessons.finetune import training
from course.references.finetune import instruction_labels
from course.text.vocab import build_word_tokenizer

EXAMPLES = [("say a b", "b a"), ("say c d", "d c"), ("say a c", "c a"), ("say b d", "d b")]


def every_token(prompt_ids, response_ids):
    """Language-modelling labels: every token is a target, the prompt's too."""
    return prompt_ids + response_ids, prompt_ids + response_ids


@pytest.fixture(scope="module")
def tokenizer():
    return build_word_tokenizer([p + " " + a for p, a in EXAMPLES])


def tiny_model(tokenizer, seed=0):
    from course.models.tiny import build_tiny

    return build_tiny(
        "phi-3.5-mini",
        seed=seed,
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )


def test_encode_ends_with_eos_and_lets_the_labels_function_choose(tokenizer):
    ((ids, labels),) = training.encode(tokenizer, [("say a b", "b a")], instruction_labels)
    assert len(ids) == len(labels) == 6  # say a b | b a </s>
    assert labels[:3] == [-100] * 3
    assert labels[3:] == ids[3:] and ids[-1] == tokenizer.eos_token_id
    ((every_ids, every_labels),) = training.encode(tokenizer, [("say a b", "b a")], every_token)
    assert every_ids == ids and every_labels == ids


def test_encode_refuses_labels_that_do_not_fit(tokenizer):
    with pytest.raises(ValueError, match="equal length"):
        training.encode(tokenizer, [("say a", "b")], lambda p, r: (p + r, r))
    with pytest.raises(ValueError, match="prompt's ids followed"):
        training.encode(tokenizer, [("say a", "b")], lambda p, r: (r + p, r + p))


def test_collate_pads_on_the_right(tokenizer):
    encoded = training.encode(tokenizer, [("say a", "b"), ("say a b", "b a")], instruction_labels)
    batch = training.collate(encoded, tokenizer.pad_token_id)
    assert batch["input_ids"].shape == (2, 6)
    assert batch["attention_mask"][0].tolist() == [1, 1, 1, 1, 0, 0]  # say a | b </s>
    assert batch["labels"][0, 4:].tolist() == [-100, -100]
    assert batch["input_ids"][0, 4:].tolist() == [tokenizer.pad_token_id] * 2


def test_training_lowers_the_loss_and_records_evaluations(tokenizer):
    model = tiny_model(tokenizer)
    before = training.mean_loss(model, tokenizer, EXAMPLES, instruction_labels)
    log = training.train(
        model,
        tokenizer,
        EXAMPLES,
        labels=instruction_labels,
        steps=30,
        lr=1e-2,
        batch_size=4,
        eval_examples=EXAMPLES,
        eval_every=10,
        measure={"loss": lambda m: training.mean_loss(m, tokenizer, EXAMPLES, instruction_labels)},
        progress=False,
    )
    after = training.mean_loss(model, tokenizer, EXAMPLES, instruction_labels)
    assert after < before / 2
    assert len(log.train_loss) == 30
    assert log.eval_steps == [0, 10, 20, 30]
    assert log.eval_loss[0] == pytest.approx(before, rel=1e-4)
    assert log.measurements["loss"][-1] == pytest.approx(after, rel=1e-4)
    assert log.seconds_per_step > 0


def test_the_labels_decide_what_is_learned(tokenizer):
    """Trained on the response only, the model's loss on the prompt stays high; trained on every token, it falls."""
    losses = {}
    for labels in (instruction_labels, every_token):
        model = tiny_model(tokenizer)
        training.train(model, tokenizer, EXAMPLES * 4, labels=labels, steps=25, lr=1e-2, batch_size=8, progress=False)
        losses[labels] = training.mean_loss(model, tokenizer, EXAMPLES, every_token)
    assert losses[every_token] < losses[instruction_labels]


def test_training_refuses_a_frozen_model_and_bad_settings(tokenizer):
    model = tiny_model(tokenizer)
    with pytest.raises(ValueError, match="steps"):
        training.train(model, tokenizer, EXAMPLES, labels=instruction_labels, steps=0, lr=1e-3, progress=False)
    with pytest.raises(ValueError, match="example"):
        training.train(model, tokenizer, [], labels=instruction_labels, steps=1, lr=1e-3, progress=False)
    model.requires_grad_(False)
    with pytest.raises(ValueError, match="LoRA"):
        training.train(model, tokenizer, EXAMPLES, labels=instruction_labels, steps=1, lr=1e-3, progress=False)


def test_lora_parameters_match_peft_on_a_tiny_phi3(tokenizer):
    from peft import LoraConfig, get_peft_model

    from course.models.tiny import tiny_config_dict
    from course.references import finetune as references

    config = tiny_config_dict("phi-3.5-mini", hidden_size=32, intermediate_size=64)
    for r, targets in [(2, references.PHI3_LORA_TARGETS), (4, ("qkv_proj", "o_proj"))]:
        peft_model = get_peft_model(tiny_model(tokenizer), LoraConfig(r=r, target_modules=list(targets)))
        trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
        assert references.phi3_lora_parameters(config, r, targets) == trainable


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
    assert training.early_stopping(losses, patience) == expected


def test_early_stopping_refuses_bad_input():
    with pytest.raises(ValueError):
        training.early_stopping([], 2)
    with pytest.raises(ValueError):
        training.early_stopping([1.0], 0)
