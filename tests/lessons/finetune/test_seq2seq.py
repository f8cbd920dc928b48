"""Lesson 05 §8: the tiny T5 learns from (prompt, response) pairs, and the real-weights path loads from disk only."""

import pytest
import torch

from course.lessons.finetune import seq2seq
from course.models.weights import WeightsNotFoundError
from course.text.vocab import build_word_tokenizer

EXAMPLES = [("say a b", "b a"), ("say c d", "d c"), ("say a c", "c a"), ("say b d", "d b")]


@pytest.fixture(scope="module")
def tokenizer():
    return build_word_tokenizer([p + " " + a for p, a in EXAMPLES])


def test_collate_sends_the_prompt_to_the_encoder_and_the_whole_response_to_the_labels(tokenizer):
    batch = seq2seq.collate(tokenizer, [("say a", "b"), ("say a b", "b a")])
    assert batch["input_ids"].shape == (2, 4)  # say a b </s>
    assert batch["attention_mask"][0].tolist() == [1, 1, 1, 0]
    assert batch["labels"].tolist()[0][-1] == -100  # padding is left out of the loss
    assert batch["labels"][1].tolist() == tokenizer("b a", add_special_tokens=False)["input_ids"] + [
        tokenizer.eos_token_id
    ]


def test_the_tiny_t5_is_an_encoder_decoder_that_learns(tokenizer):
    model = seq2seq.build_tiny_t5(tokenizer, seed=0, d_model=32, d_ff=64, d_kv=8, num_heads=2)
    assert type(model).__name__ == "T5ForConditionalGeneration"
    assert sum(name.endswith("EncDecAttention") for name, _ in model.named_modules()) == 2
    log = seq2seq.train_seq2seq(model, tokenizer, EXAMPLES, steps=60, lr=1e-2, batch_size=8, progress=False)
    assert len(log.train_loss) == 60 and log.seconds_per_step > 0
    assert sum(log.train_loss[-5:]) < sum(log.train_loss[:5]) / 4
    assert seq2seq.exact_match(model, tokenizer, EXAMPLES) == 1.0


def test_exact_match_refuses_no_examples():
    with pytest.raises(ValueError, match="at least one"):
        seq2seq.exact_match(None, None, [])


def test_the_real_weights_path_loads_a_t5_saved_on_disk(tokenizer, tmp_path):
    model = seq2seq.build_tiny_t5(tokenizer, seed=1, d_model=32, d_ff=64, d_kv=8, num_heads=2)
    model.save_pretrained(tmp_path / "t5")
    tokenizer.save_pretrained(tmp_path / "t5")
    loaded, loaded_tokenizer = seq2seq.load_pretrained_seq2seq(tmp_path / "t5")
    ids = torch.tensor([loaded_tokenizer("say a b")["input_ids"]])
    with torch.no_grad():
        assert torch.allclose(model.encoder(input_ids=ids).last_hidden_state,
                              loaded.encoder(input_ids=ids).last_hidden_state)  # fmt: skip
    with pytest.raises(WeightsNotFoundError):
        seq2seq.load_pretrained_seq2seq(tmp_path / "absent")
