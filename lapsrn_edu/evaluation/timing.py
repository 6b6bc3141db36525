"""Measured inference time per output megapixel: the runtime axis of the paper's trade-off plots.

FLOPs (:mod:`lapsrn_edu.evaluation.flops`) say how much arithmetic a network needs; the clock says what it
costs on this machine, where memory traffic and layer shapes matter too (a network working at high
resolution moves 16 times more data per layer at x4). Several models are timed side by side, round
by round, so a machine that gets busier half-way slows them all alike.
"""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from .upscale import model_levels

TIMING_INPUT = 96  # LR pixels per side: a 384 x 384 output at x4


@torch.inference_mode()
def ms_per_megapixel(
    models: dict[str, nn.Module], scale: int, size: int = TIMING_INPUT, repeats: int = 5
) -> dict[str, float]:
    """Median milliseconds per million output pixels of each model at ``scale`` on a random
    ``size`` x ``size`` LR image, after one warm-up run; models keep their train/eval mode."""
    lr = torch.rand(1, 1, size, size)
    megapixels = (size * scale) ** 2 / 1e6
    times: dict[str, list[float]] = {name: [] for name in models}
    modes = {name: m.training for name, m in models.items()}
    try:
        for m in models.values():
            m.eval()
        for round_ in range(repeats + 1):
            for name, model in models.items():
                levels = model_levels(model, scale)
                start = time.perf_counter()
                model(lr, levels=levels)
                if round_:  # round 0 warms up allocators and kernels
                    times[name].append(time.perf_counter() - start)
    finally:
        for name, m in models.items():
            m.train(modes[name])
    return {name: 1e3 * statistics.median(t) / megapixels for name, t in times.items()}
