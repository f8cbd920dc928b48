"""Lesson 02 §4 (Tokenizers across languages): how the real Mistral tokenizers cut the same passage in
several languages, and what that costs; Mistral's published claim for Tekken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from course.text.tokenizers import count_tokens

#: Mistral's published claim (Mistral NeMo announcement, https://mistral.ai/news/mistral-nemo/, July 2024):
#: Tekken is "~30% more efficient at compressing source code, Chinese, Italian, French, German, Spanish,
#: and Russian. It is also 2x and 3x more efficient at compressing Korean and Arabic, respectively",
#: compared with the SentencePiece tokenizer of previous Mistral models.
TEKKEN_CLAIM: dict[str, float] = {
    "source code": 1.3,
    "Chinese": 1.3,
    "Italian": 1.3,
    "French": 1.3,
    "German": 1.3,
    "Spanish": 1.3,
    "Russian": 1.3,
    "Korean": 2.0,
    "Arabic": 3.0,
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


def plot_tokens(counts: Sequence[TokenCount], languages: dict[str, str]):
    """Two panels: tokens for the same passage per language, and characters per token."""
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
    ylabels = ["tokens for the passage", "characters per token (higher is cheaper)"]
    for ax, ylabel in zip(axes, ylabels, strict=True):
        ax.set_xticks(x, [languages[lang] for lang in langs])
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("The same passage, three languages, real Mistral tokenizers")
    fig.tight_layout()
    return fig
