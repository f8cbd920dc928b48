"""The kernel a submission runs in: sandbox (no network, nothing of the course visible, only its run folder
writable), Python's safe path, time limits per cell and per notebook, capped output, a dying kernel, and
and checks whose results do not depend on what the notebook shows or forges."""

import os
import socket
import threading

import nbformat
import pytest

from course.grading import kernel, sandbox, values
from course.grading.execute import Limits, RunSettings, run_notebook
from course.grading.exercise import EXACT, Check, call
from course.grading.layout import CourseLayout

ISOLATION = sandbox.isolation()
needs_sandbox = pytest.mark.skipif(
    not ISOLATION.available and os.environ.get("CI") != "true",
    reason=f"no sandbox here: {ISOLATION.reason}",
)


def _check(grade_id, target, cases, expected):
    """A check of ``target`` on ``cases`` (argument lists), as the grader builds one."""
    return Check(grade_id, target, "call", [call(*args) for args in cases], expected, EXACT)


def _run(tmp_path, sources, probes=None, **limits):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    for index, check in (probes or {}).items():
        nb.cells[index].metadata["nbgrader"] = {"grade_id": check.grade_id}
    return run_notebook(nb, tmp_path / "run", RunSettings(Limits(**limits)), probes=probes)


def _verdicts(outcome, probes):
    return {c.grade_id: c.verdict(outcome.observations.get(c.grade_id))[0] for c in probes.values()}


