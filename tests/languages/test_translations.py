"""The translations stay in step with the English, and the checks that say so can fail."""

import copy
import json

import pytest

from course.grading.release import read_notebook
from course.languages import TRANSLATED, fingerprint
from course.languages import translations as tr
from tests.conftest import LAYOUT, LESSONS


@pytest.fixture(scope="module")
def notebooks():
    return {lesson: read_notebook(LAYOUT.source_notebook(lesson)) for lesson in LESSONS}


def test_every_lesson_question_and_string_is_translated_and_current(notebooks):
    problems = tr.problems(notebooks)
    assert problems == [], f"{len(problems)} translation problems, first ones:\n" + "\n".join(problems[:15])


def test_a_changed_english_cell_is_named(notebooks):
    lesson = LESSONS[0]
    changed = copy.deepcopy(notebooks[lesson])
    cell = next(c for c in changed["cells"] if c["cell_type"] == "markdown")
    cell["source"] = "".join(cell["source"]) + "\nOne more English sentence for the translators."
    for lang in TRANSLATED:
        problems = tr.lesson_problems(lesson, changed, lang)
        assert any(cell["id"] in p and "changed in English" in p for p in problems), problems


def test_translated_notebook_keeps_code_ids_and_grading_metadata(notebooks):
    for lesson, notebook in notebooks.items():
        for lang in TRANSLATED:
            translated, english_left = tr.translate_notebook(notebook, lesson, lang)
            assert english_left == []
            assert translated["metadata"]["course"] == {"language": lang}
            assert [c["id"] for c in translated["cells"]] == [c["id"] for c in notebook["cells"]]
            for ours, theirs in zip(notebook["cells"], translated["cells"], strict=True):
                assert ours["metadata"] == theirs["metadata"]
                if ours["cell_type"] == "code":
                    assert ours["source"] == theirs["source"]
                else:
                    assert ours["source"] != theirs["source"] or not tr.english_sentences("".join(ours["source"]))


@pytest.mark.parametrize(
    "text, english",
    [
        ("LoRA는 가중치를 고정합니다.", []),
        ("`the model is frozen and we train it` 코드입니다.", []),
        ("*Attention Is All You Need for the rest of us* 논문", []),
        ("Mixture of Experts (MoE) は専門家の集合です。", []),
        (
            "모델은 This is the part that was never translated into Korean. 입니다",
            ["This is the part that was never translated into Korean"],
        ),
    ],
)
def test_english_prose_is_found_and_terms_are_not(text, english):
    assert tr.english_sentences(text) == english


def _fake_lesson(tmp_path, monkeypatch, english: str, translated: str, lang="ko"):
    monkeypatch.setattr(tr, "lessons_folder", lambda: tmp_path)
    notebook = {"cells": [{"id": "intro", "cell_type": "markdown", "metadata": {}, "source": english}], "metadata": {}}
    data = {
        "lesson": "99-x",
        "language": lang,
        "cells": {"intro": {"english": fingerprint(english), "text": translated}},
    }
    (tmp_path / f"99-x.{lang}.json").write_text(json.dumps(data, ensure_ascii=False))
    return notebook


ENGLISH = (
    "Fine-tuning changes the weights of a model so that it does one job better. It costs data, compute and "
    "time, and it has to be done again whenever the facts the model should know change. Retrieval keeps the "
    "facts outside the model, so an edit to the notes is an edit to the answers."
)


def test_a_summary_is_not_a_translation(tmp_path, monkeypatch):
    notebook = _fake_lesson(tmp_path, monkeypatch, ENGLISH, "파인튜닝은 가중치를 바꿉니다.")
    assert any("summary" in p for p in tr.lesson_problems("99-x", notebook, "ko"))


def test_an_untranslated_cell_is_named(tmp_path, monkeypatch):
    notebook = _fake_lesson(tmp_path, monkeypatch, ENGLISH, ENGLISH)
    assert any("not translated yet" in p for p in tr.lesson_problems("99-x", notebook, "ko"))


def test_a_full_translation_passes(tmp_path, monkeypatch):
    korean = (
        "파인튜닝은 모델의 가중치를 바꿔 한 가지 일을 더 잘하게 만듭니다. 데이터와 연산, 시간이 들고, 모델이 알아야 할 "
        "사실이 바뀔 때마다 다시 해야 합니다. 검색은 사실을 모델 바깥에 두므로, 노트를 고치면 곧 답이 고쳐집니다."
    )
    notebook = _fake_lesson(tmp_path, monkeypatch, ENGLISH, korean)
    assert tr.lesson_problems("99-x", notebook, "ko") == []


def test_a_stale_cell_stays_english_in_the_release(tmp_path, monkeypatch):
    notebook = _fake_lesson(tmp_path, monkeypatch, ENGLISH, "번역")
    notebook["cells"][0]["source"] = ENGLISH + " Changed."
    translated, english_left = tr.translate_notebook(notebook, "99-x", "ko")
    assert english_left == ["intro"] and translated["cells"][0]["source"] == ENGLISH + " Changed."


def test_a_corrupt_translation_file_says_what_to_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(tr, "lessons_folder", lambda: tmp_path)
    (tmp_path / "99-x.ko.json").write_text('{"cells": {"intro": {"text": 3}}}')
    with pytest.raises(ValueError, match="99-x.ko.json is not a valid translation file"):
        tr.load_lesson("99-x", "ko")
