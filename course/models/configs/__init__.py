"""The published ``config.json`` of each real model the course discusses, shipped as data.

Each ``<name>.json`` beside this file holds the Hugging Face repo id, the
parameter count the model card publishes (with where it says so) and the
config values that decide the shapes of the weights.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

MODEL_NAMES: tuple[str, ...] = (
    "phi-3.5-mini",
    "phi-3.5-moe",
    "mistral-7b",
    "mistral-small",
    "mistral-nemo-12b",
    "llama-3.2-1b",
    "llama-3.2-3b",
    "llama-3.2-11b-vision",
    "mixtral-8x7b",
)


@dataclass(frozen=True)
class ModelCard:
    """Who publishes a model, under which repo id, and how many parameters they say it has."""

    name: str
    display_name: str
    hf_repo: str
    architecture: str
    published_total: float
    published_active: float | None
    source: str


@cache
def _entry(name: str) -> dict[str, Any]:
    if name not in MODEL_NAMES:
        raise KeyError(f"Unknown model {name!r}; choose one of: {', '.join(MODEL_NAMES)}")
    text = resources.files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


def load_config(name: str) -> dict[str, Any]:
    """The model's ``config.json`` values (a fresh copy: changing it changes nothing shared)."""
    return copy.deepcopy(_entry(name)["config"])


def _course_config(name: Any, function: str) -> dict[str, Any]:
    """The config of course model ``name`` for ``function``, which takes course model names only."""
    if not isinstance(name, str) or name not in MODEL_NAMES:
        got = repr(name) if isinstance(name, str) else f"a {type(name).__name__}"
        raise ValueError(
            f"{function} takes a course model name such as 'mistral-7b' (one of: {', '.join(MODEL_NAMES)}), not "
            f"{got}; to count your own config, write the arithmetic (lesson 02) or build the model and count its "
            "parameters."
        )
    return load_config(name)


def model_card(name: str) -> ModelCard:
    """Repo id, architecture class name and the published parameter counts of ``name``."""
    entry = _entry(name)
    published = entry["published"]
    return ModelCard(
        name=entry["name"],
        display_name=entry["display_name"],
        hf_repo=entry["hf_repo"],
        architecture=entry["config"]["architectures"][0],
        published_total=float(published["total_params"]),
        published_active=float(published["active_params"]) if "active_params" in published else None,
        source=published["source"],
    )


def text_config(config: dict[str, Any]) -> dict[str, Any]:
    """The language-model part of a config: ``text_config`` for vision models, else the config itself."""
    return config.get("text_config", config)


def head_dim(config: dict[str, Any]) -> int:
    """Size of one attention head: ``head_dim`` when given, else ``hidden_size / num_attention_heads``."""
    text = text_config(config)
    explicit = text.get("head_dim")
    return int(explicit) if explicit else text["hidden_size"] // text["num_attention_heads"]
