"""Where torch runs: CUDA with bf16 autocast when present, CPU (float32) otherwise.

Call only inside the training process: CUDA must never be initialised in a forking parent.
"""

from __future__ import annotations

import contextlib


def device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast(dev):
    import torch

    if dev.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def seed_everything(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
