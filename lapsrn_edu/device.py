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


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 in hardware: a CUDA GPU that supports it, or a CPU with
    AVX512-BF16 or AMX (elsewhere bf16 autocast emulates the format and runs slower than float32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu's own CPU probes
        return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    return False


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
