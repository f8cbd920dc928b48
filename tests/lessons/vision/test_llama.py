"""Lesson 04's pipeline: the real image processor, tiles, padding, the published chat template, the 11B model's
parts."""

import numpy as np
import pytest
from PIL import Image

from course.lessons.vision import llama
from course.lessons.vision.data import landscape
from course.models.configs import model_card
from course.models.params import count_parameters
from course.references.sizes import count_from_config

EXPECTED_PROMPT = (
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<|image|>What is drawn?<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n"
)


@pytest.fixture(scope="module")
def processor():
    return llama.image_processor()


def test_image_processor_has_the_published_settings(processor):
    assert (processor.size.height, processor.size.width) == (560, 560)
    assert processor.max_image_tiles == 4
    assert tuple(processor.image_mean) == pytest.approx((0.48145466, 0.4578275, 0.40821073))
    assert tuple(processor.image_std) == pytest.approx((0.26862954, 0.26130258, 0.27577711))
    small = llama.image_processor(tile_size=32, max_tiles=1)
    assert (small.size.height, small.max_image_tiles) == (32, 1)
    assert tuple(small.image_mean) == tuple(processor.image_mean)


def _rule(height, width, tile_size=560, max_tiles=4):
    """The grid rule the lesson states, written independently of transformers."""
    grids = [(r, c) for r in range(1, max_tiles + 1) for c in range(1, max_tiles + 1) if r * c <= max_tiles]
    scales = {grid: min(grid[0] * tile_size / height, grid[1] * tile_size / width) for grid in grids}
    enlarging = [s for s in scales.values() if s >= 1]
    best = min(enlarging) if enlarging else max(scales.values())
    return min((grid for grid in grids if scales[grid] == best), key=lambda grid: grid[0] * grid[1])


@pytest.mark.parametrize(
    "height, width", [(300, 300), (560, 1120), (500, 1200), (600, 800), (2000, 500), (1080, 1920), (90, 700)]
)
def test_the_grid_read_from_the_processor_follows_the_stated_rule(processor, height, width):
    rows, columns = llama.grid_of(processor, height, width)
    assert (rows, columns) == _rule(height, width)
    features = processor(images=[[Image.new("RGB", (width, height), "white")]], return_tensors="np")
    assert int(features["aspect_ratio_mask"][0, 0].sum()) == rows * columns
    assert features["pixel_values"].shape == (1, 1, 4, 3, 560, 560)


def test_grid_of_small_tiles():
    assert llama.grid_of(llama.image_processor(32, max_tiles=1), 64, 32) == (1, 1)
    assert llama.grid_of(llama.image_processor(32, max_tiles=6), 100, 40) == _rule(100, 40, 32, 6)


def test_supported_grids_and_their_ids():
    grids = llama.supported_aspect_ratios(4)
    assert grids == [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2), (3, 1), (4, 1)]
    assert [llama.aspect_ratio_id(*grid) for grid in grids] == list(range(1, 9))
    with pytest.raises(ValueError, match="not supported"):
        llama.aspect_ratio_id(3, 3)


@pytest.mark.parametrize(
    "call",
    [
        lambda: llama.grid_of(llama.image_processor(), 0, 100),
        lambda: llama.grid_of(llama.image_processor(), 100.5, 100),
        lambda: llama.supported_aspect_ratios(-1),
    ],
)
def test_bad_sizes_are_refused(call):
    with pytest.raises(ValueError):
        call()


