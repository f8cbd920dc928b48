"""Cheap artefacts for tests/test_prepare.py's builds in other processes: module-level functions, so that a
spawned build process can import them. ``a`` and ``c`` each wait for the other to start (they must run side by
side), ``b`` needs ``a``, and every build records the process it ran in."""

import os
import time
from pathlib import Path

from course import cache
from course.fallback import NotPrepared
from course.prepare import Artefact

MARKS = "PREPARE_TEST_MARKS"  # a folder where each build leaves a mark when it starts
MEETING_SECONDS = 60


def _built(name: str) -> Path:
    return cache.cached_folder(name, lambda folder: (folder / "pid").write_text(str(os.getpid())))


def _meet(me: str, other: str) -> None:
    """Leave ``me``'s mark and wait for ``other``'s: both builds must be running at once."""
    marks = Path(os.environ[MARKS])
    marks.mkdir(exist_ok=True)
    (marks / me).touch()
    deadline = time.monotonic() + MEETING_SECONDS
    while not (marks / other).exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{me} ran alone: {other} never started beside it")
        time.sleep(0.05)


def build_a() -> Path:
    _meet("a", "c")
    return _built("fake-a-v1")


def build_c() -> Path:
    _meet("c", "a")
    return _built("fake-c-v1")


def build_b() -> Path:
    if cache.find("fake-a-v1") is None:
        raise AssertionError("b was built before a, which it needs")
    return _built("fake-b-v1")


def build_d() -> Path:
    return _built("fake-d-v1")


def build_broken() -> Path:
    raise NotPrepared("The fake artefact cannot be built: ask your instructor to run `course prepare`.")


def artefacts() -> list[Artefact]:
    """b (needing a) is listed first: it must still wait for a."""
    return [
        Artefact("fake-b-v1", ("05-fine-tuning-and-peft",), build_b, ("fake-a-v1",)),
        Artefact("fake-a-v1", ("05-fine-tuning-and-peft",), build_a),
        Artefact("fake-c-v1", ("01-beyond-the-prompt",), build_c),
    ]


def broken_artefacts() -> list[Artefact]:
    return [
        Artefact("fake-broken-v1", ("01-beyond-the-prompt",), build_broken),
        Artefact("fake-d-v1", ("05-fine-tuning-and-peft",), build_d),
    ]
