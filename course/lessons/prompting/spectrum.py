"""The customisation spectrum, the fine-tuning process and its challenges, as data.

Lesson 01 §1 (The customisation spectrum) and §6 (The fine-tuning process, and where it goes wrong).

Levels are ordinal (1 = least, 5 = most), as in the usual cost-benefit table:
they rank the approaches, they do not measure them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields


@dataclass(frozen=True)
class Approach:
    name: str
    changes: str
    cost: int
    time: str
    data: str
    gain: str


SPECTRUM: tuple[Approach, ...] = (
    Approach("Prompt engineering", "the input only", 1, "hours to days", "low", "low to medium"),
    Approach("RAG", "the input, filled from a document store", 2, "days", "medium", "medium"),
    Approach("Fine-tuning", "the weights, on task examples", 3, "days to weeks", "medium to high", "medium to high"),
    Approach("Continued pre-training", "the weights, on raw domain text", 4, "weeks to months", "high", "high"),
    Approach(
        "Pre-training from scratch", "everything: data, tokenizer, weights", 5, "months", "massive", "complete control"
    ),
)

#: The fine-tuning process, step by step: (step, what it involves).
FINE_TUNING_STEPS: tuple[tuple[str, str], ...] = (
    ("Choose a pre-trained model", "size, licence, languages, and whether a smaller model is enough"),
    ("Define the task and the goal", "what the model must do, and the metric that says it is done"),
    ("Prepare task data", "collect, clean, normalise and split into train / validation / test"),
    ("Configure training", "learning rate, batch size, epochs, weight decay, loss"),
    ("Train and refine", "watch validation loss; early stopping and a learning-rate schedule"),
    ("Evaluate and validate", "accuracy and robustness on held-out data, and the old skills too"),
    ("Iterate, then deploy", "repeat until the metric is met; ship and monitor"),
)


@dataclass(frozen=True)
class Challenge:
    name: str
    bites_at: str
    symptom: str
    remedy: str


CHALLENGES: tuple[Challenge, ...] = (
    Challenge(
        "Overfitting",
        "Train and refine",
        "training loss falls while validation loss rises",
        "early stopping, more or augmented data, fewer trainable parameters",
    ),
    Challenge(
        "Catastrophic forgetting",
        "Evaluate and validate",
        "the new task improves, an old skill collapses",
        "mix in old data, lower learning rate, adapters",
    ),
    Challenge(
        "High computational resources",
        "Configure training",
        "every trial run costs GPU hours and memory",
        "smaller models, PEFT, fewer and shorter runs",
    ),
    Challenge(
        "Data scarcity",
        "Prepare task data",
        "too few good labelled examples",
        "augmentation, synthetic data that is checked, PEFT",
    ),
    Challenge(
        "Domain shift",
        "Iterate, then deploy",
        "live inputs drift away from the training data",
        "monitor, evaluate on recent samples, refresh the data",
    ),
    Challenge(
        "Ethical considerations",
        "Prepare task data",
        "bias, personal data or licensed text in the weights",
        "audit and filter data, test outputs, document the training set",
    ),
    Challenge(
        "Hyperparameter selection",
        "Configure training",
        "training diverges, overfits or forgets",
        "search on a validation set; start from known-good defaults",
    ),
)

#: Fine-tuning against prompt engineering: (aspect, fine-tuning, prompt engineering).
COMPARISON: tuple[tuple[str, str, str], ...] = (
    ("What changes", "the model's weights", "the input; weights stay frozen"),
    ("Data needed", "labelled task examples", "a few examples at most"),
    ("Expertise", "machine learning and model architectures", "language and prompt design"),
    ("Speed of change", "a training run per change", "edit and retry in minutes"),
    ("Risks", "overfitting, forgetting, less generality", "long prompts, brittle wording"),
    ("Per-request cost", "short prompts, can use a smaller model", "instructions and examples in every request"),
    ("Best for", "high-volume, narrow, stable tasks", "prototypes, varied or changing tasks"),
)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table (show it with ``IPython.display.Markdown``)."""
    if any(len(row) != len(headers) for row in rows):
        raise ValueError(f"Every row needs {len(headers)} cells, one per header.")
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def spectrum_table() -> str:
    """The cost-benefit table of the spectrum, with cost shown as dollar signs."""
    headers = [f.name for f in fields(Approach)]
    rows = [(*astuple(a)[:2], "\\$" * a.cost, *astuple(a)[3:]) for a in SPECTRUM]
    return markdown_table([h.capitalize() for h in headers], rows)
