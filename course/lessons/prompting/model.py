"""The course's promptable model: a tiny Llama trained to read its prompt, and how to score its answers.

Lesson 01 §2-5 (every strategy is measured on it), and the capstone (lesson 07: the same base model is prompted,
given retrieved notes, and fine-tuned with LoRA).

The model is a real ``LlamaForCausalLM`` with the structure of Llama 3.2 1B (grouped-query attention, SwiGLU,
RMSNorm, RoPE) shrunk to about 120 thousand parameters, with a lower-cased word-level tokenizer over the help
desk's closed vocabulary (``course.lessons.prompting.helpdesk``). Three settings differ from a scaled-down copy,
on purpose: two query heads per key/value head (four in Llama 3.2 1B, which would leave this size one key/value
head per layer), untied input and output embeddings (Llama 3.2 ties them) and a RoPE base of 10,000 (500,000 in
Llama 3.2, tuned for 128k-token contexts). With them, this tiny model learns to look things up in its prompt in
a few thousand steps.

It is trained from scratch, once, for about a minute on one CPU core, on prompts for random companies
(``helpdesk.training_request``): a few thousand small batches, every one freshly drawn, never Quill's texts.
Answers are **scored, not generated**: :func:`choose` picks the candidate answer (one of the four teams, or one
of the policy's allowed values) with the highest log-likelihood after the prompt, so accuracy is well defined;
:func:`generate` decodes greedily, for free-form use.

    model, tokenizer = load_model()          # trained on first use, then cached (course.cache)
    accuracy(model, tokenizer, [zero_shot(r) for r in held_out_requests(quill())])
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from course.cache import cached_folder
from course.lessons.prompting import helpdesk
from course.lessons.prompting.helpdesk import Prompted, vocabulary_texts
from course.lessons.prompting.prompts import INPUT, OUTPUT, build_prompt, render
from course.training import IGNORE, collate

ARCHITECTURE = "llama-3.2-1b"  # the real config whose structure the tiny model keeps (course/models/configs)
VERSION = 1  # bump when the data, the shape or the training change: the cache folder is named after it
SEED = 0
MODEL_SHAPE = {
    "hidden_size": 64,
    "intermediate_size": 192,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "tie_word_embeddings": False,
    "rope_theta": 10_000.0,
}
# Many small batches: looking things up in the prompt is learnt after enough steps, more than enough examples.
TRAINING: dict[str, Any] = {"steps": 3200, "lr": 3e-3, "batch_size": 8, "warmup": 100}
DECAY = 0.2  # the learning rate stays flat after warm-up, then falls linearly over this last share of the steps
BUCKETS = 8  # batches drawn at once and grouped by length, so that little padding is computed
TEXT_WEIGHT = 0.2  # the loss weight of the prompt's own words; every answer in the prompt weighs 1


def cache_name(seed: int = SEED) -> str:
    return f"helpdesk-llama-v{VERSION}-seed{seed}"


def build_tokenizer():
    """A word-level tokenizer (lower-cased) over every word the help desk and the prompt layout use: ids in
    sorted order after the special tokens, so the same texts always give the same ids."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from course.text.vocab import SPECIAL_TOKENS

    layout = build_prompt("x", "x", "x", ["x"], [("x", "x")])
    splitter = pre_tokenizers.Whitespace()
    words = {piece for text in [*vocabulary_texts(), layout] for piece, _ in splitter.pre_tokenize_str(text.lower())}
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS.values())}
    for word in sorted(words - vocab.keys()):
        vocab[word] = len(vocab)
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=SPECIAL_TOKENS["unk_token"]))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = splitter
    return PreTrainedTokenizerFast(tokenizer_object=core, **SPECIAL_TOKENS)


def encode(tokenizer, prompted: Prompted) -> tuple[list[int], list[int]]:
    """Token ids of the prompt, its answer and the end-of-sequence token, and the training labels: the ids of
    every answer in the prompt (the solved examples' and the request's) and ``-100`` everywhere else."""
    text = f"{render(prompted)} {prompted.request.answer}"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    starts = _answer_starts(tokenizer, ids)
    labels = [IGNORE] * len(ids)
    stop_id = tokenizer.convert_tokens_to_ids(INPUT.rstrip(":").lower())
    for start in starts:
        position = start
        while position < len(ids) and ids[position] != stop_id:
            labels[position] = ids[position]
            position += 1
    return ids, labels


def _answer_starts(tokenizer, ids: Sequence[int]) -> list[int]:
    """Positions right after each ``Output:``."""
    output_id, colon_id = tokenizer.convert_tokens_to_ids([OUTPUT.rstrip(":").lower(), ":"])
    return [i + 2 for i in range(len(ids) - 1) if ids[i] == output_id and ids[i + 1] == colon_id]


def _length(row: tuple[list[int], list[int]]) -> int:
    return len(row[0])


def build_model(tokenizer, seed: int = SEED):
    """A freshly initialised tiny ``LlamaForCausalLM`` for ``tokenizer``'s vocabulary."""
    from course.models.tiny import build_tiny

    return build_tiny(
        ARCHITECTURE,
        seed=seed,
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **MODEL_SHAPE,
    )


