"""Pick the fastest available device: CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

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
