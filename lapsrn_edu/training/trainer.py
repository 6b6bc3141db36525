"""Train LapSRN: named recipes, on-the-fly patches, exact resume, several processes, guard rails.

``train(recipe("quick", scale=4))`` in Python, ``lapsrn-edu train --config quick --scale 4`` on the
command line. A run writes to its ``out`` folder:

- ``last.pt``: the checkpoint after the latest epoch (model, optimiser, iteration, config, history).
  It is what a run reports: the models in ``data/models`` are last checkpoints.
- ``best.pt``: the epoch with the best validation PSNR. Its ``selected_on`` entry says on what:
  images held out from the training set (``holdout > 0``, a fair selection), or the monitor set
  (a test set such as Set5: monitor-only, never a model to report).
- ``history.json``: loss, learning rate, patches/s, time split and validation PSNR per epoch.

Exact resume: patches are a function of (seed, sample index) and the learning rate a function of
the iteration, so a checkpoint only needs the weights, the optimiser state and the iteration; a
run stopped and resumed ends with the same weights as one run straight through.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn, cast

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..data.datasets import Image, has_dataset, load_dataset
from ..data.patches import Augmentation, BatchIndices, PatchDataset, load_luma_images, read_item, training_items
from ..device import cpu_threads, resolve_device
from ..engine.allocator import reused_memory
from ..engine.gpu_patches import device_batches
from ..errors import OptionError, UserError
from ..evaluation.evaluate import evaluate
from ..models.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from .config import MODEL_FIELDS, TrainConfig, config_from_dict, with_overrides
from .history import EpochRecord, History
from .loop import NonFiniteLoss, autocast_for, one_epoch, training_network
from .processes import Processes, join_processes, leave_processes
from .schedule import make_optimizer

EMBEDDED_VALIDATION = ("camera",)  # held out of the embedded training images, used to validate
EMBEDDED_SPLIT = "embedded:" + ",".join(EMBEDDED_VALIDATION)  # the monitor set's name (also a val_data value)


class TrainingDivergedError(UserError, RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


def patches_on_device(config: TrainConfig, device: torch.device) -> bool:
    """Whether patches are cut on the training device. ``auto`` does so on a CUDA GPU: a worker
    cutting 128 px patches on the CPU cannot keep a current GPU busy (docs/models.md, the `gpu` recipe)."""
    return config.patches_on == "device" or (config.patches_on == "auto" and device.type == "cuda")


def validation_images(config: TrainConfig) -> tuple[str, list[Image]]:
    """The monitor set: ``val_data``, or for "auto" Set5 when present, else the embedded split
    (:data:`EMBEDDED_SPLIT`, which ``val_data`` may also name)."""
    if config.val_data == "none":
        return "", []
    if config.val_data == "auto" and has_dataset("set5", config.data_root):
        return "set5", load_dataset("set5", config.data_root)
    if config.val_data in ("auto", EMBEDDED_SPLIT):
        return EMBEDDED_SPLIT, [read_item(i) for i in training_items("embedded") if i.name in EMBEDDED_VALIDATION]
    return config.val_data, load_dataset(config.val_data, config.data_root)


class Trainer:
    """One training run. ``Trainer(config).run()`` is :func:`train`; ``trainer.model`` is the network.

    ``model`` replaces the LapSRN that ``config`` describes (the studies train ablation variants
    and other architectures this way); every level it outputs is supervised, so a network without
    intermediate levels learns its single, finest output."""

    def __init__(self, config: TrainConfig, progress: bool = True, model: nn.Module | None = None) -> None:
        self.config = config
        self.progress = progress
        self.device = resolve_device(config.device)
        self.out = Path(config.out)
        torch.manual_seed(config.seed)
        self.model = model if model is not None else config.build_model()
        self.optimizer = make_optimizer(self.model, config)
        self.iteration = 0
        self.history = History(asdict(config))
        self.best_psnr = -math.inf
        if config.resume:
            self._resume(config.resume)
        self.processes = Processes()
        self.network: nn.Module = self.model

    def _resume(self, path: str) -> None:
        state = read_checkpoint(path)
        saved = state.get("config")
        if not isinstance(saved, dict) or "optimizer" not in state or "iteration" not in state:
            raise CheckpointError(
                f"{path}: not a training checkpoint (no config, optimiser state or iteration); cannot resume"
            )
        try:
            config_from_dict(saved)
            history = History.from_dict(state["history"])
        except (ValueError, TypeError) as exc:  # what the trainer's own types refuse
            raise CheckpointError(f"{path}: {exc}") from None
        saved = {"arch": "LapSRN", **saved}  # checkpoints from before the arch option trained LapSRN
        different = {
            k: (saved.get(k), getattr(self.config, k))
            for k in ("arch", *MODEL_FIELDS)
            if saved.get(k) != getattr(self.config, k)
        }
        if different:
            what = ", ".join(f"{k}={a!r} in the checkpoint but {b!r} now" for k, (a, b) in different.items())
            raise CheckpointError(f"{path}: checkpoint does not match this configuration ({what})")
        if saved.get("optimizer") != self.config.optimizer:
            raise CheckpointError(
                f"{path}: optimiser {saved.get('optimizer')!r} in the checkpoint, {self.config.optimizer!r} now"
            )
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{path}: weights or optimiser state do not fit this model ({exc})") from exc
        self.iteration = int(state["iteration"])
        self.history = History(asdict(self.config), history.val_dataset, history.epochs, made_with=history.made_with)
        self.best_psnr = float(state.get("best_psnr", -math.inf))
        if self.iteration % self.config.iterations_per_epoch:
            raise CheckpointError(
                f"{path}: iteration {self.iteration} is not at an epoch boundary of {self.config.iterations_per_epoch}"
            )

    # --- one run: join the processes, place the model, train epoch by epoch, leave -------------------

    def run(self) -> History:
        """Train from the current epoch to the last one. A ``torchrun`` job's process group is
        joined here and left at the end; CPU threads are restored afterwards."""
        with cpu_threads(self.config.threads):
            self.processes = join_processes(self.device.type)
            finished = False
            try:
                self._place()
                with reused_memory():
                    history = self._run()
                finished = True
                return history
            finally:
                self.network = self.model
                leave_processes(self.processes, wait_for_others=finished)

    def _place(self) -> None:
        """Move the model (and its optimiser state) to this process's device, channels-last (the
        layout oneDNN and cuDNN convolve in); on the CPU, train through the training engine
        (:func:`for_training`) when the switch finds the model unedited (its gains are measured
        there; on a GPU cuDNN runs the model's own layers); wrap it for DDP."""
        if self.device.type == "cuda" and self.processes.world_size > 1:
            self.device = torch.device("cuda", self.processes.local_rank)
            torch.cuda.set_device(self.device)
        self.model.to(self.device, memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stubs of Module.to omit memory_format
        self.optimizer.load_state_dict(self.optimizer.state_dict())  # moves the optimiser state beside the weights
        self.network = training_network(self.model, self.config, self.device)
        self.autocast = autocast_for(self.config, self.device)  # worked out once per run, as the device and the network
        self.history.made_with.append(
            code_record(
                self.iteration, self.network is not self.model, self.device, self.processes.world_size, self.autocast
            )
        )
        if self.processes.world_size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.network = DistributedDataParallel(self.network, device_ids=ids)

    def _run(self) -> History:
        config, main = self.config, self.processes.is_main
        batches, heldout = self._data()
        val_name, monitor = validation_images(config) if main else ("", [])
        self.history.val_dataset = val_name
        if main:
            self.out.mkdir(parents=True, exist_ok=True)
        started, elapsed_before = time.perf_counter(), self._last("elapsed_seconds")
        cpu_started, cpu_before = time.process_time(), self._last("cpu_seconds")  # None: an older run lacks it
        bar = tqdm(
            total=config.total_iterations,
            initial=self.iteration,
            disable=not (self.progress and main),
            desc=f"train x{config.scale}",
            dynamic_ncols=True,
        )
        try:
            for epoch in range(self.iteration // config.iterations_per_epoch + 1, config.epochs + 1):
                record = self._train_epoch(epoch, batches, bar)
                if main:
                    record.elapsed_seconds = elapsed_before + time.perf_counter() - started
                    record.cpu_seconds = None if cpu_before is None else cpu_before + time.process_time() - cpu_started
                    self._end_epoch(record, monitor, heldout)
                    bar.set_postfix(
                        loss=f"{record.loss:.4g}",
                        lr=f"{record.lr:.2e}",
                        pps=f"{record.patches_per_second:.0f}",
                        psnr=_fmt(record.val_psnr),
                    )
        finally:
            bar.close()
        self.history.status = "completed"
        if main and self.history.epochs:
            self.history.save(self.out / "history.json")
        return self.history

    def _train_epoch(self, epoch: int, batches: Iterator[torch.Tensor], bar: tqdm) -> EpochRecord:
        """One epoch of :func:`one_epoch`, recorded; a NaN loss stops the run with its checkpoint kept."""
        self.model.train()
        try:
            totals = one_epoch(
                self.network,
                self.optimizer,
                batches,
                self.config,
                self.iteration,
                self.autocast,
                self.processes.world_size,
                after_each=lambda: bar.update(1),
            )
        except NonFiniteLoss as exc:
            self._diverged(exc, bar)
        self.iteration += self.config.iterations_per_epoch
        seconds = totals.data_seconds + totals.compute_seconds
        return EpochRecord(
            epoch=epoch,
            iteration=self.iteration,
            loss=totals.loss,
            lr=totals.lr,
            patches_per_second=self.config.iterations_per_epoch * self.config.batch_size / seconds,
            data_seconds=totals.data_seconds,
            compute_seconds=totals.compute_seconds,
            train_seconds=self._last("train_seconds") + seconds,
            elapsed_seconds=0.0,
        )

    def _last(self, name: str) -> Any:
        """A cumulative figure of the latest recorded epoch (0 before the first)."""
        return getattr(self.history.epochs[-1], name) if self.history.epochs else 0.0

    def _data(self) -> tuple[Iterator[torch.Tensor], list[Image]]:
        """The stream of HR patch batches from the current iteration on, and the held-out images."""
        config = self.config
        source = config.train_data
        if source == "auto":
            source = "train" if has_dataset("train", config.data_root) else "embedded"
        items = training_items(source, config.data_root)
        if source == "embedded":
            items = [i for i in items if i.name not in EMBEDDED_VALIDATION]
        if config.holdout >= len(items):
            raise OptionError(f"holdout={config.holdout} leaves no training image out of {len(items)}")
        order = np.random.default_rng(config.seed).permutation(len(items))
        held = {int(i) for i in order[: config.holdout]}
        heldout = [read_item(items[i]) for i in sorted(held)]
        images = load_luma_images([item for i, item in enumerate(items) if i not in held])
        augmentation = Augmentation(cast("tuple[float, float]", tuple(config.scale_range)), config.rotate, config.flip)
        dataset = PatchDataset(images, config.patch_size, augmentation, seed=config.seed)
        sampler = BatchIndices(
            self.iteration, config.total_iterations, config.batch_size, self.processes.rank, self.processes.world_size
        )
        if patches_on_device(config, self.device):
            return device_batches(dataset, sampler, config.workers, self.device), heldout
        loader = DataLoader(
            dataset,
            batch_sampler=sampler,
            num_workers=config.workers,
            pin_memory=self.device.type == "cuda",
            prefetch_factor=4 if config.workers else None,
        )
        return iter(loader), heldout

    def _validate(self, images: list[Image]) -> float | None:
        if not images:
            return None
        return evaluate(
            self.model, images, self.config.scale, device=self.device, progress=False, engine=self.config.engine
        ).psnr

    def _save(self, name: str, **extra: Any) -> None:
        save_checkpoint(
            self.out / name,
            self.model,
            config=asdict(self.config),
            optimizer=self.optimizer.state_dict(),
            iteration=self.iteration,
            history=asdict(self.history),
            best_psnr=self.best_psnr,
            **extra,
        )

    def _end_epoch(self, record: EpochRecord, monitor: list[Image], heldout: list[Image]) -> None:
        """Validate, record, and write the checkpoints and history (rank 0 only)."""
        record.val_psnr = self._validate(monitor)
        record.holdout_psnr = self._validate(heldout)
        self.history.epochs.append(record)
        score, selected_on = (
            (record.holdout_psnr, f"{len(heldout)} images held out of the training set")
            if heldout
            else (record.val_psnr, f"{self.history.val_dataset} (monitor only: never report this checkpoint)")
        )
        if score is not None and score > self.best_psnr:
            self.best_psnr = score
            self._save("best.pt", selected_on=selected_on)
        self._save("last.pt")
        self.history.save(self.out / "history.json")

    def _diverged(self, exc: NonFiniteLoss, bar: tqdm) -> NoReturn:
        bar.close()
        self.iteration = exc.iteration - 1
        last = self.out / "last.pt"
        kept = f"the last good checkpoint {last} is kept" if last.is_file() else "no checkpoint was written yet"
        self.history.status = f"diverged: loss {exc.value} at iteration {exc.iteration}"
        if self.processes.is_main and self.out.is_dir():
            self.history.save(self.out / "history.json")
        raise TrainingDivergedError(
            f"training stopped: {exc}; {kept}. "
            f"Lower the learning rate (lr={self.config.lr:g}) or set grad_clip, then resume from the last checkpoint."
        )


def code_record(iteration: int, engine: bool, device: torch.device, processes: int, autocast: Any) -> dict[str, Any]:
    """What computes a run from ``iteration`` on: the code path, device, threads, number format and versions."""
    from .. import __version__

    return {
        "from_iteration": iteration,
        "network": "training engine" if engine else "model's own code",
        "device": str(device),
        "threads": torch.get_num_threads(),
        "processes": processes,
        "autocast": "bf16" if isinstance(autocast, torch.autocast) else "off",
        "torch": str(torch.__version__),
        "lapsrn_edu": f"{__version__}{f' ({commit})' if (commit := source_commit()) else ''}",
    }


def source_commit() -> str:
    """The git commit of the package's source tree, when it runs from a checkout (empty otherwise)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return ""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _fmt(psnr: float | None) -> str:
    return "-" if psnr is None else f"{psnr:.2f}"


def train(config: TrainConfig, progress: bool = True, model: nn.Module | None = None) -> History:
    """Run a training job (one process, or one rank of ``torchrun``) and return its history;
    ``model`` trains another network (an ablation variant) in place of ``config``'s LapSRN."""
    return Trainer(config, progress, model).run()


def config_from_checkpoint(path: str | Path, **overrides: Any) -> TrainConfig:
    """The configuration a checkpoint was trained with, with overrides and ``resume`` set to it."""
    saved = read_checkpoint(path).get("config")
    if not isinstance(saved, dict):
        raise CheckpointError(f"{path}: not a training checkpoint (no config inside)")
    try:
        config = config_from_dict(saved)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    return with_overrides(config, **{**overrides, "resume": str(path)})
