"""A graded exercise, as the grader sees it: the student's name to call, the instructor's reference, the inputs,
and how results are compared.

The grader checks an exercise outside the student's process. It draws the inputs from the run's secret seed
(plus fixed edge cases), runs a *driver* on the instructor's reference in its own process to get the expected
observations, and sends only the inputs into the student's kernel, where the same driver runs the student's
function or class and hands back plain data (``values.encode``). The two are compared here, with the
exercise's tolerance. No expected value, reference or verdict ever exists in the student's kernel.

Whatever runs in the kernel can be replaced from the student's solution cell: the driver, the course modules it
imports, even the libraries. So a driver hands back the *thing the exercise is about* as data (a file's bytes, a
layer's weights), never the verdict of a kernel-side helper; where that data still has to be run or inspected (an
exported ONNX file), the exercise names a ``grader_step``, which the grader runs in its own process on what the
kernel handed back, before comparing (the same step turns the reference's data into the expected observation).

Declarations live in ``course.references`` (one module per lesson), which the grading sandbox does not mount.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..languages import Said
from . import drivers
from .values import decode, encode


@dataclass(frozen=True)
class Compare:
    """How an observation must match the reference's: ``exact`` (equal values; numbers of either type, tuples
    and lists alike), ``close`` (floats and arrays within ``rtol``/``atol``, everything else exact), or
    ``unordered`` (a list whose order does not matter)."""

    how: str = "exact"
    rtol: float = 1e-6
    atol: float = 1e-9

    def differs(self, expected: object, actual: object) -> str | None:
        """None when ``actual`` matches ``expected``, else a short reason that names no expected value. Never
        raises: ``actual`` comes from the student's kernel, and a value that cannot be compared is a wrong one."""
        where = Said("grading.the_result")
        try:
            return _differs(expected, actual, self, where)
        except Exception:  # RecursionError, an array whose truth is ambiguous, ...: this check only, not the run
            return Said("grading.not_plain", where=where, kind="a value the grader could not compare")


EXACT = Compare()


def close(rtol: float = 1e-5, atol: float = 1e-6) -> Compare:
    return Compare("close", rtol, atol)


