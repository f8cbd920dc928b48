"""The course's own passages: present in every language, and of comparable content."""

import pytest

from course.text.passages import LANGUAGES, PASSAGES, load_all, load_passage


@pytest.mark.parametrize("name", PASSAGES)
def test_every_language_is_there_and_written_in_it(name):
    texts = load_all(name)
    assert set(texts) == set(LANGUAGES)
    assert 100 <= len(texts["en"].split()) <= 140  # about 120 words
    hangul = sum("\uac00" <= ch <= "\ud7a3" for ch in texts["ko"])
    kana = sum("\u3040" <= ch <= "\u30ff" for ch in texts["ja"])
    assert hangul > 0.5 * len(texts["ko"].replace(" ", ""))
    assert kana > 0.3 * len(texts["ja"])
    # Same content: the same number of sentences in every version
    counts = {lang: text.count(".") + text.count("。") for lang, text in texts.items()}
    assert len(set(counts.values())) == 1, counts


def test_unknown_passage_or_language():
    with pytest.raises(KeyError, match="slm-on-a-laptop"):
        load_passage("nope", "en")
    with pytest.raises(KeyError, match="ko"):
        load_passage("slm-on-a-laptop", "fr")
