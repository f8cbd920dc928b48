"""How Llama 3.2 Vision reads a picture: image processor, tiles, vision tokens, chat format (lesson 04).

Choosing the tile grid, counting the vision tokens and building the chat messages are the student's exercises
(``choose_tile_grid``, ``count_vision_tokens``, ``build_messages``); their references are the grader's, in
``course.references.vision``. The lesson passes the student's functions to what follows.

Lesson 04 §1-4 (the image processor, patches and vision tokens, gated cross-attention, the chat format).

The settings below are the published ``preprocessor_config.json`` and chat
template of ``meta-llama/Llama-3.2-11B-Vision-Instruct``, shipped as data so the
real pipeline runs offline. The tile arithmetic is the image processor's own
(``transformers.models.mllama``), so what the lesson shows is what the model gets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

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

# The chat template published with the Instruct model: an image in a message becomes one <|image|> token.
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.index0 == 0 %}{{ bos_token }}{% endif %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for content in message['content'] %}{% if content['type'] == 'image' %}{{ '<|image|>' }}"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}{% endfor %}{% endif %}"
    "{{ '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)


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


def render_chat(messages: list[dict[str, Any]], add_generation_prompt: bool = True, bos_token: str = BOS_TOKEN) -> str:
    """The prompt text the published chat template makes of ``messages``."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    template = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(CHAT_TEMPLATE)
    return template.render(messages=messages, add_generation_prompt=add_generation_prompt, bos_token=bos_token)


def tiles_as_pictures(features, processor) -> list[np.ndarray]:
    """The real tiles of the first picture in ``features`` (the processor's output), as RGB arrays for display.

    Undoes the normalisation, so each tile looks like the part of the picture it holds.
    """
    pixels = np.asarray(features["pixel_values"])[0, 0]  # (max tiles, 3, tile, tile)
    used = int(np.asarray(features["aspect_ratio_mask"])[0, 0].sum())
    mean = np.asarray(processor.image_mean).reshape(3, 1, 1)
    std = np.asarray(processor.image_std).reshape(3, 1, 1)
    return [np.clip((tile * std + mean).transpose(1, 2, 0), 0, 1) for tile in pixels[:used]]


def plot_tiles(picture, processor):
    """The picture as given, and the tiles the processor makes of it, laid out on their grid."""
    import matplotlib.pyplot as plt

    features = processor(images=[[picture]], return_tensors="np")
    grid_id = int(features["aspect_ratio_ids"][0, 0])  # the grid the processor chose, read back from its output
    rows, columns = supported_aspect_ratios(processor.max_image_tiles)[grid_id - 1]
    tiles = tiles_as_pictures(features, processor)
    figure = plt.figure(figsize=(11, 3.6), constrained_layout=True)
    left, right = figure.subfigures(1, 2, width_ratios=[1.3, 1])
    whole = left.subplots()
    whole.imshow(picture)
    whole.set_title(f"the picture: {picture.width} x {picture.height} pixels")
    axes = np.atleast_2d(right.subplots(rows, columns, squeeze=False))
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        axes[row, column].imshow(tile)
        axes[row, column].set_title(f"tile {index + 1}", fontsize=9)
    for axis in [whole, *axes.ravel()]:
        axis.set_xticks([])
        axis.set_yticks([])
    right.suptitle(
        f"{rows} x {columns} tiles of {processor.size.height} px (aspect ratio id "
        f"{int(features['aspect_ratio_ids'][0, 0])})"
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


def plot_parameter_breakdown(by_part: dict[str, int], title: str):
    """A horizontal bar per part of the model, in billions of parameters."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 0.5 + 0.45 * len(by_part)), constrained_layout=True)
    names = list(by_part)
    values = [by_part[name] / 1e9 for name in names]
    axis.barh(names, values, color="tab:blue")
    for y, value in enumerate(values):
        axis.text(value, y, f" {value:.2f} B", va="center")
    axis.invert_yaxis()
    axis.set_xlabel("parameters (billions)")
    axis.set_xlim(0, max(values) * 1.25)
    axis.set_title(title)
    return figure


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive whole number; got {value!r}.")
