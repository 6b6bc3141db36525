"""How fast does training run on this machine, and how close to the hardware? Measured in one run:

1. the peak: dense 3x3 convolutions, 64 -> 64 channels, forward + backward, the layer LapSRN is
   made of, in GFLOP/s (the best of a few sizes);
2. for each recipe (quick, paper), real training iterations through the real loop
   (:class:`lapsrn_edu.train.Trainer` on the training images): patches/s, the time split between
   waiting for data and compute, and the fraction of the peak it reaches. FLOPs per patch are
   counted by :mod:`lapsrn_edu.flops` on the forward pass; a training step costs about three
   forwards (backward = gradients for the inputs and for the weights);
3. the cost of making one patch (crop, augmentation, LR and level targets), measured alone.

Usage: python benchmarks/bench_train.py [--scale 4] [--quick-iterations 30] [--paper-iterations 2]
       [--threads N] [--workers N]
"""

from __future__ import annotations

import argparse
import warnings
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from lapsrn_edu.flops import count_macs  # noqa: E402
from lapsrn_edu.models import LapSRN, levels_for_scale  # noqa: E402
from lapsrn_edu.patches import Augmentation, PatchDataset, load_luma_images, make_batch, training_items  # noqa: E402
from lapsrn_edu.datasets import has_dataset  # noqa: E402
from lapsrn_edu.train import Trainer, recipe  # noqa: E402

STEP_COST = 3  # forward + backward (input gradients + weight gradients) in forward-pass units


def conv_peak_gflops(repeats: int = 3) -> float:
    """Best GFLOP/s of a 3x3 64->64 conv, forward + backward, over a few batch shapes."""
    conv = nn.Conv2d(64, 64, 3, padding=1)
    best = 0.0
    for batch, side in ((16, 32), (16, 64), (4, 128)):
        x = torch.randn(batch, 64, side, side, requires_grad=True)
        flops = 2 * STEP_COST * batch * side * side * 64 * 64 * 9
        for k in range(repeats + 1):
            start = time.perf_counter()
            conv(x).sum().backward()
            elapsed = time.perf_counter() - start
            if k:  # the first call warms up
                best = max(best, flops / elapsed / 1e9)
    return best


def training_flops_per_patch(config) -> float:
    model = LapSRN(config.model_config())
    lr = torch.zeros(1, 1, config.patch_size // config.scale, config.patch_size // config.scale)
    return 2 * STEP_COST * count_macs(model, lr, levels_for_scale(config.scale))


def patch_cost_ms(config, source: str, samples: int = 64) -> float:
    """Milliseconds per patch to crop, augment and make LR and targets, in this process."""
    images = load_luma_images(training_items(source))
    dataset = PatchDataset(images, config.patch_size, Augmentation(tuple(config.scale_range)), seed=1)
    start = time.perf_counter()
    batch = torch.stack([dataset[i] for i in range(samples)])
    make_batch(batch, config.scale)
    return (time.perf_counter() - start) / samples * 1e3


def measure(name: str, scale: int, iterations: int, workers: int, threads: int, peak: float, source: str) -> None:
    with tempfile.TemporaryDirectory() as out:
        config = recipe(name, scale=scale, epochs=1, iterations_per_epoch=iterations, val_data="none",
                        train_data=source, workers=workers, threads=threads, out=out)
        history = Trainer(config, progress=False).run()
    record = history.epochs[-1]
    flops = training_flops_per_patch(config)
    achieved = record.patches_per_second * flops / 1e9
    total = record.data_seconds + record.compute_seconds
    print(
        f"{name:6s} x{scale}: depth {config.depth}, {config.patch_size} px, batch {config.batch_size}, "
        f"{iterations} iterations, {workers} workers\n"
        f"        {record.patches_per_second:8.1f} patches/s   {flops / 1e9:.2f} GFLOP per patch (training step)   "
        f"{achieved:.1f} GFLOP/s = {achieved / peak:.0%} of the measured conv peak\n"
        f"        time: data {record.data_seconds / total:.0%} / compute {record.compute_seconds / total:.0%}   "
        f"making one patch alone: {patch_cost_ms(config, source):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--quick-iterations", type=int, default=30)
    parser.add_argument("--paper-iterations", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch's default)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="skipping")  # images smaller than a 128 px patch
    if args.threads:
        torch.set_num_threads(args.threads)
    source = "train" if has_dataset("train") else "embedded"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, load average {load:.2f}, data: {source}")
    peak = conv_peak_gflops()
    print(f"peak: 3x3 conv 64->64, forward + backward: {peak:.1f} GFLOP/s")
    measure("quick", args.scale, args.quick_iterations, args.workers, args.threads, peak, source)
    measure("paper", args.scale, args.paper_iterations, args.workers, args.threads, peak, source)


if __name__ == "__main__":
    main()
