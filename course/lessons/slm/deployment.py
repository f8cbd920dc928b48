"""Lesson 02 §6 (Challenge task 1: a multilingual translator on a laptop): the check of a
{model, tokenizer, precision} choice.
"""

from __future__ import annotations

from course.lessons.slm.fit import LAPTOP_GPU_GIB, memory_need
from course.models.fit import fits
from course.models.memory import BYTES_PER_PARAM, GIB
from course.text.tokenizers import count_tokens

#: Context the translation tool must handle: a long document plus its translation.
CHALLENGE_CONTEXT = 4096

#: The tokenizer each model was trained with, where ``mistral-common`` ships it offline.
MODEL_TOKENIZER: dict[str, str] = {
    "mistral-7b": "mistral-7b-v0.3",
    "mixtral-8x7b": "mistral-7b-v0.1",
    "mistral-nemo-12b": "tekken",
    "mistral-small": "tekken",
}


def deployment_problems(
    choice: dict[str, str],
    texts: dict[str, str],
    memory_gib: float = LAPTOP_GPU_GIB,
    context_length: int = CHALLENGE_CONTEXT,
) -> list[str]:
    """Why a {model, tokenizer, precision} choice would fail the laptop translation tool (empty: it works).

    The choice must fit the GPU (weights, KV cache, headroom), use the model's own tokenizer, and that
    tokenizer must need the fewest tokens, among the tokenizers available offline, for every non-English
    language in ``texts``.
    """
    missing = {"model", "tokenizer", "precision"} - set(choice)
    if missing:
        return [f"the choice needs the keys {sorted(missing)}"]
    model, tokenizer, precision = choice["model"], choice["tokenizer"], choice["precision"]
    if model not in MODEL_TOKENIZER:
        return [f"{model!r} has no tokenizer that ships offline; choose one of {sorted(MODEL_TOKENIZER)}"]
    if precision not in BYTES_PER_PARAM:
        return [f"unknown precision {precision!r}; choose one of {list(BYTES_PER_PARAM)}"]
    problems = []
    if tokenizer != MODEL_TOKENIZER[model]:
        problems.append(f"{model} was trained with the {MODEL_TOKENIZER[model]} tokenizer, not {tokenizer}")
    need = memory_need(model, precision, context_length)
    if not fits(need.total, memory_gib):
        needed = need.total / GIB
        problems.append(f"{model} at {precision} needs {needed:.1f} GiB; the GPU has {memory_gib:g} GiB")
    candidates = sorted(set(MODEL_TOKENIZER.values()))
    for lang, text in texts.items():
        if lang == "en":
            continue
        tokens = {name: count_tokens(text, name) for name in candidates}
        mine, best = MODEL_TOKENIZER[model], min(tokens, key=tokens.get)
        if tokens[mine] > tokens[best]:
            problems.append(f"for {lang}, {mine} needs {tokens[mine]} tokens; {best} needs {tokens[best]}")
    return problems