def train_model(model, tokenizer, *, steps: int, lr: float, batch_size: int, warmup: int, seed: int = SEED, **kw):
    """Train ``model`` on freshly drawn help-desk prompts (a new batch every step) with the course's training
    loop, on one CPU thread; the loss counts every answer in a prompt fully and its other words a little
    (:data:`TEXT_WEIGHT`). Returns the loss of every step."""
    from course import training
    from course.runtime import device

    where = device()
    model.to(where)
    rng = random.Random(seed)

    def batches():
        while True:
            rows = [encode(tokenizer, helpdesk.training_request(rng)) for _ in range(batch_size * BUCKETS)]
            rows.sort(key=_length)
            order = list(range(BUCKETS))
            rng.shuffle(order)
            for bucket in order:
                batch = collate(rows[bucket * batch_size : (bucket + 1) * batch_size], tokenizer.pad_token_id)
                yield {"input_ids": batch["input_ids"].to(where), "labels": batch["labels"].to(where)}

    def loss_fn(batch):
        import torch

        logits = model(input_ids=batch["input_ids"]).logits[:, :-1].float()
        targets, answers = batch["input_ids"][:, 1:], batch["labels"][:, 1:] != IGNORE
        weights = (targets != tokenizer.pad_token_id).float() * TEXT_WEIGHT + answers.float() * (1 - TEXT_WEIGHT)
        losses = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none")
        return (losses * weights.flatten()).sum() / answers.sum().clamp(min=1)

    losses = training.train(
        model,
        batches(),
        loss_fn,
        steps=steps,
        lr=lr,
        weight_decay=0.0,
        schedule=lambda step: min(1.0, (step + 1) / warmup, max(0.1, (steps - step) / (DECAY * steps))),
        one_thread=True,
        **kw,
    )
    model.eval()
    return losses


def _build(folder: Path, seed: int) -> None:
    import json
    import time

    from course.languages import say

    tokenizer = build_tokenizer()
    model = build_model(tokenizer, seed)
    start = time.perf_counter()
    losses = train_model(model, tokenizer, seed=seed, desc=say("prompting.training_desc"), leave=True, **TRAINING)
    seconds = time.perf_counter() - start
    model.to("cpu").save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    record = {"seconds": seconds, "steps": TRAINING["steps"], "losses": losses}
    (folder / "training.json").write_text(json.dumps(record))


def model_folder(seed: int = SEED) -> Path:
    """The cached model's folder for ``seed``, trained first if the cache lacks it."""
    return cached_folder(cache_name(seed), lambda folder: _build(folder, seed))


def load_model(seed: int = SEED):
    """``(model, tokenizer)``: the trained help-desk model for ``seed``, trained on first use and cached."""
    from transformers import AutoTokenizer, LlamaForCausalLM

    from course.runtime import device

    folder = model_folder(seed)
    # transformers wraps PreTrainedModel.to with functools.wraps, which mypy does not bind as a method
    model = LlamaForCausalLM.from_pretrained(folder).to(device()).eval()  # type: ignore[arg-type]
    return model, AutoTokenizer.from_pretrained(folder)


def training_record(seed: int = SEED) -> dict:
    """How the cached model for ``seed`` was trained: ``seconds`` (on the machine that built it), ``steps`` and
    the loss of every step (``losses``)."""
    import json

    return json.loads((model_folder(seed) / "training.json").read_text())


# ---------------------------------------------------------------- using it


def score(model, tokenizer, prompts: Sequence[str], candidates: Sequence[Sequence[str]], batch_size: int = 64):
    """The log-likelihood of each candidate answer after its prompt: ``result[i][j]`` is the sum of the
    log-probabilities of the tokens of ``candidates[i][j]`` following ``prompts[i]``."""
    import torch

    if len(prompts) != len(candidates):
        raise ValueError("Give one list of candidate answers per prompt.")
    rows, spans = [], []
    for prompt, options in zip(prompts, candidates, strict=True):
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        for option in options:
            answer_ids = tokenizer(option, add_special_tokens=False)["input_ids"]
            rows.append((prompt_ids + answer_ids, [IGNORE] * len(prompt_ids) + answer_ids))
            spans.append(len(answer_ids))
    where = next(model.parameters()).device
    totals: list[float] = []
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            batch = collate(rows[start : start + batch_size], tokenizer.pad_token_id)
            logits = model(input_ids=batch["input_ids"].to(where)).logits  # right padding: causal, no mask needed
            logprobs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
            targets = batch["labels"][:, 1:].to(where)
            picked = logprobs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            totals += (picked * (targets != IGNORE)).sum(dim=1).tolist()
    result, position = [], 0
    for options in candidates:
        result.append(totals[position : position + len(options)])
        position += len(options)
    return result


def choose(model, tokenizer, prompted: Sequence[Prompted]) -> list[str]:
    """The model's answer to each prompt: its most likely candidate (a team, or one of the policy's values)."""
    prompts = [render(p) for p in prompted]
    options = [p.request.candidates for p in prompted]
    scores = score(model, tokenizer, prompts, options)
    return [opts[max(range(len(opts)), key=s.__getitem__)] for opts, s in zip(options, scores, strict=True)]


def accuracy(model, tokenizer, prompted: Sequence[Prompted]) -> float:
    """Share of prompts whose chosen answer is the company's answer."""
    if not prompted:
        raise ValueError("accuracy needs at least one prompt.")
    answers = choose(model, tokenizer, prompted)
    return sum(a == p.request.answer for a, p in zip(answers, prompted, strict=True)) / len(prompted)


def generate(model, tokenizer, prompts: Sequence[str], max_new_tokens: int = 4) -> list[str]:
    """Greedy answers to ``prompts``, decoded one prompt at a time (no padding to get wrong)."""
    import torch

    where = next(model.parameters()).device
    answers = []
    with torch.no_grad():
        for prompt in prompts:
            ids = torch.tensor([tokenizer(prompt, add_special_tokens=False)["input_ids"]], device=where)
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
            answers.append(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).strip())
    return answers
