"""A tiny base model with an ability of its own, and the new instruction task lesson 05 teaches it.

Lesson 05 §3-8 (the base model and the task), lesson 06 §1 (the model to deploy: ``load_task_model``).

The base model is a real ``Phi3ForCausalLM`` (the architecture of Phi-3.5-mini) shrunk
to about a third of a million parameters, with a word-level tokenizer. It is trained
for seconds on its *original ability*: answering questions about two-word phrases in
English and in French ("Name the colour", "Name the thing", "Repeat the phrase"), and
translating single words. The *new task* is an instruction it has never seen:
translate a whole English phrase into French, which also swaps the word order
(``red cat`` -> ``chat rouge``).

Both models are built on demand and cached with :func:`course.cache.cached_folder`,
so no lesson depends on another having run::

    model, tokenizer = load_base_model()      # the original ability only
    model, tokenizer = load_task_model()      # after LoRA fine-tuning on the new task, merged
    exact_match(model, tokenizer, task_examples("test"))
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from course.cache import cached_folder
from course.languages import say
from course.lessons.finetune.instructions import Example, format_prompt

# English -> French. Every colour here is invariable in French, so no agreement is needed.
COLOURS = {
    "red": "rouge", "yellow": "jaune", "pink": "rose", "brown": "marron", "orange": "orange", "beige": "beige",
    "khaki": "kaki", "purple": "mauve", "coral": "corail", "cherry": "cerise", "navy": "marine", "lilac": "lilas",
}  # fmt: skip
THINGS = {
    "cat": "chat", "dog": "chien", "bird": "oiseau", "fish": "poisson", "horse": "cheval", "apple": "pomme",
    "hat": "chapeau", "car": "voiture", "house": "maison", "boat": "bateau", "book": "livre", "chair": "chaise",
}  # fmt: skip

ORIGINAL_INSTRUCTIONS = ("Name the colour .", "Name the thing .", "Repeat the phrase .")
WORD_INSTRUCTION = "Translate the word into French ."
WORD_REPEATS = 4  # word translations are few; the base model sees each this many times per pass
TASK_INSTRUCTION = "Translate the phrase into French ."
# Other ways to ask for the same thing (their words are in the vocabulary). Lesson 05's augmentation trains with
# TASK_PARAPHRASES and measures on HELD_OUT_PARAPHRASES, which no training set contains: a user who never saw your
# template.
TASK_PARAPHRASES = ("Give the French for this phrase .", "Say this in French .")
HELD_OUT_PARAPHRASES = ("How do you say this in French ?",)
SPLITS = ("train", "validation", "test")
_SPLIT_SIZES = {"test": 24, "validation": 16}  # the other 104 of the 144 phrases are "train"
SEED = 0

BASE_NAME = "tiny-phi3-base-v2"
TASK_NAME = "tiny-phi3-task-v3"
# Phi-3.5-mini's structure at a tiny size; tied input/output embeddings keep it smaller still.
MODEL_SHAPE: dict[str, Any] = {"hidden_size": 128, "intermediate_size": 256, "tie_word_embeddings": True}
BASE_TRAINING: dict[str, Any] = {"steps": 600, "lr": 3e-3, "batch_size": 32, "warmup": 30}
# Learning to copy words comes suddenly and not always at the same step; the base model trains in rounds
# (each a warm restart of the schedule) until it reaches this exact match on its original ability.
BASE_TARGET, BASE_MAX_ROUNDS = 0.95, 3
TASK_LORA: dict[str, Any] = {
    "r": 4,
    "lora_alpha": 8,
    "target_modules": ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"],
}
TASK_TRAINING: dict[str, Any] = {"steps": 200, "lr": 1e-2, "batch_size": 32, "warmup": 10}


def phrases(split: str) -> list[tuple[str, str]]:
    """The English ``(colour, thing)`` pairs of one split of the new task; the splits never overlap."""
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; use one of {', '.join(SPLITS)}.")
    pairs = [(colour, thing) for colour in COLOURS for thing in THINGS]
    random.Random(SEED).shuffle(pairs)
    test, validation = _SPLIT_SIZES["test"], _SPLIT_SIZES["validation"]
    bounds = {"test": (0, test), "validation": (test, test + validation), "train": (test + validation, None)}
    start, stop = bounds[split]
    return pairs[start:stop]


def translate(colour: str, thing: str) -> str:
    """The French for an English colour and thing: the noun comes first (``red cat`` -> ``chat rouge``)."""
    return f"{THINGS[thing]} {COLOURS[colour]}"


def task_examples(split: str) -> list[Example]:
    """``(prompt, answer)`` pairs of the new task (English -> French) for ``train``, ``validation`` or ``test``."""
    return [
        (format_prompt(TASK_INSTRUCTION, f"{colour} {thing}"), translate(colour, thing))
        for colour, thing in phrases(split)
    ]


def word_examples() -> list[Example]:
    """The base model's dictionary: one English word to one French word, for every colour and thing."""
    return [(format_prompt(WORD_INSTRUCTION, en), fr) for en, fr in {**COLOURS, **THINGS}.items()]


