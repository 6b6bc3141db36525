"""The learning rate at each iteration and the optimiser with its two parameter groups."""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import TrainConfig


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


def set_learning_rate(optimizer: torch.optim.Optimizer, config: TrainConfig, iteration: int) -> float:
    """Set every parameter group's rate for ``iteration`` (its ``lr_mult`` times the base); returns the base."""
    base = learning_rate(config, iteration)
    for group in optimizer.param_groups:
        group["lr"] = base * group["lr_mult"]
    return base
