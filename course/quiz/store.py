"""The answers file: one JSON file beside the notebook that holds quiz choices.

Writes are atomic (temporary file + ``os.replace``) and serialised with a lock
on the folder, so two quick clicks never leave a half-written file, and a
corrupt file is moved aside, never overwritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ANSWERS_FILENAME = "answers.json"
FORMAT_VERSION = 1

_thread_lock = threading.Lock()


class AnswersFileError(ValueError):
    """The answers file exists but cannot be read as answers."""


class _DuplicateKeyError(ValueError):
    """A JSON object names a key twice: which of the two is the answer would be the parser's choice."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        twice = next(key for key in keys if keys.count(key) > 1)
        raise _DuplicateKeyError(repr(twice[:40]))
    return dict(pairs)


def default_path() -> Path:
    """The answers file of the notebook running in the current folder."""
    return Path.cwd() / ANSWERS_FILENAME


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with _thread_lock:
        fd = os.open(folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def read_answers(path: Path | None = None) -> dict[str, list[str]]:
    """Return ``{question id: [option ids]}``; an absent file means no answers yet.

    Raises AnswersFileError, with what to do, when the file is not valid.
    """
    path = Path(path or default_path())
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as err:
        raise AnswersFileError(
            f"Cannot read {path.name} ({err}). Click your quiz answers again to rewrite it."
        ) from None
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except (json.JSONDecodeError, RecursionError):  # RecursionError: valid JSON nested deeper than Python parses
        raise AnswersFileError(
            f"{path.name} is not valid JSON. Click your quiz answers again; "
            "the damaged file will be kept aside as a backup."
        ) from None
    except _DuplicateKeyError as err:
        raise AnswersFileError(
            f"{path.name} names {err} more than once. Click your quiz answers again; "
            "the damaged file will be kept aside as a backup."
        ) from None
    answers = data.get("answers") if isinstance(data, dict) else None
    if not isinstance(answers, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(o, str) for o in v) for k, v in answers.items()
    ):
        raise AnswersFileError(
            f"{path.name} does not hold quiz answers in the expected form. Click your "
            "quiz answers again; the damaged file will be kept aside as a backup."
        )
    return answers


def _backup_corrupt(path: Path) -> Path:
    backup = path.with_name(f"{path.stem}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}")
    n = 1
    while backup.exists():
        backup = path.with_name(f"{path.stem}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{n}{path.suffix}")
        n += 1
    os.replace(path, backup)
    return backup


def _write_atomic(path: Path, answers: dict[str, list[str]]) -> None:
    payload = json.dumps({"format": FORMAT_VERSION, "answers": answers}, indent=2, sort_keys=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def record_answer(question_id: str, choice: list[str], path: Path | None = None) -> Path | None:
    """Save one question's choice; returns the backup path if a corrupt file was moved aside."""
    path = Path(path or default_path())
    backup = None
    with _locked(path.parent):
        try:
            answers = read_answers(path)
        except AnswersFileError:
            backup = _backup_corrupt(path)
            answers = {}
        answers[question_id] = sorted(choice)
        _write_atomic(path, answers)
    return backup


def recorded_answer(question_id: str, path: Path | None = None) -> set[str]:
    """The options recorded for one question (empty if unanswered or unreadable)."""
    try:
        return set(read_answers(path).get(question_id, []))
    except AnswersFileError:
        return set()
