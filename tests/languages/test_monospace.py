"""Fixed-width tables in Korean and Japanese: text is padded by the columns it takes on screen, not by its
characters, and English pads exactly as ``str.format`` does."""

from __future__ import annotations

import unicodedata

import pytest

from course.languages import say
from course.languages.monospace import columns, fill, fixed_width, pad, widest


def on_screen(text: str) -> int:
    """Columns a monospaced font gives ``text``: two for East Asian Wide and Fullwidth characters, else one."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def test_wide_and_full_width_characters_take_two_columns():
    assert columns("runtime") == 7 and columns("런타임") == 6 and columns("ランタイム") == 10
    assert columns("精度：Q4") == 8, "a full-width colon is two columns too"
    assert widest(["model", "모델 이름"]) == 9 and widest([], at_least=4) == 4 and widest(["ab"], at_least=4) == 4


def test_pad_counts_columns():
    assert pad("ab", 5) == "ab   " and pad("ab", 5, ">") == "   ab"
    assert pad("모델", 6) == "모델  " and pad("精度", 6, ">") == "  精度"
    assert pad("longer than", 4) == "longer than" and pad("너무 긴 머리글", 4) == "너무 긴 머리글"


def test_a_korean_header_lines_up_with_its_column():
    header = [pad("모델", 14), pad("크기 (GB)", 10, ">"), pad("정확 일치", 12, ">")]
    row = [f"{'mistral-7b':<14}", f"{14.5:>10.2f}", f"{0.8:>12.1%}"]
    assert [on_screen(cell) for cell in header] == [on_screen(cell) for cell in row] == [14, 10, 12]
    assert on_screen("".join(header)) == on_screen("".join(row))
    assert on_screen(f"{'모델':<14}") == 16, "str.format pads by characters: two columns too many"


@pytest.mark.parametrize("spec", ["<10", ">10", "^10", "*^11", "x>7", "010", "10", "<10.3", ">4.2s", "", "s", ".2"])
@pytest.mark.parametrize("value", ["ab", "hello world", "", "→ ≈ · naïve"])
def test_english_text_pads_as_str_format_does(spec, value):
    assert fill(f"{{v:{spec}}}", v=value) == format(value, spec)


@pytest.mark.parametrize("spec", ["<10", ">10", "^10", "*^11", "10", "<10.3"])
@pytest.mark.parametrize("value", ["모델", "精度データ", "모델 abc"])
def test_wide_text_fills_its_width_in_columns(spec, value):
    width = int(spec.lstrip("*<>^").split(".")[0])
    assert on_screen(fill(f"{{v:{spec}}}", v=value)) == max(width, on_screen(value[:3] if "." in spec else value))


def test_numbers_and_other_fields_format_as_before():
    assert fill("{n:>8,.1f}|{p:6.1%}|{s!r:>6}|{x}|{{}}", n=1234.5, p=0.25, s="가", x=[1]) == (
        " 1,234.5| 25.0%|  '가'|[1]|{}"
    )


@pytest.mark.parametrize("lang", ["ko", "ja"])
def test_say_counts_columns_for_translated_labels(lang):
    """A string's template pads its text by columns: rows of one table keep their columns in every language."""
    names = [say("finetune.full_fine_tuning", lang), say("finetune.base_model", lang), "LoRA"]
    assert len({columns(name) for name in names}) == 3, "labels of different widths"
    lines = [say("finetune.after_scores", lang, name=name, new=0.5, original=0.25) for name in names]
    assert len({on_screen(line.split(":")[0]) for line in lines}) == 1, "the colons line up"
    assert len({on_screen(line) for line in lines}) == 1


def test_fixed_width_lines_up_translated_headers_and_widens_a_column_for_a_long_one():
    rows = [["모델", "크기", "トークンあたり有効"], ["mistral-7b", "14.50", "7.25B"], ["tiny", "0.10"]]
    lines = fixed_width(rows, widths=[14, 8, 10], align="<>>").splitlines()
    assert [on_screen(line) for line in lines] == [14 + 8 + 20, 14 + 8 + 20, 14 + 8]
    header, first, _ = lines
    assert header == "모델" + " " * 10 + " " * 4 + "크기" + " " * 2 + "トークンあたり有効"
    assert first == f"{'mistral-7b':<14}{'14.50':>8}" + " " * 15 + "7.25B", "as wide as its header, and 2 to spare"


def test_fixed_width_in_english_is_what_fixed_widths_in_format_give():
    rows = [["model", "size"], ["mistral-7b", "14.50"]]
    assert fixed_width(rows, widths=[12, 8], align="<>") == f"{'model':<12}{'size':>8}\n{'mistral-7b':<12}{14.5:>8.2f}"
