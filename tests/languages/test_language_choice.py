"""Which language a kernel speaks, the computed strings in it, and fonts that draw it."""

import io
import json
import warnings

import pytest

from course import languages
from course.languages import say


def test_course_lang_wins_and_an_unknown_one_means_english(monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "ja")
    assert languages.current() == "ja"
    monkeypatch.setenv("COURSE_LANG", "fr")
    assert languages.current() == "en"


def test_the_open_notebook_sets_the_language(monkeypatch, tmp_path):
    notebook = tmp_path / "01-x.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {"course": {"language": "ko"}}}))
    monkeypatch.delenv("COURSE_LANG", raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    assert languages.current() == "ko"
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "missing.ipynb"))
    assert languages.current() == "en"


def test_every_string_exists_in_every_language_with_its_placeholders():
    english = languages.catalog("en")
    for lang in languages.TRANSLATED:
        strings = languages.catalog(lang)
        assert strings.keys() == english.keys()
    assert say("quiz.recorded", "ko", chosen="b") != say("quiz.recorded", "en", chosen="b")
    assert "<b>b</b>" in say("quiz.recorded", "ja", chosen="b")


def test_an_unknown_key_says_where_to_add_it():
    with pytest.raises(KeyError, match="strings/quiz.en.json"):
        say("quiz.no-such-text")


@pytest.mark.parametrize("lang", languages.TRANSLATED)
def test_plots_draw_every_computed_string_without_missing_glyphs(lang):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    if not any(f.name in languages.CJK_FONTS[lang] for f in font_manager.fontManager.ttflist):
        pytest.fail("no CJK font: install fonts-noto-cjk (CI's .ci/run does) and delete ~/.cache/matplotlib")
    languages.use_fonts(lang)
    strings = [languages.NAMES[lang]] + [v for v in languages.catalog(lang).values() if "<" not in v]
    text = "\n".join(strings)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" for a tofu box
        fig, ax = plt.subplots()
        ax.set_title(text[:400])
        fig.savefig(io.BytesIO())
        plt.close(fig)


def test_grading_notes_are_english_for_the_instructor_and_translated_for_the_student():
    import pickle

    import nbformat

    from course.grading.notes import add_notes_cell
    from course.languages import Said

    note = Said("grading.ungradable", notebook="01-x", why=Said("grading.not_submitted"))
    assert note == "01-x.ipynb was not submitted; it was graded as blank and not run."
    assert pickle.loads(pickle.dumps(note)).in_language("ko") == note.in_language("ko")
    notebook = nbformat.v4.new_notebook()
    add_notes_cell(notebook, [note, "a plain note"], "ja")
    text = notebook.cells[0].source
    assert say("grading.header", "ja") in text and "提出されていません" in text and "a plain note" in text


def test_the_submission_language_comes_from_its_metadata_and_defaults_to_english():
    from course.grading.rebuild import submission_language

    assert submission_language(json.dumps({"metadata": {"course": {"language": "ja"}}}).encode()) == "ja"
    assert submission_language(json.dumps({"metadata": {"course": {"language": "xx"}}}).encode()) == "en"
    assert submission_language(b"not json") == "en" and submission_language(None) == "en"


def test_an_exercise_verdict_is_said_in_the_students_language():
    from course.grading.exercise import Check

    check = Check("test-x", "answer", "call", cases=[1, 2], expected=[[1, {"a": 2}], [3]])
    passed, line = check.verdict([[1, {"a": 5}], [3]])
    assert not passed
    assert line == "`answer` matched the reference on 1 of 2 cases; case 1: item 1 of the result['a'] differs."
    assert line.in_language("ko") == (
        "`answer`은(는) 2개 사례 중 1개에서 참조 구현과 일치했습니다. 사례 1: 결과의 1번 항목['a']이(가) 다릅니다."
    )
    assert "2 件中 1 件" in line.in_language("ja")
