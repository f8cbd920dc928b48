"""Lesson 04 §5: the training curves, accuracy against chance, and a gallery of pictures with the model's answers."""

from __future__ import annotations

from course.languages import say
from course.lessons.vision.data import Example, chance_accuracy
from course.lessons.vision.evaluation import extract_answer


def kind_label(kind: str) -> str:
    """The name of a question kind (``"colour"``, ``"shape"``) in the reader's language."""
    return say(f"vision.kind_{kind}")


def plot_training(losses: dict[str, list[float]], before: dict[str, float], after: dict[str, float]):
    """Loss per step of every training stage, and accuracy per question kind before and after the adapter's
    training, against chance."""
    import matplotlib.pyplot as plt
    import numpy as np

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6), constrained_layout=True)
    left.plot(losses["text"], color="tab:orange", label=say("vision.stage0"))
    left.plot(losses["vision"], color="tab:purple", label=say("vision.stage1_curve"))
    left.plot(losses["adapter"], color="tab:blue", label=say("vision.stage2_curve"))
    left.set_xlabel(say("vision.training_step"))
    left.set_ylabel(say("vision.loss_axis"))
    left.set_title(say("vision.training_loss"))
    left.legend(fontsize=8)
    kinds = list(after)
    x = np.arange(len(kinds))
    for offset, values, label, colour in [
        (-0.2, before, say("vision.gates_closed_start"), "tab:gray"),
        (0.2, after, say("vision.adapter_trained"), "tab:green"),
    ]:
        heights = [values[kind] for kind in kinds]
        right.bar(x + offset, heights, 0.4, label=label, color=colour)
        for xi, height in zip(x + offset, heights, strict=True):
            right.text(xi, height + 0.02, f"{height:.0%}", ha="center", fontsize=9)
    for i, kind in enumerate(kinds):
        right.hlines(
            chance_accuracy(kind),
            i - 0.45,
            i + 0.45,
            colors="tab:red",
            linestyles="--",
            label=say("vision.chance") if i == 0 else None,
        )
    right.set_xticks(x, [say("vision.kind_questions", kind=kind_label(kind)) for kind in kinds])
    right.set_ylim(0, 1.12)
    right.set_ylabel(say("vision.accuracy_axis"))
    right.legend(loc="upper left", fontsize=8)
    right.set_title(say("vision.does_it_see"))
    return figure


def plot_gallery(examples: list[Example], replies: list[str], title: str, columns: int = 8, rows: int = 2):
    """Pictures with the replies to both of their questions (colour, then shape); a wrong answer turns red."""
    import matplotlib.pyplot as plt

    if len(examples) != len(replies):
        raise ValueError(f"Give one reply per example: got {len(examples)} examples and {len(replies)} replies.")
    by_picture: dict[int, list[tuple[Example, str]]] = {}
    for example, reply in zip(examples, replies, strict=True):
        by_picture.setdefault(id(example.image), []).append((example, reply))
    pictures = list(by_picture.values())[: columns * rows]
    figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 2.0 * rows), constrained_layout=True)
    for axis, asked in zip(axes.ravel(), pictures, strict=False):
        axis.imshow(asked[0][0].image)
        axis.set_xticks([])
        axis.set_yticks([])
        lines = [reply or say("vision.no_reply") for _, reply in asked]
        right = all(extract_answer(reply, e.kind) == e.answer for e, reply in asked)
        axis.set_title("\n".join(lines), fontsize=9, color="black" if right else "tab:red")
    for axis in axes.ravel()[len(pictures) :]:
        axis.axis("off")
    figure.suptitle(title)
    return figure
