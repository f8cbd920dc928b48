"""Lesson 03: the synthetic text, the training run with and without the load-balancing loss."""

import json

import pytest
import torch

from course.lessons.moe import training
from course.lessons.moe.training import (
    SENTENCE_KINDS,
    RoutingRun,
    synthetic_sentences,
    token_stream,
    train_tiny_moe,
    windows,
)
from course.text.vocab import build_word_tokenizer


def test_synthetic_sentences_are_repeatable_and_cover_every_kind():
    assert synthetic_sentences(30, seed=3) == synthetic_sentences(30, seed=3)
    assert synthetic_sentences(30, seed=3) != synthetic_sentences(30, seed=4)
    assert all(s.startswith("count :") for s in synthetic_sentences(5, kind="counting"))
    sums = synthetic_sentences(20, kind="sums")
    for sentence in sums:
        a, _, b, _, total, _ = sentence.split()
        assert int(a) + int(b) == int(total)
    assert set(SENTENCE_KINDS) == {"animals", "sums", "colours", "counting"}
    with pytest.raises(ValueError, match="animals, sums"):
        synthetic_sentences(1, kind="poems")


def test_frequent_words_dominate_like_real_text():
    words = " ".join(synthetic_sentences(500)).split()
    top = max(set(words), key=words.count)
    assert top == "the" and words.count(top) / len(words) > 0.1


def test_token_stream_and_windows():
    texts = ["the cat sees the dog .", "1 plus 2 is 3 ."]
    tokenizer = build_word_tokenizer(texts)
    stream = token_stream(tokenizer, texts)
    assert len(stream) == 12
    assert tokenizer.decode(stream[:6].tolist()) == texts[0]
    batch = windows(stream, [0, 6], 6)
    assert batch.shape == (2, 6) and torch.equal(batch[1], stream[6:])
    with pytest.raises(ValueError, match="runs past the stream"):
        windows(stream, [8], 6)


def test_a_short_run_records_losses_and_balance():
    texts = synthetic_sentences(200, seed=0)
    tokenizer = build_word_tokenizer(texts)
    stream = token_stream(tokenizer, texts)
    held_out = windows(stream, [0, 16, 32, 48], 16)
    model, run = train_tiny_moe(0.1, tokenizer, stream, held_out, steps=6, batch=2, seq_len=16, eval_every=3)
    assert not model.training
    assert len(run.lm_loss) == len(run.aux_loss) == 6
    assert run.eval_steps == [3, 6]
    experts = model.config.num_local_experts
    assert len(run.final_load) == model.config.num_hidden_layers
    assert all(len(load) == experts and sum(load) == pytest.approx(1.0) for load in run.final_load)
    assert all(value >= 1.0 for row in run.imbalance for value in row)
    # top-2 routing: the Switch loss is at least k = 2, reached only with perfect balance
    assert all(value >= 2.0 - 1e-4 for value in run.aux_loss)
    with pytest.raises(ValueError, match="aux_coef"):
        train_tiny_moe(-1.0, tokenizer, stream, held_out)


def test_mean_imbalance_uses_the_last_evaluations():
    run = RoutingRun(0.0, [], [], [1, 2, 3], [[9.0, 9.0], [2.0, 4.0], [1.0, 1.0]], [])
    assert run.mean_imbalance(last=2) == pytest.approx(2.0)


@pytest.mark.slow
def test_the_aux_loss_evens_out_the_load(tmp_path):
    """What the lesson shows, checked: without the loss some experts idle and the busiest is busier."""
    training.build_routing_demo(tmp_path)
    without, with_aux = training.load_runs(tmp_path)
    assert json.loads((tmp_path / "runs.json").read_text()).keys() == {"0.0", str(training.AUX_COEF)}
    assert without.mean_imbalance() > 1.3 * with_aux.mean_imbalance()
    idle = [sum(s == 0 for load in run.final_load for s in load) for run in (without, with_aux)]
    assert idle[0] > idle[1]
    assert sum(with_aux.aux_loss[-20:]) < sum(without.aux_loss[-20:])
    assert (tmp_path / "model" / "config.json").is_file() and (tmp_path / "tokenizer").is_dir()
