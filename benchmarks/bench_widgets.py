"""How long does each course widget take to redraw? Measured on the inputs its notebook gives it.

A student moves one control; the notebook's kernel then calls the widget's draw function and
renders the new figure as the PNG its Image widget shows (``lapsrn_edu.course.widgets.Explorer``). That
is what this measures, from the new value to the PNG bytes, for every control of every widget of
lessons 01, 02, 03 and 10, each moved back and forth ``--moves`` times between two values:

- 01 ``pyramid_explorer``: the three Set14 crops (embedded images without the data), 256 px, 5 levels;
- 02 ``level_viewer``: the official LapSRN x8 (else ours-x8, else an untrained one) on butterfly, 256 px;
- 03 ``charbonnier_explorer``;
- 10 ``level_viewer``: MS-LapSRN D5R8 on butterfly, 256 px (skipped without the official weights).

Sending the PNG to the browser and showing it adds some tens of milliseconds more
(``tests/test_browser.py`` measures the whole path in Chromium). The goal is under 0.5 s of wall
time; the CPU time beside it is what a redraw costs when nothing else runs (matplotlib draws on
one core), so on a busy machine it is the number to compare across runs.

Usage: python benchmarks/bench_widgets.py [--moves 4] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import matplotlib

matplotlib.use("Agg")

import numpy as np
import torch

from lapsrn_edu.course import plots, widgets
from lapsrn_edu.course.resources import first_model, images_or_embedded
from lapsrn_edu.evaluation.evaluate import degrade, mod_crop
from lapsrn_edu.imaging.color import rgb_to_y
from lapsrn_edu.models import LapSRN

os.environ.pop(widgets.STATIC_ENV, None)  # live widgets, as in JupyterLab

GOAL_S = 0.5


def pyramid_crops(size: int) -> dict[str, np.ndarray]:
    """Lesson 01's crops: baboon, barbara and lenna from Set14 (else the first embedded images)."""
    images, source = images_or_embedded("set14")
    by_name = {im.name: im for im in images}
    picked = [by_name[n] for n in ("baboon", "barbara", "lenna") if n in by_name] if source == "set14" else []
    picked = picked or images[:3]
    return {
        im.name: plots.center_crop(im.pixels if im.pixels.ndim == 2 else rgb_to_y(im.pixels), size) for im in picked
    }


def butterfly(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Lessons 02 and 10's image: Set5's butterfly (else the first embedded image), LR and HR luma at x8."""
    images, _ = images_or_embedded("set5")
    image = next((im for im in images if im.name == "butterfly"), images[0])
    pixels = image.pixels if image.pixels.ndim == 3 else np.repeat(image.pixels[..., None], 3, -1)
    gt = mod_crop(plots.center_crop(pixels, size), 8)
    return rgb_to_y(degrade(gt, 8)), rgb_to_y(gt)


def control(widget, description: str):
    return next(c for c in widget.children if getattr(c, "description", None) == description)


def redraw_seconds(widget: widgets.Explorer, name: str, value: object) -> tuple[float, float]:
    """Set one control; the widget draws its figure and renders the PNG it shows. Returns
    (wall, CPU) seconds."""
    before = widget.figure_view.value
    start, start_cpu = time.perf_counter(), time.process_time()
    control(widget, name).value = value
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    assert widget.figure_view.value != before, f"{name}={value!r} did not change the figure"
    return seconds, cpu


def bench(title: str, build, moves: dict[str, tuple[object, object]], count: int) -> list[float]:
    start = time.perf_counter()
    widget = build()
    print(f"{title}  (built in {time.perf_counter() - start:.2f} s)")
    worst = []
    for name, (first, second) in moves.items():
        walls, cpus = zip(
            *(redraw_seconds(widget, name, second if k % 2 == 0 else first) for k in range(count)), strict=True
        )
        control(widget, name).value = first
        worst.append(max(walls))
        verdict = "ok" if max(walls) < GOAL_S else f"over {GOAL_S} s"
        print(
            f"    {name:<12} {first!s:>12} <-> {second!s:<12} wall median {statistics.median(walls) * 1e3:5.0f} ms, "
            f"max {max(walls) * 1e3:5.0f} ms ({verdict});  CPU median {statistics.median(cpus) * 1e3:5.0f} ms"
        )
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=4, help="moves per control (default 4)")
    parser.add_argument(
        "--quick", action="store_true", help="the notebooks' quick-mode inputs (128 px crops, 4 levels)"
    )
    args = parser.parse_args()
    size, levels = (128, 4) if args.quick else (256, 5)
    print(
        f"widget redraw latency, from a new control value to the PNG (torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the start)"
    )
    worst = []

    crops = pyramid_crops(size)
    first, second = list(crops)[:2] if len(crops) > 1 else (list(crops)[0],) * 2
    worst += bench(
        f"01 pyramid_explorer: {', '.join(crops)} ({size} px, {levels} levels)",
        lambda: widgets.pyramid_explorer(crops, levels=levels),
        {
            "level shown": (0, 2),
            "contrast": (4.0, 8.0),
            "levels": (levels, levels - 1),
            "kind": ("burt-adelson", "bicubic"),
            "image": (first, second),
        },
        args.moves,
    )

    lr_y, hr_y = butterfly(size)
    model8, name8 = first_model(["official-x8", "ours-x8"])
    if model8 is None:
        model8, name8 = LapSRN(scale=8, depth=5).eval(), "untrained LapSRN x8"
    worst += bench(
        f"02 level_viewer: {name8} on {lr_y.shape[0]}x{lr_y.shape[1]} -> {hr_y.shape[0]}x{hr_y.shape[1]}",
        lambda: widgets.level_viewer(model8, lr_y, hr_y),
        {"scale": (8, 4), "contrast": (4.0, 8.0)},
        args.moves,
    )

    worst += bench(
        "03 charbonnier_explorer",
        widgets.charbonnier_explorer,
        {"eps": (1e-3, 1e-2), "x range": (0.05, 0.1)},
        args.moves,
    )

    ms_model, ms_name = first_model(["official-ms-d5r8"])
    if ms_model is not None:
        worst += bench(
            f"10 level_viewer: {ms_name} on {lr_y.shape[0]}x{lr_y.shape[1]} -> {hr_y.shape[0]}x{hr_y.shape[1]}",
            lambda: widgets.level_viewer(ms_model, lr_y, hr_y),
            {"scale": (8, 4), "contrast": (4.0, 8.0)},
            args.moves,
        )
    else:
        print("10 level_viewer: skipped (no MS-LapSRN weights; `lapsrn-edu download weights`)")
    print(f"slowest redraw: {max(worst) * 1e3:.0f} ms (goal: under {GOAL_S * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
