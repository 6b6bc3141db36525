"""Peak memory of ``lapsrn-edu upscale`` on a large photo, and where an evaluation spends its time.

1. ``lapsrn-edu upscale`` of a 1024 x 1024 photo (the sample astronaut, enlarged) at x4 with the
   default options, in a fresh process: peak resident memory (the acceptance bound is 1.5 GB
   for the 4096 x 4096 output), user and system CPU time, wall time. ``--tile N`` adds a run
   with ``--tile N`` for comparison.
2. The level viewer (``lapsrn_edu.course.widgets.level_viewer``, as notebooks show it, drawn once) of
   the same photo's luma at x4, in a fresh process: peak resident memory.
3. An evaluation (``lapsrn_edu.evaluation.evaluate``) of a model on the first images of a dataset, in a
   fresh process: user and system CPU time (system time comes from the kernel, mostly page
   faults of freshly mapped memory: the share the issue asked to keep under 10%).

Usage: python benchmarks/bench_memory.py [--model official-x4] [--dataset urban100] [--images 10]
       [--tile N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np
from PIL import Image

from lapsrn_edu.data.datasets import embedded_images, has_dataset, image_paths


def child(command: list[str]) -> dict:
    """Run ``command`` in a fresh process: its peak RSS (MB), user, system and wall seconds."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    assert process.stdout is not None  # started with stdout=PIPE
    output = process.stdout.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{output}")
    return {
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # kilobytes on Linux
        "user_s": round(usage.ru_utime, 1),
        "system_s": round(usage.ru_stime, 1),
        "wall_s": round(time.perf_counter() - start, 1),
        "system_share": round(usage.ru_stime / max(usage.ru_utime + usage.ru_stime, 1e-9), 3),
    }


def photo(folder: str, side: int = 1024) -> str:
    rgb = embedded_images(("astronaut",))[0].pixels
    path = os.path.join(folder, f"photo{side}.png")
    Image.fromarray(np.round(rgb * 255).astype(np.uint8)).resize((side, side), Image.Resampling.BICUBIC).save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="official-x4")
    parser.add_argument("--dataset", default="urban100", help="falls back to set14, then the embedded images")
    parser.add_argument("--images", type=int, default=10, help="images of the dataset to evaluate")
    parser.add_argument("--tile", type=int, help="also run upscale with --tile N")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cli = str(Path(sys.executable).with_name("lapsrn-edu"))
    result: dict = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average_before": round(os.getloadavg()[0], 2),
    }
    with tempfile.TemporaryDirectory() as folder:
        source = photo(folder)
        result["upscale_default"] = child(
            [cli, "upscale", source, os.path.join(folder, "x4.png"), "--scale", "4", "--model", args.model]
        )
        if args.tile:
            result[f"upscale_tile_{args.tile}"] = child(
                [
                    cli,
                    "upscale",
                    source,
                    os.path.join(folder, "x4t.png"),
                    "--scale",
                    "4",
                    "--model",
                    args.model,
                    "--tile",
                    str(args.tile),
                ]
            )
        viewer = (
            "import os\n"
            "from lapsrn_edu.course import widgets\nfrom lapsrn_edu.evaluation import zoo\n"
            "from lapsrn_edu.imaging.color import rgb_to_y\n"
            "from lapsrn_edu.data.datasets import read_image\n"
            "os.environ[widgets.STATIC_ENV] = '1'\n"
            f"widgets.level_viewer(zoo.load({args.model!r}), rgb_to_y(read_image({source!r}).pixels))\n"
        )
        result["level_viewer"] = child([sys.executable, "-c", viewer])
    dataset = next((d for d in (args.dataset, "set14") if has_dataset(d)), "embedded")
    with tempfile.TemporaryDirectory() as folder:
        if dataset == "embedded":
            target = "'embedded'"
        else:  # the first images of the set, evaluated as a folder: read one at a time, as a whole set is
            for path in image_paths(dataset)[: args.images]:
                os.symlink(path, os.path.join(folder, path.name))
            target = repr(folder)
        script = (
            f"from lapsrn_edu.evaluation.evaluate import evaluate\nevaluate({args.model!r}, {target}, 4, "
            "progress=False)\n"
        )
        result["evaluate"] = {"dataset": dataset, "images": args.images, **child([sys.executable, "-c", script])}
    result["load_average_after"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['machine']}; load average {result['load_average_before']} -> {result['load_average_after']}")
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"{key:<22} " + "  ".join(f"{k} {v}" for k, v in value.items()))


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
