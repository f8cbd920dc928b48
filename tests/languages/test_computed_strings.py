"""Every computed string of every language, at once: it fills with sample values the way ``say()`` fills it (a
translation names no placeholder its English lacks and keeps every format working), and it draws in the plot
fonts a Korean or Japanese kernel gets without a missing glyph. nbval runs one lesson per translated language
through a real kernel; this covers the strings of the lessons it does not run."""

import string
import warnings

import matplotlib
import pytest

matplotlib.use("Agg")

from matplotlib import pyplot as plt  # noqa: E402

from course.languages import ENGLISH, LANGUAGES, catalog, say, use_fonts  # noqa: E402

NUMERIC_TYPES = set("bcdeEfFgGnoxX%")
# a text value in the reader's language (wide characters exercise widths counted in columns)
TEXT_VALUES = {"en": "Quill", "ko": "한국어", "ja": "日本語"}
# the quiz widget's and the feedback's strings are shown by the browser, never drawn by matplotlib
NOT_PLOTTED = ("quiz.", "grading.")


def sample_values(template: str, lang: str = ENGLISH) -> dict[str, object]:
    """A value per placeholder of ``template``: a number where its format spec is numeric, else a text."""
    values: dict[str, object] = {}
    for _, name, spec, _ in string.Formatter().parse(template):
        if name is None:
            continue
        numeric = bool(spec) and (spec[-1] in NUMERIC_TYPES or "," in spec or "_" in spec)
        if numeric or name not in values:
            values[name] = 1234 if numeric else TEXT_VALUES[lang]
    return values


def test_sample_values_follow_the_format_specs():
    assert sample_values("{n:,} of {total:.1%} for {name:>18} {plain}") == {
        "n": 1234,
        "total": 1234,
        "name": "Quill",
        "plain": "Quill",
    }


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_computed_string_fills_with_its_english_placeholders(lang):
    english = catalog(ENGLISH)
    problems = []
    for key, text in catalog(lang).items():
        values = sample_values(english[key], lang)
        try:
            say(key, lang, **values)
        except (KeyError, ValueError, IndexError) as error:
            problems.append(f"{key}: {type(error).__name__}: {error} in {text!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_computed_string_draws_without_a_missing_glyph(lang):
    english = catalog(ENGLISH)
    keys = [key for key in catalog(lang) if not key.startswith(NOT_PLOTTED)]
    texts = [say(key, lang, **sample_values(english[key], lang)) for key in keys]
    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph.*", category=UserWarning)
        if lang != ENGLISH:
            use_fonts(lang)
        figure = plt.figure(figsize=(8, 4))
        try:
            for index, text in enumerate(texts):
                figure.text(0.01, (index % 40) / 40, text, fontsize=6, parse_math=False)
            figure.canvas.draw()
        finally:
            plt.close(figure)
