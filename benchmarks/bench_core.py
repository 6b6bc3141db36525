"""How fast is the core on this machine? Measured side by side in one run:

1. our MATLAB-exact bicubic resize (numpy float64, torch float64/float32) against PIL's bicubic on
   the same 512x512 RGB image, downscaling x1/4 and upscaling x4;
2. the LapSRN x2/x4/x8 forward pass (official weights if present, else random-init models of the
   same shapes: the cost is the same) in milliseconds per output megapixel, with the FLOPs count
   and the arithmetic rate it implies.

Usage: python benchmarks/bench_core.py [--lr-size 128] [--repeats 5]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
from PIL import Image

from lapsrn_edu.data.datasets import DataNotFoundError, embedded_images
from lapsrn_edu.evaluation import zoo
from lapsrn_edu.evaluation.flops import flops_per_megapixel
from lapsrn_edu.imaging.resize import imresize, imresize_torch
from lapsrn_edu.models import LapSRN, LapSRNConfig

RELEASED_DEPTH = {2: 10, 4: 10, 8: 5}


def best_ms(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Fastest wall time of ``fn`` in milliseconds over ``repeats`` calls, after ``warmup`` untimed
    ones: other jobs on a shared machine only ever add time (preemption costs a few ms, as much as
    a whole resize), so the fastest call is the closest to the cost of the call itself."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return min(times)


def bench_resize(repeats: int) -> None:
    rgb = embedded_images(("astronaut",))[0].pixels  # 512x512x3, float64 in [0, 1]
    small = imresize(rgb, 0.25)
    rgb8 = np.round(rgb * 255).astype(np.uint8)
    pil_big, pil_small = Image.fromarray(rgb8), Image.fromarray(np.round(np.clip(small, 0, 1) * 255).astype(np.uint8))
    t64_big, t64_small = (torch.from_numpy(a).permute(2, 0, 1).contiguous() for a in (rgb, small))
    t32_big, t32_small = t64_big.float(), t64_small.float()

    print(f"1. bicubic resize of a {rgb.shape[1]}x{rgb.shape[0]} RGB image (fastest of {repeats}, ms)")
    print(f"   {'method':<30} {'down x1/4':>10} {'up x4':>10} {'vs PIL (down, up)':>20}")
    pil_down = best_ms(lambda: pil_big.resize((128, 128), Image.Resampling.BICUBIC), repeats)
    pil_up = best_ms(lambda: pil_small.resize((512, 512), Image.Resampling.BICUBIC), repeats)
    rows = [
        ("PIL bicubic (uint8)", pil_down, pil_up),
        (
            "ours numpy float64",
            best_ms(lambda: imresize(rgb, 0.25), repeats),
            best_ms(lambda: imresize(small, 4), repeats),
        ),
        (
            "ours torch float64",
            best_ms(lambda: imresize_torch(t64_big, 0.25), repeats),
            best_ms(lambda: imresize_torch(t64_small, 4), repeats),
        ),
        (
            "ours torch float32",
            best_ms(lambda: imresize_torch(t32_big, 0.25), repeats),
            best_ms(lambda: imresize_torch(t32_small, 4), repeats),
        ),
    ]
    for name, down, up in rows:
        print(f"   {name:<30} {down:>10.2f} {up:>10.2f} {down / pil_down:>9.1f}x {up / pil_up:>8.1f}x")
    pil_down_pixels = np.asarray(pil_big.resize((128, 128), Image.Resampling.BICUBIC), dtype=np.float64)
    gap = np.abs(pil_down_pixels - np.clip(small, 0, 1) * 255).mean()
    print(f"   (PIL and MATLAB-exact x1/4 outputs differ by {gap:.2f} grey levels on average: why we don't use PIL)")


def lapsrn_for(scale: int) -> tuple[torch.nn.Module, str]:
    try:
        model = zoo.load(f"official-x{scale}")
        assert model is not None  # only "bicubic" loads as None
        return model, "official weights"
    except DataNotFoundError:
        return LapSRN(LapSRNConfig(scale=scale, depth=RELEASED_DEPTH[scale])).eval(), "random init, released shape"


@torch.no_grad()
def bench_forward(lr_size: int, repeats: int) -> None:
    print(
        f"\n2. LapSRN forward pass on a {lr_size}x{lr_size} Y input (CPU, torch.no_grad, 1 warm-up, fastest of "
        f"{repeats})"
    )
    print(
        f"   torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}"
    )
    print(f"   {'model':<8} {'weights':<30} {'output':>11} {'ms':>9} {'ms/MP':>9} {'GFLOP/MP':>9} {'GFLOP/s':>8}")
    lr = torch.rand(1, 1, lr_size, lr_size)
    for scale in (2, 4, 8):
        model, origin = lapsrn_for(scale)
        ms = best_ms(partial(model, lr), repeats)
        megapixels = (lr_size * scale) ** 2 / 1e6
        gflop_per_mp = flops_per_megapixel(model, scale) / 1e9
        rate = gflop_per_mp * megapixels / (ms / 1e3)
        side = lr_size * scale
        print(
            f"   x{scale:<7} {origin:<30} {f'{side}x{side}':>11} {ms:>9.1f} {ms / megapixels:>9.1f} "
            f"{gflop_per_mp:>9.1f} {rate:>8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr-size", type=int, default=128, help="side of the LR input of the forward benchmark")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (the fastest is reported)")
    args = parser.parse_args()
    start = time.perf_counter()
    bench_resize(max(args.repeats, 5))
    bench_forward(args.lr_size, args.repeats)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
