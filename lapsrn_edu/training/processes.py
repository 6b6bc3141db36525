"""Several training processes (``torchrun``): joining and leaving the process group."""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch.distributed as dist


@dataclass(frozen=True)
class Processes:
    """Where this process sits in a ``torchrun`` job (rank 0 of 1 without one)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def join_processes(device_type: str) -> Processes:
    """Join the process group that ``torchrun``'s environment describes: nccl on CUDA, gloo otherwise."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Processes()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return Processes(dist.get_rank(), dist.get_world_size(), local_rank, owns)


def leave_processes(processes: Processes, wait_for_others: bool) -> None:
    """Leave the process group that :func:`join_processes` joined; call it once the DDP wrapper
    is dropped.

    gloo's destructor joins its worker threads while the caller holds the GIL. If the DDP wrapper
    holds the group's last reference, freeing it runs that destructor while a worker may still be
    releasing a finished collective's tensors, which needs the GIL: the rank hangs for ever (seen
    here under load, as a torchrun rank that never exited). So the wrapper is freed first, while the
    group is still registered; the ranks meet at a barrier, so that no collective is in flight
    (skipped after an error, when the others may never come); then the group is destroyed."""
    if processes.world_size <= 1:
        return
    gc.collect()  # the DDP wrapper and its reducer, if a reference cycle still holds them
    if processes.owns_group:
        if wait_for_others:
            dist.barrier()
        dist.destroy_process_group()
