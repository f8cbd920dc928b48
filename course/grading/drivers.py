"""Drivers: how a check exercises a function or class, the same way on the student's code (in the kernel) and on
the instructor's reference (in the grader).

A driver takes the thing to exercise and one case (plain values: numbers, strings, lists, dicts, arrays,
tensors), uses it as the exercise asks, and returns what it observed, as plain values. Drivers hold no expected
value: the grader runs the same driver on the reference and compares the observations (``exercise.Check``).
An exception raised by the code under test is an observation too (``values.raised``), so "must raise
ValueError" is checked like any other result.

A plain function needs no driver of its own (``call``). For a class or an object to use in steps (build it
with given weights, call it, merge it, train it a step), write a driver function in the lesson's topic
package, ``course/lessons/<topic>/drivers.py``, and name it in the exercise as
``"course.lessons.<topic>.drivers:<function>"``.

A driver runs in the student's kernel, where the solution cell can replace anything, this module and the
driver included: it observes by handing back the data the exercise is about, and leaves running or inspecting
that data to a *grader step* (``step_in_grader``) where the kernel cannot reach.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .values import decode, raised


def call(target: Callable, case: dict) -> object:
    """``target(*args, **kwargs)``: the default, for exercises that are functions."""
    return target(*case.get("args", []), **case.get("kwargs", {}))


def resolve(driver: str) -> Callable[[Any, dict], object]:
    """The driver function named ``"call"`` or ``"course.<module>:<function>"`` (never in ``course.references``,
    which a grading kernel cannot import)."""
    if driver == "call":
        return call
    module, _, name = driver.partition(":")
    if not module.startswith("course.") or module.startswith("course.references") or not name:
        raise ValueError(f"a driver is 'call' or 'course.<module>:<function>' outside course.references: {driver}")
    return getattr(importlib.import_module(module), name)


def step_in_grader(step: str, case: object, handed_back: object) -> object:
    """What the grader step ``step`` (``"course.<module>:<function>"``) makes of the data a driver handed back for
    ``case`` (both encoded), run in the grader's process (see ``exercise.Exercise``). Data the step cannot read
    (a kernel that handed back something else, or reported an exception) is an observation too: the report
    is kept, and a failure of the step is observed as ``{"__raised__": name}``; neither equals a good result."""
    run: Callable[[dict, Any], object] = resolve(step)
    try:
        data = decode(handed_back, tensors=False)
        if isinstance(data, dict) and ("__raised__" in data or "__unsupported__" in data):
            return data
        inputs = decode(case, tensors=False)
        if not isinstance(inputs, dict):
            raise TypeError(f"a case is a dict of the driver's inputs, not {type(inputs).__name__}")
        return run(inputs, data)
    except Exception as error:
        return raised(error)


def observe(driver: str, target: object, case: object) -> object:
    """What ``driver`` observes of ``target`` on ``case`` (a decoded case: a dict); an exception from the code
    under test is observed as ``{"__raised__": name}``. An unknown driver is the grader's error, not the student's,
    and is raised."""
    run = resolve(driver)
    if target is None:
        return {"__raised__": "NameError"}
    try:
        if not isinstance(case, dict):  # as a driver reading its inputs from a non-dict would fail
            raise TypeError(f"a case is a dict of the driver's inputs, not {type(case).__name__}")
        return run(target, case)
    except Exception as error:  # the code under test failed: that is an observation
        return raised(error)
