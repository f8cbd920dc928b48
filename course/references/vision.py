"""Lesson 04, multimodality: reference solutions and the declarations of its graded exercises.

The tile grid and the token count are the image processor's own arithmetic (they used to live in
``course.lessons.vision.llama`` as ``tile_grid`` and ``tokens_per_tile``, where a submission could have called
them); the chat messages are the published format. The lesson now runs the student's functions and falls back to
these while an exercise is unfinished.
"""

from __future__ import annotations

import random
from typing import Any

from course.grading.exercise import Exercise, call
from course.lessons.vision.llama import PATCH_SIZE, _check_positive

LESSON = "04-multimodality"


def choose_tile_grid(height: int, width: int, tile_size: int = 560, max_tiles: int = 4) -> tuple[int, int]:
    """Exercise 1: the (rows, columns) of tiles the Mllama image processor cuts a ``height`` x ``width`` picture
    into, computed by transformers' own ``get_optimal_tiled_canvas``."""
    from transformers.models.mllama.image_processing_pil_mllama import get_optimal_tiled_canvas

    _check_positive(height=height, width=width, tile_size=tile_size, max_tiles=max_tiles)
    canvas_height, canvas_width = get_optimal_tiled_canvas(height, width, max_tiles, tile_size)
    return int(canvas_height) // tile_size, int(canvas_width) // tile_size


