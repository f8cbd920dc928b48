"""Routing you can see: a tiny Phi-3.5-MoE trained for seconds, with and without the load-balancing loss.

Lesson 03 §4 (Routing you can see): the synthetic text, the training runs (with the course's training loop,
``course.training``) and the cached demo.

The data is English-like text the course generates from four kinds of sentence.
Like real text, a few words ("the", ".", "is") are far more frequent than the
rest, so a router that sends each word to its favourite experts overloads a few
of them unless something pushes back: that is the auxiliary loss's job.

torch (and the MoE layer's statistics) are imported when a run needs them, so the cache name ``CACHE_NAME`` and the
saved runs (``load_runs``) cost no torch import: ``course grade`` reads the name when it checks the course cache.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from course import training
from course.languages import say
from course.models.tiny import build_tiny

if TYPE_CHECKING:
    import torch

MODEL_NAME = "phi-3.5-moe"
AUX_COEF = 0.1  # much larger than in long pre-training runs: ours lasts seconds
CACHE_NAME = "moe-routing-v1"

_ANIMALS = ("cat", "dog", "fox", "owl", "horse", "rabbit", "mouse", "bear")
_VERBS = ("sees", "chases", "follows", "watches", "finds", "helps")
_ADJECTIVES = ("small", "quick", "lazy", "brown", "old", "young", "happy", "quiet")
_PLACES = ("garden", "forest", "river", "house", "field", "barn")
_COLOURS = ("red", "blue", "green", "yellow", "black", "white")
_OBJECTS = ("ball", "box", "cup", "book", "chair", "kite")


def _animals(r: random.Random) -> str:
    return (
        f"the {r.choice(_ADJECTIVES)} {r.choice(_ANIMALS)} {r.choice(_VERBS)} "
        f"the {r.choice(_ANIMALS)} in the {r.choice(_PLACES)} ."
    )


def _sums(r: random.Random) -> str:
    a, b = r.randrange(10), r.randrange(10)
    return f"{a} plus {b} is {a + b} ."


def _colours(r: random.Random) -> str:
    first, second = r.choice(_OBJECTS), r.choice(_OBJECTS)
    return f"the {first} is {r.choice(_COLOURS)} and the {second} is {r.choice(_COLOURS)} ."


def _counting(r: random.Random) -> str:
    start, step = r.randrange(10), r.choice((1, 2, 3))
    return "count : " + " ".join(str(start + i * step) for i in range(5)) + " ."


SENTENCE_KINDS: dict[str, Callable[[random.Random], str]] = {
    "animals": _animals,
    "sums": _sums,
    "colours": _colours,
    "counting": _counting,
}


def synthetic_sentences(n: int, seed: int = 0, kind: str | None = None) -> list[str]:
    """``n`` sentences of random kinds (or all of one ``kind``), the same for the same seed."""
    if kind is not None and kind not in SENTENCE_KINDS:
        raise ValueError(f"Unknown sentence kind {kind!r}; choose one of: {', '.join(SENTENCE_KINDS)}.")
    r = random.Random(seed)
    makers = [SENTENCE_KINDS[kind]] if kind else list(SENTENCE_KINDS.values())
    return [r.choice(makers)(r) for _ in range(n)]


def token_stream(tokenizer, texts: list[str]) -> torch.Tensor:
    """All texts' token ids, one after the other, as one long 1D tensor."""
    import torch

    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    return torch.tensor([i for sentence in ids for i in sentence])


def windows(stream: torch.Tensor, starts: list[int], length: int) -> torch.Tensor:
    """A batch ``(len(starts), length)`` of slices of ``stream``."""
    import torch

    if max(starts) + length > len(stream):
        raise ValueError(f"A window of {length} tokens from {max(starts)} runs past the stream ({len(stream)} tokens).")
    return torch.stack([stream[s : s + length] for s in starts])


