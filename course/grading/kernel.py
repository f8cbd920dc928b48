"""The kernel a submission's notebook runs in: its settings and limits, its environment and folders, how it is
started (safe path, sandbox, resource limits), the client that caps its output, and how it is stopped (with
everything it started). ``execute`` drives it cell by cell."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbformat import NotebookNode

from . import processes

FILE_BYTES = 2 << 30  # the largest file a kernel may write (its own log and the probe's results included)


@dataclass(frozen=True)
class Limits:
    """Time, output and resource limits for one submission (on by default; 0 turns a resource limit off).

    The resource defaults leave every lesson room to spare: what a lesson kernel was measured to use is in
    ``course grade --help`` (``cli._add_resource_limits``)."""

    cell_seconds: float = 600.0
    submission_seconds: float = 1800.0
    cell_output_chars: int = 200_000
    total_output_chars: int = 5_000_000
    threads: int = 0  # BLAS/OpenMP threads of the kernel; 0 leaves the library default
    memory_bytes: int = 16 << 30  # address space of each kernel process (RLIMIT_AS)
    processes: int = 512  # processes and threads of one kernel's sandbox (RLIMIT_NPROC, or a pids cgroup)
    cpu_seconds: int = 14400  # CPU time of each kernel process (RLIMIT_CPU)
    disk_bytes: int = 1 << 30  # what a kernel may write in its run folder (a size-capped tmpfs in the sandbox)


@dataclass(frozen=True)
class RunSettings:
    """What every submission's kernel of one grading run shares (picklable: sent to worker processes)."""

    limits: Limits
    cache: Path | None = None  # the course cache, offered read-only


class KernelManager(AsyncKernelManager):
    """Starts ipykernel with Python's safe path (-P), wrapped in the sandbox when there is one (``wrap``), first
    in line for the out-of-memory killer (choom), with the resource limits of ``limits`` (prlimit: file size,
    address space and CPU time of each process; the process count of the whole sandbox, see
    ``process_limit``), and killed by the kernel (``setpriv --pdeathsig``) as soon as the process that started it
    dies, from the moment it is started.

    The kernel is also killed ``lifetime`` seconds after it starts (``timeout``, inside the sandbox), whatever
    happens to the grader, so the student's code never runs on without a limit."""

    wrap: Callable[[list[str]], list[str]] | None = None  # kernel command -> command to launch
    lifetime: float | None = None  # seconds
    limits: Limits = Limits()
    pids_cgroup: Path | None = None  # the pids cgroup that caps this kernel's process count, when one is made
    built: tuple[str, ...] = ()  # course cache entries the kernel built privately (known once it is stopped)
    watch: threading.Event | None = None  # set to end the watch over the kernel's host folder
    own: frozenset[int] = frozenset()  # the processes of the started kernel itself, before any cell ran

    def _tree(self) -> list[int]:
        """The launched command and every process under it (in the sandbox: its whole PID namespace)."""
        process = getattr(self.provisioner, "process", None)
        return [process.pid, *processes.descendants(process.pid)] if process is not None else []

    def settle(self) -> None:
        """Note the kernel's own processes, once it has started and before any student code runs."""
        self.own = frozenset(self._tree())

    def end_strays(self, seconds: float = 10.0) -> None:
        """Kill every process the cells started that still runs (a cell's processes do not outlive it: leftover
        copies of a fork bomb would hold the process limit and starve the kernel). The kernel's own processes
        are frozen meanwhile (SIGSTOP, then SIGCONT), so the kernel cannot start more; the strays are killed
        round after round without waiting, so copies still forking cannot outpace it, until none is left or
        ``seconds`` have passed."""
        if self.own:
            processes.freeze_and_kill(self.own, lambda: [p for p in self._tree() if p not in self.own], seconds)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        limits, prlimit = self.limits, shutil.which("prlimit")
        timeout = shutil.which("timeout")
        limit = [timeout, "--signal=KILL", f"{self.lifetime:.0f}"] if timeout and self.lifetime else []
        kernel = [
            *limit,
            sys.executable,
            "-P",
            "-m",
            "ipykernel_launcher",
            "-f",
            self.connection_file,
            "--HistoryManager.hist_file=:memory:",
        ]
        command = kernel
        if self.wrap:
            how = process_limit() if limits.processes else ""
            if how == "rlimit" and prlimit:  # set inside the sandbox: counted in its own user namespace
                command = [prlimit, f"--nproc={limits.processes}", "--", *command]
            command = self.wrap(command)
            if how == "cgroup":
                self.pids_cgroup = make_pids_cgroup(limits.processes)
                if self.pids_cgroup:  # the sandbox starts in it: every process it ever has is counted
                    join = 'echo $$ > "$0/cgroup.procs" && exec "$@"'
                    command = ["/bin/sh", "-c", join, str(self.pids_cgroup), *command]
        if prlimit:  # no file beyond the disk quota (none would fit in the sandbox's tmpfs anyway)
            caps = [f"--fsize={min(FILE_BYTES, limits.disk_bytes or FILE_BYTES)}"]
            caps += [f"--as={limits.memory_bytes}"] if limits.memory_bytes else []
            caps += [f"--cpu={limits.cpu_seconds}"] if limits.cpu_seconds else []
            command = [prlimit, *caps, "--", *command]
        if shutil.which("choom"):
            command = ["choom", "-n", "1000", "--", *command]
        if shutil.which("setpriv"):  # set before anything else runs: no moment where the grader's death is missed
            command = ["setpriv", "--pdeathsig", "KILL", "--", *command]
        return command

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        """Launch the kernel, then watch its share of the host's disk (``ipc/``) until it is stopped."""
        await super()._async_launch_kernel(kernel_cmd, **kw)
        process = getattr(self.provisioner, "process", None)
        if self.wrap is not None and self.limits.disk_bytes and process is not None:
            self.watch = threading.Event()
            folder = Path(self.connection_file).parent
            args = (folder, self.limits.disk_bytes, process.pid, self.watch)
            threading.Thread(target=_watch_host_folder, args=args, name="course-ipc-quota", daemon=True).start()


