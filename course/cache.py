"""A disk cache for heavy artefacts (trained tiny models, exported files).

Lessons build what they need on demand and never depend on another lesson
having run; a second run, or grading, reuses what the first one built.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def cache_root() -> Path:
    """``$COURSE_CACHE_DIR``, or ``~/.cache/beyond-prompting``."""
    root = os.environ.get("COURSE_CACHE_DIR") or Path.home() / ".cache" / "beyond-prompting"
    return Path(root)


def cached_folder(name: str, build: Callable[[Path], None]) -> Path:
    """Return the folder ``name`` in the cache, calling ``build(folder)`` to fill it if absent.

    Put a version in ``name`` (for example ``"tiny-task-model-v2"``) when what
    ``build`` makes changes. The folder appears atomically: a build that fails
    leaves nothing behind.
    """
    target = cache_root() / name
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
    try:
        build(staging)
        try:
            staging.rename(target)
        except OSError:  # another process finished first; keep its result
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
