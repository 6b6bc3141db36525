"""Pick the fastest available device (CUDA, then Apple's MPS, then the CPU), and set torch's CPU threads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def default_device() -> torch.device:
    """CUDA if present, else MPS, else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` or ``"auto"`` -> :func:`default_device`; anything else as torch understands it."""
    if device is None or device == "auto":
        return default_device()
    return torch.device(device)


@contextmanager
def cpu_threads(threads: int) -> Iterator[None]:
    """torch's CPU thread count set to ``threads`` inside (0: left as it is), restored afterwards
    (a notebook that trains with one thread keeps its own setting after the run)."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
