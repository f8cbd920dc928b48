"""How Llama 3.2 Vision reads a picture: image processor, tiles, vision tokens, chat format (lesson 04).

Lesson 04 §1-4 (the image processor, patches and vision tokens, gated cross-attention, the chat format).

The settings below are the published ``preprocessor_config.json`` of
``meta-llama/Llama-3.2-11B-Vision-Instruct``, and its chat template is shipped as data
(``llama_vision_chat_template.json``, with its source and dates), so the real pipeline runs offline. The
tile arithmetic is the image processor's own (``transformers.models.mllama``), so what the lesson shows is
what the model gets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from course.languages import say

LLAMA_VISION_REPO = "meta-llama/Llama-3.2-11B-Vision-Instruct"
MODEL_NAME = "llama-3.2-11b-vision"
IMAGE_TOKEN = "<|image|>"
BOS_TOKEN = "<|begin_of_text|>"

# The published preprocessor_config.json of Llama 3.2 11B Vision Instruct.
PREPROCESSOR_SETTINGS: dict[str, Any] = {
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_pad": True,
    "do_rescale": True,
    "do_resize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "max_image_tiles": 4,
    "resample": 2,
    "rescale_factor": 0.00392156862745098,
    "size": {"height": 560, "width": 560},
}
PATCH_SIZE = 14  # vision_config.patch_size of the 11B model

# The chat template Meta published with the Instruct model, shipped as data with its source and dates.
CHAT_TEMPLATE_FILE = Path(__file__).with_name("llama_vision_chat_template.json")
# The template writes today's date into a text-only prompt (transformers gives it ``strftime_now``); the lesson
# passes the template's own fallback date instead, so a prompt does not change from one day to the next.
TEMPLATE_DATE = "26 Jul 2024"
CHAT_TOKENS = ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")


def chat_template_record() -> dict[str, Any]:
    """The shipped record of the published chat template: its source, and every dated version with its text."""
    return json.loads(CHAT_TEMPLATE_FILE.read_text(encoding="utf-8"))


def published_chat_template(version: str | None = None) -> str:
    """The text of the published chat template; ``version`` is a key of the record ("2024-09", "2024-12"),
    by default the current one."""
    record = chat_template_record()
    version = version or record["current"]
    if version not in record["versions"]:
        raise ValueError(f"No chat template version {version!r}; choose one of {', '.join(record['versions'])}.")
    return record["versions"][version]["chat_template"]


def chat_tokenizer(words: tuple[str, ...] = ()):
    """A real Hugging Face tokenizer with Llama 3's chat and image tokens and the published chat template.

    Its vocabulary is ``words`` and the words of the template's own system block (the real model's 128,256-token
    vocabulary is not shipped); the chat tokens and the template are the real ones, so
    ``apply_chat_template`` writes the prompts the real processor writes. The image token is added last, so (as
    in the real model) its id is the first one past the text vocabulary.
    """
    from course.text.vocab import build_word_tokenizer

    system_block = "Cutting Knowledge Date: December 2023 Today Date: " + TEMPLATE_DATE
    tokenizer = build_word_tokenizer([*words, system_block], extra_words=("system", "user", "assistant"))
    tokenizer.add_special_tokens({"bos_token": BOS_TOKEN, "additional_special_tokens": [*CHAT_TOKENS, IMAGE_TOKEN]})
    tokenizer.chat_template = published_chat_template()
    return tokenizer


def image_processor(tile_size: int | None = None, max_tiles: int | None = None):
    """The real ``MllamaImageProcessor`` (Pillow backend) with the published settings.

    ``tile_size`` and ``max_tiles`` override the published 560 pixels and 4 tiles (the tiny model uses small tiles).
    """
    from transformers import MllamaImageProcessorPil

    settings = dict(PREPROCESSOR_SETTINGS)
    if tile_size is not None:
        settings["size"] = {"height": tile_size, "width": tile_size}
    if max_tiles is not None:
        settings["max_image_tiles"] = max_tiles
    return MllamaImageProcessorPil(**settings)


def supported_aspect_ratios(max_tiles: int = 4) -> list[tuple[int, int]]:
    """Every (rows, columns) tile grid with at most ``max_tiles`` tiles, in the processor's order."""
    from transformers.models.mllama.image_processing_pil_mllama import get_all_supported_aspect_ratios

    _check_positive(max_tiles=max_tiles)
    return list(get_all_supported_aspect_ratios(max_tiles))


