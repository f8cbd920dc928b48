"""Lesson 04 §5: train the tiny Llama 3.2 Vision as Llama 3.2 Vision was built, with the course's training
loop (``course.training``).

Stage 0 pretrains the language model on text alone; stage 1 pretrains the vision encoder on its own; both are
cached together (``pretrained_parts``). Stage 2 (``train_adapter``), with both frozen, trains only what connects
them, the projector and the gated cross-attention layers built around the student's block; it is quick, so it
runs each time, with the student's current code.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from course import training
from course.languages import say
from course.lessons.vision.data import ANSWERS, TEXT_FACTS, Example, make_examples
from course.lessons.vision.tiny import TILE_SIZE, TRAIN_SEED, build_tiny_model, encode, encode_text, tiny_processor


@dataclass(frozen=True)
class TrainingSettings:
    """How the tiny model is trained; part of the cache name, so changing one retrains."""

    n_images: int = 600
    text_steps: int = 150
    vision_epochs: int = 20
    epochs: int = 6
    batch_size: int = 32
    lr: float = 3e-3
    warmup_steps: int = 20
    seed: int = 0

    @property
    def cache_name(self) -> str:
        return (
            f"vision-tiny-mllama-parts-v3-n{self.n_images}-t{self.text_steps}-v{self.vision_epochs}"
            f"-b{self.batch_size}-lr{self.lr:g}-w{self.warmup_steps}-s{self.seed}"
        )


def _row_batches(n_rows: int, epochs: int, settings: TrainingSettings):
    """Row indices of the mini-batches: every epoch, all ``n_rows`` rows once, in a fresh shuffled order."""
    import torch

    generator = torch.Generator().manual_seed(settings.seed)
    for _ in range(epochs):
        order = torch.randperm(n_rows, generator=generator)
        for start in range(0, n_rows, settings.batch_size):
            yield order[start : start + settings.batch_size]


def _fit(
    parameters: list, n_rows: int, loss_of_rows, epochs: int, settings: TrainingSettings, description: str
) -> list[float]:
    """AdamW over shuffled mini-batches of ``n_rows`` rows, with warm-up and cosine decay; the loss of each step."""
    total = epochs * math.ceil(n_rows / settings.batch_size)
    return training.train(
        parameters,
        _row_batches(n_rows, epochs, settings),
        loss_of_rows,
        steps=total,
        lr=settings.lr,
        schedule=training.warmup_cosine(total, settings.warmup_steps),
        one_thread=True,
        desc=description,
        leave=True,
    )


def pretrain_language(model, processor, settings: TrainingSettings = TrainingSettings()) -> list[float]:
    """Stage 0: teach the language model to answer the text questions of ``TEXT_FACTS``; the loss of every step.

    With no picture in the input, Mllama skips its cross-attention layers, so only the text stack (embeddings,
    self-attention layers, output head) learns: the tiny counterpart of Llama 3.1, trained before any picture.
    """
    import torch

    questions = list(TEXT_FACTS)
    batch = encode_text(processor, questions, [TEXT_FACTS[q] for q in questions]).to(model.device)
    every_row = torch.arange(len(questions))

    def loss_of_rows(rows):
        rows = rows.to(model.device)
        return model(**{key: value[rows] for key, value in batch.items()}).loss

    model.train()
    losses = training.train(
        list(model.model.language_model.parameters()) + list(model.lm_head.parameters()),
        (every_row for _ in range(settings.text_steps)),
        loss_of_rows,
        steps=settings.text_steps,
        lr=settings.lr,
        schedule=training.warmup_cosine(settings.text_steps, settings.warmup_steps),
        one_thread=True,
        desc=say("vision.stage0"),
        leave=True,
    )
    model.eval()
    return losses


def pretrain_vision(
    model, processor, examples: list[Example], settings: TrainingSettings = TrainingSettings()
) -> list[float]:
    """Stage 1: teach the vision encoder alone to tell the pictures apart; returns the loss of every step.

    A throw-away linear layer reads the average of the encoder's output tokens and must name the colour and
    the shape; the encoder learns features that make this possible. (Llama 3.2's encoder was likewise
    pre-trained on its own, on images paired with text, before it was connected to the language model.)
    """
    import torch

    labels: dict[int, dict[str, str]] = {}
    pictures = {}
    for example in examples:
        labels.setdefault(id(example.image), {})[example.kind] = example.answer
        pictures[id(example.image)] = example.image
    keys = list(pictures)
    vision = model.model.vision_model
    features = processor.image_processor(images=[[pictures[k]] for k in keys], return_tensors="pt")
    features = {
        name: features[name].to(model.device) for name in ("pixel_values", "aspect_ratio_ids", "aspect_ratio_mask")
    }
    targets = {
        kind: torch.tensor([options.index(labels[k][kind]) for k in keys], device=model.device)
        for kind, options in ANSWERS.items()
    }
    head = torch.nn.Linear(
        model.config.vision_config.vision_output_dim, sum(len(options) for options in ANSWERS.values())
    ).to(model.device)
    sizes = [len(options) for options in ANSWERS.values()]

    def loss_of_rows(rows):
        rows = rows.to(model.device)
        tokens = vision(**{name: value[rows] for name, value in features.items()}).last_hidden_state
        logits = head(tokens.flatten(1, 3).mean(dim=1)).split(sizes, dim=1)
        return sum(
            torch.nn.functional.cross_entropy(part, targets[kind][rows])
            for part, kind in zip(logits, ANSWERS, strict=True)
        )

    vision.train()
    losses = _fit(
        [*vision.parameters(), *head.parameters()],
        len(keys),
        loss_of_rows,
        settings.vision_epochs,
        settings,
        say("vision.stage1"),
    )
    vision.eval()
    return losses


def train_adapter(
    model, processor, examples: list[Example], settings: TrainingSettings = TrainingSettings()
) -> list[float]:
    """Stage 2: train what still requires gradients (after ``gated.freeze_all_but_the_adapter``: the projector
    and the gated cross-attention layers) to answer the questions about the pictures; the loss of each step.

    Only the answer tokens count in the loss (see ``encode``).
    """
    batch = encode(processor, examples, with_answers=True).to(model.device)
    trainable = [p for p in model.parameters() if p.requires_grad]

    def loss_of_rows(rows):
        rows = rows.to(model.device)
        return model(**{key: value[rows] for key, value in batch.items()}).loss

    model.train()
    losses = _fit(trainable, len(examples), loss_of_rows, settings.epochs, settings, say("vision.stage2"))
    model.eval()
    return losses


def pretrained_parts(settings: TrainingSettings = TrainingSettings()) -> Path:
    """The folder of the tiny model with its language model (stage 0) and vision encoder (stage 1) pretrained,
    its cross-attention layers untouched (trained on the first call, then reused from the course cache).

    It holds the model, its processor and ``training.json`` (the settings and the loss of every step).
    """
    from course.cache import cached_folder

    def build(folder: Path) -> None:
        processor = tiny_processor()
        model = build_tiny_model(processor, seed=settings.seed)
        text_losses = pretrain_language(model, processor, settings)
        examples = make_examples(settings.n_images, TILE_SIZE, TRAIN_SEED)
        vision_losses = pretrain_vision(model, processor, examples, settings)
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
        record = {"settings": settings.__dict__, "text_losses": text_losses, "vision_losses": vision_losses}
        (folder / "training.json").write_text(json.dumps(record, indent=1), encoding="utf-8")

    return cached_folder(settings.cache_name, build)


def training_examples(settings: TrainingSettings = TrainingSettings()) -> list[Example]:
    """The pictures and questions the adapter trains on (a seed the held-out pictures never use)."""
    return make_examples(settings.n_images, TILE_SIZE, TRAIN_SEED)


def training_losses(folder: Path) -> dict[str, list[float]]:
    """The loss of every step of the two pretraining stages (``"text"``, ``"vision"``), as recorded with them."""
    record = json.loads((Path(folder) / "training.json").read_text(encoding="utf-8"))
    return {"text": record["text_losses"], "vision": record["vision_losses"]}
