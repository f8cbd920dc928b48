"""Passages the course writes itself, each in English, Korean and Japanese with the same meaning.

Files are ``<name>.<lang>.txt`` beside this module. Lessons use them to compare
tokenizers across languages on text of equal content.
"""

from __future__ import annotations

from importlib import resources

LANGUAGES: dict[str, str] = {"en": "English", "ko": "Korean", "ja": "Japanese"}
PASSAGES: tuple[str, ...] = ("slm-on-a-laptop",)


def load_passage(name: str, lang: str) -> str:
    """The passage ``name`` in language ``lang`` (``en``, ``ko`` or ``ja``), without trailing whitespace."""
    if name not in PASSAGES:
        raise KeyError(f"Unknown passage {name!r}; choose one of: {', '.join(PASSAGES)}")
    if lang not in LANGUAGES:
        raise KeyError(f"No {lang!r} version; the passages exist in: {', '.join(LANGUAGES)}")
    return resources.files(__package__).joinpath(f"{name}.{lang}.txt").read_text(encoding="utf-8").strip()


def load_all(name: str) -> dict[str, str]:
    """Every language version of ``name``, keyed by language code."""
    return {lang: load_passage(name, lang) for lang in LANGUAGES}