def aspect_ratio_id(rows: int, columns: int, max_tiles: int = 4) -> int:
    """The id the model receives for a tile grid: its position among the supported grids, from 1 (0 is padding)."""
    grids = supported_aspect_ratios(max_tiles)
    if (rows, columns) not in grids:
        raise ValueError(f"A {rows}x{columns} grid is not supported with {max_tiles} tiles; use one of {grids}.")
    return grids.index((rows, columns)) + 1


def render_chat(
    messages: list[dict[str, Any]],
    tokenizer=None,
    version: str | None = None,
    add_generation_prompt: bool = True,
    date_string: str = TEMPLATE_DATE,
) -> str:
    """The prompt text the published chat template makes of ``messages``, through transformers'
    ``apply_chat_template`` (the path the real processor takes).

    ``version`` picks a dated version of the template; the September 2024 one raises
    ``jinja2.TemplateError`` for a system message beside an image, as it did for users then.
    """
    tokenizer = tokenizer if tokenizer is not None else chat_tokenizer()
    return tokenizer.apply_chat_template(
        messages,
        chat_template=published_chat_template(version),
        add_generation_prompt=add_generation_prompt,
        tokenize=False,
        date_string=date_string,
    )


def tiles_as_pictures(features, processor) -> list[np.ndarray]:
    """The real tiles of the first picture in ``features`` (the processor's output), as RGB arrays for display.

    Undoes the normalisation, so each tile looks like the part of the picture it holds.
    """
    pixels = np.asarray(features["pixel_values"])[0, 0]  # (max tiles, 3, tile, tile)
    used = int(np.asarray(features["aspect_ratio_mask"])[0, 0].sum())
    mean = np.asarray(processor.image_mean).reshape(3, 1, 1)
    std = np.asarray(processor.image_std).reshape(3, 1, 1)
    return [np.clip((tile * std + mean).transpose(1, 2, 0), 0, 1) for tile in pixels[:used]]


def grid_of(processor, height: int, width: int) -> tuple[int, int]:
    """The (rows, columns) of tiles the processor uses for a ``height`` x ``width`` picture, read from its output
    (the aspect-ratio id) for a blank picture of that size."""
    from PIL import Image

    _check_positive(height=height, width=width)
    features = processor(images=[[Image.new("RGB", (width, height))]], return_tensors="np")
    return supported_aspect_ratios(processor.max_image_tiles)[int(features["aspect_ratio_ids"][0, 0]) - 1]


def picture_on_canvas(features, processor) -> dict[str, Any]:
    """Where the first picture of ``features`` (the processor's output) lies on its canvas of tiles.

    The processor pads with black *before* normalising, so a padded pixel holds ``-mean / std`` in every
    channel; the picture is the bounding box of the other pixels (it starts at the top-left corner). Returns the
    canvas and picture sizes as (height, width) and, for each real tile, the share of it that is padding.
    """
    tiles = np.asarray(features["pixel_values"])[0, 0]  # (max tiles, 3, tile, tile)
    grid_id = int(np.asarray(features["aspect_ratio_ids"])[0, 0])
    rows, columns = supported_aspect_ratios(processor.max_image_tiles)[grid_id - 1]
    size = tiles.shape[-1]
    canvas = tiles[: rows * columns].reshape(rows, columns, 3, size, size).transpose(2, 0, 3, 1, 4)
    canvas = canvas.reshape(3, rows * size, columns * size)
    padding_value = -np.asarray(processor.image_mean) / np.asarray(processor.image_std)
    is_picture = (np.abs(canvas - padding_value.reshape(3, 1, 1)) > 1e-4).any(axis=0)
    picture_rows, picture_columns = np.nonzero(is_picture.any(axis=1))[0], np.nonzero(is_picture.any(axis=0))[0]
    height, width = int(picture_rows.max()) + 1, int(picture_columns.max()) + 1
    padding = []
    for row in range(rows):
        for column in range(columns):
            covered_height = min(max(height - row * size, 0), size)
            covered_width = min(max(width - column * size, 0), size)
            padding.append(1 - covered_height * covered_width / size**2)
    return {"canvas": (rows * size, columns * size), "picture": (height, width), "padding": padding}


