"""The training loop you can read: one weight update (:func:`one_batch`) and one epoch of them
(:func:`one_epoch`). The Trainer wraps resuming, several processes, validation and checkpoints
around these two; the studies time :func:`one_batch` to give methods equal training time; lesson
04 runs it by hand.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..data.patches import make_batch
from ..device import native_bf16
from ..engine import switch
from .config import TrainConfig
from .losses import multiscale_loss
from .schedule import set_learning_rate


def one_batch(
    network: nn.Module,
    optimizer: torch.optim.Optimizer,
    hr: torch.Tensor,
    config: TrainConfig,
    autocast: AbstractContextManager = nullcontext(),
) -> torch.Tensor:
    """One weight update on a batch of HR patches; returns the loss (detached, still on the device)."""
    lr_image, targets = make_batch(hr.to(next(network.parameters()).device, non_blocking=True), config.scale)
    lr_image = lr_image.contiguous(memory_format=torch.channels_last)  # the layout oneDNN and cuDNN convolve in
    with autocast:
        outputs = network(lr_image)  # one image per pyramid level, coarse to fine
    targets = targets[-len(outputs) :]  # a network without intermediate levels is scored on its finest output
    loss = multiscale_loss([o.float() for o in outputs], targets, config.loss, config.reduction)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip > 0:
        nn.utils.clip_grad_norm_([p for group in optimizer.param_groups for p in group["params"]], config.grad_clip)
    optimizer.step()
    return loss.detach()


class NonFiniteLoss(ArithmeticError):
    """The loss became NaN or infinite at ``iteration`` (counted from 1)."""

    def __init__(self, value: float, iteration: int) -> None:
        super().__init__(f"the loss became {value} at iteration {iteration}")
        self.value, self.iteration = value, iteration


@dataclass
class EpochTotals:
    """What one epoch did: its mean loss, its last learning rate, and where its time went."""

    loss: float
    lr: float
    data_seconds: float  # waiting for the next batch
    compute_seconds: float  # forward, backward and the update


def one_epoch(
    network: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Iterator[torch.Tensor],
    config: TrainConfig,
    first_iteration: int,
    autocast: AbstractContextManager = nullcontext(),
    processes: int = 1,
    after_each: Callable[[], None] = lambda: None,
) -> EpochTotals:
    """``config.iterations_per_epoch`` weight updates (:func:`one_batch`) from ``first_iteration``
    on, the learning rate set for each from the schedule. With several ``processes`` the loss
    counted is their mean. Reading each loss waits for the device, so a NaN stops training at once
    (:class:`NonFiniteLoss`), before it reaches a checkpoint."""
    loss_sum = data_seconds = compute_seconds = 0.0
    for i in range(config.iterations_per_epoch):
        tick = time.perf_counter()
        hr = next(batches)
        fetched = time.perf_counter()
        lr = set_learning_rate(optimizer, config, first_iteration + i)
        loss = one_batch(network, optimizer, hr, config, autocast)
        if processes > 1:
            dist.all_reduce(loss)
            loss /= processes
        value = float(loss)
        data_seconds, compute_seconds = data_seconds + fetched - tick, compute_seconds + time.perf_counter() - fetched
        if not math.isfinite(value):
            raise NonFiniteLoss(value, first_iteration + i + 1)
        loss_sum += value
        after_each()
    return EpochTotals(loss_sum / config.iterations_per_epoch, lr, data_seconds, compute_seconds)


def training_network(model: nn.Module, config: TrainConfig, device: torch.device) -> nn.Module:
    """What :func:`one_batch` runs for ``model`` under ``config.engine`` on ``device``
    (:func:`lapsrn_edu.engine.switch.training_network` decides)."""
    return switch.training_network(model, config.engine, device)


def autocast_for(config: TrainConfig, device: torch.device) -> AbstractContextManager:
    """bf16 autocast where the config asks for it (``auto``: on a CUDA GPU that supports it;
    ``native``: on any device that computes bf16 in hardware, CPUs with AVX512-BF16 or AMX too)."""
    wanted = {"bf16": True, "native": native_bf16(device), "auto": device.type == "cuda" and native_bf16(device)}
    if wanted.get(config.amp, False):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()
