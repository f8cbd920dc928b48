"""Run as a script (by tests/grading/test_library_answers.py): try every public function and class that a
grading kernel can import from the ``course`` package as the answer to every declared exercise, through the
exercise's own driver, on the cases of one grading run; print the ones that pass as JSON.

A candidate that does not finish an exercise's cases within ``SECONDS`` is cut off, counts as not passing and is
not tried again (the slow ones are training and benchmarking routines, which take an exercise's arguments and do
something else); the report lists them.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import signal
import sys
from pathlib import Path

import course
from course.grading import drivers
from course.grading.values import decode, encode
from course.references import LESSON_MODULES, exercises

SECONDS = 3
HIDDEN = ("course.references", "course.grading")  # not importable in a grading kernel / the grader itself


class _Slow(BaseException):  # not an Exception: drivers observe those as results
    pass


def _interrupt(*_):
    raise _Slow


def candidates():
    """(qualified name, object) of every public function and class defined in a kernel-visible module."""
    for info in pkgutil.walk_packages(course.__path__, "course."):
        if info.name.startswith(HIDDEN):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != info.name:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{info.name}.{name}", obj


def _could_take(obj, case: dict) -> bool:
    try:
        inspect.signature(obj).bind(*case.get("args", []), **case.get("kwargs", {}))
    except (TypeError, ValueError):
        return False
    return True


def passing(seed: int, slow: set[str] | None = None) -> list[list[str]]:
    """[lesson, grade id, candidate] for each candidate that passes an exercise's check; the names of the
    candidates cut off are added to ``slow``."""
    signal.signal(signal.SIGALRM, _interrupt)
    found, pool, slow = [], list(candidates()), set() if slow is None else slow
    for lesson in LESSON_MODULES:
        for grade_id, exercise in exercises(lesson).items():
            check = exercise.check(seed)
            first = decode(check.cases[0])
            for name, obj in pool:
                if name in slow or check.driver == "call" and not _could_take(obj, first):
                    continue
                signal.setitimer(signal.ITIMER_REAL, SECONDS)
                try:
                    observed = [encode(drivers.observe(check.driver, obj, decode(case))) for case in check.cases]
                    ok = check.verdict(observed)[0]
                except _Slow:
                    ok = False
                    slow.add(name)
                except Exception:  # a driver's own failure on a foreign object: not a pass
                    ok = False
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                if ok:
                    found.append([lesson, grade_id, name])
    return found


if __name__ == "__main__":
    cut_off: set[str] = set()
    found = passing(int(sys.argv[1]), cut_off)
    report = {"candidates": len(list(candidates())), "passing": found, "slow": sorted(cut_off)}
    print(json.dumps({**report, "package": str(Path(course.__file__).parent)}))
