"""Where computation runs, and how to make it repeatable."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator


def device() -> str:
    """``"cuda"`` when a GPU is available, otherwise ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def seed_everything(seed: int = 0) -> None:
    """Fix Python, NumPy and PyTorch seeds so a lesson gives the same numbers each run."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run PyTorch on one CPU thread inside the block.

    Tiny models lose more to handing small matrix products between threads than
    they gain, and one thread gives steadier timings on a busy machine.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
