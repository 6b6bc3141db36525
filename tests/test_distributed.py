"""Several processes through ``torchrun`` (DistributedDataParallel on gloo): the ranks stay in step."""

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

from lapsrn_edu.models import LapSRN

REPO = Path(__file__).resolve().parent.parent

RANK_SCRIPT = textwrap.dedent(
    """
    import gc
    import sys
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from lapsrn_edu.training.config import recipe
    from lapsrn_edu.training.trainer import Trainer

    destroy = dist.destroy_process_group
    def destroy_once_ddp_is_gone(*args, **kwargs):
        # if DDP's reducer drops gloo's last reference, gloo's destructor can deadlock (train.leave_processes)
        assert not any(isinstance(o, DistributedDataParallel) for o in gc.get_objects()), (
            "the DDP wrapper outlived its group"
        )
        return destroy(*args, **kwargs)
    dist.destroy_process_group = destroy_once_ddp_is_gone

    out = sys.argv[1]
    config = recipe("quick", train_data="embedded", val_data="none", depth=1, channels=8, patch_size=16,
                    batch_size=4, epochs=2, iterations_per_epoch=3, workers=0, device="cpu", threads=1, out=out)
    trainer = Trainer(config, progress=False)
    assert trainer.processes.world_size == 1  # the process group is joined by run(), not before
    trainer.run()
    rank = trainer.processes.rank
    assert trainer.processes.world_size == 2 and not dist.is_initialized()  # and left at its end
    torch.save(trainer.model.state_dict(), f"{out}/rank{rank}.pt")
    """
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def loopback_interface() -> str:
    """The name of the loopback network interface (``lo`` on Linux, ``lo0`` on macOS)."""
    names = [name for _, name in socket.if_nameindex()]
    return next((n for n in ("lo", "lo0") if n in names), names[0] if names else "lo")


def test_two_gloo_processes_end_with_identical_weights(tmp_path: Path) -> None:
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    # Both ranks live on this machine: the store and gloo talk over loopback, whatever the host
    # name resolves to (--standalone hands the workers this host's name as MASTER_ADDR, and a
    # sandbox can resolve it to an address that processes cannot connect through).
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": loopback_interface()}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "1",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(free_port()),
        str(script),
        str(tmp_path),
    ]
    try:
        result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired as exc:
        said = [
            text.decode(errors="replace") if isinstance(text, bytes) else text or ""
            for text in (exc.stdout, exc.stderr)
        ]
        raise AssertionError(
            f"torchrun did not finish in {exc.timeout} s; it printed:\n{said[0][-2000:]}\n{said[1][-4000:]}"
        ) from None
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    saved = torch.load(tmp_path / "last.pt", weights_only=True)  # a DDP run's checkpoint needs nothing else either
    assert saved["iteration"] == 6 and all(torch.equal(saved["model"][k], rank0[k]) for k in rank0)
    torch.manual_seed(0)
    initial = LapSRN(scale=4, depth=1, channels=8).state_dict()
    assert not all(torch.equal(initial[k], rank0[k]) for k in initial), "the weights never moved"