IPC_ENTRIES = 1000  # files a kernel may have in its host folder (it needs a handful)


def _host_folder_bytes(folder: Path) -> float:
    """Disk used under ``folder`` (links not followed); infinite past IPC_ENTRIES entries."""
    used, entries = 0, 0
    for parent, folders, files in os.walk(folder):
        for name in [*folders, *files]:
            entries += 1
            if entries > IPC_ENTRIES:
                return float("inf")
            try:
                used += os.lstat(os.path.join(parent, name)).st_blocks * 512
            except OSError:  # gone meanwhile
                continue
    return used


def _watch_host_folder(folder: Path, limit: int, pid: int, done: threading.Event) -> None:
    """The disk quota of the one host folder a sandboxed kernel writes in (``ipc/``: its sockets, the probe's
    results, its log; each file is capped by the file-size limit too): past ``limit`` bytes, checked twice a
    second, the kernel and everything under it are killed, and the run notes a dead kernel."""
    while not done.wait(0.5):
        if _host_folder_bytes(folder) > limit:
            processes.kill_all([*processes.descendants(pid), pid])
            return


def _size(value) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    if isinstance(value, list):
        return sum(_size(v) for v in value)
    return 8


class Client(NotebookClient):
    """nbclient with output caps per cell and per notebook, and no widget state kept."""

    def __init__(self, nb: NotebookNode, limits: Limits, **kwargs):
        super().__init__(nb, **kwargs)
        self.limits = limits
        self.cell_chars: dict[int, int] = {}
        self.dropped: dict[int, int] = {}
        self.total_chars = 0

    def output(self, outs, msg, display_id, cell_index):
        size = _size(msg.get("content", {}))
        used = self.cell_chars.get(cell_index, 0)
        if used + size > self.limits.cell_output_chars or self.total_chars + size > self.limits.total_output_chars:
            self.dropped[cell_index] = self.dropped.get(cell_index, 0) + size
            return None
        self.cell_chars[cell_index] = used + size
        self.total_chars += size
        return super().output(outs, msg, display_id, cell_index)

    def handle_comm_msg(self, outs, msg, cell_index) -> None:
        """Widgets need no state in a graded notebook; ignoring comms also bounds what a kernel can send."""

    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None) -> None | dict:
        """Before a cell past its time limit is interrupted, end the processes it started, so that the kernel
        gets the interrupt however many copies of itself the cell made."""
        if isinstance(self.km, KernelManager):
            self.km.end_strays()
        return await super()._async_handle_timeout(timeout, cell)


