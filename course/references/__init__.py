"""Reference solutions and the declarations of the graded exercises, one module per lesson: the grader's.

``course grade`` imports these in its own process to compute the expected results of every check
(``course.grading.exercise``). The grading sandbox does not mount this package and the grading kernel refuses
to import it, so a submission cannot lean on a reference: one that tries fails that exercise, and its feedback
says why. At home, a lesson falls back to a reference (with a visible note) while your own exercise still
raises ``NotImplementedError`` (``course.fallback.yours_or_reference``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from course.grading.exercise import Exercise

# lesson id -> module of this package
LESSON_MODULES = {
    "00-orientation": "orientation",
    "01-beyond-the-prompt": "prompting",
    "02-small-language-models": "slm",
    "03-mixture-of-experts": "moe",
    "04-multimodality": "vision",
    "05-fine-tuning-and-peft": "finetune",
    "06-edge-deployment": "edge",
    "07-capstone": "capstone",
}


def exercises(lesson: str) -> dict[str, Exercise]:
    """The lesson's graded exercises by grade id (empty for a lesson whose tests still run in the notebook)."""
    if lesson not in LESSON_MODULES:
        return {}
    module = importlib.import_module(f"{__name__}.{LESSON_MODULES[lesson]}")
    return {exercise.grade_id: exercise for exercise in module.EXERCISES}


def reference(lesson: str, name: str):
    """The reference of the exercise whose student-side name is ``name``."""
    for exercise in exercises(lesson).values():
        if exercise.target == name:
            return exercise.reference
    raise KeyError(f"{lesson} has no exercise named {name!r}")
