"""Lesson 02 §1 (Real models, real sizes): parameter counts computed from the real configs, next to
the published ones, and where the parameters live.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from course.languages import say
from course.models.configs import MODEL_NAMES, load_config, model_card, text_config
from course.models.params import count_parameters


@dataclass(frozen=True)
class ModelSize:
    """A model's computed size next to the size its publisher states."""

    name: str
    display_name: str
    total: int
    active: int
    published_total: float
    published_active: float | None

    @property
    def relative_error(self) -> float:
        """(computed - published) / published, for the total."""
        return self.total / self.published_total - 1


def size_table(names: Iterable[str] = MODEL_NAMES) -> list[ModelSize]:
    """Computed and published parameter counts of the course's real models."""
    rows = []
    for name in names:
        card, count = model_card(name), count_parameters(name)
        published = card.published_total, card.published_active
        rows.append(ModelSize(name, card.display_name, count.total, count.active, *published))
    return rows


@dataclass(frozen=True)
class VocabularyCost:
    """What a model's vocabulary costs: one vector of the hidden size per entry, in the embeddings and (untied) in
    the output head."""

    name: str
    vocabulary: int
    hidden_size: int
    tied: bool
    parameters: int  # embeddings, plus the head when it is a matrix of its own
    total: int

    @property
    def share(self) -> float:
        return self.parameters / self.total


def vocabulary_cost(names: Iterable[str]) -> list[VocabularyCost]:
    """The parameters the vocabulary costs in each model, and their share of the model (from the shipped counts)."""
    rows = []
    for name in names:
        config, count = text_config(load_config(name)), count_parameters(name)
        parts = count.by_part
        rows.append(
            VocabularyCost(
                name,
                config["vocab_size"],
                config["hidden_size"],
                "lm_head" not in parts,
                parts["embeddings"] + parts.get("lm_head", 0),
                count.total,
            )
        )
    return rows


def plot_sizes(rows: Sequence[ModelSize], ax=None):
    """Horizontal bars: total parameters, and the active ones for Mixture-of-Experts models."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 4))[1]
    labels = [row.name for row in rows]
    ax.barh(labels, [row.total / 1e9 for row in rows], color="#9ecae1", label=say("slm.sizes_total"))
    ax.barh(labels, [row.active / 1e9 for row in rows], color="#3182bd", height=0.4, label=say("slm.sizes_active"))
    ax.set_xlabel(say("slm.sizes_axis"))
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return ax


def plot_breakdown(names: Sequence[str], ax=None):
    """Stacked bars: where each model's parameters live (embeddings, attention, MLP or experts, ...)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(8, 4))[1]
    counts = {name: count_parameters(name) for name in names}
    parts = sorted(
        {part for count in counts.values() for part in count.by_part},
        key=lambda p: -sum(count.by_part.get(p, 0) for count in counts.values()),
    )
    left = [0.0] * len(names)
    for part in parts:
        share = [counts[name].by_part.get(part, 0) / counts[name].total * 100 for name in names]
        ax.barh(list(names), share, left=left, label=say(f"slm.part_{part}"))
        left = [a + b for a, b in zip(left, share, strict=True)]
    ax.set_xlabel(say("slm.breakdown_axis"))
    ax.invert_yaxis()
    ax.legend(bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=8)
    return ax