def kernel_env(run_dir: Path, limits: Limits) -> dict[str, str]:
    """The kernel's whole environment: nothing of the grader's beyond what a lesson needs."""
    home = run_dir / "home"
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "TMPDIR": str(run_dir / "tmp"),
        "IPYTHONDIR": str(home / ".ipython"),
        "MPLCONFIGDIR": str(home / ".config" / "matplotlib"),
        "PYTHONSAFEPATH": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HF_HUB_OFFLINE": "1",
        "COURSE_CACHE_DIR": str(run_dir / "cache"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    for name in ("COURSE_LANG", "HF_HOME", "LC_ALL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    if limits.threads:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[name] = os.environ.get(name, str(limits.threads))
    return env


def prepare_run_dir(run_dir: Path, cache: Path | None) -> None:
    """Folders of one run; the course cache is offered read-only, one link per entry, so a lesson reuses what
    is built and builds what is missing privately."""
    for sub in ("work", "home", "tmp", "ipc", "cache"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    if cache and cache.is_dir():
        for entry in cache.iterdir():
            if entry.is_dir() and not entry.name.startswith("."):
                (run_dir / "cache" / entry.name).symlink_to(entry.resolve())


async def responsive(client, seconds: float = 15.0) -> bool:
    """Whether the kernel answers a trivial request (after an interrupt) within ``seconds``, once the processes
    the interrupted cell started are ended."""
    if isinstance(client.km, KernelManager):
        client.km.end_strays()
    msg_id = client.kc.execute("", silent=True, store_history=False)
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            msg = await client.kc.shell_channel.get_msg(timeout=left)
        except Exception:  # queue.Empty: no reply in time
            return False
        if msg["parent_header"].get("msg_id") == msg_id:
            return True
    return False


def process_limit() -> str:
    """How this machine caps a sandbox's process count: "rlimit" (RLIMIT_NPROC set inside the sandbox, which
    Linux counts per user namespace, so per sandbox), "cgroup" (a pids cgroup: Linux never applies
    RLIMIT_NPROC to root, so a grader running as root needs one), or "" (not enforced here)."""
    if not sys.platform.startswith("linux"):
        return ""
    if os.geteuid() != 0:
        return "rlimit" if shutil.which("prlimit") else ""
    return "cgroup" if _pids_cgroup_root() else ""


def _pids_cgroup_root() -> Path | None:
    """A cgroup folder with the pids controller under which this process may create cgroups, if any (cgroup v1's
    pids hierarchy, or the v2 root with pids enabled for its children)."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    for line in mounts:
        fields = line.split()
        if len(fields) < 4:
            continue
        folder, kind, options = Path(fields[1]), fields[2], fields[3].split(",")
        if (
            kind == "cgroup"
            and "pids" in options
            or (kind == "cgroup2" and "pids" in _read(folder / "cgroup.subtree_control").split())
        ):
            if os.access(folder, os.W_OK):
                return folder
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def make_pids_cgroup(processes: int) -> Path | None:
    """A new pids cgroup allowing ``processes`` processes (None when it cannot be made)."""
    root = _pids_cgroup_root()
    if root is None:
        return None
    folder = root / f"course-kernel-{os.getpid()}-{time.monotonic_ns()}"
    try:
        folder.mkdir()
        (folder / "pids.max").write_text(str(processes))
    except OSError:
        folder.rmdir() if folder.is_dir() else None
        return None
    return folder


def remove_pids_cgroups(pid: int) -> None:
    """Remove the pids cgroups that process ``pid`` made for its kernels (and kill what is left in them): for a
    grading process that was killed before it could stop its kernel."""
    root = _pids_cgroup_root()
    for folder in root.glob(f"course-kernel-{pid}-*") if root else ():
        _remove_cgroup(folder)


def _remove_cgroup(folder: Path) -> None:
    """Kill whatever is left in the cgroup and remove it."""
    for _ in range(100):
        pids = [int(p) for p in _read(folder / "cgroup.procs").split()]
        if not pids:
            break
        processes.kill_all(pids, 1.0)
    try:
        folder.rmdir()
    except OSError:  # a process still dying: the kernel removes nothing itself, so say nothing and go on
        pass


def _sandbox_root(km: KernelManager) -> Path | None:
    """The sandbox's file system as the host sees it (through its PID namespace's first process), when the kernel
    runs in one."""
    process = getattr(km.provisioner, "process", None)
    if km.wrap is None or process is None:
        return None
    for child in processes.children(process.pid):  # bwrap's own process in the namespace
        return Path(f"/proc/{child}/root")
    return None


def _private_builds(km: KernelManager, run_dir: Path) -> tuple[str, ...]:
    """The entries of the run's cache folder that the kernel made (the course cache's are links), read without
    following links, where the kernel wrote them (the sandbox's run folder is its own file system)."""
    root = _sandbox_root(km)
    folder = root / run_dir.relative_to(run_dir.anchor) / "cache" if root else run_dir / "cache"
    try:
        with os.scandir(folder) as entries:
            return tuple(sorted(e.name for e in entries if not e.is_symlink()))
    except OSError:
        return ()


async def stop(client: Client, km: KernelManager, run_dir: Path | None = None) -> None:
    """Kill the kernel and every process it started, whatever state they are in: the sandbox's PID namespace
    dies with its first process, and every process under the launched command is killed too (a kernel without
    the sandbox may have started some). Before that, note what the kernel built in its private cache
    (``km.built``), which goes with the sandbox's run folder."""
    if client.kc is not None:
        client.kc.stop_channels()
    if km.watch is not None:
        km.watch.set()
    if run_dir is not None:
        km.built = _private_builds(km, run_dir)
    process = getattr(km.provisioner, "process", None)
    if process is not None and process.poll() is None:
        processes.kill_all([*processes.descendants(process.pid), process.pid], 30.0)
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
    except Exception:  # already gone
        pass
    if km.pids_cgroup is not None:
        _remove_cgroup(km.pids_cgroup)


def unenforced(limits: Limits, isolated: bool) -> list[str]:
    """The resource limits of ``limits`` that this machine does not enforce, each with why (``course grade``
    prints them): the process count and the disk quota need the sandbox (and, as root, a pids cgroup)."""
    missing = []
    if not shutil.which("prlimit") and (limits.memory_bytes or limits.cpu_seconds):
        missing.append("memory and CPU time limits (no prlimit here; it comes with util-linux)")
    if limits.processes and not (isolated and process_limit()):
        why = "no sandbox" if not isolated else "running as root, which RLIMIT_NPROC exempts, and no pids cgroup"
        missing.append(f"process count limit ({why})")
    if limits.disk_bytes and not isolated:
        missing.append("disk quota of the run folder (no sandbox)")
    return missing
