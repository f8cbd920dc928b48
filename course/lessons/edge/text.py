"""Fixed-width text tables whose headers may be Korean or Japanese: Hangul and kanji take two columns of a
monospaced font, so padding counts display columns rather than characters (English pads as ``str.format`` does)."""

from __future__ import annotations

import unicodedata


def columns(text: str) -> int:
    """How many columns ``text`` takes in a monospaced font (wide and full-width characters count two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``width`` columns, left- (``"<"``) or right-aligned (``">"``)."""
    fill = " " * max(0, width - columns(text))
    return text + fill if align == "<" else fill + text
