"""How fast does training run on this machine, and how close to the hardware? Measured in one run:

1. the peak: dense 3x3 convolutions, 64 -> 64 channels, forward + backward, the layer LapSRN is
   made of, in GFLOP/s (the best of a few sizes, the recipes' among them; on the CPU the better of
   NCHW and channels-last, on CUDA bf16 and channels-last, as training runs);
2. for each recipe (quick, paper, gpu), real training iterations through the real loop
   (:class:`lapsrn_edu.training.trainer.Trainer` on the training images): patches/s, the time split between
   waiting for data and compute, the fraction of the peak it reaches, and on CUDA the GPU's
   utilisation (NVML: the share of time a kernel was running) while it trained. FLOPs per patch
   are counted by :mod:`lapsrn_edu.evaluation.flops` on the forward pass; a training step costs about three
   forwards (backward = gradients for the inputs and for the weights). The first epoch warms up
   (cuDNN's choices, the workers' start); the second is the one reported;
3. the cost of making one patch, measured alone: on the CPU (crop, augmentation, LR and level
   targets), and cut on the device for recipes with ``patches_on=device``.

A recipe name may end in ``@cpu`` or ``@device`` to say where its patches are cut
(``paper@device``: the paper's recipe with patches cut on the GPU).

Usage: python benchmarks/bench_train.py [--device cpu|cuda] [--recipes quick,paper,gpu] [--scale 4]
       [--iterations N] [--threads N] [--workers N] [--set FIELD=VALUE ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from torch import nn

from lapsrn_edu.data.datasets import has_dataset
from lapsrn_edu.data.patches import Augmentation, PatchDataset, load_luma_images, make_batch, training_items
from lapsrn_edu.engine.allocator import reused_memory
from lapsrn_edu.engine.gpu_patches import DevicePatchCutter, Placements
from lapsrn_edu.evaluation.flops import count_macs
from lapsrn_edu.models import levels_for_scale
from lapsrn_edu.training.config import TrainConfig, parse_value, recipe
from lapsrn_edu.training.trainer import Trainer, patches_on_device

STEP_COST = 3  # forward + backward (input gradients + weight gradients) in forward-pass units
# iterations per epoch when --iterations is not given: a few seconds per recipe on each device
ITERATIONS = {"cpu": {"quick": 30, "paper": 2, "gpu": 2}, "cuda": {"quick": 300, "paper": 100, "gpu": 60}}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def conv_peak_gflops(device: torch.device, repeats: int = 3) -> float:
    """Best GFLOP/s of a 3x3 64->64 conv, forward + backward, over a few batch shapes (those the
    recipes train at among them) and, on the CPU, both memory layouts: the best the machine does
    for the layer, not the layout training happens to use. The output's gradient is made
    beforehand, so only the convolution is timed."""
    cuda = device.type == "cuda"
    shapes = (
        ((256, 64), (64, 128), (1024, 32)) if cuda else ((16, 16), (16, 32), (16, 64), (64, 32), (64, 64), (4, 128))
    )
    layouts = (torch.channels_last,) if cuda else (torch.contiguous_format, torch.channels_last)
    best = 0.0
    with reused_memory():
        for layout in layouts:
            conv = nn.Conv2d(64, 64, 3, padding=1).to(device, memory_format=layout)  # type: ignore[call-overload]  # torch's stubs of Module.to omit memory_format
            for batch, side in shapes:
                x = torch.randn(batch, 64, side, side, device=device).contiguous(memory_format=layout).requires_grad_()
                # in the dtype the conv outputs (bf16 under autocast), so no conversion is timed
                grad = torch.randn(
                    batch, 64, side, side, device=device, dtype=torch.bfloat16 if cuda else torch.float32
                )
                grad = grad.contiguous(memory_format=layout)
                flops = 2 * STEP_COST * batch * side * side * 64 * 64 * 9
                for k in range(repeats + 1):
                    synchronize(device)
                    start = time.perf_counter()
                    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
                        out = conv(x)
                    out.backward(grad)
                    synchronize(device)
                    elapsed = time.perf_counter() - start
                    if k:  # the first call warms up
                        best = max(best, flops / elapsed / 1e9)
    return best


def training_flops_per_patch(config: TrainConfig) -> float:
    model = config.build_model()
    lr = torch.zeros(1, 1, config.patch_size // config.scale, config.patch_size // config.scale)
    return 2 * STEP_COST * count_macs(model, lr, levels_for_scale(config.scale))


def patch_cost_ms(config: TrainConfig, images: list, samples: int = 64) -> float:
    """Milliseconds per patch to crop, augment and make LR and targets on the CPU, in this process."""
    dataset = PatchDataset(
        images, config.patch_size, Augmentation(cast("tuple[float, float]", tuple(config.scale_range))), seed=1
    )
    start = time.perf_counter()
    batch = torch.stack([dataset[i] for i in range(samples)])
    make_batch(batch, config.scale)
    return (time.perf_counter() - start) / samples * 1e3


def device_cut_us(config: TrainConfig, images: list, device: torch.device, samples: int = 256) -> float:
    """Microseconds per patch to cut a batch on the device and make its LR and targets (placements drawn beforehand)."""
    dataset = PatchDataset(
        images, config.patch_size, Augmentation(cast("tuple[float, float]", tuple(config.scale_range))), seed=1
    )
    cutter = DevicePatchCutter.for_dataset(dataset, device)
    placements = torch.stack([Placements(dataset)[i] for i in range(samples)])
    best = float("inf")
    for _ in range(4):
        synchronize(device)
        start = time.perf_counter()
        make_batch(cutter(placements), config.scale)
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best / samples * 1e6


class Utilisation:
    """Samples the GPU's utilisation (NVML, through torch) every 0.1 s in a thread, with timestamps."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.samples.append((time.perf_counter(), float(torch.cuda.utilization(self.device))))
            except Exception as exc:  # no NVML bindings: say so once, measure the rest
                print(f"GPU utilisation not measured: {type(exc).__name__}: {exc}", file=sys.stderr)
                return

    def __enter__(self) -> Utilisation:
        if self.device.type == "cuda":
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def after(self, start: float) -> list[float]:
        return [value for at, value in self.samples if at >= start]


