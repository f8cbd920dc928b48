"""Pictures the course draws itself with Pillow, and questions about them (lesson 04).

Lesson 04 §5 (A tiny Llama 3.2 Vision that learns to see): the pictures and questions it learns from.

Each small picture shows one shape in one colour on a pale background, at a
random size, near the middle; each picture gives one question per kind (its colour,
its shape). ``landscape`` draws a larger, wide picture for the pipeline demo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 40, 40),
    "green": (40, 160, 60),
    "blue": (45, 85, 215),
    "yellow": (235, 195, 30),
    "purple": (135, 55, 170),
}
OUTLINE = (30, 30, 30)  # a dark outline: the same edges whatever the colour
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "cross")
QUESTIONS: dict[str, str] = {
    "colour": "What colour is the shape?",
    "shape": "Which shape is drawn?",
}
ANSWERS: dict[str, tuple[str, ...]] = {"colour": tuple(COLOURS), "shape": SHAPES}
# What the tiny language model learns from text alone, before it ever sees a picture: every possible answer
# is the answer to at least one text question, so the frozen model can already write each of them.
TEXT_FACTS: dict[str, str] = {
    "What colour is the sky?": "blue",
    "What colour is the sea?": "blue",
    "What colour is grass?": "green",
    "What colour is a leaf?": "green",
    "What colour is blood?": "red",
    "What colour is a tomato?": "red",
    "What colour is the sun?": "yellow",
    "What colour is a lemon?": "yellow",
    "What colour is a plum?": "purple",
    "What colour is a grape?": "purple",
    "Which shape has three sides?": "triangle",
    "Which shape has four equal sides?": "square",
    "Which shape is round?": "circle",
    "Which shape is a wheel?": "circle",
    "Which shape is a plus sign?": "cross",
    "Which shape has four arms?": "cross",
}


@dataclass(frozen=True)
class Scene:
    """What one picture shows: a shape, its colour, its centre and half-size in pixels."""

    colour: str
    shape: str
    centre: tuple[int, int]
    radius: int
    background: tuple[int, int, int]


@dataclass(frozen=True)
class Example:
    """One question about one picture, with its expected one-word answer."""

    image: Image.Image
    kind: str
    question: str
    answer: str


def chance_accuracy(kind: str) -> float:
    """Accuracy of guessing uniformly among the possible answers of a question kind."""
    try:
        return 1 / len(ANSWERS[kind])
    except KeyError:
        raise KeyError(f"Unknown question kind {kind!r}; choose one of {', '.join(ANSWERS)}") from None


def random_scene(rng: random.Random, size: int) -> Scene:
    """A random shape and colour, near the middle of a ``size`` x ``size`` picture, at a random size."""
    if size < 16:
        raise ValueError(f"Pictures need at least 16 pixels a side to show a shape; got {size}.")
    radius = rng.randint(size // 4, size // 3)
    shift = size // 8
    centre = (size // 2 + rng.randint(-shift, shift), size // 2 + rng.randint(-shift, shift))
    shade = rng.randint(215, 250)
    background = (shade + rng.randint(-5, 5), shade + rng.randint(-5, 5), shade + rng.randint(-5, 5))
    return Scene(rng.choice(tuple(COLOURS)), rng.choice(SHAPES), centre, radius, background)


def draw_shape(draw: ImageDraw.ImageDraw, shape: str, centre: tuple[int, int], radius: int, fill, outline=None) -> None:
    """Draw one ``shape`` of half-size ``radius`` around ``centre``, with an optional 1-pixel ``outline``."""
    x, y = centre
    if shape == "circle":
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill, outline=outline)
        return
    if shape == "square":
        side = round(radius * 0.85)
        points = [(x - side, y - side), (x + side, y - side), (x + side, y + side), (x - side, y + side)]
    elif shape == "triangle":
        points = [(x, y - radius), (x + radius, y + radius), (x - radius, y + radius)]
    elif shape == "cross":
        r, a = radius, max(2, radius // 3)
        points = [
            (x - a, y - r),
            (x + a, y - r),
            (x + a, y - a),
            (x + r, y - a),
            (x + r, y + a),
            (x + a, y + a),
            (x + a, y + r),
            (x - a, y + r),
            (x - a, y + a),
            (x - r, y + a),
            (x - r, y - a),
            (x - a, y - a),
        ]
    else:
        raise ValueError(f"Unknown shape {shape!r}; choose one of {', '.join(SHAPES)}")
    draw.polygon(points, fill=fill, outline=outline)


def draw_scene(scene: Scene, size: int) -> Image.Image:
    """The picture of ``scene``, ``size`` x ``size`` pixels, RGB."""
    image = Image.new("RGB", (size, size), scene.background)
    draw_shape(ImageDraw.Draw(image), scene.shape, scene.centre, scene.radius, COLOURS[scene.colour], OUTLINE)
    return image


def make_examples(n_images: int, size: int, seed: int) -> list[Example]:
    """``n_images`` random pictures, each asked every question kind; the same seed gives the same set."""
    if n_images < 1:
        raise ValueError(f"n_images must be at least 1; got {n_images}.")
    rng = random.Random(seed)
    examples = []
    for _ in range(n_images):
        scene = random_scene(rng, size)
        image = draw_scene(scene, size)
        for kind, question in QUESTIONS.items():
            examples.append(Example(image, kind, question, getattr(scene, kind)))
    return examples


def landscape(width: int = 1200, height: int = 500) -> Image.Image:
    """A wide picture (sky, sun, house, tree) to show how a real image is resized and tiled."""
    image = Image.new("RGB", (width, height), (150, 200, 240))
    draw = ImageDraw.Draw(image)
    ground = int(height * 0.7)
    draw.rectangle((0, ground, width, height), fill=(90, 160, 70))
    unit = height // 10
    draw_shape(draw, "circle", (int(width * 0.85), int(height * 0.2)), unit, COLOURS["yellow"])
    house_x = int(width * 0.3)
    draw.rectangle((house_x - 2 * unit, ground - 3 * unit, house_x + 2 * unit, ground), fill=(200, 120, 80))
    draw.polygon(
        [
            (house_x - 5 * unit // 2, ground - 3 * unit),
            (house_x + 5 * unit // 2, ground - 3 * unit),
            (house_x, ground - 5 * unit),
        ],
        fill=COLOURS["red"],
    )
    draw.rectangle((house_x - unit // 2, ground - 3 * unit // 2, house_x + unit // 2, ground), fill=(90, 60, 40))
    tree_x = int(width * 0.6)
    draw.rectangle((tree_x - unit // 3, ground - 2 * unit, tree_x + unit // 3, ground), fill=(110, 70, 40))
    draw_shape(draw, "circle", (tree_x, ground - 3 * unit), 3 * unit // 2, COLOURS["green"])
    return image
