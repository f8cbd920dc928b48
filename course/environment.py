"""What this machine has: library versions, CPU/GPU, the course's SmolLM2 file, local model weights, and measured
matmul speed."""

from __future__ import annotations

import functools
import operator
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

from .languages import say

LIBRARIES = (
    "torch",
    "transformers",
    "peft",
    "onnxruntime",
    "llama-cpp-python",
    "mistral-common",
    "ipywidgets",
    "nbgrader",
)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return say("environment.not_installed")


def memory_gib() -> float:
    """Physical memory of this machine in GiB."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def gpu_description() -> str:
    import torch

    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return f"{props.name} ({props.total_memory / 2**30:.0f} GiB), CUDA {torch.version.cuda}"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return say("environment.apple_gpu")
    return say("environment.no_gpu")


def local_weights(repo_ids: list[str], cache_dir: str | None = None) -> dict[str, str | None]:
    """For each Hugging Face repo id, the local folder of its files in the HF cache, or None."""
    from huggingface_hub import try_to_load_from_cache

    found = {}
    for repo_id in repo_ids:
        path = try_to_load_from_cache(repo_id, "config.json", cache_dir=cache_dir)
        found[repo_id] = os.path.dirname(path) if isinstance(path, str) else None
    return found


def report(repo_ids: list[str] | None = None) -> list[tuple[str, str]]:
    """Rows of (item, value) describing this environment; by default checks the course's real models."""
    if repo_ids is None:
        repo_ids = course_repo_ids()
    rows = [
        ("Python", sys.version.split()[0]),
        (say("environment.platform"), f"{platform.system()} {platform.machine()}"),
        (say("environment.cores"), str(os.cpu_count())),
        (say("environment.memory"), f"{memory_gib():.1f} GiB"),
        ("GPU", gpu_description()),
    ]
    rows += [(library, _version(library)) for library in LIBRARIES]
    rows.append((say("environment.smollm2"), smollm2_status()))
    for repo_id, folder in local_weights(repo_ids).items():
        rows.append((say("environment.weights", repo=repo_id), folder or say("environment.no_weights")))
    return rows


def smollm2_status() -> str:
    """Where the course's instruct model (SmolLM2-135M-Instruct's GGUF file) is and its size, or what to run to
    install it."""
    from .models import smollm2

    path = smollm2.find_gguf()
    if path is None:
        return say("models.smollm2_missing", command=smollm2.install_command())
    return say("environment.smollm2_found", path=str(path), megabytes=path.stat().st_size / 1e6)


def course_repo_ids() -> list[str]:
    """Hugging Face repo ids of the real models whose configurations ship with the course."""
    from .models.configs import MODEL_NAMES, model_card

    return [model_card(name).hf_repo for name in MODEL_NAMES]


def matmul_gflops(sizes: list[int], repeats: int = 5) -> list[float]:
    """Measured float32 matrix-multiply speed, in GFLOP/s, for square matrices of each size."""
    import torch
    from tqdm.auto import tqdm

    from .timing import measure

    speeds = []
    for n in tqdm(sizes, desc=say("environment.matmul_sizes")):
        a, b = torch.randn(n, n), torch.randn(n, n)
        timing = measure(functools.partial(operator.matmul, a, b), repeats=repeats, warmup=1)
        speeds.append(2 * n**3 / timing.median / 1e9)
    return speeds
