"""Lesson 02 §4: token counts of the course's own translations (its quiz prompts) under the real tokenizers."""

import pytest

from course.lessons.slm import tokens
from course.text.parallel import quiz_prompts
from course.text.tokenizers import SMOLLM2

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


def test_smollm2_needs_far_more_tokens_than_tekken_outside_english():
    """§4's text: SmolLM2's English-centric BPE needs several times Tekken's tokens for Korean and Japanese, and
    barely more for English."""
    gains = tokens.gains(tokens.token_counts(TEXTS, [SMOLLM2, "tekken"]), SMOLLM2, "tekken")
    assert gains["ko"] > 2 and gains["ja"] > 1.5 and gains["en"] < 1.3


def test_the_native_sentence_is_the_least_ascii_one():
    text = "GQA and Q4_K_M in 8 GiB.\n가중치가 차지하는 크기는 대략 얼마입니까? Mistral 7B는 head가 32개입니다."
    assert tokens.native_sentence(text) == "가중치가 차지하는 크기는 대략 얼마입니까?"
    with pytest.raises(ValueError, match="No sentence"):
        tokens.native_sentence("Hi. Ok.")


def test_pieces_show_whole_characters_and_split_bytes():
    sentence = "가중치가 차지하는 크기"
    tekken = tokens.pieces(sentence, "tekken")
    assert "".join(tekken).replace("▁", " ") == sentence  # Tekken keeps whole syllables
    smollm2 = tokens.pieces(sentence, SMOLLM2)
    assert len(smollm2) > len(tekken) and any(p.startswith("<") for p in smollm2)  # bytes of cut syllables
    assert all(p == "▁" or not p.startswith("<") or p.endswith(">") for p in smollm2)
    sentencepiece = tokens.pieces(sentence, "mistral-7b-v0.3")
    assert sentencepiece[0] == "▁"  # SentencePiece's dummy prefix: a leading space
