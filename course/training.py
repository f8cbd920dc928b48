"""One training loop for every lesson that trains a model.

Used by lesson 01 (the help desk's promptable tiny Llama: ``course.lessons.prompting.model``),
lesson 03 §3 (the tiny Phi-3.5-MoE, with and without the load-balancing loss:
``course.lessons.moe.training``), lesson 04 §5 (both stages of the tiny Llama 3.2 Vision:
``course.lessons.vision.training``) and lesson 05 §4, §6-9 (instruction tuning, full and LoRA,
and the cached base and task models that lessons 05 and 06 use: ``course.lessons.finetune.training``).
Each caller brings what to train, its batches and its loss; the loop does the rest the same way
for all: AdamW, an optional learning-rate schedule, a progress bar, optionally one CPU thread,
and an evaluation every few steps. torch and tqdm are imported when it runs.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from course.runtime import single_thread

if TYPE_CHECKING:
    import torch

Batch = TypeVar("Batch")
#: The label the loss leaves out: PyTorch's ``cross_entropy`` ``ignore_index``, which Hugging Face models use too.
IGNORE = -100


def collate(rows: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad a batch of ``(input_ids, labels)`` rows on the right: ``input_ids`` (with ``pad_id``),
    ``attention_mask`` and ``labels`` (with :data:`IGNORE`) tensors."""
    import torch

    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), width), pad_id)
    labels = torch.full((len(rows), width), IGNORE)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for row, (ids, labs) in enumerate(rows):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, : len(labs)] = torch.tensor(labs)
        mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


def warmup_cosine(total_steps: int, warmup: int = 0, floor: float = 0.0) -> Callable[[int], float]:
    """The learning-rate factor of each step: a linear warm-up to 1 over ``warmup`` steps, then a cosine
    decay that reaches ``floor`` at step ``total_steps``."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def train(
    trained: torch.nn.Module | Iterable[torch.nn.Parameter],
    batches: Iterable[Batch],
    loss_fn: Callable[[Batch], torch.Tensor],
    *,
    steps: int,
    lr: float,
    weight_decay: float = 0.01,
    schedule: Callable[[int], float] | None = None,
    one_thread: bool = False,
    evaluate: Callable[[int], Any] | None = None,
    eval_every: int = 0,
    evaluate_first: bool = False,
    desc: str = "training",
    progress: bool = True,
    leave: bool = False,
) -> list[float]:
    """Minimise ``loss_fn(batch)`` with AdamW for ``steps`` steps, one batch of ``batches`` per step.

    ``trained`` is a model (its parameters that require gradients are trained, and it is put in
    training mode before every step, so ``evaluate`` may switch it to eval mode) or a list of
    parameters. ``schedule(step)`` multiplies ``lr`` (see :func:`warmup_cosine`); without it the
    rate stays constant. With ``one_thread`` PyTorch runs on one CPU thread (faster and steadier
    for tiny models). ``evaluate(step)`` is called after every ``eval_every`` steps and after the
    last one (and before the first, with ``evaluate_first``). Returns the loss of every step.
    """
    import torch
    from tqdm.auto import tqdm

    if steps < 1 or lr <= 0:
        raise ValueError("train needs steps >= 1 and lr > 0.")
    model: torch.nn.Module | None = None
    if isinstance(trained, torch.nn.Module):
        model = trained
        parameters = [p for p in trained.parameters() if p.requires_grad]
    else:
        parameters = list(trained)
    if not parameters:
        raise ValueError("Nothing to train: no parameter requires a gradient (unfreeze some, or add a LoRA adapter).")
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule) if schedule is not None else None
    losses: list[float] = []
    # mininterval and refresh=False keep the bar to a few redraws a second: each one is a message to Jupyter
    bar = tqdm(total=steps, desc=desc, unit="step", mininterval=0.5, leave=leave, disable=not progress)
    with single_thread() if one_thread else contextlib.nullcontext(), bar:
        if evaluate is not None and evaluate_first:
            evaluate(0)
        for step, batch in zip(range(1, steps + 1), batches, strict=False):
            if model is not None:
                model.train()
            loss = loss_fn(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
            bar.update()
            if evaluate is not None and eval_every and (step % eval_every == 0 or step == steps):
                evaluate(step)
    if len(losses) < steps:
        raise ValueError(f"batches ran out after {len(losses)} of {steps} steps.")
    return losses
