"""Where computation runs, and how to make it repeatable."""

from __future__ import annotations

import os
import random


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
