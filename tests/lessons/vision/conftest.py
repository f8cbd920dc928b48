"""The tiny processor and a fresh tiny model, shared by lesson 04's tests."""

import pytest

from course.lessons.vision import tiny


@pytest.fixture(scope="module")
def processor():
    return tiny.tiny_processor()


@pytest.fixture()
def model(processor):
    return tiny.build_tiny_model(processor, seed=0)