@dataclass
class RoutingRun:
    """What one training run recorded: losses per step, balance on held-out text every few steps."""

    aux_coef: float
    lm_loss: list[float]
    aux_loss: list[float]
    eval_steps: list[int]
    imbalance: list[list[float]]  # per evaluation, per MoE layer: busiest expert / fair share
    final_load: list[list[float]]  # per MoE layer, per expert: share of routing slots

    def mean_imbalance(self, last: int = 3) -> float:
        """Imbalance averaged over layers and the last ``last`` evaluations (less noisy than one)."""
        rows = self.imbalance[-last:]
        return sum(sum(row) / len(row) for row in rows) / len(rows)


def _balance(model, held_out: torch.Tensor) -> tuple[list[float], list[list[float]]]:
    from course.lessons.moe.layer import capture_routing, expert_load, imbalance

    num_experts = model.config.num_local_experts
    loads = [expert_load(indices, num_experts) for _, indices in capture_routing(model, held_out)]
    return [imbalance(load) for load in loads], [load.tolist() for load in loads]


def train_tiny_moe(
    aux_coef: float,
    tokenizer,
    train: torch.Tensor,
    held_out: torch.Tensor,
    steps: int = 150,
    batch: int = 8,
    seq_len: int = 32,
    lr: float = 1e-2,
    seed: int = 0,
    eval_every: int = 10,
):
    """Train a tiny Phi-3.5-MoE on the token stream ``train``; returns ``(model, RoutingRun)``.

    ``aux_coef`` weights the load-balancing loss that transformers adds to the
    language-model loss (0 turns it off). Balance is measured on ``held_out``
    (a batch of token windows) in eval mode, where routing is deterministic.
    """
    import torch

    if aux_coef < 0 or steps < 1:
        raise ValueError("aux_coef must be >= 0 and steps >= 1.")
    model = build_tiny(MODEL_NAME, seed=seed, vocab_size=len(tokenizer), router_aux_loss_coef=aux_coef)
    device = next(model.parameters()).device
    run = RoutingRun(aux_coef, [], [], [], [], [])

    def batches():
        generator = torch.Generator().manual_seed(seed)
        while True:
            starts = torch.randint(0, len(train) - seq_len, (batch,), generator=generator).tolist()
            yield windows(train, starts, seq_len).to(device)

    def loss(ids: torch.Tensor) -> torch.Tensor:
        out = model(input_ids=ids, labels=ids, output_router_logits=True)
        run.aux_loss.append(out.aux_loss.item())
        run.lm_loss.append(out.loss.item() - aux_coef * out.aux_loss.item())
        return out.loss

    def evaluate(step: int) -> None:
        layer_imbalance, loads = _balance(model, held_out)
        run.eval_steps.append(step)
        run.imbalance.append(layer_imbalance)
        run.final_load = loads

    training.train(
        model,
        batches(),
        loss,
        steps=steps,
        lr=lr,
        one_thread=True,
        evaluate=evaluate,
        eval_every=eval_every,
        desc=say("moe.train_desc", coef=aux_coef),
    )
    return model.eval(), run


def build_routing_demo(folder: Path, steps: int = 150, seed: int = 0) -> None:
    """Train with and without the auxiliary loss; save both runs and the balanced model in ``folder``."""
    from course.text.vocab import build_word_tokenizer

    texts = synthetic_sentences(2000, seed=seed)
    tokenizer = build_word_tokenizer(texts)
    train = token_stream(tokenizer, texts)
    held_text = token_stream(tokenizer, synthetic_sentences(600, seed=seed + 1))
    held_out = windows(held_text, list(range(0, 64 * 32, 32)), 32)
    runs = {}
    for coef in (0.0, AUX_COEF):
        model, run = train_tiny_moe(coef, tokenizer, train, held_out, steps=steps, seed=seed)
        runs[str(coef)] = asdict(run)
    model.save_pretrained(folder / "model")
    tokenizer.save_pretrained(folder / "tokenizer")
    (folder / "runs.json").write_text(json.dumps(runs), encoding="utf-8")


def load_runs(folder: Path) -> tuple[RoutingRun, RoutingRun]:
    """The runs saved by ``build_routing_demo``: ``(without, with)`` the auxiliary loss."""
    raw = json.loads((Path(folder) / "runs.json").read_text(encoding="utf-8"))
    return RoutingRun(**raw[str(0.0)]), RoutingRun(**raw[str(AUX_COEF)])
