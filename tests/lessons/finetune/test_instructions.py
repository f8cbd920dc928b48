import pytest

from course.lessons.finetune.instructions import format_prompt, parse_prompt, synthesize
from course.references.finetune import augment_instructions


def test_format_and_parse_round_trip():
    prompt = format_prompt(" Say it in French . ", "red cat")
    assert prompt == "### Instruction : Say it in French . ### Input : red cat ### Response :"
    assert parse_prompt(prompt) == ("Say it in French .", "red cat")


@pytest.mark.parametrize("instruction, text", [("", "red cat"), ("Do it", "  "), ("a ### b", "x")])
def test_bad_parts_are_refused(instruction, text):
    with pytest.raises(ValueError):
        format_prompt(instruction, text)


def test_parse_refuses_other_text():
    with pytest.raises(ValueError, match="template"):
        parse_prompt("Translate: red cat")


def test_augmentation_keeps_originals_first_and_drops_duplicates():
    seed = [(format_prompt("Translate .", "red cat"), "chat rouge"), (format_prompt("Translate .", "pink hat"), "x")]
    grown = augment_instructions(seed, ["Say it .", "Translate .", "Give it ."])
    assert grown[:1] == seed[:1]
    assert len(grown) == 6  # two inputs x three distinct instructions
    assert (format_prompt("Give it .", "pink hat"), "x") in grown
    assert len(set(grown)) == len(grown)


def test_synthesize_answers_with_the_teacher_and_leaves_out_the_test_set():
    test = [(format_prompt("Upper .", "b"), "B")]
    made = synthesize(["a", "b", "a", "c"], "Upper .", str.upper, exclude=test)
    assert made == [(format_prompt("Upper .", "a"), "A"), (format_prompt("Upper .", "c"), "C")]


def test_synthesize_drops_empty_answers():
    assert synthesize(["a"], "Nothing .", lambda text: " ") == []
