"""Where torch runs: CUDA with bf16 autocast when present, CPU (float32) otherwise.

`SHOPFUSION_DEVICE=cpu` (or `cuda`) overrides the choice, e.g. to compare the two on one box.
Call only inside the training process: CUDA must never be initialised in a forking parent.
"""

from __future__ import annotations

import contextlib
import os


def device():
    """The device, with its index: parameters report `cuda:0`, and comparing that with a bare
    `cuda` is never equal, which would move the module again on every scoring call."""
    import torch

    wanted = os.environ.get("SHOPFUSION_DEVICE", "").strip().lower()
    if wanted not in ("", "cpu", "cuda"):
        raise ValueError(f"SHOPFUSION_DEVICE must be 'cpu' or 'cuda', not {wanted!r}")
    if wanted == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("SHOPFUSION_DEVICE=cuda but torch sees no CUDA device")
    if wanted == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", torch.cuda.current_device())


def autocast(dev):
    import torch

    if dev.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def synchronize(dev) -> None:
    """Wait for queued kernels, so a timer read after it measures the work (CUDA is async)."""
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