def _image_turn(question, system=None):
    messages = [] if system is None else [{"role": "system", "content": system}]
    return [*messages, {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]


def test_chat_messages_render_with_the_published_template():
    messages = _image_turn("What is drawn?")
    assert llama.render_chat(messages) == EXPECTED_PROMPT
    assert llama.render_chat(messages, add_generation_prompt=False).endswith("What is drawn?<|eot_id|>")


SYSTEM_BLOCK = (
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
    "Cutting Knowledge Date: December 2023\nToday Date: {date}\n\n{system}<|eot_id|>"
)


def test_text_only_prompts_get_the_dated_system_block_in_both_versions():
    text_turn = [{"role": "user", "content": "Hello"}]
    for version in ("2024-09", "2024-12"):
        prompt = llama.render_chat(text_turn, version=version)
        assert prompt.startswith(SYSTEM_BLOCK.format(date="26 Jul 2024", system="")), prompt
        assert prompt.endswith("Hello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
    assert "Today Date: 01 Dec 2024" in llama.render_chat(text_turn, date_string="01 Dec 2024")


def test_an_image_with_a_system_message_was_refused_then_allowed():
    from jinja2 import TemplateError

    messages = _image_turn("What is drawn?", system="Be brief.")
    with pytest.raises(TemplateError, match="incompatible with system messages"):
        llama.render_chat(messages, version="2024-09")
    prompt = llama.render_chat(messages, version="2024-12")
    assert prompt == SYSTEM_BLOCK.format(date="26 Jul 2024", system="Be brief.") + EXPECTED_PROMPT.removeprefix(
        llama.BOS_TOKEN
    )
    with pytest.raises(ValueError, match="choose one of"):
        llama.published_chat_template("2023-01")


def test_the_shipped_template_names_its_source_and_dates():
    record = llama.chat_template_record()
    assert "Llama-3.2-11B-Vision-Instruct" in record["source"]
    assert record["current"] == "2024-12" and set(record["versions"]) == {"2024-09", "2024-12"}
    assert all(entry["date"].startswith("2024-") for entry in record["versions"].values())


def test_the_tiny_processor_writes_the_same_prompt():
    from course.lessons.vision.tiny import tiny_processor

    processor = tiny_processor()
    rendered = processor.apply_chat_template(_image_turn("What is drawn?"), add_generation_prompt=True, tokenize=False)
    assert rendered == EXPECTED_PROMPT


def test_the_picture_keeps_its_size_and_every_tile_is_padded(processor):
    placed = llama.picture_on_canvas(processor(images=[[landscape(1200, 500)]], return_tensors="np"), processor)
    assert placed["canvas"] == (560, 1680) and placed["picture"] == (500, 1200)
    assert placed["padding"] == pytest.approx([60 / 560, 60 / 560, 1 - 500 * 80 / 560**2])
    small = llama.picture_on_canvas(
        processor(images=[[Image.new("RGB", (300, 125), "white")]], return_tensors="np"), processor
    )
    assert small["canvas"] == (560, 560) and small["picture"] == (233, 560), "enlarged only to reach one tile"
    large = llama.picture_on_canvas(
        processor(images=[[Image.new("RGB", (3000, 800), "white")]], return_tensors="np"), processor
    )
    assert large["canvas"] == (560, 2240) and large["picture"] == (560, 2100), "shrunk to fit the canvas"


def test_tiles_show_the_picture(processor):
    picture = landscape()
    features = processor(images=[[picture]], return_tensors="np")
    tiles = llama.tiles_as_pictures(features, processor)
    assert len(tiles) == 3 and all(tile.shape == (560, 560, 3) for tile in tiles)
    sky = np.array([150, 200, 240]) / 255
    assert np.abs(tiles[0][5, 5] - sky).max() < 0.02, "the top-left corner of the first tile is sky"
    assert np.abs(tiles[2][5, -5]).max() < 0.02, "the right of the last tile is black padding"


def test_plot_tiles_has_one_axis_per_tile(processor):
    import matplotlib

    matplotlib.use("Agg")
    figure = llama.plot_tiles(landscape(), processor)
    assert len(figure.axes) == 1 + 3


def test_parameter_groups_add_up_and_match_the_card():
    groups = llama.parameter_groups()
    total = count_parameters(llama.MODEL_NAME).total
    assert sum(groups.values()) == total
    assert abs(total / model_card(llama.MODEL_NAME).published_total - 1) < 0.01
    assert groups["vision encoder"] > groups["projector"] > 0
    hidden = 4096
    # the language model is a 32-layer Llama (Llama 3.1 8B's shape) plus 8 reserved embedding rows
    text_only = llama.text_only_parameters()
    assert groups["language model"] - text_only == 8 * hidden
    # the breakdown agrees with a plain Llama's count
    assert text_only == count_from_config(llama.text_only_config()).total
    assert 8.0e9 < groups["language model"] < 8.1e9


def test_text_only_config_drops_the_cross_attention_layers():
    config = llama.text_only_config()
    assert config["model_type"] == "llama" and config["num_hidden_layers"] == 32
    assert "cross_attention_layers" not in config


def test_parameter_breakdown_plot():
    import matplotlib

    matplotlib.use("Agg")
    figure = llama.plot_parameter_breakdown(llama.parameter_groups(), "parts")
    assert len(figure.axes[0].patches) == 4
