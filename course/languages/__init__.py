"""The course's three languages: which one a student reads, and the text the course computes in it.

Lessons and quiz questions are written in English; Korean and Japanese translations sit beside them
(``course/languages/lessons/<lesson>.<lang>.json`` for the notebooks' markdown cells,
``course/quiz/questions/<lesson>.<lang>.json`` for the quiz). Code cells are shared, so everything a lesson
prints, plots or tabulates comes from :func:`say`, which looks the text up in
``course/languages/strings/<area>.<lang>.json`` (one catalog per area and language; English is the source).

The language is ``COURSE_LANG`` when set (``make lab COURSE_LANG=ko``), else the language written into the
notebook JupyterLab opened (a translated release records it in its metadata), else English.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from importlib import resources
from pathlib import Path

from course.languages.monospace import fill

ENGLISH = "en"
LANGUAGES = ("en", "ko", "ja")
TRANSLATED = ("ko", "ja")
NAMES = {"en": "English", "ko": "한국어", "ja": "日本語"}
METADATA_KEY = "course"  # notebook metadata: {"course": {"language": "ko"}}


def fingerprint(text: str) -> str:
    """A short hash of English text; a translation stores it to say which English it translates."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"Unknown language {lang!r}; the course is written in {', '.join(LANGUAGES)}.")
    return lang


def current() -> str:
    """The language the student reads: ``COURSE_LANG``, else the open notebook's, else English."""
    chosen = os.environ.get("COURSE_LANG")
    if chosen:
        return chosen if chosen in LANGUAGES else ENGLISH  # `make lab` rejects an unknown one with a message
    session = os.environ.get("JPY_SESSION_NAME")  # set by Jupyter Server for a notebook's kernel
    return _notebook_language(session) if session else ENGLISH


@cache
def _notebook_language(path: str) -> str:
    """The language in a notebook's metadata; ``path`` is absolute, or relative to the server's root when
    Jupyter could not tell, so the kernel's folder (the notebook's) is tried too."""
    for candidate in (Path(path), Path.cwd() / Path(path).name):
        try:
            metadata = json.loads(candidate.read_text(encoding="utf-8")).get("metadata", {})
            break
        except (OSError, ValueError, AttributeError):
            continue
    else:
        return ENGLISH
    lang = metadata.get(METADATA_KEY, {}).get("language", ENGLISH)
    return lang if lang in LANGUAGES else ENGLISH


STRINGS = "strings"


def catalog_files(lang: str) -> list:
    folder = resources.files("course.languages") / STRINGS
    return sorted((p for p in folder.iterdir() if p.name.endswith(f".{lang}.json")), key=lambda p: p.name)


@cache
def catalog(lang: str) -> dict[str, str]:
    """Every computed string of one language, by key (``<area>.<name>``).

    English files map keys to text; a translation maps each key to ``{"text": ..., "english": fingerprint}``
    so that a changed English string is caught (``course translations check``). A translated string whose
    English changed is not used: the reader sees the current English until the translation follows."""
    english: dict[str, str] = {}
    for path in catalog_files(ENGLISH):
        english.update(_with_area(path, json.loads(path.read_text(encoding="utf-8"))))
    if lang == ENGLISH:
        return english
    merged = dict(english)
    for path in catalog_files(lang):
        for key, entry in _with_area(path, json.loads(path.read_text(encoding="utf-8"))).items():
            if key in english and entry.get("english") == fingerprint(english[key]):
                merged[key] = entry["text"]
    return merged


def _with_area(path, entries: dict) -> dict:
    area = path.name.split(".")[0]
    return {f"{area}.{key}": value for key, value in entries.items()}


# Fonts with Hangul and kana/kanji, tried in order after matplotlib's own: Noto CJK (Linux, `fonts-noto-cjk`),
# then what macOS and Windows ship.
CJK_FONTS = {
    "ko": ["Noto Sans CJK KR", "Apple SD Gothic Neo", "AppleGothic", "Malgun Gothic"],
    "ja": ["Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic", "MS Gothic"],
}


def use_fonts(lang: str) -> None:
    """Let matplotlib draw Korean or Japanese text: add the first installed CJK font as a fallback family after
    the default one (matplotlib 3.6+ falls back glyph by glyph along ``font.family``), or say how to get one."""
    from matplotlib import font_manager, rcParams

    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = [name for name in CJK_FONTS[lang] if name in installed]
    if not found:
        print(
            f"Note: no font with {NAMES[lang]} characters found, so plots show boxes instead of text. Install "
            "Noto Sans CJK (Debian/Ubuntu: `sudo apt install fonts-noto-cjk`), delete ~/.cache/matplotlib and "
            "restart the kernel."
        )
        return
    rcParams["font.family"] = ["sans-serif", found[0]]


def say(key: str, lang: str | None = None, /, **values) -> str:
    """The text ``key`` (``"<area>.<name>"``) in the reader's language, with ``{placeholders}`` filled in (a width
    given to a text value, ``{name:>18}``, counts columns: :mod:`course.languages.monospace`)."""
    strings = catalog(lang or current())
    try:
        text = strings[key]
    except KeyError:
        raise KeyError(
            f"No course text {key!r}; add it to course/languages/strings/{key.split('.')[0]}.en.json"
        ) from None
    return fill(text, **values) if values else text


class Said(str):
    """English text (a ``str``) that remembers its key and values, so it can be said again in another language.

    The grader's notes are these: the instructor reads them in English, and the feedback a student reads says them
    in the language of the notebook the student submitted. Values that are ``Said`` themselves are translated too.
    """

    key: str
    values: dict

    def __new__(cls, key: str, /, **values) -> Said:
        said = super().__new__(cls, say(key, ENGLISH, **values))
        said.key, said.values = key, values
        return said

    def __reduce__(self):  # pickled between grading processes by key, not by its English text
        return (_said_again, (self.key, self.values))

    def in_language(self, lang: str) -> str:
        values = {k: v.in_language(lang) if isinstance(v, Said) else v for k, v in self.values.items()}
        return say(self.key, lang, **values)


def _said_again(key: str, values: dict) -> Said:
    return Said(key, **values)


def in_language(text: str, lang: str) -> str:
    """``text`` in ``lang`` when it is :class:`Said`, else as it is."""
    return text.in_language(lang) if isinstance(text, Said) else text


# A Korean or Japanese reader's kernel gets its plot font when the course is first imported (every lesson imports
# it in its first cells), before any figure exists: a figure keeps the fonts it was created with.
if current() in CJK_FONTS:
    use_fonts(current())