def plot_tiles(picture, processor):
    """The picture as given, and the tiles the processor makes of it, laid out on their grid."""
    import matplotlib.pyplot as plt

    features = processor(images=[[picture]], return_tensors="np")
    grid_id = int(features["aspect_ratio_ids"][0, 0])  # the grid the processor chose, read back from its output
    rows, columns = supported_aspect_ratios(processor.max_image_tiles)[grid_id - 1]
    tiles = tiles_as_pictures(features, processor)
    figure = plt.figure(figsize=(11, 3.6), constrained_layout=True)
    left, right = figure.subfigures(1, 2, squeeze=False, width_ratios=[1.3, 1])[0]
    whole = left.subplots()
    whole.imshow(picture)
    whole.set_title(say("vision.picture_title", width=picture.width, height=picture.height))
    axes = np.atleast_2d(right.subplots(rows, columns, squeeze=False))
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        axes[row, column].imshow(tile)
        axes[row, column].set_title(say("vision.tile_title", number=index + 1), fontsize=9)
    for axis in [whole, *axes.ravel()]:
        axis.set_xticks([])
        axis.set_yticks([])
    right.suptitle(
        say(
            "vision.tiles_title",
            rows=rows,
            columns=columns,
            size=processor.size.height,
            ratio_id=int(features["aspect_ratio_ids"][0, 0]),
        )
    )
    return figure


def parameter_groups(name: str = MODEL_NAME) -> dict[str, int]:
    """The real model's parameters in four groups: vision encoder, projector, cross-attention layers, language model.

    A cross-attention layer is a whole decoder block (gated cross-attention, its MLP and norms); the language
    model is everything else of the text stack (embeddings, self-attention layers, final norm, output head).
    """
    from course.models.configs import load_config
    from course.models.params import count_parameters

    count = count_parameters(name)
    text = load_config(name)["text_config"]
    parts = count.by_part
    cross = len(text["cross_attention_layers"])
    mlp_per_layer = parts["mlp"] // text["num_hidden_layers"]
    groups = {
        "vision encoder": parts["vision_encoder"],
        "projector": parts["projector"],
        "cross-attention layers": parts["cross_attention"] + cross * (mlp_per_layer + 2 * text["hidden_size"]),
    }
    groups["language model"] = count.total - sum(groups.values())
    return groups


def text_only_parameters(name: str = MODEL_NAME) -> int:
    """Parameters of the language model alone, as a plain Llama: the text stack without its cross-attention layers
    and without the 8 embedding rows Mllama reserves for image tokens (from the breakdown of ``count_parameters``)."""
    from course.models.configs import load_config
    from course.models.params import count_parameters

    parts = count_parameters(name).by_part
    text = load_config(name)["text_config"]
    hidden, layers = text["hidden_size"], text["num_hidden_layers"]
    self_layers = layers - len(text["cross_attention_layers"])
    return (
        parts["embeddings"]
        - 8 * hidden
        + parts["attention"]  # self-attention layers only
        + parts["mlp"] // layers * self_layers
        + (2 * self_layers + 1) * hidden  # two RMSNorms per layer and the final one
        + parts.get("lm_head", 0)
    )


def text_only_config(name: str = MODEL_NAME) -> dict[str, Any]:
    """The Llama config of the language model alone: the text stack without its cross-attention layers."""
    from course.models.configs import load_config

    text = dict(load_config(name)["text_config"])
    text["num_hidden_layers"] -= len(text.pop("cross_attention_layers"))
    text["model_type"] = "llama"
    return text


# The parts of a model that ``parameter_groups`` and ``gated.freeze_all_but_the_adapter`` count, by the names
# they use as keys, and the course text that names them for the reader.
PART_LABELS = {
    "vision encoder": "vision.part_vision_encoder",
    "projector": "vision.part_projector",
    "cross-attention layers": "vision.part_cross_attention",
    "language model": "vision.part_language_model",
    "trained": "vision.part_trained",
    "frozen language model": "vision.part_frozen_language_model",
    "frozen vision encoder": "vision.part_frozen_vision_encoder",
}


def part_label(part: str) -> str:
    """The name of a part of the model (a key of ``parameter_groups`` or of the frozen/trained counts) in the
    reader's language; any other name is returned as it is."""
    return say(PART_LABELS[part]) if part in PART_LABELS else part


def plot_parameter_breakdown(by_part: dict[str, int], title: str):
    """A horizontal bar per part of the model, in billions of parameters."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 0.5 + 0.45 * len(by_part)), constrained_layout=True)
    names = list(by_part)
    values = [by_part[name] / 1e9 for name in names]
    axis.barh([part_label(name) for name in names], values, color="tab:blue")
    for y, value in enumerate(values):
        axis.text(value, y, f" {value:.2f} B", va="center")
    axis.invert_yaxis()
    axis.set_xlabel(say("vision.parameters_axis"))
    axis.set_xlim(0, max(values) * 1.25)
    axis.set_title(title)
    return figure


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive whole number; got {value!r}.")
