"""Training loops and measurements for lesson 05: fine-tuning a causal language model on instructions.

The loss is computed on the response tokens only (the prompt tokens get the label
``-100``), which is how instruction tuning is usually done.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from course.runtime import device

Example = tuple[str, str]
IGNORE = -100


def encode(tokenizer, examples: Sequence[Example]) -> list[tuple[list[int], list[int]]]:
    """Token ids and labels of each ``(prompt, response)``: labels are ``-100`` on the prompt, then the
    response ids and the end-of-sequence id."""
    encoded = []
    for prompt, response in examples:
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        response_ids = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        encoded.append((prompt_ids + response_ids, [IGNORE] * len(prompt_ids) + response_ids))
    return encoded


def collate(encoded: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad a batch on the right: ``input_ids``, ``attention_mask`` and ``labels`` tensors."""
    width = max(len(ids) for ids, _ in encoded)
    input_ids = torch.full((len(encoded), width), pad_id)
    labels = torch.full((len(encoded), width), IGNORE)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, (ids, labs) in enumerate(encoded):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, : len(labs)] = torch.tensor(labs)
        mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


@torch.no_grad()
def mean_loss(model, tokenizer, examples: Sequence[Example], batch_size: int = 64) -> float:
    """Mean cross-entropy per response token over ``examples`` (no training)."""
    if not examples:
        raise ValueError("mean_loss needs at least one example.")
    was_training = model.training
    model.eval()
    where = next(model.parameters()).device
    encoded = encode(tokenizer, examples)
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


def train(
    model,
    tokenizer,
    examples: Sequence[Example],
    *,
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
    """Train the parameters of ``model`` that require gradients with AdamW on the response tokens.

    The learning rate rises linearly for ``warmup`` steps, then follows a cosine down to
    a tenth of ``lr``. Every ``eval_every`` steps (and at the end) the mean loss on
    ``eval_examples`` is recorded, and so is each ``measure[name](model)``.
    """
    from tqdm.auto import tqdm

    if steps < 1 or lr <= 0 or batch_size < 1:
        raise ValueError("train needs steps >= 1, lr > 0 and batch_size >= 1.")
    if not examples:
        raise ValueError("train needs at least one training example.")
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("The model has no trainable parameters: unfreeze some, or add a LoRA adapter.")
    where = device()
    model.to(where)
    model.train()
    encoded = encode(tokenizer, examples)
    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.0)

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress_ = (step - warmup) / max(1, steps - warmup)
        return 0.1 + 0.45 * (1 + math.cos(math.pi * progress_))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    rng = random.Random(seed)
    order: list[int] = []
    log = TrainLog(measurements={name: [] for name in measure or {}})

    def evaluate(step: int) -> None:
        if not eval_examples and not measure:
            return
        log.eval_steps.append(step)
        if eval_examples:
            log.eval_loss.append(mean_loss(model, tokenizer, eval_examples))
        for name, fn in (measure or {}).items():
            log.measurements[name].append(fn(model))
        model.train()

    if eval_every:
        evaluate(0)
    bar = tqdm(range(1, steps + 1), desc=desc, disable=not progress, leave=False)
    for step in bar:
        if len(order) < batch_size:
            fresh = list(range(len(encoded)))
            rng.shuffle(fresh)
            order.extend(fresh)
        picked, order = order[:batch_size], order[batch_size:]
        batch = {k: v.to(where) for k, v in collate([encoded[i] for i in picked], tokenizer.pad_token_id).items()}
        loss = model(**batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        log.train_loss.append(loss.item())
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if eval_every and (step % eval_every == 0 or step == steps):
            evaluate(step)
    model.eval()
    return log


# --- What training costs in memory ------------------------------------------------------------

PHI3_LORA_TARGETS = ("qkv_proj", "o_proj", "gate_up_proj", "down_proj")


def phi3_linear_shapes(config: dict) -> dict[str, tuple[int, int]]:
    """``(in_features, out_features)`` of the four linear layers in one Phi-3 decoder layer."""
    if config.get("model_type") != "phi3":
        raise ValueError(f"phi3_linear_shapes needs a Phi-3 config, not model_type {config.get('model_type')!r}.")
    hidden, intermediate = config["hidden_size"], config["intermediate_size"]
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    head = hidden // heads
    return {
        "qkv_proj": (hidden, (heads + 2 * kv_heads) * head),
        "o_proj": (heads * head, hidden),
        "gate_up_proj": (hidden, 2 * intermediate),
        "down_proj": (intermediate, hidden),
    }


def lora_parameters(config: dict, r: int, targets: Sequence[str] = PHI3_LORA_TARGETS) -> int:
    """Trainable parameters of rank-``r`` LoRA on the ``targets`` linear layers of every Phi-3 layer."""
    from course.lessons.lora import lora_parameter_count

    shapes = phi3_linear_shapes(config)
    unknown = set(targets) - shapes.keys()
    if unknown:
        raise ValueError(f"Unknown target layers {sorted(unknown)}; Phi-3 has {', '.join(shapes)}.")
    return config["num_hidden_layers"] * lora_parameter_count([shapes[t] for t in targets], r)


# Mixed-precision AdamW keeps, for every trainable parameter, an fp32 master copy and two fp32 moments.
OPTIMIZER_BYTES_PER_TRAINABLE = 4 + 4 + 4


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes that training needs, by kind."""

    weights: int
    gradients: int
    optimizer: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations

    def as_dict(self) -> dict[str, int]:
        return {
            "weights": self.weights,
            "gradients": self.gradients,
            "optimizer states": self.optimizer,
            "activations": self.activations,
        }


def activation_bytes(config: dict, batch: int, sequence: int) -> int:
    """A rough size of the activations kept for the backward pass, in 16-bit, without recomputation.

    Uses the per-layer estimate ``s b h (34 + 5 a s / h)`` bytes of Korthikanti et al. (2022),
    "Reducing Activation Recomputation in Large Transformer Models" (s: tokens, b: batch,
    h: hidden size, a: attention heads). LoRA needs these too: gradients must flow back
    through the frozen layers to reach the adapters.
    """
    if batch < 1 or sequence < 1:
        raise ValueError("batch and sequence must be at least 1.")
    h, a = config["hidden_size"], config["num_attention_heads"]
    per_layer = sequence * batch * h * (34 + 5 * a * sequence / h)
    return math.ceil(config["num_hidden_layers"] * per_layer)


def training_memory(
    total_params: int, trainable_params: int, precision: str = "bf16", activations: int = 0
) -> TrainingMemory:
    """Memory to train a model of ``total_params`` of which ``trainable_params`` are updated.

    Every weight is held at ``precision``; only trainable ones need a gradient (same
    precision) and AdamW states (:data:`OPTIMIZER_BYTES_PER_TRAINABLE` bytes each).
    """
    from course.models.memory import weight_bytes

    if not 0 <= trainable_params <= total_params:
        raise ValueError("trainable_params must be between 0 and total_params.")
    return TrainingMemory(
        weights=weight_bytes(total_params, precision),
        gradients=weight_bytes(trainable_params, precision),
        optimizer=trainable_params * OPTIMIZER_BYTES_PER_TRAINABLE,
        activations=activations,
    )


# --- Measurements -------------------------------------------------------------------------------


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


def folder_bytes(path) -> int:
    """Total size of the files under ``path`` (a saved model or adapter)."""
    from pathlib import Path

    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
