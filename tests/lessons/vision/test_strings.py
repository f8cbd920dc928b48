"""Lesson 04's computed text: every key the lesson's code and notebook ask for exists, and the labels follow the
reader's language while the model's names for its parts stay the same."""

import json
import re
from pathlib import Path

import pytest

from course.languages import catalog
from course.lessons.vision import llama, plots

ROOT = Path(__file__).resolve().parents[3]
KEY = re.compile(r"""say\(\s*["']vision\.(\w+)["']""")


def _used_keys() -> set[str]:
    sources = [p.read_text(encoding="utf-8") for p in (ROOT / "course" / "lessons" / "vision").glob("*.py")]
    notebook = json.loads((ROOT / "source" / "04-multimodality" / "04-multimodality.ipynb").read_text("utf-8"))
    sources += ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    return {key for text in sources for key in KEY.findall(text)}


def test_every_key_the_lesson_uses_is_in_the_english_catalog():
    used = _used_keys()
    assert used, "the lesson's code asks for its text with say('vision.<key>')"
    english = catalog("en")
    assert sorted(key for key in used if f"vision.{key}" not in english) == []


@pytest.mark.parametrize("lang", ["ko", "ja"])
def test_part_and_kind_labels_follow_the_language(monkeypatch, lang):
    monkeypatch.setenv("COURSE_LANG", "en")
    assert [llama.part_label(p) for p in llama.PART_LABELS] == list(llama.PART_LABELS)
    assert plots.kind_label("colour") == "colour"
    assert llama.part_label("something else") == "something else"
    monkeypatch.setenv("COURSE_LANG", lang)
    translated = [llama.part_label(p) for p in llama.PART_LABELS]
    assert all(label != part for label, part in zip(translated, llama.PART_LABELS, strict=True))
    assert plots.kind_label("shape") != "shape"


def test_the_parameter_breakdown_plot_names_the_parts_in_the_readers_language(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("COURSE_LANG", "ko")
    figure = llama.plot_parameter_breakdown({"vision encoder": 1e9, "language model": 8e9}, "title")
    axis = figure.axes[0]
    assert [t.get_text() for t in axis.get_yticklabels()] == [
        llama.part_label("vision encoder"),
        llama.part_label("language model"),
    ]
    assert axis.get_xlabel() != "parameters (billions)"
    plt.close(figure)
