"""Shared fixtures: the repository root, one cache for heavy lesson artefacts per test session, a free port,
a PostgreSQL server, and temporary copies of the course."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from course.grading.layout import CourseLayout
from tests.postgres_server import BINS, MISSING, PostgresServer
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
LAYOUT = CourseLayout.load(ROOT)
LESSONS = LAYOUT.lessons()


@pytest.fixture(scope="session", autouse=True)
def course_cache(tmp_path_factory) -> Path:
    """Every notebook run in the suite shares one course cache, so a lesson's heavy cells run once."""
    cache = Path(os.environ.get("COURSE_CACHE_DIR") or tmp_path_factory.mktemp("course-cache"))
    os.environ["COURSE_CACHE_DIR"] = str(cache)
    return cache


@pytest.fixture()
def free_tcp_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def postgres_server():
    """A PostgreSQL server for the test module on 127.0.0.1 (see tests/postgres_server.py), stopped by its PID;
    skipped where PostgreSQL is not installed, except under CI (which installs it)."""
    if not BINS:
        if os.environ.get("CI") == "true":
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def postgres(postgres_server) -> str:
    """The URL of the test module's gradebook database on its own PostgreSQL server."""
    return postgres_server.url


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
    :func:`make_course_copy`); usable from fixtures of any scope. Each set of lessons is released once per
    session (into gradebook.db) and copied for every test that asks for it again; a release into another
    database (``db_url``) is made anew."""
    released_once: dict[tuple[str, ...] | None, Path] = {}

    def make(lessons: list[str] | None = None, released: bool = False, db_url: str | None = None) -> CourseLayout:
        out = tmp_path_factory.mktemp("course") / "course"
        if not released or db_url:
            return make_course_copy(out, lessons, released, db_url)
        key = tuple(lessons) if lessons else None
        if key not in released_once:
            released_once[key] = make_course_copy(tmp_path_factory.mktemp("released") / "course", lessons, True).root
        shutil.copytree(released_once[key], out, symlinks=True)
        return CourseLayout.load(out)

    return make
