"""Fixed-width text in Korean and Japanese: pad by the columns text takes on screen, not by its characters.

A notebook prints in a monospaced font, where Hangul, kana, kanji and full-width forms (Unicode's East Asian
Width "W" and "F") take two columns and every other character one. ``str.format`` pads to a number of
*characters*, so a translated header or label ("모델", "精度") comes out one column too wide per wide character
and pushes the rest of its row out of line. Every fixed-width table the course prints pads through here: code
calls :func:`pad` or :func:`fixed_width` (which also widens a column to a translated header longer than the
English one), and :func:`course.languages.say` fills its strings with :func:`fill`, so a width in a string's
template (``{name:>18}``) counts columns too; a translation whose labels are longer gives its template a larger
width. English has no wide characters, so it pads exactly as ``str.format`` does.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable, Sequence

GAP = 2  # columns of space between two columns of a table that a translation widened

# A string's format spec: [[fill]align][0]width[.precision][s] (no width: nothing to pad)
_PADDED = re.compile(r"(?P<head>(?:.?[<>^])?0?)(?P<width>[1-9][0-9]*)(?P<precision>\.[0-9]+)?(?P<kind>s?)", re.S)


def columns(text: str) -> int:
    """How many columns ``text`` takes in a monospaced font (wide and full-width characters count two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def widest(texts: Iterable[str], at_least: int = 0) -> int:
    """The columns of the widest of ``texts``, and at least ``at_least``: the width of a column of labels."""
    return max([at_least, *(columns(text) for text in texts)])


def pad(text: str, width: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``width`` columns, left- (``"<"``) or right-aligned (``">"``): what
    ``f"{text:<{width}}"`` gives in English."""
    return _COLUMNS.format_field(text, f"{align}{width}")


def fixed_width(rows: Iterable[Sequence[str]], widths: Sequence[int], align: str) -> str:
    """Rows of cells (the header first) as the lines of a fixed-width table, each column aligned by ``align[i]``
    (``"<"`` or ``">"``) in ``widths[i]`` columns, the space between columns included as in an f-string's widths.
    A column whose longest cell (a translated header, say) would not keep :data:`GAP` columns from its neighbour
    is widened to do so. A row may have fewer cells than the others."""
    rows = [list(row) for row in rows]

    def width(i: int) -> int:
        spare = 0 if i == 0 and align[0] == ">" else GAP  # a right-aligned first column has no neighbour on its left
        longest = widest(row[i].strip() for row in rows if i < len(row))
        return widths[i] if longest + spare <= widths[i] else longest + spare

    sized = [width(i) for i in range(len(widths))]
    return "\n".join(
        "".join(pad(cell, size, side) for cell, size, side in zip(row, sized, align, strict=False)) for row in rows
    )


class _Columns(string.Formatter):
    """``str.format`` whose widths count columns for text (numbers have no wide characters)."""

    def format_field(self, value, format_spec: str) -> str:
        spec = _PADDED.fullmatch(format_spec) if isinstance(value, str) else None
        if spec:
            shown = value[: int(spec["precision"][1:])] if spec["precision"] else value
            width = int(spec["width"]) - (columns(shown) - len(shown))
            format_spec = f"{spec['head']}{max(width, 1)}{spec['precision'] or ''}{spec['kind']}"
        return format(value, format_spec)


_COLUMNS = _Columns()


def fill(template: str, /, **values) -> str:
    """``template.format(**values)``, with the widths of text values counted in columns."""
    return _COLUMNS.vformat(template, (), values)
