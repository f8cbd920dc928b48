"""Lesson 04's graded exercises: the references reproduce what the old hidden tests asserted, and plausible wrong
answers fail the comparison."""

import random

import pytest

from course.lessons.vision import llama
from course.references import exercises
from course.references.vision import build_messages, choose_tile_grid, count_vision_tokens, tokens_per_tile
from tests.grading_helpers import checked

LESSON = "04-multimodality"


def _verdict(grade_id, candidate, seed=5):
    """Whether ``candidate`` passes the exercise's check (``tests.grading_helpers.checked``)."""
    return checked(LESSON, grade_id, candidate, seed)


def _rule(height, width, tile_size=560, max_tiles=4):
    """The rule the exercise states, written independently of transformers."""
    grids = [(r, c) for r in range(1, max_tiles + 1) for c in range(1, max_tiles + 1) if r * c <= max_tiles]
    scales = {grid: min(grid[0] * tile_size / height, grid[1] * tile_size / width) for grid in grids}
    enlarging = [s for s in scales.values() if s >= 1]
    best = min(enlarging) if enlarging else max(scales.values())
    return min((grid for grid in grids if scales[grid] == best), key=lambda grid: grid[0] * grid[1])


def test_every_exercise_passes_with_its_reference():
    for grade_id, exercise in exercises(LESSON).items():
        assert _verdict(grade_id, exercise.reference)[0], grade_id


def test_tile_grid_reference_follows_the_rule_on_the_old_hidden_cases():
    rng = random.Random(4)
    cases = [(rng.randint(20, 3000), rng.randint(20, 3000)) for _ in range(200)]
    cases += [(560, 560), (1120, 1120), (2240, 560), (559, 561), (1, 5000), (5000, 1)]
    for height, width in cases:
        assert choose_tile_grid(height, width) == _rule(height, width), (height, width)
    for height, width, tile, tiles in [(64, 32, 32, 1), (100, 40, 32, 6), (33, 95, 32, 3), (900, 300, 448, 9)]:
        assert choose_tile_grid(height, width, tile, tiles) == _rule(height, width, tile, tiles)


def _largest_area(height, width, tile_size=560, max_tiles=4):
    grids = [(r, c) for r in range(1, max_tiles + 1) for c in range(1, max_tiles + 1) if r * c <= max_tiles]
    scales = {grid: min(grid[0] * tile_size / height, grid[1] * tile_size / width) for grid in grids}
    enlarging = [s for s in scales.values() if s >= 1]
    best = min(enlarging) if enlarging else max(scales.values())
    return max((grid for grid in grids if scales[grid] == best), key=lambda grid: grid[0] * grid[1])


def _swapped(height, width, tile_size=560, max_tiles=4):
    return _rule(width, height, tile_size, max_tiles)


def _ignores_the_budget(height, width, tile_size=560, max_tiles=4):
    return _rule(height, width, tile_size, 4)


@pytest.mark.parametrize("wrong", [_largest_area, _swapped, _ignores_the_budget])
def test_wrong_tile_grids_fail(wrong):
    passed, line = _verdict("test-tile-grid", wrong)
    assert not passed and "matched the reference on" in line


def test_vision_tokens_reproduce_the_old_hidden_tests():
    for rows, columns in llama.supported_aspect_ratios(4):
        assert count_vision_tokens(rows, columns) == rows * columns * tokens_per_tile(560, 14)
    assert count_vision_tokens(1, 3, tile_size=448, patch_size=14) == 3 * (32 * 32 + 1)
    assert count_vision_tokens(1, 1) == 1601 and count_vision_tokens(2, 2, tile_size=32, patch_size=16) == 20
    with pytest.raises(ValueError):
        count_vision_tokens(1, 1, tile_size=560, patch_size=15)


def _no_class_token(rows, columns, tile_size=560, patch_size=14):
    if tile_size % patch_size:
        raise ValueError
    return rows * columns * (tile_size // patch_size) ** 2


def _one_class_token_per_picture(rows, columns, tile_size=560, patch_size=14):
    if tile_size % patch_size:
        raise ValueError
    return rows * columns * (tile_size // patch_size) ** 2 + 1


def _no_check(rows, columns, tile_size=560, patch_size=14):
    return rows * columns * ((tile_size // patch_size) ** 2 + 1)


@pytest.mark.parametrize("wrong", [_no_class_token, _one_class_token_per_picture, _no_check])
def test_wrong_token_counts_fail(wrong):
    passed, line = _verdict("test-vision-tokens", wrong)
    assert not passed and "matched the reference on" in line


def test_messages_reproduce_the_old_hidden_tests():
    assert build_messages("What colour?") == [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What colour?"}]}
    ]
    with_system = build_messages("Count the tiles.", system="Answer in one word.")
    assert len(with_system) == 2 and with_system[0] == {"role": "system", "content": "Answer in one word."}
    assert llama.render_chat(with_system).startswith(
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
        "Today Date: 26 Jul 2024\n\nAnswer in one word.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\n<|image|>Count the tiles.<|eot_id|>"
    )
    assert llama.render_chat(with_system).count("<|image|>") == 1


def _question_first(question, system=None):
    messages = [] if system is None else [{"role": "system", "content": system}]
    return [*messages, {"role": "user", "content": [{"type": "text", "text": question}, {"type": "image"}]}]


def _ignores_system(question, system=None):
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]


def _system_in_the_user_turn(question, system=None):
    text = question if not system else f"{system} {question}"
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]


@pytest.mark.parametrize("wrong", [_question_first, _ignores_system, _system_in_the_user_turn])
def test_wrong_messages_fail(wrong):
    passed, line = _verdict("test-messages", wrong)
    assert not passed and "matched the reference on" in line