def _text(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


@needs_sandbox
def test_the_kernel_sees_no_network_no_course_folder_and_writes_only_its_run_folder(tmp_path):
    assert ISOLATION.available, ISOLATION.reason
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    received = []
    threading.Thread(target=lambda: received.append(listener.accept()), daemon=True).start()
    secret = tmp_path / "secret.txt"
    secret.write_text("the key")
    probe = f"""
import os, socket, sys
try:
    socket.create_connection(("127.0.0.1", {listener.getsockname()[1]}), timeout=3)
    print("network: reached")
except OSError:
    print("network: none")
for path in [{str(secret)!r}, {str(CourseLayout.load(sandbox.package_dir().parent).source)!r}]:
    print("visible" if os.path.exists(path) else "hidden", path)
try:
    print("shadow file:", len(open("/etc/shadow").read()), "characters")
except OSError:
    print("shadow file: 0 characters")
for folder in [{str(sandbox.package_dir())!r}, sys.prefix, "/"]:
    try:
        open(os.path.join(folder, "written-by-student"), "w").close()
        print("wrote", folder)
    except OSError:
        print("read-only", folder)
open("mine.txt", "w").write("ok")
print("work folder writable")
"""
    outcome = _run(tmp_path, [probe])
    text = _text(outcome.notebook.cells[0])
    assert outcome.isolated
    assert "network: none" in text and not received
    assert "visible" not in text and text.count("hidden") == 2
    assert "shadow file: 0 characters" in text
    assert "wrote" not in text and text.count("read-only") == 3
    assert "work folder writable" in text
    assert not (sandbox.package_dir() / "written-by-student").exists()


def test_modules_beside_the_notebook_are_not_imported_and_results_come_from_the_probe(tmp_path):
    work = tmp_path / "run" / "work"
    work.mkdir(parents=True)
    (work / "helper_module.py").write_text("VALUE = 1\n")
    hide = (
        "import IPython.core.interactiveshell\n"
        "IPython.core.interactiveshell.InteractiveShell.showtraceback = lambda *a, **k: None\n"
        "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"
    )
    probes = {
        2: _check("good", "f", [[1], [5]], [2, 6]),
        3: _check("bad", "f", [[1]], [3]),
        5: _check("raises", "g", [[2]], [4]),
    }
    outcome = _run(
        tmp_path,
        [
            "try:\n    import helper_module\n    print('imported')\nexcept ImportError:\n    print('not importable')",
            "def f(x):\n    return x + 1\ndef g(x):\n    raise ValueError(x)",
            "placeholder",
            "placeholder",
            hide,
            "placeholder",
            "print([line for line in In[:-1] if '_course_probe' in line])",
        ],
        probes,
    )
    assert _text(outcome.notebook.cells[0]) == "not importable\n"
    assert _verdicts(outcome, probes) == {"good": True, "bad": False, "raises": False}
    assert outcome.observations["good"] == [2, 6], "the probe hands back what the function returned"
    raised = values.decode(outcome.observations["raises"])
    assert raised == [{"__raised__": "ValueError"}], "even when the notebook hides errors"
    assert outcome.notebook.cells[2].source == "placeholder", "the notebook keeps the cell's own source"
    assert _text(outcome.notebook.cells[6]) == "[]\n", "the probe's calls stay out of the history a cell can print"


def test_a_looping_cell_is_interrupted_and_the_rest_still_runs(tmp_path):
    outcome = _run(tmp_path, ["while True:\n    pass", "print('after')"], cell_seconds=3)
    assert outcome.ran == {0, 1}
    assert _text(outcome.notebook.cells[1]) == "after\n"
    assert outcome.notes == ["The cell starting `while True:` ran past its time limit (3 s) and was interrupted."]


@pytest.mark.slow  # waits out a cell's time limit and the kernel's grace: 10 s
def test_an_uninterruptible_cell_stops_the_kernel(tmp_path):
    stubborn = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    outcome = _run(tmp_path, [stubborn, "print('after')"], cell_seconds=3)
    assert outcome.ran == {0} and _text(outcome.notebook.cells[1]) == ""
    assert outcome.notes[-1] == "The kernel did not stop when interrupted; cells after it were not run."


def test_the_whole_notebook_has_a_time_limit(tmp_path):
    outcome = _run(tmp_path, ["import time\ntime.sleep(2)"] * 5, cell_seconds=10, submission_seconds=5)
    assert 1 <= len(outcome.ran) < 5
    assert outcome.notes[-1].startswith("The notebook ran past its time limit (5 s)")


def test_a_dying_kernel_and_a_flood_of_output_are_graded_not_fatal(tmp_path):
    outcome = _run(
        tmp_path,
        ["for i in range(20000):\n    print('x' * 100)", "import os\nos._exit(1)", "print('never')"],
        cell_output_chars=10_000,
    )
    flood = _text(outcome.notebook.cells[0])
    assert len(flood) < 12_000 and "characters of output were dropped" in flood
    assert outcome.ran == {0} and _text(outcome.notebook.cells[2]) == ""
    assert outcome.notes == [
        "The kernel stopped in the cell starting `import os` (the code exited the process or ran out of "
        "memory); cells after it were not run.",
        "The cell starting `for i in range(20000):` printed too much; its output was cut.",
    ]


def test_the_course_cache_is_read_only_and_private_builds_are_reported(tmp_path):
    cache = tmp_path / "cache"
    (cache / "built-by-instructor").mkdir(parents=True)
    (cache / "built-by-instructor" / "weights.txt").write_text("trusted")
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import os\nfrom pathlib import Path\nroot = Path(os.environ['COURSE_CACHE_DIR'])\n"
                "print(root.joinpath('built-by-instructor', 'weights.txt').read_text())\n"
                "try:\n    root.joinpath('built-by-instructor', 'weights.txt').write_text('poisoned')\n"
                "except OSError:\n    print('instructor cache read-only')\n"
                "root.joinpath('built-by-student').mkdir()\n"
            )
        ]
    )
    outcome = run_notebook(nb, tmp_path / "run", RunSettings(Limits(), cache))
    text = _text(outcome.notebook.cells[0])
    assert "trusted" in text
    assert (cache / "built-by-instructor" / "weights.txt").read_text() == "trusted"
    if outcome.isolated:
        assert "instructor cache read-only" in text
    assert outcome.built == ["built-by-student"]
    assert not (cache / "built-by-student").exists()


