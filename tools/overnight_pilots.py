"""Pilots for the overnight CPU recipe: short runs that choose it on held-out training images.

Each pilot is one ``lapsrn-edu train`` run of the same length, differing from the first in one
setting (number format, patch size, batch, learning rate, depth). Every run holds the same 20 of
the 291 training images out (``holdout=20``, the split fixed by the seed) and is scored on them
only: Set5, Set14 and BSD100 are what the chosen recipe reports, so they choose nothing.

Runs go to ``runs/overnight-pilots/<name>`` and resume where they stopped; the summary (held-out
PSNR of the last checkpoint, training seconds, patches per second, the command) is written to
``data/overnight/pilots.json`` after every finished pilot. Pass ``--threads 1`` when the machine
does other work on its second core, and pause the pilots for any benchmark.

Usage: python tools/overnight_pilots.py [--only NAME ...] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RUNS = REPO / "runs" / "overnight-pilots"
SUMMARY = REPO / "data" / "overnight" / "pilots.json"

# What every pilot shares: the depth-10 model of depth-long.json's best runs and their laptop
# recipe (Adam, cosine), at a length that a pilot finishes in minutes with bfloat16.
BASE: dict[str, Any] = {
    "config": "quick",
    "scale": 4,
    "depth": 10,
    "patch-size": 64,
    "batch-size": 16,
    "lr": 1e-3,
    "epochs": 6,
    "iterations-per-epoch": 500,
    "holdout": 20,
    "val-data": "none",
    "amp": "bf16",
    "workers": 1,
}
# name -> what it changes in BASE, and why it is worth a pilot
PILOTS: dict[str, tuple[dict, str]] = {
    "base-bf16": ({}, "the reference pilot, in bfloat16 autocast"),
    "base-fp32": ({"amp": "off"}, "does bfloat16 cost accuracy? the same run in float32"),
    "patch96": ({"patch-size": 96}, "larger patches: more context per level, 2.25x the pixels"),
    "batch32": ({"batch-size": 32}, "twice the patches per update"),
    "lr5e-4": ({"lr": 5e-4}, "half the learning rate for a depth-10 network"),
    "lr2e-3": ({"lr": 2e-3}, "twice the learning rate"),
    "base-bf16-seed1": ({"seed": 1}, "the reference pilot with another seed: how far one seed moves a pilot"),
    "base-fp32-seed1": ({"seed": 1, "amp": "off"}, "float32 with that seed: bfloat16 against float32 on two seeds"),
    "base-6k": (
        {"iterations-per-epoch": 1000},
        "twice the iterations: the patches of batch32 and about the time of patch96 (2.15x per patch)",
    ),
}


def command(name: str, threads: int) -> list[str]:
    options = {**BASE, **PILOTS[name][0], "threads": threads, "out": str(RUNS.relative_to(REPO) / name)}
    argv = ["lapsrn-edu", "train"]
    for key, value in options.items():
        argv += [f"--{key}", str(value)]
    return argv


def finished(name: str) -> dict | None:
    history = RUNS / name / "history.json"
    if not history.is_file():
        return None
    data = json.loads(history.read_text())
    epochs = data["epochs"]
    total = BASE["epochs"] if "epochs" not in PILOTS[name][0] else PILOTS[name][0]["epochs"]
    if len(epochs) < total:
        return None
    return data


def summarise(threads: int) -> None:
    rows = []
    for name, (change, why) in PILOTS.items():
        data = finished(name)
        if data is None:
            continue
        last = data["epochs"][-1]
        rows.append(
            {
                "name": name,
                "changes": change,
                "why": why,
                "command": shlex.join(command(name, threads)),
                "iterations": last["iteration"],
                "holdout_psnr": last["holdout_psnr"],
                "holdout_curve": [e["holdout_psnr"] for e in data["epochs"]],
                "train_seconds": last["train_seconds"],
                "patches_per_second": last["patches_per_second"],
            }
        )
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "what": "overnight-recipe pilots, scored on 20 held-out training images (never a test set)",
        "machine": f"{platform.processor() or platform.machine()}, threads={threads}",
        "base": BASE,
        "pilots": rows,
    }
    tmp = SUMMARY.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    tmp.replace(SUMMARY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=list(PILOTS))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    for name in args.only:
        if finished(name) is None:
            argv = command(name, args.threads)
            last = RUNS / name / "last.pt"
            if last.is_file():
                argv += ["--resume", str(last)]
            print("pilot:", shlex.join(argv), flush=True)
            subprocess.run([str(Path(sys.executable).parent / argv[0]), *argv[1:]], cwd=REPO, check=True)
        summarise(args.threads)


if __name__ == "__main__":
    main()
