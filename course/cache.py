"""A disk cache for heavy artefacts (trained tiny models, exported files).

Lessons build what they need on demand and never depend on another lesson
having run; a second run, or grading, reuses what the first one built.
``course prepare`` (``course.prepare``) builds the artefacts every student
shares ahead of time, for a class server or a grading machine.

The cache may be read-only: on a class server ``$COURSE_CACHE_DIR`` is the
instructor's prepared cache, which students read but cannot write. What a
student's own code builds then goes to their personal cache
(``~/.cache/beyond-prompting``), which is also looked in.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def personal_cache() -> Path:
    """``~/.cache/beyond-prompting``: the user's own cache."""
    return Path.home() / ".cache" / "beyond-prompting"


def cache_root() -> Path:
    """``$COURSE_CACHE_DIR``, or the personal cache."""
    return Path(os.environ.get("COURSE_CACHE_DIR") or personal_cache())


def _writable(root: Path) -> bool:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(root, os.W_OK)


def _roots() -> list[Path]:
    """Where entries are looked for, in order; the last is where a missing one is built: the course cache, and
    after it the personal cache when the course cache is read-only (a prepared one on a class server)."""
    root, personal = cache_root(), personal_cache()
    return [root] if root == personal or _writable(root) else [root, personal]


def find(name: str) -> Path | None:
    """The folder ``name`` in the cache, or None when no cache has it."""
    return next((root / name for root in _roots() if (root / name).is_dir()), None)


def cached_folder(name: str, build: Callable[[Path], None]) -> Path:
    """Return the folder ``name`` in the cache, calling ``build(folder)`` to fill it if absent.

    Put a version in ``name`` (for example ``"tiny-task-model-v2"``) when what
    ``build`` makes changes. The folder appears atomically: a build that fails
    leaves nothing behind. It is built in the course cache, or in the personal
    cache when the course cache is read-only.
    """
    found = find(name)
    if found is not None:
        return found
    roots = _roots()
    root = roots[-1]
    if not _writable(root):
        where = " nor ".join(str(r) for r in roots)
        raise PermissionError(
            f"The course cache ({where}) cannot be written: set COURSE_CACHE_DIR to a folder you own."
        )
    target = root / name
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
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