@needs_sandbox
def test_a_course_folder_under_tmp_is_sandboxed_too(tmp_path):
    """Inside the sandbox /tmp is a fresh tmpfs: a checkout under /tmp must not look like a leak."""
    import shutil
    import subprocess
    import sys

    checkout = tmp_path / "checkout"
    shutil.copytree(sandbox.package_dir(), checkout / "course", ignore=shutil.ignore_patterns("__pycache__"))
    probe = "from course.grading import sandbox; print(sandbox.package_dir()); print(sandbox.isolation())"
    result = subprocess.run([sys.executable, "-c", probe], cwd=checkout, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    where, verdict = result.stdout.strip().splitlines()
    assert where == str(checkout / "course")
    assert verdict == "Isolation(available=True, reason='')", verdict


FORGE = '''
import json, os, re


def forge():
    """Write the right-looking results for the running check: its nonce is in the request, its file open in the
    process."""
    code = get_ipython().kernel.get_parent()["content"]["code"]
    nonce = re.search(r"\\('([0-9a-f]{32})'", code).group(1)
    for fd in os.listdir("/proc/self/fd"):
        if os.path.realpath(f"/proc/self/fd/{fd}").endswith("results"):
            os.write(int(fd), (json.dumps({"nonce": nonce, "observations": [2]}) + "\\n").encode())
'''


@pytest.mark.slow  # a whole sandboxed run with forged probe lines: 10 s
def test_forged_results_do_not_count_the_probes_own_do(tmp_path):
    probes = {
        3: _check("forged-then-wrong", "wrong", [[1]], [2]),
        4: _check("forged-then-raise", "fail", [[1]], [2]),
        5: _check("forged-then-hang", "hang", [[1]], [2]),  # last: the kernel does not survive it
    }
    outcome = _run(
        tmp_path,
        [
            FORGE,
            "def wrong(x):\n    forge()\n    return x\ndef fail(x):\n    forge()\n    raise SystemExit",
            "def hang(x):\n    forge()\n    import signal\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "    while True:\n        pass",
            "placeholder",
            "placeholder",
            "placeholder",
        ],
        probes,
        cell_seconds=3,
    )
    assert outcome.observations["forged-then-wrong"] == [1], "the probe's own line, written last, is what counts"
    assert not any(_verdicts(outcome, probes).values()), "no forged result counts"


MEMORY_HOG = """try:
    hog = [bytes(1 << 27) for _ in range(64)]
    print("memory: unlimited")
except MemoryError:
    print("memory: limited")
"""
FORK_BOMB = """import os, time
kids = []
try:
    for _ in range(300):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        kids.append(pid)
    print("processes: unlimited")
except OSError:
    print("processes: limited")
for pid in kids:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
"""
DISK_FILLER = """try:
    with open("filler", "wb") as handle:
        for _ in range(64):
            handle.write(bytes(1 << 20))
            handle.flush()
    print("disk: unlimited")
except OSError as error:
    print("disk: full", error.errno)
"""
# The one host folder a kernel writes in: its ipc/ (sockets, the probe's results, its log).
HOST_FILLER = """import os
for index in range(256):
    try:
        with open(f"../ipc/filler-{index}", "wb") as handle:
            for _ in range(32):
                handle.write(bytes(1 << 20))
    except OSError:
        pass
"""
SPIN = """import subprocess, sys
run = subprocess.run([sys.executable, "-c", "while True: pass"])
print(run.returncode)
"""


@needs_sandbox
def test_memory_processes_and_disk_are_capped_in_the_kernel_alone(tmp_path):
    """A memory hog gets MemoryError, a fork bomb 'Resource temporarily unavailable', a disk filler 'No space left
    on device', each in its own kernel (the run folder is the sandbox's tmpfs: the host's does not grow); a kernel
    that fills the one host folder it writes in (ipc/) is killed near its quota."""
    assert kernel.process_limit(), "this machine can cap a sandbox's processes (see kernel.process_limit)"
    quota = 32 << 20
    cells = [MEMORY_HOG, FORK_BOMB, DISK_FILLER, "print('still running')", HOST_FILLER, "print('never')"]
    outcome = _run(tmp_path, cells, memory_bytes=3 << 30, processes=80, disk_bytes=quota)
    texts = [_text(cell) for cell in outcome.notebook.cells]
    assert texts[:4] == ["memory: limited\n", "processes: limited\n", "disk: full 28\n", "still running\n"], texts
    assert not (tmp_path / "run" / "work" / "filler").exists(), "the filler wrote into its sandbox's tmpfs only"
    assert outcome.ran == {0, 1, 2, 3} and outcome.notes[0].startswith("The kernel stopped in the cell starting")
    written = sum(f.stat().st_size for f in (tmp_path / "run" / "ipc").iterdir())
    assert written < 64 * quota, f"{written:,} bytes written to the host, of the 8 GiB tried"


@pytest.mark.slow  # spins a process until its CPU time runs out: 4 s
def test_a_process_is_killed_when_its_cpu_time_runs_out(tmp_path):
    outcome = _run(tmp_path, [SPIN], cpu_seconds=4)
    assert _text(outcome.notebook.cells[0]) in ("-24\n", "-9\n"), "SIGXCPU (or SIGKILL at the hard limit)"
