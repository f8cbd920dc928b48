"""Shared fixtures: the repository root, one cache for heavy lesson artefacts per test session, a free port,
and temporary copies of the course."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from course.grading.layout import CourseLayout

ROOT = Path(__file__).resolve().parents[1]
LAYOUT = CourseLayout.load(ROOT)
LESSONS = LAYOUT.lessons()


@pytest.fixture(scope="session", autouse=True)
def course_cache(tmp_path_factory) -> Path:
    """Every notebook run in the suite shares one course cache, so a lesson's heavy cells run once."""
    cache = Path(os.environ.get("COURSE_CACHE_DIR") or tmp_path_factory.mktemp("course-cache"))
    os.environ["COURSE_CACHE_DIR"] = str(cache)
    return cache


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def free_tcp_port() -> int:
    return free_port()


def make_course_copy(
    out: Path, lessons: list[str] | None = None, released: bool = False, db_url: str | None = None
) -> CourseLayout:
    """A new course folder ``out``: the config, the lessons' sources (default: all) and their answer keys,
    released (into the gradebook at ``db_url``, default gradebook.db) when ``released``."""
    from course.grading.release import release
    from course.grading.samples import copy_course

    layout = copy_course(LAYOUT, out, lessons)
    if released:
        release(layout.root, lessons, db_url=db_url)
    return layout


@pytest.fixture(scope="session")
def course_copy(tmp_path_factory) -> Callable[..., CourseLayout]:
    """``course_copy(lessons=None, released=False, db_url=None)``: a new temporary course folder (see
    :func:`make_course_copy`); usable from fixtures of any scope."""

    def make(lessons: list[str] | None = None, released: bool = False, db_url: str | None = None) -> CourseLayout:
        return make_course_copy(tmp_path_factory.mktemp("course") / "course", lessons, released, db_url)

    return make