def original_examples() -> list[Example]:
    """``(prompt, answer)`` pairs of the base model's original ability: questions about every phrase in both
    languages, and the word-for-word dictionary."""
    examples = []
    for colour, thing in (pair for split in SPLITS for pair in phrases(split)):
        english = (colour, thing, f"{colour} {thing}")
        french = (COLOURS[colour], THINGS[thing], translate(colour, thing))
        for name_colour, name_thing, text in (english, french):
            answers = (name_colour, name_thing, text)
            for instruction, answer in zip(ORIGINAL_INSTRUCTIONS, answers, strict=True):
                examples.append((format_prompt(instruction, text), answer))
    return examples + word_examples()


def rephrased(examples: Sequence[Example], instructions: Sequence[str] = HELD_OUT_PARAPHRASES) -> list[Example]:
    """The same inputs and answers asked under each of ``instructions`` instead of their own instruction."""
    from course.lessons.finetune.instructions import parse_prompt

    return [
        (format_prompt(instruction, parse_prompt(prompt)[1]), answer)
        for prompt, answer in examples
        for instruction in instructions
    ]


def _cached_models_mask(artefact: str):
    """The response-only loss mask the cached base and task models are trained with: lesson 05's exercise 3
    (``instruction_labels``), taken from its reference so that no helper in the package a kernel sees answers it.
    The cached models are built at home or by ``course prepare``, where the references are installed; on a class
    server and in a grading sandbox they come prepared, and a missing one says to ask the instructor."""
    from course.fallback import reference_to_build

    return reference_to_build("05-fine-tuning-and-peft", "instruction_labels", artefact)


def base_check_examples() -> list[Example]:
    """The examples the base model's build checks its original ability on: it trains until its exact match on
    them reaches ``BASE_TARGET`` (or gives up with an error), so every cached base model meets that bar."""
    return original_examples()[::4]


def build_tokenizer():
    """The word-level tokenizer shared by the base and the task model (every word of both tasks)."""
    from course.text.vocab import build_word_tokenizer

    texts = [f"{p} {a}" for p, a in original_examples() + task_examples("train")]
    texts += [TASK_INSTRUCTION, *TASK_PARAPHRASES, *HELD_OUT_PARAPHRASES]
    return build_word_tokenizer(texts)


