"""A tiny Llama 3.2 Vision that learns to answer questions about pictures on a CPU (lesson 04).

The model is a real ``MllamaForConditionalGeneration`` built from a tiny config
with the 11B model's structure (vision encoder, projector, gated cross-attention
layers in a Llama decoder); the processor is the real ``MllamaProcessor`` with
the real image processor and chat template, over a small word vocabulary. The
functions that ask questions and score answers take any model and processor,
so they run the real Llama 3.2 Vision unchanged when its weights are on disk.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course.lessons.vision import CHAT_TEMPLATE, IMAGE_TOKEN, LLAMA_VISION_REPO, MODEL_NAME, chat_messages
from course.lessons.vision_data import ANSWERS, QUESTIONS, Example, chance_accuracy, make_examples
from course.runtime import single_thread

TILE_SIZE = 32  # pixels a side of the tiny model's tiles (the real model: 560)
PATCH_SIZE = 16  # pixels a side of one patch (the real model: 14): 2 x 2 patches per tile
CHAT_TOKENS = ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")
END_OF_TURN = "<|eot_id|>"
TRAIN_SEED, TEST_SEED = 1, 2  # different seeds: the test pictures are never seen in training
SMALL_MODEL = 10_000_000  # parameters: below this, one CPU thread is faster than several


@dataclass(frozen=True)
class TrainingSettings:
    """How the tiny model is trained; part of the cache name, so changing one retrains."""

    n_images: int = 600
    vision_epochs: int = 20
    epochs: int = 6
    batch_size: int = 32
    lr: float = 3e-3
    warmup_steps: int = 20
    seed: int = 0

    @property
    def cache_name(self) -> str:
        return (f"vision-tiny-mllama-v1-n{self.n_images}-v{self.vision_epochs}-e{self.epochs}"
                f"-b{self.batch_size}-lr{self.lr:g}-w{self.warmup_steps}-s{self.seed}")


@dataclass(frozen=True)
class Evaluation:
    """The model's answers to a set of questions and its accuracy per question kind."""

    predictions: list[str]
    accuracy: dict[str, float]


def tiny_tokenizer():
    """A real Hugging Face tokenizer for the questions and answers, with Llama 3's chat and image tokens.

    The image token is added last, so (as in the real model) its id is the first one past the text
    vocabulary: the language model reads it but never has to write it.
    """
    from course.text.vocab import build_word_tokenizer

    texts = [*QUESTIONS.values(), *(word for words in ANSWERS.values() for word in words)]
    tokenizer = build_word_tokenizer(texts, extra_words=("user", "assistant"))
    tokenizer.add_special_tokens({"additional_special_tokens": [*CHAT_TOKENS, IMAGE_TOKEN]})
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_processor():
    """The real ``MllamaProcessor``: the published image settings with small tiles, and the tiny tokenizer."""
    from transformers import MllamaProcessor

    from course.lessons.vision import image_processor

    return MllamaProcessor(image_processor=image_processor(TILE_SIZE, max_tiles=1), tokenizer=tiny_tokenizer(),
                           chat_template=CHAT_TEMPLATE)


def tiny_overrides(tokenizer) -> dict[str, Any]:
    """Sizes and token ids that turn the 11B config into the tiny one (see ``course.models.tiny``)."""
    image_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    if image_id != len(tokenizer) - 1:
        raise ValueError("The image token must be the tokenizer's last token; build it with tiny_tokenizer().")
    hidden = 64
    intermediate_layers = [0]
    return {
        "image_token_index": image_id,
        "text_config": {
            "vocab_size": image_id,
            "hidden_size": hidden,
            "num_hidden_layers": 3,
            "cross_attention_layers": [1],
            "max_position_embeddings": 64,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.convert_tokens_to_ids(END_OF_TURN),
            "pad_token_id": tokenizer.pad_token_id,
        },
        "vision_config": {
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "attention_heads": 4,
            "num_hidden_layers": 2,
            "num_global_layers": 1,
            "image_size": TILE_SIZE,
            "patch_size": PATCH_SIZE,
            "max_num_tiles": 1,
            "supported_aspect_ratios": [[1, 1]],
            "intermediate_layers_indices": intermediate_layers,
            "vision_output_dim": hidden * (len(intermediate_layers) + 1),
        },
    }


def build_tiny_model(processor, seed: int = 0):
    """A freshly initialised tiny ``MllamaForConditionalGeneration`` that fits ``processor``'s vocabulary."""
    from course.models.tiny import build_tiny

    return build_tiny(MODEL_NAME, seed=seed, **tiny_overrides(processor.tokenizer))


def prompts(processor, questions: list[str]) -> list[str]:
    """Each question as a chat turn with a picture, rendered by the processor's chat template."""
    return [processor.apply_chat_template(chat_messages(q), add_generation_prompt=True, tokenize=False)
            for q in questions]


