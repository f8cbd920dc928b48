import pytest

from course.lessons.finetune.names import KEYS, shown


def test_shown_names_are_the_english_names_in_english(monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "en")
    for name in KEYS:
        assert shown(name) == name
    assert shown("LoRA") == "LoRA"


@pytest.mark.parametrize("lang", ["ko", "ja"])
def test_shown_names_are_translated(monkeypatch, lang):
    monkeypatch.setenv("COURSE_LANG", lang)
    for name in KEYS:
        assert shown(name) != name, name
    assert shown("LoRA") == "LoRA"


def test_an_unknown_name_is_an_error():
    with pytest.raises(KeyError):
        shown("not a name of the lesson")
