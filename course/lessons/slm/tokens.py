"""Lesson 02 §4 (Tokenizers across languages): how real tokenizers cut the same text in several languages (the
course's own translations, :mod:`course.text.parallel`), and what that costs: Mistral's two tokenizers, made for many
languages, beside SmolLM2's English-centric BPE, which the course's real model reads; Mistral's published claim for
Tekken; the pieces one sentence is cut into, to see *why* the counts differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from course.languages import say
from course.text.tokenizers import count_tokens, token_bytes

#: Mistral's published claim (Mistral NeMo announcement, https://mistral.ai/news/mistral-nemo/, July 2024):
#: Tekken is "~30% more efficient at compressing source code, Chinese, Italian, French, German, Spanish,
#: and Russian. It is also 2x and 3x more efficient at compressing Korean and Arabic, respectively",
#: compared with the SentencePiece tokenizer of previous Mistral models. Languages by their ISO 639-1 code.
TEKKEN_CLAIM: dict[str, float] = {
    "source code": 1.3,
    "zh": 1.3,
    "it": 1.3,
    "fr": 1.3,
    "de": 1.3,
    "es": 1.3,
    "ru": 1.3,
    "ko": 2.0,
    "ar": 3.0,
}


@dataclass(frozen=True)
class TokenCount:
    """How one tokenizer cuts one text."""

    lang: str
    tokenizer: str
    characters: int
    tokens: int

    @property
    def chars_per_token(self) -> float:
        return self.characters / self.tokens

    def cost(self, dollars_per_million: float) -> float:
        """Dollars to process these tokens at a rate per million tokens."""
        return self.tokens * dollars_per_million / 1_000_000


def token_counts(texts: dict[str, str], tokenizers: Sequence[str]) -> list[TokenCount]:
    """Token counts of each text (by language) under each tokenizer."""
    return [
        TokenCount(lang, name, len(text), count_tokens(text, name))
        for lang, text in texts.items()
        for name in tokenizers
    ]


def lookup(counts: Sequence[TokenCount], lang: str, tokenizer: str) -> TokenCount:
    """The count for one language and tokenizer."""
    for count in counts:
        if count.lang == lang and count.tokenizer == tokenizer:
            return count
    raise KeyError(f"No count for language {lang!r} with tokenizer {tokenizer!r}.")


def language_name(lang: str) -> str:
    """The name of language ``lang`` (``en``, ``ko`` or ``ja``), in the reader's language."""
    return say(f"slm.lang_{lang}")


def gains(counts: Sequence[TokenCount], baseline: str, tokenizer: str) -> dict[str, float]:
    """For each language, how many times the tokens of ``tokenizer`` the ``baseline`` tokenizer needs, largest
    first."""
    langs = dict.fromkeys(c.lang for c in counts)
    ratios = {lang: lookup(counts, lang, baseline).tokens / lookup(counts, lang, tokenizer).tokens for lang in langs}
    return dict(sorted(ratios.items(), key=lambda item: -item[1]))


def native_sentence(text: str, shortest: int = 12) -> str:
    """The sentence of ``text`` (one per line, cut after ``.``, ``?``, ``!``, ``。`` or ``？``) with the largest
    share of non-ASCII characters, at least ``shortest`` characters long: the one that shows a Korean or Japanese text
    at its most Korean or Japanese (the course's texts are full of model names and numbers that every language writes
    alike)."""
    import re

    sentences = [s.strip() for s in re.split(r"(?<=[.?!。？！])\s*|\n", text) if len(s.strip()) >= shortest]
    if not sentences:
        raise ValueError(f"No sentence of at least {shortest} characters in the text.")
    return max(sentences, key=lambda s: sum(not c.isascii() for c in s) / len(s))


def pieces(text: str, tokenizer: str) -> list[str]:
    """The pieces ``tokenizer`` cuts ``text`` into, printable: a piece of whole characters as it is (a space as
    ``▁``), a piece holding part of a character (a byte-level tokenizer without that character) as its bytes in hex,
    ``<ED 95>``."""
    shown = []
    for piece in token_bytes(text, tokenizer):
        try:
            shown.append(piece.decode("utf-8").replace(" ", "▁"))
        except UnicodeDecodeError:
            shown.append("<" + " ".join(f"{byte:02X}" for byte in piece) + ">")
    return shown


def plot_tokens(counts: Sequence[TokenCount]):
    """Two panels: tokens for the same text per language, and characters per token."""
    import matplotlib.pyplot as plt
    import numpy as np

    tokenizers = list(dict.fromkeys(c.tokenizer for c in counts))
    langs = list(dict.fromkeys(c.lang for c in counts))
    x = np.arange(len(langs))
    width = 0.8 / len(tokenizers)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, name in enumerate(tokenizers):
        offset = x + (i - (len(tokenizers) - 1) / 2) * width
        axes[0].bar(offset, [lookup(counts, lang, name).tokens for lang in langs], width, label=name)
        axes[1].bar(offset, [lookup(counts, lang, name).chars_per_token for lang in langs], width, label=name)
    ylabels = [say("slm.tokens_axis_tokens"), say("slm.tokens_axis_chars")]
    for ax, ylabel in zip(axes, ylabels, strict=True):
        ax.set_xticks(x, [language_name(lang) for lang in langs])
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(say("slm.tokens_title"))
    fig.tight_layout()
    return fig