def encode(processor, examples: list[Example], with_answers: bool = False):
    """Model inputs for ``examples``; ``with_answers`` appends each answer and sets the training ``labels``.

    Labels are -100 (ignored) everywhere except on the answer and its end-of-turn token, so the
    model learns to answer, not to repeat the question.
    """
    tokenizer = processor.tokenizer
    texts = prompts(processor, [e.question for e in examples])
    if with_answers:
        texts = [text + e.answer + END_OF_TURN for text, e in zip(texts, examples, strict=True)]
    tokenizer.padding_side = "right" if with_answers else "left"
    batch = processor(images=[[e.image] for e in examples], text=texts, padding=True, add_special_tokens=False,
                      return_tensors="pt")
    if with_answers:
        ids = batch["input_ids"]
        header_end = tokenizer.convert_tokens_to_ids("<|end_header_id|>")
        positions = ids.new_tensor(range(ids.shape[1])).expand_as(ids)
        answer_start = ((ids == header_end) * (positions + 1)).max(dim=1, keepdim=True).values
        labels = ids.masked_fill(positions < answer_start, -100)
        batch["labels"] = labels.masked_fill(batch["attention_mask"] == 0, -100)
    return batch


def _lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up to 1 over ``warmup`` steps, then a cosine decay to 0 at step ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def _fit(parameters: list, n_rows: int, loss_of_rows, epochs: int, settings: TrainingSettings,
         description: str) -> list[float]:
    """AdamW over shuffled mini-batches of ``n_rows`` rows, with warm-up and cosine decay; the loss of each step."""
    import torch
    from tqdm.auto import tqdm

    optimizer = torch.optim.AdamW(parameters, lr=settings.lr)
    total = epochs * math.ceil(n_rows / settings.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _lr_factor(step, total, settings.warmup_steps))
    generator = torch.Generator().manual_seed(settings.seed)
    losses = []
    # mininterval and refresh=False keep the bar to a few redraws a second: each one is a message to Jupyter
    with single_thread(), tqdm(total=total, desc=description, unit="step", mininterval=0.5) as bar:
        for _ in range(epochs):
            order = torch.randperm(n_rows, generator=generator)
            for start in range(0, n_rows, settings.batch_size):
                loss = loss_of_rows(order[start:start + settings.batch_size])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                losses.append(loss.item())
                bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
                bar.update()
    return losses


def pretrain_vision(model, processor, examples: list[Example], settings: TrainingSettings = TrainingSettings()
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
    features = {name: features[name].to(model.device) for name in ("pixel_values", "aspect_ratio_ids",
                                                                      "aspect_ratio_mask")}
    targets = {kind: torch.tensor([options.index(labels[k][kind]) for k in keys], device=model.device)
               for kind, options in ANSWERS.items()}
    head = torch.nn.Linear(model.config.vision_config.vision_output_dim,
                           sum(len(options) for options in ANSWERS.values())).to(model.device)
    sizes = [len(options) for options in ANSWERS.values()]

    def loss_of_rows(rows):
        rows = rows.to(model.device)
        tokens = vision(**{name: value[rows] for name, value in features.items()}).last_hidden_state
        logits = head(tokens.flatten(1, 3).mean(dim=1)).split(sizes, dim=1)
        return sum(torch.nn.functional.cross_entropy(part, targets[kind][rows])
                   for part, kind in zip(logits, ANSWERS, strict=True))

    vision.train()
    losses = _fit([*vision.parameters(), *head.parameters()], len(keys), loss_of_rows, settings.vision_epochs,
                  settings, "stage 1: vision encoder")
    vision.eval()
    return losses


def train(model, processor, examples: list[Example], settings: TrainingSettings = TrainingSettings()) -> list[float]:
    """Stage 2: with the vision encoder frozen, train the rest to answer the questions; the loss of each step.

    Only the answer tokens count in the loss (see ``encode``). Freezing the encoder protects what stage 1
    taught it from the first, noisy steps of the new cross-attention layers.
    """
    batch = encode(processor, examples, with_answers=True).to(model.device)
    for parameter in model.model.vision_model.parameters():
        parameter.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]

    def loss_of_rows(rows):
        rows = rows.to(model.device)
        return model(**{key: value[rows] for key, value in batch.items()}).loss

    model.train()
    losses = _fit(trainable, len(examples), loss_of_rows, settings.epochs, settings, "stage 2: answering")
    model.eval()
    return losses


