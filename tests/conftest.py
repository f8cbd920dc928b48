"""Shared fixtures: the repository root, and one cache for heavy lesson artefacts per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir() and p.name[:2].isdigit())


@pytest.fixture(scope="session", autouse=True)
def course_cache(tmp_path_factory) -> Path:
    """Every notebook run in the suite shares one course cache, so a lesson's heavy cells run once."""
    cache = Path(os.environ.get("COURSE_CACHE_DIR") or tmp_path_factory.mktemp("course-cache"))
    os.environ["COURSE_CACHE_DIR"] = str(cache)
    return cache
