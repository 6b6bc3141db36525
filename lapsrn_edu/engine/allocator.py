"""Keep freed memory for reuse during training (Linux with glibc; elsewhere nothing changes).

glibc's ``malloc`` gives every block larger than a threshold (32 MB at most) back to the kernel
the moment it is freed, and asks for fresh pages the next time. A training step allocates and
frees the same feature maps again and again (67 MB each in the paper's recipe: 64 patches x 64
channels x 64 x 64 pixels), so each step page-faults them in anew and the kernel zero-fills every
page (``benchmarks/README.md`` measures what that costs a training step).
Inside :func:`reused_memory`, large blocks come from the heap and stay there once freed, so the
next step finds them ready; on the way out, the old settings come back and the free heap is
returned to the system (a notebook does not keep the training step's memory after training).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# mallopt parameters (glibc's malloc.h) and their default values
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
DEFAULT_TRIM_THRESHOLD, DEFAULT_MMAP_MAX = 128 * 1024, 65536
NEVER_TRIM = 2**31 - 1  # bytes of free heap top kept before glibc returns it (the int maximum)


def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has ``mallopt`` and ``malloc_trim``), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 (musl and others lack it: leave their malloc alone)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except (OSError, AttributeError):
        return None


_LIBC = _glibc()
_depth = 0  # nested uses (a training inside a study inside a notebook) restore once, at the outermost


def reuses_memory() -> bool:
    """True when :func:`reused_memory` changes anything on this system (glibc's malloc)."""
    return _LIBC is not None


@contextmanager
def reused_memory() -> Iterator[None]:
    """Within the block, freed large blocks stay in the process for the next allocation; after
    it, malloc's defaults are back and the free memory is handed to the system."""
    global _depth
    if _LIBC is None:
        yield
        return
    if _depth == 0:
        _LIBC.mallopt(M_MMAP_MAX, 0)  # large blocks from the heap, not from fresh mappings
        _LIBC.mallopt(M_TRIM_THRESHOLD, NEVER_TRIM)  # and freed ones kept there
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            _LIBC.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
            _LIBC.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
            _LIBC.malloc_trim(0)