def answer_questions(model, processor, images: list, questions: list[str], max_new_tokens: int = 3,
                     batch_size: int = 64) -> list[str]:
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
        batch = processor(images=[[image] for image in images[chunk]], text=prompts(processor, questions[chunk]),
                          padding=True, add_special_tokens=False, return_tensors="pt").to(model.device)
        with torch.inference_mode(), single_thread() if small else nullcontext():
            output = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                    eos_token_id=stop, pad_token_id=tokenizer.pad_token_id)
        new_tokens = output[:, batch["input_ids"].shape[1]:]
        replies += [text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
    return replies


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
    replies = answer_questions(model, processor, [e.image for e in examples], [e.question for e in examples],
                               max_new_tokens=max_new_tokens)
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


def trained_tiny_model(settings: TrainingSettings = TrainingSettings()) -> Path:
    """The folder of the trained tiny model (trained on the first call, then reused from the course cache).

    It holds the model, its processor and ``training.json`` (the settings and the loss of every step).
    """
    from course.cache import cached_folder

    def build(folder: Path) -> None:
        processor = tiny_processor()
        model = build_tiny_model(processor, seed=settings.seed)
        examples = make_examples(settings.n_images, TILE_SIZE, TRAIN_SEED)
        vision_losses = pretrain_vision(model, processor, examples, settings)
        losses = train(model, processor, examples, settings)
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
        record = {"settings": settings.__dict__, "vision_losses": vision_losses, "losses": losses}
        (folder / "training.json").write_text(json.dumps(record, indent=1), encoding="utf-8")

    return cached_folder(settings.cache_name, build)


def training_losses(folder: Path) -> dict[str, list[float]]:
    """The loss of every step of both stages (``"vision"``, ``"answering"``), as recorded with a trained model."""
    record = json.loads((Path(folder) / "training.json").read_text(encoding="utf-8"))
    return {"vision": record["vision_losses"], "answering": record["losses"]}


def held_out_examples(n_images: int = 100) -> list[Example]:
    """Held-out pictures (a seed training never uses), each asked every question kind."""
    return make_examples(n_images, TILE_SIZE, TEST_SEED)


def plot_training(losses: dict[str, list[float]], before: dict[str, float], after: dict[str, float]):
    """Loss per step of both stages, and accuracy per question kind before and after training against chance."""
    import matplotlib.pyplot as plt
    import numpy as np

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6), constrained_layout=True)
    left.plot(losses["vision"], color="tab:purple", label="stage 1: vision encoder (names colour and shape)")
    left.plot(losses["answering"], color="tab:blue", label="stage 2: answering the questions")
    left.set_xlabel("training step")
    left.set_ylabel("loss (cross-entropy)")
    left.set_title("training loss")
    left.legend(fontsize=8)
    kinds = list(after)
    x = np.arange(len(kinds))
    for offset, values, label, colour in [(-0.2, before, "before training", "tab:gray"),
                                          (0.2, after, "after training", "tab:green")]:
        heights = [values[kind] for kind in kinds]
        right.bar(x + offset, heights, 0.4, label=label, color=colour)
        for xi, height in zip(x + offset, heights, strict=True):
            right.text(xi, height + 0.02, f"{height:.0%}", ha="center", fontsize=9)
    for i, kind in enumerate(kinds):
        right.hlines(chance_accuracy(kind), i - 0.45, i + 0.45, colors="tab:red", linestyles="--",
                     label="chance" if i == 0 else None)
    right.set_xticks(x, [f"{kind} questions" for kind in kinds])
    right.set_ylim(0, 1.12)
    right.set_ylabel("accuracy on held-out pictures")
    right.legend(loc="upper left", fontsize=8)
    right.set_title("does the model see?")
    return figure


def plot_gallery(examples: list[Example], replies: list[str], title: str, columns: int = 8, rows: int = 2):
    """Pictures with the replies to both of their questions (colour, then shape); a wrong answer turns red."""
    import matplotlib.pyplot as plt

    if len(examples) != len(replies):
        raise ValueError(f"Give one reply per example: got {len(examples)} examples and {len(replies)} replies.")
    by_picture: dict[int, list[tuple[Example, str]]] = {}
    for example, reply in zip(examples, replies, strict=True):
        by_picture.setdefault(id(example.image), []).append((example, reply))
    pictures = list(by_picture.values())[: columns * rows]
    figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 2.0 * rows), constrained_layout=True)
    for axis, asked in zip(axes.ravel(), pictures, strict=False):
        axis.imshow(asked[0][0].image)
        axis.set_xticks([])
        axis.set_yticks([])
        lines = [reply or "(nothing)" for _, reply in asked]
        right = all(extract_answer(reply, e.kind) == e.answer for e, reply in asked)
        axis.set_title("\n".join(lines), fontsize=9, color="black" if right else "tab:red")
    for axis in axes.ravel()[len(pictures):]:
        axis.axis("off")
    figure.suptitle(title)
    return figure