UNORDERED = Compare("unordered")


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: ``target`` is what the student defines; ``cases(rng)`` draws a run's inputs and
    ``edge_cases`` are always checked (errors that must be raised, empty inputs, boundaries). A case is what the
    driver takes; for the default driver, ``call``, it is ``{"args": [...], "kwargs": {...}}`` (see
    :func:`call`).

    ``grader_step`` (optional, ``"course.<module>:<function>"`` like a driver) turns what the driver handed back
    into the observation that is compared, in the grader's process: ``step(case, handed_back)``, both decoded
    (arrays as numpy arrays). It runs on the reference's data and on every student's, so it must take anything as
    data: a step that runs what a student handed back (an ONNX graph) does so in a child process with limits.

    The declaration is also the test cell's source: ``course release`` writes the cell ``grade_id`` (worth
    ``points``) after the solution cell that defines ``target``, with ``tests`` (what the student can run before
    submitting) under a header that says what the grader does on submission (``about``, completing "When you
    submit, the grader also ..."). See ``course.grading.authoring``."""

    grade_id: str  # the test cell whose points it carries
    target: str
    points: int
    about: str
    tests: str
    reference: Callable
    cases: Callable[[random.Random], Sequence[dict]]
    edge_cases: Sequence[dict] = ()
    compare: Compare = EXACT
    driver: str = "call"
    grader_step: str = ""

    def draw(self, seed: int) -> list[object]:
        """The run's cases, as encoded data: the same seed gives the same cases."""
        rng = random.Random(f"{seed}:{self.grade_id}")
        return [encode(case) for case in [*self.edge_cases, *self.cases(rng)]]

    def check(self, seed: int) -> Check:
        """The check of a run graded with ``seed``: its cases and the reference's results on them."""
        cases = self.draw(seed)
        expected = self.expected(cases)
        return Check(self.grade_id, self.target, self.driver, cases, expected, self.compare, self.grader_step)

    def expected(self, cases: list[object]) -> list[object]:
        """The reference's observations on ``cases`` (encoded), computed in the grader's own process; with a
        ``grader_step``, what the step makes of the reference's data, as it does of a student's."""
        handed_back = [encode(drivers.observe(self.driver, self.reference, decode(case))) for case in cases]
        return _after_step(self.grader_step, cases, handed_back)


def call(*args: object, **kwargs: object) -> dict:
    """A case for the ``call`` driver: the student's function is called as ``target(*args, **kwargs)``."""
    return {"args": list(args), "kwargs": kwargs}


@dataclass(frozen=True)
class Check:
    """What one grading run checks for a grade cell, as plain data (sent to worker processes): the inputs go to
    the kernel, the expected observations stay with the grader."""

    grade_id: str
    target: str
    driver: str
    cases: list[object]
    expected: list[object]
    compare: Compare = field(default=EXACT)
    grader_step: str = ""  # see Exercise: run here on what the kernel handed back, before comparing

    def request(self) -> dict:
        """What the kernel receives: no expected value."""
        return {"target": self.target, "driver": self.driver, "cases": self.cases}

    def verdict(self, observations: list[object] | None) -> tuple[bool, Said]:
        """(passed, a line for the feedback, said in English and sayable in the student's language). The line
        says how many cases matched and why the first one that did not failed, never what was expected."""
        total, target = len(self.expected), self.target
        if observations is None:
            return False, Said("grading.not_checked", target=target)
        if len(observations) != total:
            return False, Said("grading.not_all_checked", target=target, total=total)
        observations = _after_step(self.grader_step, self.cases, observations)
        wrong = []
        for index, (want, got) in enumerate(zip(self.expected, observations, strict=True)):
            reason = self.compare.differs(decode(want, tensors=False), decode(got, tensors=False))
            if reason:
                wrong.append((index, reason))
        if not wrong:
            return True, Said("grading.all_matched", target=target, total=total)
        index, reason = wrong[0]
        return False, Said(
            "grading.some_matched", target=target, right=total - len(wrong), total=total, case=index + 1, reason=reason
        )


def _after_step(step: str, cases: list[object], handed_back: list[object]) -> list[object]:
    """What the exercise's grader step makes of the data the driver handed back for each case (all encoded);
    without a step, that data is the observation."""
    if not step:
        return handed_back
    return [encode(drivers.step_in_grader(step, case, data)) for case, data in zip(cases, handed_back, strict=True)]


def _differs(expected: object, actual: object, how: Compare, where: Said) -> Said | None:
    import numpy

    if isinstance(expected, dict) and "__raised__" in expected:
        if isinstance(actual, dict) and actual.get("__raised__") == expected["__raised__"]:
            return None
        return Said("grading.should_raise", where=where, error=expected["__raised__"])
    if isinstance(actual, dict) and "__raised__" in actual:
        module = actual.get("module")
        if actual["__raised__"] in ("ModuleNotFoundError", "ImportError") and str(module).startswith(
            "course.references"
        ):
            return Said("grading.from_reference", where=where)
        if actual["__raised__"] == "NotImplementedError":
            return Said("grading.not_written")
        return Said("grading.raised", where=where, error=str(actual["__raised__"])[:100])
    if isinstance(actual, dict) and "__unsupported__" in actual:
        return Said("grading.not_plain", where=where, kind=str(actual["__unsupported__"])[:200])
    if isinstance(expected, numpy.ndarray) or isinstance(actual, numpy.ndarray):
        return _array_differs(expected, actual, how, where)
    if isinstance(expected, bool) or expected is None or isinstance(expected, str | bytes):
        return None if type(actual) is type(expected) and actual == expected else Said("grading.differs", where=where)
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        if isinstance(actual, bool) or not isinstance(actual, int | float):
            return Said("grading.not_number", where=where)
        if how.how == "close" or isinstance(expected, float) and isinstance(actual, float):
            tolerance = how if how.how == "close" else Compare("close", 1e-12, 0.0)
            try:
                same = math.isclose(expected, actual, rel_tol=tolerance.rtol, abs_tol=tolerance.atol) or (
                    math.isnan(expected) and math.isnan(actual)
                )
            except OverflowError:  # an int too large for a float is no float's match
                same = False
        else:
            same = expected == actual
        return None if same else Said("grading.differs", where=where)
    if isinstance(expected, list | tuple):
        if not isinstance(actual, list | tuple):
            return Said("grading.not_list", where=where)
        if len(expected) != len(actual):
            return Said("grading.item_count", where=where, count=len(actual))
        if how.how == "unordered":
            same = sorted(map(repr, expected)) == sorted(map(repr, actual))
            return None if same else Said("grading.differs", where=where)
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            reason = _differs(e, a, how, Said("grading.item_of", index=index, where=where))
            if reason:
                return reason
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(actual) != set(expected):
            return Said("grading.not_dict", where=where, keys=sorted(map(str, expected)))
        for key in expected:
            reason = _differs(expected[key], actual[key], how, Said("grading.key_of", where=where, key=repr(key)))
            if reason:
                return reason
        return None
    if isinstance(expected, frozenset):
        return None if isinstance(actual, frozenset) and actual == expected else Said("grading.differs", where=where)
    return None if expected == actual else Said("grading.differs", where=where)


def _array_differs(expected: object, actual: object, how: Compare, where: Said) -> Said | None:
    import numpy

    try:
        want, got = numpy.asarray(expected), numpy.asarray(actual)
    except (ValueError, TypeError):
        return Said("grading.not_array", where=where)
    if want.shape != got.shape:
        return Said("grading.wrong_shape", where=where, got=tuple(got.shape), want=tuple(want.shape))
    if want.dtype.kind in "fc" or got.dtype.kind in "fc":
        if not (numpy.issubdtype(got.dtype, numpy.number) or got.dtype == bool):
            return Said("grading.not_numbers", where=where)
        rtol, atol = (how.rtol, how.atol) if how.how == "close" else (1e-12, 0.0)
        same = numpy.allclose(got.astype(complex), want.astype(complex), rtol=rtol, atol=atol, equal_nan=True)
    else:
        same = numpy.array_equal(want, got)
    return None if same else Said("grading.differs", where=where)
