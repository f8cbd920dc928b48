"""Run an ONNX file that a grading kernel handed back, in a child process of the grader, and report what it
computes: the grader never loads a student's graph into its own process.

A file is data until it runs: a graph can ask ONNX Runtime for any amount of memory or time, or name external
weights anywhere on the disk. :func:`run_files` writes the handed-back files into an empty folder, starts this
module as a child (``python -m course.lessons.edge.onnx_check``) with a memory cap, a CPU-time cap and a
wall-clock timeout, and reads back plain data (``course.grading.values``); a file that names weights outside its
folder, fails to load or to run, or runs out of its limits is reported as not running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from course.grading.values import decode, encode

MEMORY_BYTES = 3 * 2**30  # the child's address space: ONNX Runtime and numpy, and a tiny model's tensors
CPU_SECONDS = 60
WALL_SECONDS = 90
MAX_RESULT_VALUES = 1_000_000  # what the graph's outputs may hold in all: the tiny models' logits are far fewer


def run_files(files: dict[str, bytes], model: str, feeds: list[np.ndarray]) -> dict:
    """What the ONNX file ``files[model]`` (with its external data among ``files``) computes on ``feeds``:
    ``{"runs": True, "inputs", "outputs", "results"}`` (input and output names, its first output on each feed),
    or ``{"runs": False}``."""
    import course

    if model not in files or any(not _plain_name(name) or not isinstance(data, bytes) for name, data in files.items()):
        return {"runs": False}
    with tempfile.TemporaryDirectory() as folder:
        for name, data in files.items():
            (Path(folder) / name).write_bytes(data)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        env["PYTHONPATH"] = os.pathsep.join([str(Path(course.__file__).parents[1]), env.get("PYTHONPATH", "")])
        try:
            child = subprocess.run(
                [sys.executable, "-m", __name__],
                input=json.dumps(encode({"model": model, "feeds": feeds})),
                capture_output=True,
                text=True,
                cwd=folder,
                env=env,
                timeout=WALL_SECONDS,
            )
        except subprocess.TimeoutExpired:
            return {"runs": False}
        if child.returncode != 0:
            return {"runs": False}
        try:
            report = decode(json.loads(child.stdout.strip().splitlines()[-1]), tensors=False)
        except (ValueError, IndexError, TypeError, KeyError, RecursionError):
            return {"runs": False}
    return report if isinstance(report, dict) else {"runs": False}


def _plain_name(name: object) -> bool:
    """A file name without folders: what a handed-back file may be called, and where external data may be."""
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name


def _limit_this_process() -> None:
    """The child's caps, set before it reads anything the kernel handed back."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def _report(name: str, feeds: list[np.ndarray]) -> dict:
    """In the child, in the folder of the files: run the file ``name`` (ONNX Runtime refuses external data
    outside the file's folder)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads, options.log_severity_level = 1, 1, 3
    session = ort.InferenceSession(name, options, providers=["CPUExecutionProvider"])
    first = session.get_inputs()[0].name
    results = [session.run(None, {first: feed})[0] for feed in feeds]
    if sum(np.size(result) for result in results) > MAX_RESULT_VALUES:
        return {"runs": False}
    return {
        "runs": True,
        "inputs": [value.name for value in session.get_inputs()],
        "outputs": [value.name for value in session.get_outputs()],
        "results": results,
    }


if __name__ == "__main__":
    _limit_this_process()
    request = decode(json.loads(sys.stdin.read()), tensors=False)
    if not isinstance(request, dict):
        raise SystemExit("onnx_check reads a dict of model and feeds on stdin")
    try:
        report = _report(request["model"], [np.asarray(feed) for feed in request["feeds"]])
    except Exception:  # a graph ONNX Runtime cannot load or run: the file does not run
        report = {"runs": False}
    print(json.dumps(encode(report)))