def measure(spec: str, args: argparse.Namespace, device: torch.device, peak: float, source: str, images: list) -> dict:
    name, _, patches_on = spec.partition("@")
    iterations = args.iterations or ITERATIONS[device.type].get(name, 10)
    overrides = dict(
        scale=args.scale,
        epochs=2,
        iterations_per_epoch=iterations,
        val_data="none",
        train_data=source,
        threads=args.threads,
        device=str(device),
    )
    if args.workers is not None:
        overrides["workers"] = args.workers
    if patches_on:
        overrides["patches_on"] = patches_on
    overrides.update(args.set)
    with tempfile.TemporaryDirectory() as out:
        config = recipe(name, **overrides, out=out)
        with Utilisation(device) as utilisation:
            history = Trainer(config, progress=False).run()
            ended = time.perf_counter()
    record = history.epochs[-1]  # the second epoch; its seconds are its own
    seconds = record.data_seconds + record.compute_seconds
    busy = utilisation.after(ended - seconds)  # the second epoch (and its checkpoint, a few ms)
    flops = training_flops_per_patch(config)
    achieved = record.patches_per_second * flops / 1e9
    data_share = record.data_seconds / seconds
    on_device = patches_on_device(config, device)
    cost = device_cut_us(config, images, device) if on_device else patch_cost_ms(config, images) * 1e3
    result = dict(
        recipe=spec,
        device=str(device),
        depth=config.depth,
        patch_size=config.patch_size,
        batch_size=config.batch_size,
        workers=config.workers,
        patches_on="device" if on_device else "cpu",
        amp=config.amp,
        iterations=iterations,
        patches_per_second=record.patches_per_second,
        gflop_per_patch=flops / 1e9,
        achieved_gflops=achieved,
        peak_share=achieved / peak,
        data_share=data_share,
        patch_cost_us=cost,
        gpu_utilisation_mean=statistics.fmean(busy) if busy else None,
        gpu_utilisation_median=statistics.median(busy) if busy else None,
    )
    used = "" if not busy else f"   GPU utilisation {result['gpu_utilisation_mean']:.0f}% (mean of {len(busy)} samples)"
    where = "on the device" if on_device else "on the CPU"
    print(
        f"{spec:13s} x{args.scale}: depth {config.depth}, {config.patch_size} px, batch {config.batch_size}, "
        f"{iterations} iterations, "
        f"{config.workers} workers, patches cut {where}\n"
        f"        {record.patches_per_second:9.1f} patches/s   {flops / 1e9:.2f} GFLOP per patch (training step)   "
        f"{achieved:.1f} GFLOP/s = {achieved / peak:.0%} of the measured conv peak\n"
        f"        time: data {data_share:.0%} / compute {1 - data_share:.0%}   making one patch alone {where}: "
        f"{cost:.1f} us{used}",
        flush=True,
    )
    return result


def training_option(text: str) -> tuple[str, object]:
    key, _, raw = text.partition("=")
    try:
        return key, parse_value(key, raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument(
        "--recipes", default="quick,paper", help="comma-separated recipe names, each maybe @cpu or @device"
    )
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument(
        "--iterations", type=int, help="iterations per epoch (default: a few seconds' worth per recipe)"
    )
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch's default)")
    parser.add_argument("--workers", type=int, help="DataLoader worker processes (default: each recipe's own)")
    parser.add_argument(
        "--set",
        metavar="FIELD=VALUE",
        action="append",
        default=[],
        type=training_option,
        help="override a training option of every recipe, e.g. --set depth=1 (a tiny trial run)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the measurements as JSON")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA GPU is visible to torch (torch.cuda.is_available() is False)")
    warnings.filterwarnings("ignore", message="skipping")  # images smaller than a 128 px patch
    if args.threads:
        torch.set_num_threads(args.threads)
    source = "train" if has_dataset("train") else "embedded"
    images = load_luma_images(training_items(source))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    gpu = f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores{gpu}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, load average {load:.2f}, data: {source}"
    )
    print(machine, flush=True)
    peak = conv_peak_gflops(device)
    layouts = "bf16, channels_last" if device.type == "cuda" else "float32, the better of NCHW and channels_last"
    print(f"peak: 3x3 conv 64->64, forward + backward ({layouts}): {peak:.1f} GFLOP/s", flush=True)
    results = [measure(spec, args, device, peak, source, images) for spec in args.recipes.split(",") if spec]
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "peak_gflops": peak, "recipes": results}, indent=1))


if __name__ == "__main__":
    main()
