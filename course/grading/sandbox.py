"""Where a student's kernel runs: a bubblewrap sandbox with no network and a minimal, read-only view of the
machine, in which only the submission's own run folder is writable.

The kernel sees the system folders, the Python installation, the ``course`` package (less
``course.references``, the reference solutions, hidden under an empty folder), the course cache and the
Hugging Face cache, all read-only, and its run folder read-write. It does not see the course folder (source
notebooks, the gradebook, other submissions, sample answers), other runs, or any home folder. Without
``bwrap`` (macOS, or Linux without user namespaces) the kernel runs unisolated and ``course grade`` says so.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# What a sandboxed kernel may read from the system, besides the Python installation.
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/sys")
# Never visible, even though /etc is.
MASKED_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers")
TMP_BYTES = 1 << 30


@dataclass(frozen=True)
class Isolation:
    available: bool
    reason: str  # why not, when not available


def bwrap() -> str | None:
    return shutil.which("bwrap")


def package_dir() -> Path:
    """The folder of the ``course`` package (only it, never the course folder around it, is shown)."""
    return Path(__file__).resolve().parents[1]


def references_dir() -> Path:
    """``course.references``, the reference solutions: inside the package, but never shown to a kernel."""
    return package_dir() / "references"


@functools.cache
def python_paths() -> tuple[str, ...]:
    """Folders a fresh interpreter needs: prefixes and sys.path entries (minus any that would show the
    course folder, whose ``course`` package is shown alone)."""
    probe = "import json, sys; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]))"
    out = subprocess.run([sys.executable, "-P", "-c", probe], capture_output=True, text=True, check=True)
    course_parent = package_dir().parent
    paths = []
    for entry in json.loads(out.stdout):
        path = Path(entry)
        if not entry or not path.is_absolute() or not path.exists():
            continue
        if path.resolve() in (course_parent, *course_parent.parents):
            continue
        paths.append(str(path))
    return tuple(dict.fromkeys(paths))


def library_roots() -> list[str]:
    """The Python installation and the ``course`` package: the code a kernel may read (and nothing else of the
    machine but what ``readonly_paths`` adds)."""
    return [*python_paths(), str(package_dir())]


def readonly_paths(extra: Sequence[Path] = ()) -> list[str]:
    """Host paths bound read-only into the sandbox (each at the same path)."""
    paths = [*library_roots(), str(Path(sys.executable).parent)]
    paths += [str(p) for p in extra if p and Path(p).exists()]
    return list(dict.fromkeys(paths))


def bwrap_command(
    run_dir: Path, command: list[str], env: dict[str, str], extra_readonly: Sequence[Path] = ()
) -> list[str]:
    """The bwrap command line that runs ``command`` in ``run_dir/work`` with the sandbox described above."""
    cmd = [
        bwrap() or "bwrap",
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--cap-drop",
        "ALL",
        "--hostname",
        "grader",
    ]
    for top in SYSTEM_DIRS:
        path = Path(top)
        if path.is_symlink():
            cmd += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            cmd += ["--ro-bind", top, top]
    cmd += [
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--remount-ro",
        "/proc",
        "--size",
        str(TMP_BYTES),
        "--tmpfs",
        "/tmp",
        "--size",
        str(TMP_BYTES),
        "--tmpfs",
        "/dev/shm",
    ]
    for masked in MASKED_FILES:
        if Path(masked).exists():
            cmd += ["--ro-bind", "/dev/null", masked]
    for bound in readonly_paths(list(extra_readonly)):
        cmd += ["--ro-bind", bound, bound]
    if references_dir().is_dir():  # the reference solutions: mounted over by an empty folder
        cmd += ["--tmpfs", str(references_dir())]
    cmd += [
        "--bind",
        str(run_dir),
        str(run_dir),
        "--remount-ro",
        "/",
        "--chdir",
        str(run_dir / "work"),
        "--clearenv",
    ]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    return [*cmd, "--", *command]


# Inside the sandbox a folder above a bound one may be a fresh, writable tmpfs folder (the course folder's
# parent under /tmp, say): what counts is whether a write reaches the host, which the caller checks.
_PROBE = """
import os, socket, sys
problems = []
for target in sys.argv[1:]:
    try:
        with open(os.path.join(target, ".course-sandbox-probe"), "w") as handle:
            handle.write("x")
    except OSError:
        pass
try:
    socket.create_connection(("192.0.2.1", 80), timeout=1)
    problems.append("network reachable")
except OSError:
    pass
with open("written", "w") as handle:
    handle.write("ok")
print(";".join(problems) or "isolated")
"""


@functools.cache
def isolation() -> Isolation:
    """Whether student kernels can be sandboxed here (checked once: a probe must be unable to write outside
    its run folder or reach the network)."""
    if not sys.platform.startswith("linux"):
        return Isolation(False, f"no sandbox on {sys.platform}")
    if not bwrap():
        return Isolation(False, "bubblewrap (bwrap) is not installed; install it (Debian: apt-get install bubblewrap)")
    with tempfile.TemporaryDirectory(prefix="course-sandbox-probe-") as tmp:
        run_dir = Path(tmp)
        (run_dir / "work").mkdir()
        targets = [str(package_dir()), str(Path(sys.executable).parent), "/", str(package_dir().parent)]
        for target in targets:
            Path(target, ".course-sandbox-probe").unlink(missing_ok=True)
        probe = [sys.executable, "-P", "-c", _PROBE, *targets]
        cmd = bwrap_command(run_dir, probe, {"PATH": "/usr/bin:/bin"})
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return Isolation(False, "the sandbox probe did not finish")
        verdict = result.stdout.strip()
        leaked = []
        for target in targets:
            written = Path(target, ".course-sandbox-probe")
            if written.exists():
                leaked.append(target)
                written.unlink(missing_ok=True)
        if leaked:
            return Isolation(False, f"bwrap cannot sandbox here (a sandboxed write reached {leaked[0]})")
        if result.returncode != 0 or verdict != "isolated" or not (run_dir / "work" / "written").exists():
            detail = verdict or (result.stderr.strip().splitlines() or ["no output"])[-1]
            return Isolation(False, f"bwrap cannot sandbox here ({detail})")
    return Isolation(True, "")
