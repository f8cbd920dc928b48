"""Lesson 05 §8 (encoder-decoder or decoder-only?): a tiny T5 that learns the lesson's task.

The tiny model is a real ``T5ForConditionalGeneration`` (the class of T5 and Flan-T5) with a tiny config: an
encoder reads the whole prompt in both directions, and a decoder writes the answer while attending to the
encoder's output (cross-attention). It uses the task model's word-level tokenizer, so it learns the same task from
the same tokens as the decoder-only tiny Phi-3. :func:`load_pretrained_seq2seq` is the path for real weights
(``google/flan-t5-small``): it reads them from this machine only, never from the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from course.lessons.finetune.instructions import Example

# A T5 of about the tiny Phi-3's size: two encoder and two decoder layers.
T5_SHAPE = {"d_model": 64, "d_ff": 256, "d_kv": 16, "num_layers": 2, "num_decoder_layers": 2, "num_heads": 4}
# LoRA on T5's attention: its query and value projections are named ``q`` and ``v`` in every attention block.
T5_LORA = {"r": 4, "lora_alpha": 8, "target_modules": ["q", "v"]}
FLAN_T5_SMALL = "google/flan-t5-small"


def build_tiny_t5(tokenizer, seed: int = 0, **shape):
    """A freshly initialised tiny ``T5ForConditionalGeneration`` for ``tokenizer``'s vocabulary, seeded."""
    from transformers import T5Config, T5ForConditionalGeneration

    from course.runtime import device, seed_everything

    seed_everything(seed)
    config = T5Config(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        # T5 starts decoding from the padding token. huggingface_hub's @strict types the config's __init__ with its
        # declared fields only, but it takes any other config key too, as here
        decoder_start_token_id=tokenizer.pad_token_id,  # type: ignore[call-arg]
        **{**T5_SHAPE, **shape},
    )
    # transformers wraps PreTrainedModel.to with functools.wraps, which mypy does not bind as a method
    return T5ForConditionalGeneration(config).to(device()).eval()  # type: ignore[arg-type]


def _encode(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    return [tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for text in texts]


def _pad(rows: list[list[int]], value: int):
    import torch

    width = max(len(row) for row in rows)
    return torch.tensor([row + [value] * (width - len(row)) for row in rows])


def collate(tokenizer, examples: Sequence[Example]) -> dict:
    """A batch for an encoder-decoder: the prompt goes to the encoder, the response is the decoder's labels
    (the whole of it: the decoder never sees the prompt as text, so there is nothing to mask)."""
    prompts = _encode(tokenizer, [prompt for prompt, _ in examples])
    responses = _encode(tokenizer, [response for _, response in examples])
    input_ids = _pad(prompts, tokenizer.pad_token_id)
    return {
        "input_ids": input_ids,
        "attention_mask": (input_ids != tokenizer.pad_token_id).long(),
        "labels": _pad(responses, -100),
    }


def train_seq2seq(
    model, tokenizer, examples: Sequence[Example], *, steps: int, lr: float, batch_size: int = 32, warmup: int = 0,
    seed: int = 0, desc: str = "encoder-decoder", progress: bool = True,
):  # fmt: skip
    """Train ``model``'s trainable parameters on ``examples`` with the course's loop, as
    :func:`course.lessons.finetune.training.train` does for a decoder-only model; returns its ``TrainLog``."""
    import random
    import time

    from course import training
    from course.lessons.finetune.training import TrainLog
    from course.runtime import device

    if not examples:
        raise ValueError("train_seq2seq needs at least one training example.")
    where = device()
    model.to(where).train()

    def batches():
        rng = random.Random(seed)
        while True:
            picked = [examples[rng.randrange(len(examples))] for _ in range(batch_size)]
            yield {k: v.to(where) for k, v in collate(tokenizer, picked).items()}

    started = time.perf_counter()
    losses = training.train(
        model, batches(), lambda batch: model(**batch).loss, steps=steps, lr=lr, weight_decay=0.0,
        schedule=training.warmup_cosine(steps, warmup, floor=0.1), desc=desc, progress=progress,
    )  # fmt: skip
    model.eval()
    return TrainLog(train_loss=losses, seconds_per_step=(time.perf_counter() - started) / steps)


def generate(model, tokenizer, prompts: Sequence[str], max_new_tokens: int = 8) -> list[str]:
    """Greedy answers of an encoder-decoder to ``prompts`` (one padded batch)."""
    import torch

    where = next(model.parameters()).device
    input_ids = _pad(_encode(tokenizer, prompts), tokenizer.pad_token_id).to(where)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model.generate(
            input_ids=input_ids,
            attention_mask=(input_ids != tokenizer.pad_token_id).long(),
            max_new_tokens=max_new_tokens,
            do_sample=False,
        )
    model.train(was_training)
    return [tokenizer.decode(row, skip_special_tokens=True).strip() for row in out]


def exact_match(model, tokenizer, examples: Sequence[Example]) -> float:
    """Share of ``(prompt, answer)`` examples whose greedy answer equals ``answer`` word for word."""
    if not examples:
        raise ValueError("exact_match needs at least one (prompt, answer) example.")
    answers = generate(model, tokenizer, [prompt for prompt, _ in examples])
    return sum(got.split() == want.split() for got, (_, want) in zip(answers, examples, strict=True)) / len(examples)


def load_pretrained_seq2seq(name_or_folder: str | Path = FLAN_T5_SMALL):
    """``(model, tokenizer)`` of a pre-trained T5 from this machine only (a folder, or a repo id in the local
    Hugging Face cache); raises ``course.models.weights.WeightsNotFoundError``, saying how to get it, if absent."""
    from transformers import AutoTokenizer, T5ForConditionalGeneration

    from course.models.weights import load_pretrained
    from course.runtime import device

    model = load_pretrained(name_or_folder, cls=T5ForConditionalGeneration)
    tokenizer = AutoTokenizer.from_pretrained(str(name_or_folder), local_files_only=True)
    return model.to(device()).eval(), tokenizer
