"""Drivers of lesson 02's graded exercises (``course.grading.drivers``): how the grader uses the student's code.

``choose_deployment`` returns a choice, not a computed value, and more than one choice could satisfy the lesson's
rules, so the check does not compare choices: it asks the lesson's own checker (``deployment.deployment_problems``)
what is wrong with the student's choice and compares that list with the reference's (empty). The checker judges a
choice; it does not make one.
"""

from __future__ import annotations

from collections.abc import Callable


def deployment_problems(target: Callable[[], dict], case: dict) -> list[str]:
    """The problems the lesson's checker finds with ``target()``'s choice, for the passages in ``case["texts"]``
    (``{language: text}``)."""
    from course.lessons.slm.deployment import deployment_problems as problems_of

    choice = target()
    if not isinstance(choice, dict):
        return [f"choose_deployment returned {type(choice).__name__}, not a dict"]
    return problems_of({str(key): value for key, value in choice.items()}, dict(case["texts"]))
