"""Lesson 04 §5 and §6 (The same code, with the real Llama 3.2 Vision): load a model, ask it questions about
pictures, score its answers, and look at (or close) its cross-attention gates.

Every function takes any Mllama model and processor, so the real Llama 3.2 Vision runs unchanged when its
weights are on disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course.lessons.vision.data import ANSWERS, Example, make_examples
from course.lessons.vision.llama import LLAMA_VISION_REPO
from course.lessons.vision.tiny import END_OF_TURN, TEST_SEED, TILE_SIZE, encode, encode_text, prompts
from course.runtime import single_thread

SMALL_MODEL = 10_000_000  # parameters: below this, one CPU thread is faster than several


@dataclass(frozen=True)
class Evaluation:
    """The model's answers to a set of questions and its accuracy per question kind."""

    predictions: list[str]
    accuracy: dict[str, float]


def answer_questions(
    model, processor, images: list, questions: list[str], max_new_tokens: int = 3, batch_size: int = 64
) -> list[str]:
    """The model's reply to each (picture, question) pair, by greedy generation; works for any Mllama model."""
    import torch

    if len(images) != len(questions):
        raise ValueError(f"Give one question per picture: got {len(images)} pictures and {len(questions)} questions.")
    tokenizer = processor.tokenizer
    tokenizer.padding_side = "left"  # generation continues every row from its last real token
    stop = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    small = sum(p.numel() for p in model.parameters()) < SMALL_MODEL
    replies = []
    for start in range(0, len(images), batch_size):
        chunk = slice(start, start + batch_size)
        # the chat template already wrote the begin-of-text token: the tokenizer must not add a second one
        batch = processor(
            images=[[image] for image in images[chunk]],
            text=prompts(processor, questions[chunk]),
            padding=True,
            add_special_tokens=False,
            return_tensors="pt",
        ).to(model.device)
        with torch.inference_mode(), single_thread() if small else nullcontext():
            output = model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                eos_token_id=stop,
                pad_token_id=tokenizer.pad_token_id,
            )
        new_tokens = output[:, batch["input_ids"].shape[1] :]
        replies += [text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
    return replies


@dataclass(frozen=True)
class TextAnswers:
    """The model's greedy replies to text-only questions, and its logits for the first token of each reply."""

    replies: list[str]
    logits: Any  # a (questions, vocabulary) tensor


def text_answers(model, processor, questions: list[str], max_new_tokens: int = 3) -> TextAnswers:
    """Ask ``questions`` without any picture: the model answers from its language model alone."""
    import torch

    tokenizer = processor.tokenizer
    batch = encode_text(processor, questions).to(model.device)
    stop = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    with torch.inference_mode(), single_thread():
        logits = model(**batch).logits[:, -1].clone()
        output = model.generate(
            **batch,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=stop,
            pad_token_id=tokenizer.pad_token_id,
        )
    new_tokens = output[:, batch["input_ids"].shape[1] :]
    replies = [text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
    return TextAnswers(replies, logits)


def answer_logits(model, processor, examples: list[Example]):
    """The logits of the first answer token for each (picture, question) of ``examples``."""
    import torch

    batch = encode(processor, examples).to(model.device)
    with torch.inference_mode(), single_thread():
        return model(**batch).logits[:, -1].clone()


def extract_answer(reply: str, kind: str) -> str:
    """The first possible answer of a question ``kind`` named in ``reply`` (a long reply works too), else ``""``."""
    options = ANSWERS.get(kind)
    if options is None:
        raise KeyError(f"Unknown question kind {kind!r}; choose one of {', '.join(ANSWERS)}")
    for word in re.findall(r"[a-z]+", reply.lower()):
        if word in options:
            return word
    return ""


def evaluate(model, processor, examples: list[Example], max_new_tokens: int = 3) -> Evaluation:
    """Ask every question of ``examples`` and score the answers, per question kind."""
    replies = answer_questions(
        model, processor, [e.image for e in examples], [e.question for e in examples], max_new_tokens=max_new_tokens
    )
    correct: dict[str, list[bool]] = {}
    for example, reply in zip(examples, replies, strict=True):
        correct.setdefault(example.kind, []).append(extract_answer(reply, example.kind) == example.answer)
    return Evaluation(replies, {kind: sum(hits) / len(hits) for kind, hits in correct.items()})


def gate_values(model) -> dict[str, float]:
    """tanh of every cross-attention gate of the language model: 0 means the picture has no effect there."""
    values = {}
    for index, layer in enumerate(model.model.language_model.layers):
        if hasattr(layer, "cross_attn_attn_gate"):
            values[f"layer {index} attention"] = layer.cross_attn_attn_gate.tanh().item()
            values[f"layer {index} MLP"] = layer.cross_attn_mlp_gate.tanh().item()
    return values


@contextmanager
def closed_gates(model) -> Iterator[None]:
    """Within the block, every cross-attention gate is 0: the language model no longer sees the picture."""
    import torch

    gates = [p for name, p in model.model.language_model.named_parameters() if name.endswith("_gate")]
    saved = [gate.detach().clone() for gate in gates]
    with torch.no_grad():
        for gate in gates:
            gate.zero_()
    try:
        yield
    finally:
        with torch.no_grad():
            for gate, value in zip(gates, saved, strict=True):
                gate.copy_(value)


def load_vision_model(path_or_repo: str | Path = LLAMA_VISION_REPO, dtype: Any = None):
    """Model and processor from a folder or the local Hugging Face cache; never downloads.

    The same call loads the tiny model the lesson trains and the real Llama 3.2 Vision; when the files are
    missing, ``course.models.weights.WeightsNotFoundError`` says what to download and where to put it.
    """
    from transformers import AutoProcessor, MllamaForConditionalGeneration

    from course.models.weights import load_pretrained
    from course.runtime import device

    processor = load_pretrained(path_or_repo, AutoProcessor)  # small: fails fast when nothing is there
    extra = {"dtype": dtype} if dtype is not None else {}
    model = load_pretrained(path_or_repo, MllamaForConditionalGeneration, **extra)
    return model.to(device()).eval(), processor


def held_out_examples(n_images: int = 100) -> list[Example]:
    """Held-out pictures (a seed training never uses), each asked every question kind."""
    return make_examples(n_images, TILE_SIZE, TEST_SEED)