def _build_base(folder: Path) -> None:
    from course.lessons.finetune.training import train
    from course.models.tiny import build_tiny

    mask = _cached_models_mask(BASE_NAME)
    tokenizer = build_tokenizer()
    model = build_tiny(
        "phi-3.5-mini",
        seed=SEED,
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **MODEL_SHAPE,
    )
    examples = original_examples() + word_examples() * (WORD_REPEATS - 1)
    check = base_check_examples()
    for round_ in range(BASE_MAX_ROUNDS):
        desc = say("finetune.desc_base_round", round=round_ + 1)
        train(model, tokenizer, examples, labels=mask, seed=SEED + round_, desc=desc, **BASE_TRAINING)
        if exact_match(model, tokenizer, check) >= BASE_TARGET:
            break
    else:
        raise RuntimeError(
            f"The tiny base model did not reach {BASE_TARGET:.0%} on its original ability after "
            f"{BASE_MAX_ROUNDS} rounds; please report this with your torch version."
        )
    model.to("cpu").save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def _load(folder: Path):
    from transformers import AutoTokenizer, Phi3ForCausalLM

    from course.runtime import device

    # transformers wraps PreTrainedModel.to with functools.wraps, which mypy does not bind as a method
    model = Phi3ForCausalLM.from_pretrained(folder).to(device()).eval()  # type: ignore[arg-type]
    return model, AutoTokenizer.from_pretrained(folder)


def base_model_folder() -> Path:
    """The cached base model's folder, trained first if the cache lacks it."""
    return cached_folder(BASE_NAME, _build_base)


def load_base_model():
    """``(model, tokenizer)``: the tiny Phi-3 base model that has the original ability but not the new task.

    Trained on first use (seconds on a CPU) and cached.
    """
    return _load(base_model_folder())


def _build_task(folder: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import PreTrainedModel

    from course.lessons.finetune.training import train
    from course.runtime import seed_everything

    mask = _cached_models_mask(TASK_NAME)
    model, tokenizer = load_base_model()
    seed_everything(SEED)
    model = get_peft_model(model, LoraConfig(lora_dropout=0.0, **TASK_LORA))
    train(
        model,
        tokenizer,
        task_examples("train"),
        labels=mask,
        seed=SEED,
        desc=say("finetune.desc_task_lora"),
        **TASK_TRAINING,
    )
    merged = model.merge_and_unload().to("cpu")
    if not isinstance(merged, PreTrainedModel):  # peft types the merged model as any nn.Module
        raise TypeError(f"merging the LoRA adapter gave a {type(merged).__name__}, not a transformers model")
    merged.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def task_model_folder() -> Path:
    """The cached task model's folder, trained first (with the base model) if the cache lacks it."""
    return cached_folder(TASK_NAME, _build_task)


def load_task_model():
    """``(model, tokenizer)``: the base model after LoRA fine-tuning on the new task, with the adapter merged.

    A plain ``Phi3ForCausalLM`` (no ``peft`` needed to use it); trained on first use and cached.
    """
    return _load(task_model_folder())


def generate(model, tokenizer, prompts: Sequence[str], max_new_tokens: int = 8) -> list[str]:
    """Greedy answers to ``prompts``; prompts of equal token length are batched together (no padding)."""
    import torch

    where = next(model.parameters()).device
    ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    answers: list[str] = [""] * len(prompts)
    by_length: dict[int, list[int]] = {}
    for index, row in enumerate(ids):
        by_length.setdefault(len(row), []).append(index)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for indices in by_length.values():
            inputs = torch.tensor([ids[i] for i in indices], device=where)
            out = model.generate(
                input_ids=inputs,
                attention_mask=torch.ones_like(inputs),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
            for i, row in zip(indices, out[:, inputs.shape[1] :], strict=True):
                answers[i] = tokenizer.decode(row, skip_special_tokens=True).strip()
    model.train(was_training)
    return answers


def exact_match(model, tokenizer, examples: Sequence[Example]) -> float:
    """Share of ``(prompt, answer)`` examples whose greedy answer equals ``answer`` word for word."""
    if not examples:
        raise ValueError("exact_match needs at least one (prompt, answer) example.")
    answers = generate(model, tokenizer, [prompt for prompt, _ in examples])
    return sum(got.split() == want.split() for got, (_, want) in zip(answers, examples, strict=True)) / len(examples)
