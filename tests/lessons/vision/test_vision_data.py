"""Lesson 04's pictures: drawn with Pillow, repeatable, and labelled correctly."""

import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from course.lessons import vision_data as data


def test_same_seed_same_pictures_other_seed_other_pictures():
    first = data.make_examples(12, 32, seed=5)
    again = data.make_examples(12, 32, seed=5)
    other = data.make_examples(12, 32, seed=6)
    assert [e.image.tobytes() for e in first] == [e.image.tobytes() for e in again]
    assert [e.answer for e in first] == [e.answer for e in again]
    assert [e.image.tobytes() for e in first] != [e.image.tobytes() for e in other]


def test_each_picture_gets_every_question_with_a_valid_answer():
    examples = data.make_examples(30, 32, seed=0)
    assert len(examples) == 30 * len(data.QUESTIONS)
    for first, second in zip(examples[::2], examples[1::2], strict=True):
        assert first.image is second.image
        assert (first.kind, second.kind) == ("colour", "shape")
    for example in examples:
        assert example.question == data.QUESTIONS[example.kind]
        assert example.answer in data.ANSWERS[example.kind]
        assert example.image.size == (32, 32) and example.image.mode == "RGB"
    assert {e.answer for e in examples if e.kind == "shape"} == set(data.SHAPES), "30 pictures show every shape"


def test_the_answer_is_what_is_drawn():
    rng = random.Random(3)
    for _ in range(50):
        scene = data.random_scene(rng, 32)
        image = np.asarray(data.draw_scene(scene, 32))
        assert tuple(image[scene.centre[1], scene.centre[0]]) == data.COLOURS[scene.colour]
        assert tuple(image[0, 0]) == scene.background
        others = [s for s in data.SHAPES if s != scene.shape]
        mine = np.asarray(data.draw_scene(scene, 32))
        for shape in others:
            changed = data.draw_scene(data.Scene(scene.colour, shape, scene.centre, scene.radius, scene.background), 32)
            assert (np.asarray(changed) != mine).any(), f"{shape} and {scene.shape} must look different"


def test_chance_accuracy():
    assert data.chance_accuracy("colour") == pytest.approx(1 / 5)
    assert data.chance_accuracy("shape") == pytest.approx(1 / 4)
    with pytest.raises(KeyError, match="colour"):
        data.chance_accuracy("size")


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="16 pixels"):
        data.random_scene(random.Random(0), 8)
    with pytest.raises(ValueError, match="at least 1"):
        data.make_examples(0, 32, seed=0)
    with pytest.raises(ValueError, match="Unknown shape"):
        data.draw_shape(ImageDraw.Draw(Image.new("RGB", (32, 32))), "star", (16, 16), 8, (0, 0, 0))


def test_landscape_is_a_wide_picture():
    picture = data.landscape()
    assert picture.size == (1200, 500)
    pixels = np.asarray(picture)
    assert tuple(pixels[0, 0]) == (150, 200, 240) and tuple(pixels[-1, 0]) == (90, 160, 70)
