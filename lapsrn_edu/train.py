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

import gc
import json
import math
import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterator, get_type_hints

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from .engine.allocator import reused_memory
from .checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from .datasets import Image, has_dataset, load_dataset
from .device import resolve_device
from .evaluate import evaluate
from .engine.switch import use_engine
from .engine.training import for_training
from .losses import multiscale_loss
from .engine.gpu_patches import device_batches
from .models import LapSRN, LapSRNConfig
from .patches import (
    Augmentation,
    BatchIndices,
    PatchDataset,
    check_patch_size,
    load_luma_images,
    make_batch,
    read_item,
    training_items,
)

EMBEDDED_VALIDATION = ("camera",)  # held out of the embedded training images, used to validate
MODEL_FIELDS = ("scale", "depth", "channels", "upsampler")


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


def option(default: Any, help: str) -> Any:
    """A TrainConfig field with its one-line explanation (shown by ``lapsrn-edu train --help``)."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on. Every field can be overridden: ``recipe(name, **kw)``
    in Python, ``--field-name VALUE`` on the command line (the flags are made from these fields)."""

    recipe: str = option("custom", "the recipe this configuration started from (quick, paper, ...)")
    # model
    scale: int = option(4, "upsampling factor: 2, 4 or 8 (log2(scale) pyramid levels)")
    depth: int = option(10, "3x3 convolutions per pyramid level")
    channels: int = option(64, "feature maps per convolution")
    upsampler: str = option("released", "feature upsampler: released (3x3, as the official weights) or paper (4x4)")
    # data
    train_data: str = option("auto", "auto (T91 + BSDS200 when present, else embedded), a dataset name, a folder, or embedded")
    data_root: str | None = option(None, "data folder (default: $LAPSRN_EDU_DATA, else the repo's data/)")
    patch_size: int = option(128, "side of a high-resolution training patch, in pixels")
    batch_size: int = option(64, "patches per iteration (global: split across processes)")
    scale_range: tuple[float, float] = option((0.5, 1.0), "augmentation: random down-scaling of the image, min,max")
    rotate: bool = option(True, "augmentation: random rotation by 90, 180 or 270 degrees")
    flip: bool = option(True, "augmentation: random horizontal flip")
    workers: int = option(1, "DataLoader worker processes that cut patches (0 = in the training process)")
    patches_on: str = option("auto", "where patches are cut: auto (device on a CUDA GPU, else cpu), cpu (by the workers) or device (on the training device, from images kept there; the workers only draw where each patch comes from)")
    # loss
    loss: str = option("charbonnier", "charbonnier, l1 or l2, at every pyramid level")
    reduction: str = option("paper", "paper (sum over pixels, mean over the batch), mean or sum")
    # optimiser
    optimizer: str = option("sgd", "sgd (momentum) or adam")
    lr: float = option(1e-5, "base learning rate")
    momentum: float = option(0.9, "SGD momentum")
    weight_decay: float = option(1e-4, "L2 weight decay")
    bias_lr_mult: float = option(0.1, "biases learn at lr times this")
    grad_clip: float = option(0.0, "largest gradient norm allowed (0 = no clipping)")
    # schedule
    epochs: int = option(200, "number of epochs; validation and a checkpoint after each")
    iterations_per_epoch: int = option(1000, "weight updates per epoch")
    lr_schedule: str = option("step", "step (x lr_gamma every lr_step_epochs), cosine (to lr_min) or constant")
    lr_step_epochs: int = option(50, "step schedule: epochs between two decays")
    lr_gamma: float = option(0.5, "step schedule: factor of each decay")
    lr_min: float = option(1e-6, "the learning rate never goes below this (the end of the cosine)")
    # validation
    val_data: str = option("auto", "monitor set scored after each epoch: auto (Set5 when present, else an embedded image), none, a name or a folder")
    holdout: int = option(0, "training images set aside to select best.pt fairly (0 = none)")
    # run
    seed: int = option(0, "seed of the initial weights and of every patch")
    device: str = option("auto", "auto, cpu, cuda or mps")
    amp: str = option("auto", "auto (bf16 autocast on CUDA), bf16 or off")
    engine: str = option("auto", "auto (the training engine on the CPU for an unedited model, else the model's own code), reference or fast")
    threads: int = option(0, "CPU threads for torch (0 = torch's default)")
    out: str = option("runs/train", "run folder: last.pt, best.pt, history.json")
    resume: str | None = option(None, "a checkpoint to continue from exactly")

    def __post_init__(self) -> None:
        LapSRNConfig(scale=self.scale, depth=self.depth, channels=self.channels, upsampler=self.upsampler)
        check_patch_size(self.scale, self.patch_size)
        Augmentation(tuple(self.scale_range), self.rotate, self.flip)
        choices = {
            "optimizer": ("sgd", "adam"),
            "lr_schedule": ("step", "cosine", "constant"),
            "amp": ("auto", "bf16", "off"),
            "reduction": ("paper", "mean", "sum"),
            "loss": ("charbonnier", "l1", "l2"),
            "patches_on": ("auto", "cpu", "device"),
            "engine": ("auto", "reference", "fast"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("batch_size", "epochs", "iterations_per_epoch", "lr_step_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.workers < 0 or self.holdout < 0 or self.threads < 0:
            raise ValueError("lr must be positive; workers, holdout and threads must not be negative")

    @property
    def total_iterations(self) -> int:
        return self.epochs * self.iterations_per_epoch

    def model_config(self) -> LapSRNConfig:
        return LapSRNConfig(scale=self.scale, depth=self.depth, channels=self.channels, upsampler=self.upsampler)


def paper_recipe() -> TrainConfig:
    """The paper's recipe (CVPR 2017 section 3.3; docs/paper.md#training): SGD with momentum 0.9 and
    weight decay 1e-4, lr 1e-5 halved every 50 epochs of 1,000 iterations (floor 1e-6, as in the
    released code), biases at lr x0.1, 64 patches of 128 px per batch, Charbonnier summed over
    pixels and averaged over the batch, depth 10 (the released x2/x4 models; pass ``depth=5`` for
    x8 as released). The paper trains until the learning rate reaches 1e-6 (section 4.2), which
    the halving reaches at epoch 200: 200 epochs here."""
    return TrainConfig(recipe="paper")


def quick_recipe() -> TrainConfig:
    """A laptop recipe, tuned to reach a good x4 Set5 score in minutes on a 2-core CPU.

    - depth 5 per level, 64 channels: half the convolutions of the paper's model; on a CPU the
      number of weight updates per minute matters more than capacity in the first hour.
    - 64 px patches, batch 16: at x4 a 64 px patch is a 16 px LR input, about the receptive field
      of a depth-5 level, at a quarter of the cost of a 128 px patch; small batches give more
      updates per minute (the data pipeline takes about 1% of the time at this size).
    - Adam, lr 1e-3, no weight decay, biases at the full lr: SGD at the paper's 1e-5 needs
      hundreds of thousands of iterations; Adam's per-weight step sizes move within hundreds.
    - cosine decay to 1e-5 over the run: the last epochs fine-tune at a small learning rate.
    - 30 epochs of 100 iterations (48,000 patches): validation about every minute on a CPU gives
      the PSNR-versus-time curve; pass ``epochs`` to fit the time you have.
    Measured on a 2-core Xeon (no other job running, 2 threads, 1 worker, ~137 patches/s),
    ``lapsrn-edu train --config quick --scale 4``: Set5 x4 30.09 dB after 0.9 minutes, 30.53
    after 1.8, 30.81 after 4.0 and 30.88 at the end (6.1 minutes with validation, 3,000
    iterations); bicubic gives 28.43, SRCNN 30.49.
    """
    return TrainConfig(
        recipe="quick",
        depth=5,
        channels=64,
        patch_size=64,
        batch_size=16,
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        bias_lr_mult=1.0,
        epochs=30,
        iterations_per_epoch=100,
        lr_schedule="cosine",
        lr_min=1e-5,
    )


def gpu_recipe() -> TrainConfig:
    """The paper's network and data, trained in minutes on one current GPU (H100/H200 class).

    - the paper's model and data: depth 10 per level, 64 channels, 128 px patches of the 291
      images, the paper's augmentation (zoom-out 0.5-1, turns, flips) and its Charbonnier loss;
      what changes is only how the weights are optimised.
    - Adam, lr 5e-4, no weight decay, biases at the full lr, cosine decay to 1e-6: as ``quick``,
      Adam's per-weight steps converge in thousands of iterations where the paper's SGD at 1e-5
      takes hundreds of thousands; 5e-4 rather than ``quick``'s 1e-3 for a network twice as deep.
    - batch 256: the trainer waits for every step's loss (to stop on NaN), so the GPU idles for
      the launch of the next step; a large batch makes that pause a small part of a step. It is
      the paper's batch times four: fewer, less noisy steps.
    - bf16 autocast and channels_last (``amp=auto`` on CUDA): the convolutions run on the tensor
      cores in bf16, the loss and the weights stay float32.
    - patches cut on the GPU (``patches_on=device``; ``auto`` does the same on any CUDA run,
      :mod:`lapsrn_edu.engine.gpu_patches`): the same
      patches as the CPU path, but the two workers only draw where each patch comes from, so the
      GPU does not wait for the CPU however few cores the machine has.
    - 15 epochs of 1,000 iterations (3.84 M patches, 30% of the paper's 12.8 M): minutes on an
      H100/H200-class GPU (the README gives the measured rate and curve); ``tools/gpu_check.py``
      measures the rate and sets the epochs to fit the minutes it has. Validation on Set5 after
      each epoch gives the PSNR-against-minutes curve.
    """
    return TrainConfig(
        recipe="gpu",
        depth=10,
        channels=64,
        patch_size=128,
        batch_size=256,
        optimizer="adam",
        lr=5e-4,
        weight_decay=0.0,
        bias_lr_mult=1.0,
        epochs=15,
        iterations_per_epoch=1000,
        lr_schedule="cosine",
        lr_min=1e-6,
        workers=2,
        patches_on="device",
    )


RECIPES: dict[str, TrainConfig] = {"quick": quick_recipe(), "paper": paper_recipe(), "gpu": gpu_recipe()}


def recipe(name: str, **overrides: Any) -> TrainConfig:
    """A named recipe with fields overridden, e.g. ``recipe("quick", scale=2, epochs=10)``."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return with_overrides(RECIPES[name], **overrides)


def with_overrides(config: TrainConfig, **overrides: Any) -> TrainConfig:
    """``config`` with some fields replaced; an unknown field name is a clear error."""
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown training option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return replace(config, **overrides)


def parse_value(key: str, raw: str) -> Any:
    """A TrainConfig field's value from text (a command-line flag), converted to the field's type."""
    hints = get_type_hints(TrainConfig)
    if key not in hints:
        raise ValueError(f"unknown training option {key!r}; known: {', '.join(sorted(hints))}")
    hint, raw = str(hints[key]), raw.strip()
    try:
        if "None" in hint and raw.lower() in ("none", ""):
            return None
        if hint.startswith("tuple"):
            return tuple(float(v) for v in raw.split(","))
        if "bool" in hint:
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("true", "1", "yes")
        if "int" in hint:
            return int(raw)
        if "float" in hint:
            return float(raw)
    except ValueError:
        raise ValueError(f"{key}: cannot read {raw!r} as {hint}") from None
    return raw


def learning_rate(config: TrainConfig, iteration: int) -> float:
    """The base learning rate at an iteration (biases get ``bias_lr_mult`` times it)."""
    if config.lr_schedule == "constant":
        return config.lr
    if config.lr_schedule == "cosine":
        progress = min(iteration / config.total_iterations, 1.0)
        return config.lr_min + (config.lr - config.lr_min) * 0.5 * (1 + math.cos(math.pi * progress))
    epoch = iteration // config.iterations_per_epoch
    return max(config.lr * config.lr_gamma ** (epoch // config.lr_step_epochs), min(config.lr_min, config.lr))


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD or Adam with two parameter groups: weights (lr x1) and biases (lr x ``bias_lr_mult``)."""
    named = list(model.named_parameters())
    groups = [
        {"params": [p for n, p in named if not n.endswith("bias")], "lr_mult": 1.0},
        {"params": [p for n, p in named if n.endswith("bias")], "lr_mult": config.bias_lr_mult},
    ]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay)


@dataclass
class EpochRecord:
    """One epoch's numbers. Seconds are cumulative over the run (resumes included): ``train_seconds``
    counts data loading and compute only, ``elapsed_seconds`` validation and checkpoints too."""

    epoch: int
    iteration: int
    loss: float
    lr: float
    patches_per_second: float
    data_seconds: float
    compute_seconds: float
    train_seconds: float
    elapsed_seconds: float
    val_psnr: float | None = None
    holdout_psnr: float | None = None


@dataclass
class History:
    """A run's record, saved as ``history.json`` in the run folder after every epoch."""

    config: dict[str, Any]
    val_dataset: str = ""
    epochs: list[EpochRecord] = field(default_factory=list)
    status: str = "running"

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        return cls(data["config"], data.get("val_dataset", ""), [EpochRecord(**e) for e in data["epochs"]], data["status"])

    @classmethod
    def load(cls, path: str | Path) -> History:
        return cls.from_dict(json.loads(Path(path).read_text()))


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


def patches_on_device(config: TrainConfig, device: torch.device) -> bool:
    """Whether patches are cut on the training device. ``auto`` does so on a CUDA GPU: one worker
    cutting 128 px patches on the CPU feeds an H200 a quarter of what it can train on (measured:
    the paper recipe at 24% GPU utilisation, 57% of its time waiting for data)."""
    return config.patches_on == "device" or (config.patches_on == "auto" and device.type == "cuda")


def validation_images(config: TrainConfig) -> tuple[str, list[Image]]:
    """The monitor set: ``val_data``, or for "auto" Set5 when present, else the embedded split."""
    if config.val_data == "none":
        return "", []
    if config.val_data == "auto":
        if has_dataset("set5", config.data_root):
            return "set5", load_dataset("set5", config.data_root)
        return "embedded:" + ",".join(EMBEDDED_VALIDATION), [read_item(i) for i in training_items("embedded") if i.name in EMBEDDED_VALIDATION]
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
        self.model = model if model is not None else LapSRN(config.model_config())
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
            raise CheckpointError(f"{path}: not a training checkpoint (no config, optimiser state or iteration); cannot resume")
        different = {k: (saved.get(k), getattr(self.config, k)) for k in MODEL_FIELDS if saved.get(k) != getattr(self.config, k)}
        if different:
            what = ", ".join(f"{k}={a!r} in the checkpoint but {b!r} now" for k, (a, b) in different.items())
            raise CheckpointError(f"{path}: checkpoint does not match this configuration ({what})")
        if saved.get("optimizer") != self.config.optimizer:
            raise CheckpointError(f"{path}: optimiser {saved.get('optimizer')!r} in the checkpoint, {self.config.optimizer!r} now")
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{path}: weights or optimiser state do not fit this model ({exc})") from exc
        self.iteration = int(state["iteration"])
        history = History.from_dict(state["history"])
        self.history = History(asdict(self.config), history.val_dataset, history.epochs)
        self.best_psnr = float(state.get("best_psnr", -math.inf))
        if self.iteration % self.config.iterations_per_epoch:
            raise CheckpointError(f"{path}: iteration {self.iteration} is not at an epoch boundary of {self.config.iterations_per_epoch}")

    # --- one run: join the processes, place the model, train epoch by epoch, leave -------------------

    def run(self) -> History:
        """Train from the current epoch to the last one. A ``torchrun`` job's process group is
        joined here and left at the end; CPU threads are restored afterwards."""
        threads = torch.get_num_threads()
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        self.processes = join_processes(self.device.type)
        finished = False
        try:
            self._place()
            with reused_memory():
                history = self._run()
            finished = True
            return history
        finally:
            torch.set_num_threads(threads)
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
        self.model.to(self.device, memory_format=torch.channels_last)
        self.optimizer.load_state_dict(self.optimizer.state_dict())  # moves the optimiser state beside the weights
        engine = use_engine(self.model, self.config.engine, "training")  # checks the model on every device
        self.network = for_training(self.model) if engine and self.device.type == "cpu" else self.model
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
        bar = tqdm(total=config.total_iterations, initial=self.iteration, disable=not (self.progress and main),
                   desc=f"train x{config.scale}", dynamic_ncols=True)
        try:
            for epoch in range(self.iteration // config.iterations_per_epoch + 1, config.epochs + 1):
                record = self._train_epoch(epoch, batches, bar)
                if main:
                    record.elapsed_seconds = elapsed_before + time.perf_counter() - started
                    self._end_epoch(record, monitor, heldout)
                    bar.set_postfix(loss=f"{record.loss:.4g}", lr=f"{record.lr:.2e}", pps=f"{record.patches_per_second:.0f}",
                                    psnr=_fmt(record.val_psnr))
        finally:
            bar.close()
        self.history.status = "completed"
        if main and self.history.epochs:
            self.history.save(self.out / "history.json")
        return self.history

    def _train_epoch(self, epoch: int, batches: Iterator[torch.Tensor], bar: tqdm) -> EpochRecord:
        """``iterations_per_epoch`` weight updates; the epoch's mean loss and where its time went."""
        config = self.config
        self.model.train()
        loss_sum, data_s, compute_s = 0.0, 0.0, 0.0
        for _ in range(config.iterations_per_epoch):
            tick = time.perf_counter()
            hr = next(batches)
            fetched = time.perf_counter()
            base_lr = self._set_lr()
            value = float(self._step(hr))
            data_s, compute_s = data_s + fetched - tick, compute_s + time.perf_counter() - fetched
            if not math.isfinite(value):
                self._diverged(value, bar)
            loss_sum += value
            self.iteration += 1
            bar.update(1)
        seconds = data_s + compute_s
        return EpochRecord(
            epoch=epoch,
            iteration=self.iteration,
            loss=loss_sum / config.iterations_per_epoch,
            lr=base_lr,
            patches_per_second=config.iterations_per_epoch * config.batch_size / seconds,
            data_seconds=data_s,
            compute_seconds=compute_s,
            train_seconds=self._last("train_seconds") + seconds,
            elapsed_seconds=0.0,
        )

    def _last(self, name: str) -> float:
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
            raise ValueError(f"holdout={config.holdout} leaves no training image out of {len(items)}")
        order = np.random.default_rng(config.seed).permutation(len(items))
        held = {int(i) for i in order[: config.holdout]}
        heldout = [read_item(items[i]) for i in sorted(held)]
        images = load_luma_images([item for i, item in enumerate(items) if i not in held])
        augmentation = Augmentation(tuple(config.scale_range), config.rotate, config.flip)
        dataset = PatchDataset(images, config.patch_size, augmentation, seed=config.seed)
        sampler = BatchIndices(self.iteration, config.total_iterations, config.batch_size, self.processes.rank, self.processes.world_size)
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

    def _step(self, hr: torch.Tensor) -> torch.Tensor:
        lr_image, targets = make_batch(hr.to(self.device, non_blocking=True), self.config.scale)
        lr_image = lr_image.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            outputs = self.network(lr_image)
        targets = targets[-len(outputs) :]  # a network without intermediate levels is scored on the finest
        loss = multiscale_loss([o.float() for o in outputs], targets, self.config.loss, self.config.reduction)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        loss = loss.detach()
        if self.processes.world_size > 1:
            dist.all_reduce(loss)
            loss /= self.processes.world_size
        return loss

    def _autocast(self) -> torch.autocast | nullcontext:
        """bf16 autocast where the config asks for it (``auto``: on a CUDA GPU that supports it)."""
        amp, kind = self.config.amp, self.device.type
        if amp == "bf16" or (amp == "auto" and kind == "cuda" and torch.cuda.is_bf16_supported()):
            return torch.autocast(kind, dtype=torch.bfloat16)
        return nullcontext()

    def _set_lr(self) -> float:
        base = learning_rate(self.config, self.iteration)
        for group in self.optimizer.param_groups:
            group["lr"] = base * group["lr_mult"]
        return base

    def _validate(self, images: list[Image]) -> float | None:
        if not images:
            return None
        return evaluate(self.model, images, self.config.scale, device=self.device, progress=False).psnr

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

    def _diverged(self, value: float, bar: tqdm) -> None:
        bar.close()
        last = self.out / "last.pt"
        kept = f"the last good checkpoint {last} is kept" if last.is_file() else "no checkpoint was written yet"
        self.history.status = f"diverged: loss {value} at iteration {self.iteration + 1}"
        if self.processes.is_main and self.out.is_dir():
            self.history.save(self.out / "history.json")
        raise TrainingDivergedError(
            f"training stopped: the loss became {value} at iteration {self.iteration + 1}; {kept}. "
            f"Lower the learning rate (lr={self.config.lr:g}) or set grad_clip, then resume from the last checkpoint."
        )


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
    saved = {k: v for k, v in saved.items() if k in {f.name for f in fields(TrainConfig)}}
    saved["scale_range"] = tuple(saved.get("scale_range", (0.5, 1.0)))
    return with_overrides(TrainConfig(**saved), **{**overrides, "resume": str(path)})

