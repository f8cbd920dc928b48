"""Shared fixtures: the repository root, one cache for heavy lesson artefacts per test session, a free port,
a PostgreSQL server, and temporary copies of the course; and how the lanes share tests among pytest-xdist workers
(`-n 2`, tools/lanes.sh): without building a module's fixtures twice, the longest units first."""

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


# How the lanes share tests among pytest-xdist workers (`-n 2`, tools/lanes.sh): a unit of work goes whole to one
# worker, so a module- or session-scoped fixture it uses (a JupyterLab server, a hub, a graded class, a trained
# model) is built once. A unit is a test file, except for the files below.
SPREAD_FILES = {"test_notebooks_execute.py"}  # independent notebook runs with no shared fixture: a test each
# files that share one session-scoped fixture across modules: the graded hostile class (tests/e2e/conftest.py)
SHARED_UNITS = {"test_grading_hostile.py": "graded-class", "test_queue_grading.py": "graded-class"}


# The units that take minutes, longest first (the slow lane's `--durations=0` on 2 cores, December 2026: the
# graded class 667 s, the browser tests 505 s, the round trip 482 s, lesson 06's exercises 295 s, the toy model's
# seeds 166 s, the hub 163 s, the shared gradebook 128 s). They are handed out before every other unit, so the
# last unit to start is a short one and neither worker waits long for the other at the end of a lane.
LONGEST_FIRST = (
    "graded-class",
    "tests/e2e/test_browser.py",
    "tests/e2e/test_grading_roundtrip.py",
    "tests/lessons/edge/test_exercises.py",
    "tests/lessons/prompting/test_model.py",
    "tests/e2e/test_hub.py",
    "tests/e2e/test_postgres_grading.py",
)


def work_unit(nodeid: str) -> str:
    """The unit of work a test belongs to (see above): its file, its own id, or a unit shared by several files."""
    path = nodeid.partition("::")[0]
    name = path.rpartition("/")[2]
    return nodeid if name in SPREAD_FILES else SHARED_UNITS.get(name, path)


def longest_first(nodeids: list[str]) -> list[str]:
    """``nodeids`` with the units of :data:`LONGEST_FIRST` first, in its order, and every other unit after them in
    collection order; a unit's tests stay together and in their own order."""
    first_seen = {}
    for index, nodeid in enumerate(nodeids):
        first_seen.setdefault(work_unit(nodeid), index)

    def rank(indexed: tuple[int, str]) -> tuple[int, int, int]:
        index, nodeid = indexed
        unit = work_unit(nodeid)
        known = LONGEST_FIRST.index(unit) if unit in LONGEST_FIRST else len(LONGEST_FIRST)
        return known, first_seen[unit], index

    return [nodeid for _, nodeid in sorted(enumerate(nodeids), key=rank)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every worker collects the same order (the scheduler checks), and the scheduler hands out units in it."""
    order = {nodeid: position for position, nodeid in enumerate(longest_first([item.nodeid for item in items]))}
    items.sort(key=lambda item: order[item.nodeid])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's file scheduling with :func:`work_unit` as the unit (its ``xdist_group`` marks do not work
    under pytest 9, whose node ids they can no longer rewrite), handing units out in collection order (see
    :func:`longest_first`) rather than by how many tests each holds."""
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False
    return WorkUnitScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def course_cache(tmp_path_factory) -> Path:
    """Every notebook run in the suite shares one course cache, so a lesson's heavy cells run once; under
    pytest-xdist the workers share it too (entries appear atomically, course/cache.py)."""
    run_folder = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_folder = run_folder.parent  # each worker's basetemp lies in the run's own folder
    cache = Path(os.environ.get("COURSE_CACHE_DIR") or run_folder / "course-cache")
    cache.mkdir(parents=True, exist_ok=True)
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
