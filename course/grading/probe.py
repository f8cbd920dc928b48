"""The grader's side of a check inside the student's kernel: run the student's code on the inputs the grader
sent, and hand back what it returned as JSON text.

``install`` runs in a fresh kernel before any student code and captures what the probe uses (the results file
descriptor, ``os.write``, the JSON and base64 functions), and blocks imports of ``course.references`` for the
rest of the run (the sandbox does not even mount that package; the block also covers grading without one).

The probe decides nothing. It receives no expected value, only inputs; whatever the kernel writes to the
results file is data the grader compares with reference results it computed in its own process. Student code
shares this process and may write anything there, or replace the probe's encoder through its closure, but without
the expected results it cannot write the right answers except by computing them; and the grader reads the file
it created through its own descriptor (``ResultsFile``) and decodes what it finds as untrusted data
(``values.decode``), so nothing written there stops a submission being graded.
"""

from __future__ import annotations

import base64
import json
import os
import sys

RESULT_BYTES = 20_000_000  # one check's results; more is cut and fails the check


class _BlockReferences:
    """A meta path finder that refuses ``course.references``: reference solutions are not available while
    grading, and a submission that imports one fails that exercise with a one-line reason."""

    def find_spec(self, name, path=None, target=None):
        if name == "course.references" or name.startswith("course.references."):
            raise ModuleNotFoundError(
                f"No module named {name!r}: the course's reference solutions are not available while grading",
                name=name,
            )
        return None


def install(probe_name: str, results_path: str, user_ns: dict) -> None:
    """Put the probe into the kernel's namespace under ``probe_name`` (a random name); called once."""
    from . import drivers, values

    _write, _dumps, _loads, _b64 = os.write, json.dumps, json.loads, base64.b64decode
    _observe, _encode, _decode, _get = drivers.observe, values.encode, values.decode, dict.get
    _fd = os.open(results_path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)  # the file the grader created
    for name in [n for n in sys.modules if n == "course.references" or n.startswith("course.references.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _BlockReferences())

    def probe(nonce: str, request: str) -> None:
        __tracebackhide__ = True  # noqa: F841 (IPython leaves this frame out of tracebacks)
        asked = _loads(_b64(request).decode("utf-8"))
        target = _get(user_ns, asked["target"])
        observations = [_encode(_observe(asked["driver"], target, _decode(case))) for case in asked["cases"]]
        line = _dumps({"nonce": nonce, "observations": observations}, allow_nan=False) + "\n"
        _write(_fd, line.encode("utf-8")[:RESULT_BYTES])

    user_ns[probe_name] = probe


def probe_call(probe_name: str, nonce: str, request: dict) -> str:
    """The line a kernel executes for one check."""
    encoded = base64.b64encode(json.dumps(request).encode("utf-8")).decode("ascii")
    return f"{probe_name}({nonce!r}, {encoded!r})"


class ResultsFile:
    """The grader's end of the results file: created by the grader in the run's ipc folder before the kernel
    starts (the probe opens it by path in ``install``, before any student code) and read only through the
    grader's own descriptor. Student code can remove, rename or replace the path (a folder, a FIFO, a link) or
    write to the file; none of that reaches the grader, which reads the file it created, at most its last
    ``READ_BYTES``, without ever blocking."""

    READ_BYTES = 4 * RESULT_BYTES

    def __init__(self, path: str | os.PathLike[str]):
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_observations(self, nonce: str) -> list[object] | None:
        """The observations the probe wrote for ``nonce`` (the last such line), or None. The kernel can write
        to the file too, so only its end is read, and a line that is not valid JSON counts as no result."""
        size = os.fstat(self._fd).st_size
        start = max(0, size - self.READ_BYTES)
        text = os.pread(self._fd, size - start, start).decode("utf-8", "replace")
        found = None
        for line in text.splitlines():
            if nonce not in line[:80]:
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if (
                isinstance(record, dict)
                and record.get("nonce") == nonce
                and isinstance(record.get("observations"), list)
            ):
                found = record["observations"]
        return found
