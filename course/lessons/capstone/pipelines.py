"""The capstone's three ways to one task, on one base model: prompting, RAG and a LoRA fine-tune.

Lesson 07 §2-5. The task is lesson 01's help desk (``course.lessons.prompting.helpdesk``): route Quill's tickets
and answer its policy questions, with a formatting requirement (the answer is one team or one number, nothing
else). The base model is lesson 01's promptable tiny Llama (``course.lessons.prompting.model``), loaded from the
same cache.

- **prompting** builds each request's prompt with lesson 01's strategies (zero-shot, 3C, few-shot);
- **RAG** puts the notes a retriever picks into the prompt; retrieval packs the best notes into a token budget,
  which is the lesson's Exercise 2 (``pack_context``), so :func:`rag_prompts` takes the packing function;
- **fine-tuning** trains LoRA adapters (``peft``) on question-answer pairs made from Quill's notes
  (:func:`qa_pairs`), then answers zero-shot prompts; :func:`fine_tune` measures how long that took, the
  one-off cost the lesson prices.

Answers are **generated** (greedy, a few tokens), as a deployed model would answer, and not scored among
candidates as in lesson 01: whether the output is exactly the answer is part of what is measured.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from course.languages import say
from course.lessons.prompting import prompts
from course.lessons.prompting.helpdesk import (
    POLICIES,
    TOPICS,
    TRAINING_TICKETS,
    Company,
    Document,
    Prompted,
    Request,
    training_phrasings,
)

#: The word that opens the next request in the course's prompt layout (``Input:``). A prompted model that has
#: answered tends to go on with it, as a chat model goes on with the next turn; a *stop sequence* cuts it there.
STOP_WORD = prompts.INPUT.rstrip(":").lower()
MAX_NEW_TOKENS = 3
#: LoRA on every linear layer of the tiny model, rank 8; the scale alpha / r is 2 (lesson 05).
LORA: dict[str, Any] = {"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj",
        "gate_proj", "up_proj", "down_proj"], "lora_dropout": 0.0}  # fmt: skip


class FineTuning(TypedDict):
    steps: int
    lr: float
    batch_size: int


FINE_TUNING: FineTuning = {"steps": 300, "lr": 5e-3, "batch_size": 8}
SEED = 0

#: ``pack(query, passages, budget) -> the passages to put in the prompt`` (the lesson's Exercise 2).
Packer = Callable[[str, list[str], int], list[str]]


def qa_pairs(company: Company) -> list[Request]:
    """Question-answer pairs made from ``company``'s notes: every training wording of a ticket on every topic
    (its answer is the team the notes name) and every training phrasing of every policy question (the value the
    notes state). Held-out wordings are never among them."""
    tickets = [company.ticket(template, topic) for template in TRAINING_TICKETS for topic in TOPICS]
    questions = [company.question(p.key, phrasing) for p in POLICIES for phrasing in training_phrasings(p)]
    return tickets + questions


def rag_prompts(
    requests: Sequence[Request], documents: Sequence[Document], pack: Packer, budget: int
) -> list[Prompted]:
    """RAG prompts: for each request, the notes that ``pack`` chooses for it within ``budget`` tokens."""
    by_text = {d.text: d for d in documents}
    texts = list(by_text)
    prompted = []
    for request in requests:
        chosen = pack(request.text, list(texts), budget)
        unknown = [t for t in chosen if t not in by_text]
        if unknown:
            raise ValueError(say("capstone.error_invented_note", passage=repr(unknown[0])))
        prompted.append(prompts.rag(request, [by_text[t] for t in chosen]))
    return prompted


@dataclass(frozen=True)
class Answers:
    """What a model generated for each prompt, and the seconds each took."""

    texts: tuple[str, ...]
    seconds: tuple[float, ...]


def generate(model, tokenizer, prompted: Sequence[Prompted]) -> Answers:
    """Greedy answers of ``model`` to each prompt (at most :data:`MAX_NEW_TOKENS` tokens, or up to the
    end-of-sequence token) with lesson 01's decoding, one prompt at a time as requests arrive, each one timed."""
    from tqdm.auto import tqdm

    from course.lessons.prompting.model import generate as greedy
    from course.lessons.prompting.prompts import render

    texts, seconds = [], []
    for p in tqdm(prompted, desc=say("capstone.progress_answering"), leave=False):
        start = time.perf_counter()
        texts.append(greedy(model, tokenizer, [render(p)], max_new_tokens=MAX_NEW_TOKENS)[0])
        seconds.append(time.perf_counter() - start)
    return Answers(tuple(texts), tuple(seconds))


def stopped(text: str) -> str:
    """``text`` cut where the model starts the next request (:data:`STOP_WORD`), as an API's stop sequence or
    an Ollama Modelfile's ``PARAMETER stop`` cuts a deployed model's output."""
    words = text.split()
    return " ".join(words[: words.index(STOP_WORD)] if STOP_WORD in words else words)


@dataclass(frozen=True)
class FineTuned:
    """A LoRA fine-tune of the base model: the model (adapters on a copy of the base), what it trained on, and
    what that took."""

    model: object
    examples: int
    steps: int
    seconds: float
    trainable: int
    total: int


def fine_tune(base, tokenizer, pairs: Sequence[Request], seed: int = SEED) -> FineTuned:
    """LoRA adapters (``peft``, :data:`LORA`) on a copy of ``base``, trained on zero-shot prompts of ``pairs``
    with the loss on the answer only (lesson 05), with the course's training loop on one CPU thread; timed."""
    import copy

    import torch
    from peft import LoraConfig, get_peft_model

    from course import training
    from course.lessons.prompting.model import encode
    from course.training import collate

    if not pairs:
        raise ValueError("Fine-tuning needs at least one question-answer pair.")
    torch.manual_seed(seed)  # the adapters' random initial A matrices
    model = get_peft_model(copy.deepcopy(base), LoraConfig(**LORA))
    rows = [encode(tokenizer, prompts.zero_shot(r)) for r in pairs]
    rng = random.Random(seed)
    size = min(FINE_TUNING["batch_size"], len(rows))

    def batches():
        while True:
            yield collate(rng.sample(rows, size), tokenizer.pad_token_id)

    def loss_fn(batch):
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss

    model.train()
    start = time.perf_counter()
    training.train(model, batches(), loss_fn, steps=FINE_TUNING["steps"], lr=FINE_TUNING["lr"], weight_decay=0.0,
                   one_thread=True, desc=say("capstone.progress_fine_tuning"))  # fmt: skip
    seconds = time.perf_counter() - start
    model.eval()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return FineTuned(model, len(pairs), FINE_TUNING["steps"], seconds, trainable, total)


#: What changes at Quill in §6: templates tickets move to billing; the refund window, the device limit and the
#: attachment size shrink. Each new value is one a company may set (``helpdesk.POLICIES``).
UPDATE = {"routing": {"templates": "billing"}, "policies": {"refund": 7, "devices": 2, "attachment": 10}}


def changed_documents(before: Company, after: Company) -> list[Document]:
    """The notes of ``after`` whose text differs from ``before``'s: what an editor rewrites to keep RAG current."""
    old = {d.id: d.text for d in before.documents()}
    return [d for d in after.documents() if old.get(d.id) != d.text]


def changed_pairs(before: Company, after: Company) -> list[Request]:
    """The question-answer pairs whose answer changed: what must be relabelled before fine-tuning again."""
    return [new for old, new in zip(qa_pairs(before), qa_pairs(after), strict=True) if old.answer != new.answer]