def tokens_per_tile(tile_size: int = 560, patch_size: int = PATCH_SIZE) -> int:
    """Vision tokens for one tile: one per ``patch_size`` square, plus one class token."""
    _check_positive(tile_size=tile_size, patch_size=patch_size)
    if tile_size % patch_size:
        raise ValueError(f"tile_size ({tile_size}) must be a multiple of patch_size ({patch_size}).")
    return (tile_size // patch_size) ** 2 + 1


def count_vision_tokens(rows: int, columns: int, tile_size: int = 560, patch_size: int = PATCH_SIZE) -> int:
    """Exercise 2: vision tokens for a rows x columns grid of tiles."""
    _check_positive(rows=rows, columns=columns)
    return rows * columns * tokens_per_tile(tile_size, patch_size)


def build_messages(question: str, system: str | None = None) -> list[dict[str, Any]]:
    """Exercise 3: an optional system message, then one user turn holding a picture and the question, in the
    Hugging Face chat format."""
    if not isinstance(question, str) or not question.strip():
        raise ValueError("The question must be a non-empty string.")
    messages: list[dict[str, Any]] = [] if system is None else [{"role": "system", "content": system}]
    messages.append({"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]})
    return messages


# ---------------------------------------------------------------- cases


def _grid_cases(rng: random.Random) -> list[dict]:
    cases = [call(rng.randint(20, 3000), rng.randint(20, 3000)) for _ in range(16)]
    for _ in range(8):  # other tile sizes and tile budgets, as the tiny model uses
        tile = rng.choice([32, 64, 224, 336, 448, 560])
        cases.append(call(rng.randint(10, 4 * tile), rng.randint(10, 4 * tile), tile, rng.randint(1, 9)))
    return cases


_GRID_EDGE_CASES = [
    *(call(height, width) for height, width in [(300, 300), (560, 1120), (2000, 500), (500, 1200), (600, 800)]),
    *(call(height, width) for height, width in [(560, 560), (1120, 1120), (2240, 560), (559, 561), (1, 5000)]),
    call(5000, 1),
    *(call(*case) for case in [(64, 32, 32, 1), (100, 40, 32, 6), (33, 95, 32, 3), (900, 300, 448, 9)]),
]


def _token_cases(rng: random.Random) -> list[dict]:
    cases = []
    for _ in range(14):
        patch = rng.choice([8, 14, 16, 32])
        cases.append(call(rng.randint(1, 4), rng.randint(1, 4), patch * rng.randint(1, 48), patch))
    cases.append(call(rng.randint(1, 3), rng.randint(1, 3)))  # the defaults: 560 and 14
    cases.append(call(1, rng.randint(1, 4), tile_size=rng.choice([100, 561, 300]), patch_size=14))  # ValueError
    return cases


_TOKEN_EDGE_CASES = [
    *(call(rows, columns) for rows, columns in [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2), (3, 1), (4, 1)]),
    call(2, 2, tile_size=32, patch_size=16),
    call(1, 3, tile_size=448, patch_size=14),
    call(1, 1, tile_size=560, patch_size=15),  # must raise ValueError
]

_QUESTIONS = [
    "What colour is the shape?",
    "Which shape is drawn?",
    "What is in this picture?",
    "How many tiles does this photo need?",
    "Describe the landscape in one sentence.",
    "Is the sky blue?",
    "Qu'y a-t-il sur cette image ?",
    "Count the circles.",
]
_SYSTEMS = ["Answer in one word.", "You are a careful assistant.", "Réponds en français.", ""]


def _message_cases(rng: random.Random) -> list[dict]:
    cases = []
    for _ in range(12):
        question = rng.choice(_QUESTIONS) + rng.choice(["", " Please.", f" ({rng.randint(1, 99)})"])
        if rng.random() < 0.5:
            cases.append(call(question))
        else:
            cases.append(call(question, system=rng.choice(_SYSTEMS)))
    cases.append(call(rng.choice(_QUESTIONS), None))
    return cases


_MESSAGE_EDGE_CASES = [
    call("What colour?"),
    call("Hi"),
    call("Which shape is drawn?"),
    call("Count the tiles.", system="Answer in one word."),
    call("Count the tiles.", "Answer in one word."),
]

# ---------------------------------------------------------------- the visible tests of the test cells

_CHOOSE_TILE_GRID_TESTS = r"""
assert choose_tile_grid(300, 300) == (1, 1), "a small square picture needs one tile"
assert choose_tile_grid(560, 1120) == (1, 2), "a 1:2 picture fits two tiles side by side"
assert choose_tile_grid(2000, 500) == (4, 1), "a tall picture gets a column of tiles"
assert choose_tile_grid(500, 1200) == (1, 3), "a wide picture gets a row of three tiles"
"""

_COUNT_VISION_TOKENS_TESTS = r"""
assert count_vision_tokens(1, 1) == 1601, "40 x 40 patches + 1 class token"
assert count_vision_tokens(1, 2) == 3202
assert count_vision_tokens(2, 2, tile_size=32, patch_size=16) == 20, "4 tiles of 2 x 2 patches + 1 class token"
"""

_BUILD_MESSAGES_TESTS = r"""
header = "<|begin_of_text|><|start_header_id|>{}<|end_header_id|>\n\n"
prompt = llama.render_chat(build_messages("Which shape is drawn?"))
assert prompt == (header.format("user") + "<|image|>Which shape is drawn?<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\n"), prompt
prompt = llama.render_chat(build_messages("Which shape is drawn?", system="Answer in one word."))
assert prompt.startswith(header.format("system") + "Cutting Knowledge Date: December 2023\n"
                         "Today Date: 26 Jul 2024\n\nAnswer in one word.<|eot_id|>"), prompt
assert prompt.count("<|image|>") == 1, "one picture, one image token"
"""


EXERCISES = [
    Exercise(
        grade_id="test-tile-grid",
        target="choose_tile_grid",
        points=3,
        about=(
            "calls your function on picture sizes, tile sizes and tile budgets it draws itself, and compares with "
            "what transformers' image processor chooses."
        ),
        tests=_CHOOSE_TILE_GRID_TESTS,
        reference=choose_tile_grid,
        cases=_grid_cases,
        edge_cases=_GRID_EDGE_CASES,
    ),
    Exercise(
        grade_id="test-vision-tokens",
        target="count_vision_tokens",
        points=2,
        about=(
            "calls your function on grids, tile sizes and patch sizes it draws itself (some tile sizes are not "
            "multiples of the patch size), and compares with the course's reference."
        ),
        tests=_COUNT_VISION_TOKENS_TESTS,
        reference=count_vision_tokens,
        cases=_token_cases,
        edge_cases=_TOKEN_EDGE_CASES,
    ),
    Exercise(
        grade_id="test-messages",
        target="build_messages",
        points=2,
        about=(
            "calls your function on questions and system messages it draws itself, and compares the messages with the"
            " course's reference."
        ),
        tests=_BUILD_MESSAGES_TESTS,
        reference=build_messages,
        cases=_message_cases,
        edge_cases=_MESSAGE_EDGE_CASES,
    ),
]
