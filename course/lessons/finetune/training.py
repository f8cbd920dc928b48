"""Lesson 05 §3-8 (LoRA, full fine-tuning, forgetting, overfitting and early stopping): training a causal
language model on ``(prompt, response)`` examples with the course's training loop (``course.training``), and its
measurements. The cached base and task models (``task_model``), which lessons 05 and 06 use, are trained with it too.

Which tokens the loss counts is the caller's choice, a ``labels`` function of ``(prompt_ids, response_ids)`` that
returns ``(input_ids, labels)`` aligned token for token (Hugging Face models shift the labels themselves; ``-100``
means "no loss here"). Lesson 05's exercise 3 writes the instruction-tuning one (loss on the response only), and the
lesson passes the student's function in.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from course.languages import say
from course.runtime import device
from course.training import IGNORE, collate

Example = tuple[str, str]
Labels = Callable[[list[int], list[int]], tuple[list[int], list[int]]]


def encode(tokenizer, examples: Sequence[Example], labels: Labels) -> list[tuple[list[int], list[int]]]:
    """Token ids and labels of each ``(prompt, response)``: the response ends with the end-of-sequence id, and
    ``labels(prompt_ids, response_ids)`` decides which tokens the loss counts."""
    encoded = []
    for prompt, response in examples:
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        response_ids = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        ids, labs = labels(list(prompt_ids), list(response_ids))
        ids, labs = [int(i) for i in ids], [int(label) for label in labs]
        if len(ids) != len(labs) or ids != prompt_ids + response_ids:
            raise ValueError(say("finetune.labels_wrong", function=getattr(labels, "__name__", "labels")))
        encoded.append((ids, labs))
    return encoded


@torch.no_grad()
def mean_loss(model, tokenizer, examples: Sequence[Example], labels: Labels, batch_size: int = 64) -> float:
    """Mean cross-entropy per labelled token over ``examples`` (no training)."""
    if not examples:
        raise ValueError("mean_loss needs at least one example.")
    was_training = model.training
    model.eval()
    where = next(model.parameters()).device
    encoded = encode(tokenizer, examples, labels)
    total, count = 0.0, 0
    for start in range(0, len(encoded), batch_size):
        chunk = collate(encoded[start : start + batch_size], tokenizer.pad_token_id)
        batch = {k: v.to(where) for k, v in chunk.items()}
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        targets = batch["labels"][:, 1:]
        losses = torch.nn.functional.cross_entropy(
            logits[:, :-1].flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE, reduction="sum"
        )
        total += losses.item()
        count += int((targets != IGNORE).sum())
    model.train(was_training)
    return total / count


@dataclass
class TrainLog:
    """What a training run recorded: the training loss at every step, and evaluations when asked for."""

    train_loss: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_loss: list[float] = field(default_factory=list)
    measurements: dict[str, list[float]] = field(default_factory=dict)
    seconds_per_step: float = 0.0  # wall-clock time of one training step, evaluations left out
    test: float | None = None  # the test-set score, measured once after training by whoever ran it


def train(
    model,
    tokenizer,
    examples: Sequence[Example],
    *,
    labels: Labels,
    steps: int,
    lr: float,
    batch_size: int = 32,
    warmup: int = 0,
    seed: int = 0,
    eval_examples: Sequence[Example] = (),
    eval_every: int = 0,
    measure: dict[str, Callable[[object], float]] | None = None,
    progress: bool = True,
    desc: str = "training",
) -> TrainLog:
    """Train the parameters of ``model`` that require gradients with AdamW, the loss counting the tokens that
    ``labels`` marks (see the module's docstring).

    The learning rate rises linearly for ``warmup`` steps, then follows a cosine down to
    a tenth of ``lr``. Every ``eval_every`` steps (and at the end) the mean loss on
    ``eval_examples`` (your validation set, never the test set) is recorded, and so is each
    ``measure[name](model)``.
    """
    from course import training

    if steps < 1 or lr <= 0 or batch_size < 1:
        raise ValueError("train needs steps >= 1, lr > 0 and batch_size >= 1.")
    if not examples:
        raise ValueError("train needs at least one training example.")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("The model has no trainable parameters: unfreeze some, or add a LoRA adapter.")
    where = device()
    model.to(where)
    model.train()
    encoded = encode(tokenizer, examples, labels)
    log = TrainLog(measurements={name: [] for name in measure or {}})

    def batches():
        rng = random.Random(seed)
        order: list[int] = []
        while True:
            if len(order) < batch_size:
                fresh = list(range(len(encoded)))
                rng.shuffle(fresh)
                order.extend(fresh)
            picked, order = order[:batch_size], order[batch_size:]
            yield {k: v.to(where) for k, v in collate([encoded[i] for i in picked], tokenizer.pad_token_id).items()}

    evaluating = 0.0

    def evaluate(step: int) -> None:
        nonlocal evaluating
        started = time.perf_counter()
        log.eval_steps.append(step)
        if eval_examples:
            log.eval_loss.append(mean_loss(model, tokenizer, eval_examples, labels))
        for name, fn in (measure or {}).items():
            log.measurements[name].append(fn(model))
        evaluating += time.perf_counter() - started

    started = time.perf_counter()
    log.train_loss = training.train(
        model,
        batches(),
        lambda batch: model(**batch).loss,
        steps=steps,
        lr=lr,
        weight_decay=0.0,
        schedule=training.warmup_cosine(steps, warmup, floor=0.1),
        evaluate=evaluate if eval_examples or measure else None,
        eval_every=eval_every,
        evaluate_first=bool(eval_every),
        desc=desc,
        progress=progress,
    )
    log.seconds_per_step = (time.perf_counter() - started - evaluating) / steps
    model.eval()
    return log


def early_stopping(eval_loss: Sequence[float], patience: int) -> tuple[int, int]:
    """``(best, stop)``: the index of the lowest validation loss, and the index at which training stops
    after ``patience`` evaluations in a row without a new best (the last index if that never happens)."""
    if not eval_loss:
        raise ValueError("early_stopping needs at least one validation loss.")
    if patience < 1:
        raise ValueError("patience must be at least 1.")
    best, waited = 0, 0
    for index in range(1, len(eval_loss)):
        if eval_loss[index] < eval_loss[best]:
            best, waited = index, 0
        else:
            waited += 1
            if waited >= patience:
                return best, index
    return best, len(eval_loss) - 1
