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
    """Folders a fresh interpreter needs: prefixes and sys.path entries. In a checkout (an editable install) the
    folder around the ``course`` package is the course folder, which is never shown (the package is shown alone),
    so neither is any entry that contains it; installed as a package (pip, a wheel, the hub's venv) the package
    lies in a site-packages folder of the interpreter: the environment's own folders (site-packages up to its
    prefix) are then shown, and a folder above the prefix, which may be a course folder, still is not."""
    probe = (
        "import json, site, sys, sysconfig; print(json.dumps({'prefixes': [sys.prefix, sys.base_prefix, "
        "sys.exec_prefix], 'path': sys.path, 'site': [*site.getsitepackages(), sysconfig.get_path('purelib'), "
        "sysconfig.get_path('platlib')]}))"
    )
    out = subprocess.run([sys.executable, "-P", "-c", probe], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    course_parent = package_dir().parent
    containing = (course_parent, *course_parent.parents)
    hidden: set[Path] = set(containing)
    if course_parent in {Path(folder).resolve() for folder in found["site"] if folder}:
        prefixes = [Path(prefix).resolve() for prefix in found["prefixes"]]
        hidden = {folder for folder in containing if not any(folder.is_relative_to(p) for p in prefixes)}
    paths = []
    for entry in [*found["prefixes"], *found["path"]]:
        path = Path(entry)
        if not entry or not path.is_absolute() or not path.exists():
            continue
        if path.resolve() in hidden:
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


# The folders of a run that a kernel writes in; with a disk quota they are copied into the sandbox's own tmpfs.
RUN_FOLDERS = ("work", "home", "tmp", "cache")
SEED = ".seed"  # where, in the sandbox's run folder, the host's run folders are shown read-only to be copied


def bwrap_command(
    run_dir: Path,
    command: list[str],
    env: dict[str, str],
    extra_readonly: Sequence[Path] = (),
    disk_bytes: int = 0,
) -> list[str]:
    """The bwrap command line that runs ``command`` in ``run_dir/work`` with the sandbox described above.

    With ``disk_bytes``, the run folder in the sandbox is a tmpfs of that size (a disk quota: a full one says "No
    space left on device" to this kernel alone, and it vanishes with the sandbox), into which the host's run
    folders (the lesson's files, answers.json, links to the course cache) are copied before the kernel starts;
    only ``ipc/`` (the kernel's sockets, the probe's results, the kernel's log) is the host's folder, where each
    file is capped by the kernel's file-size limit. Without it the whole run folder is the host's."""
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
    if disk_bytes:
        cmd += ["--size", str(disk_bytes), "--tmpfs", str(run_dir), "--dir", str(run_dir / "work")]
        for name in RUN_FOLDERS:
            if (run_dir / name).is_dir():
                cmd += ["--ro-bind", str(run_dir / name), str(run_dir / SEED / name)]
        cmd += ["--bind", str(run_dir / "ipc"), str(run_dir / "ipc")]
        copy = 'cp -R "$0"/. "$1" && shift && exec "$@"'
        command = ["/bin/sh", "-c", copy, str(run_dir / SEED), str(run_dir), *command]
    else:
        cmd += ["--bind", str(run_dir), str(run_dir)]
    cmd += [
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
