"""Lesson 04's pictures: drawn with Pillow, repeatable, and labelled correctly."""

import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from course.lessons.vision import data as vision_data


def test_same_seed_same_pictures_other_seed_other_pictures():
    first = vision_data.make_examples(12, 32, seed=5)
    again = vision_data.make_examples(12, 32, seed=5)
    other = vision_data.make_examples(12, 32, seed=6)
    assert [e.image.tobytes() for e in first] == [e.image.tobytes() for e in again]
    assert [e.answer for e in first] == [e.answer for e in again]
    assert [e.image.tobytes() for e in first] != [e.image.tobytes() for e in other]


def test_each_picture_gets_every_question_with_a_valid_answer():
    examples = vision_data.make_examples(30, 32, seed=0)
    assert len(examples) == 30 * len(vision_data.QUESTIONS)
    for first, second in zip(examples[::2], examples[1::2], strict=True):
        assert first.image is second.image
        assert (first.kind, second.kind) == ("colour", "shape")
    for example in examples:
        assert example.question == vision_data.QUESTIONS[example.kind]
        assert example.answer in vision_data.ANSWERS[example.kind]
        assert example.image.size == (32, 32) and example.image.mode == "RGB"
    assert {e.answer for e in examples if e.kind == "shape"} == set(vision_data.SHAPES), "30 pictures show every shape"


def test_the_answer_is_what_is_drawn():
    rng = random.Random(3)
    for _ in range(50):
        scene = vision_data.random_scene(rng, 32)
        image = np.asarray(vision_data.draw_scene(scene, 32))
        assert tuple(image[scene.centre[1], scene.centre[0]]) == vision_data.COLOURS[scene.colour]
        assert tuple(image[0, 0]) == scene.background
        others = [s for s in vision_data.SHAPES if s != scene.shape]
        mine = np.asarray(vision_data.draw_scene(scene, 32))
        for shape in others:
            changed = vision_data.draw_scene(
                vision_data.Scene(scene.colour, shape, scene.centre, scene.radius, scene.background), 32
            )
            assert (np.asarray(changed) != mine).any(), f"{shape} and {scene.shape} must look different"


def test_chance_accuracy():
    assert vision_data.chance_accuracy("colour") == pytest.approx(1 / 5)
    assert vision_data.chance_accuracy("shape") == pytest.approx(1 / 4)
    with pytest.raises(KeyError, match="colour"):
        vision_data.chance_accuracy("size")


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="16 pixels"):
        vision_data.random_scene(random.Random(0), 8)
    with pytest.raises(ValueError, match="at least 1"):
        vision_data.make_examples(0, 32, seed=0)
    with pytest.raises(ValueError, match="Unknown shape"):
        vision_data.draw_shape(ImageDraw.Draw(Image.new("RGB", (32, 32))), "star", (16, 16), 8, (0, 0, 0))


def test_landscape_is_a_wide_picture():
    picture = vision_data.landscape()
    assert picture.size == (1200, 500)
    pixels = np.asarray(picture)
    assert tuple(pixels[0, 0]) == (150, 200, 240) and tuple(pixels[-1, 0]) == (90, 160, 70)
