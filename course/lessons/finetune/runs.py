"""Lesson 05 §4-8: training runs cached with :func:`course.cache.cached_folder`, so a second run of the lesson
loads the trained weights and the log instead of training again.

A run's cache key is its name plus a fingerprint of everything it depends on: the source code of the functions and
classes it uses (the student's LoRA layer, loss mask and augmentation included, so editing one of them trains
again) and its settings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from course.lessons.finetune.training import TrainLog


def fingerprint(parts: Sequence[object]) -> str:
    """A short hash of ``parts``: the source of functions and classes (of every method, for a class defined in a
    notebook), the ``repr`` of anything else."""

    def describe(part: object) -> str:
        part = inspect.unwrap(part) if callable(part) else part
        if inspect.isclass(part):
            return part.__qualname__ + "".join(
                describe(member) for member in vars(part).values() if inspect.isfunction(member)
            )
        if inspect.isfunction(part) or inspect.ismethod(part):
            try:
                return inspect.getsource(part)
            except (OSError, TypeError):
                return f"{part.__module__}.{part.__qualname__}"
        return repr(part)

    return hashlib.sha256("\n".join(describe(part) for part in parts).encode()).hexdigest()[:16]


def cached_run(name: str, model, train: Callable[[Any], TrainLog], depends_on: Sequence[object]) -> TrainLog:
    """``train(model)`` once, returning its ``TrainLog``; later calls with the same ``name`` and ``depends_on`` load
    the trained weights into ``model`` (built the same way) and the log from the cache instead."""
    import torch

    from course.cache import cached_folder
    from course.lessons.finetune.training import TrainLog
    from course.runtime import device

    trained: list[TrainLog] = []

    def build(folder):
        log = train(model)
        trained.append(log)
        torch.save({key: value.detach().cpu() for key, value in model.state_dict().items()}, folder / "model.pt")
        (folder / "log.json").write_text(json.dumps(dataclasses.asdict(log)))

    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    folder = cached_folder(f"finetune-run-{slug}-{fingerprint(depends_on)}", build)
    if trained:
        return trained[0]
    model.load_state_dict(torch.load(folder / "model.pt", map_location="cpu"))
    model.to(device()).eval()
    return TrainLog(**json.loads((folder / "log.json").read_text()))
