"""Lesson 02 §4: token counts of the course passage under the real tokenizers."""

import pytest

from course.lessons.slm import tokens
from course.text.passages import load_all

TEXTS = load_all("slm-on-a-laptop")


def test_token_counts_on_the_course_passage():
    counts = tokens.token_counts(TEXTS, ["mistral-7b-v0.3", "tekken"])
    assert len(counts) == 6
    korean_sp = tokens.lookup(counts, "ko", "mistral-7b-v0.3")
    korean_tekken = tokens.lookup(counts, "ko", "tekken")
    assert korean_sp.tokens / korean_tekken.tokens > 1.5  # Tekken's gain on Korean (Mistral claims 2x)
    assert korean_tekken.chars_per_token == korean_tekken.characters / korean_tekken.tokens
    assert korean_tekken.cost(1_000_000) == korean_tekken.tokens
    with pytest.raises(KeyError):
        tokens.lookup(counts, "fr", "tekken")
