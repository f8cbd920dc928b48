"""Lesson 02 §4: token counts of the course's own translations (its quiz prompts) under the real tokenizers."""

import pytest

from course.lessons.slm import tokens
from course.text.parallel import quiz_prompts

TEXTS = quiz_prompts(["02-small-language-models"])


def test_token_counts_on_the_lessons_translations():
    counts = tokens.token_counts(TEXTS, ["mistral-7b-v0.3", "tekken"])
    assert len(counts) == 6
    korean_tekken = tokens.lookup(counts, "ko", "tekken")
    assert korean_tekken.characters == len(TEXTS["ko"])
    assert korean_tekken.chars_per_token == korean_tekken.characters / korean_tekken.tokens
    assert korean_tekken.cost(1_000_000) == korean_tekken.tokens
    with pytest.raises(KeyError):
        tokens.lookup(counts, "fr", "tekken")


def test_what_the_lesson_says_about_tekken_holds():
    """§4's text: Tekken gains most on Korean (Mistral claims 2x), Japanese gains too, English barely changes."""
    gains = tokens.gains(tokens.token_counts(TEXTS, ["mistral-7b-v0.3", "tekken"]), "mistral-7b-v0.3", "tekken")
    assert list(gains) == ["ko", "ja", "en"]
    assert gains["ko"] > 1.5 and gains["ja"] > 1.2 and 0.9 < gains["en"] < 1.15
    assert tokens.TEKKEN_CLAIM["ko"] == 2.0 and "ja" not in tokens.TEKKEN_CLAIM


def test_language_names_follow_the_reader(monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "en")
    assert [tokens.language_name(lang) for lang in ("en", "ko", "ja")] == ["English", "Korean", "Japanese"]
    monkeypatch.setenv("COURSE_LANG", "ko")
    assert tokens.language_name("ko") == "한국어"
