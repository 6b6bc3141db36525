"""Inference speed of our LapSRN against onnxruntime and OpenCV on the same network, side by side.

One run measures, interleaved (round after round, every method at every size, so a busy
machine slows them alike; the best round of each is kept):

- ours: ``lapsrn_edu.evaluation.upscale.super_resolve_y``, the default path of ``lapsrn-edu upscale`` and
  ``evaluate`` (the fast path of :mod:`lapsrn_edu.engine.inference`), on a Y image;
- eager: the readable model (``lapsrn_edu.models``) in PyTorch eager mode, for reference;
- onnxruntime: the same model exported to ONNX at run time (into a temporary folder), on the
  CPU execution provider; its output is checked against ours;
- OpenCV: ``cv2.dnn_superres`` with the official LapSRN .pb files (the TensorFlow port that
  OpenCV distributes; same architecture and cost per pixel, other weights), from
  ``$LAPSRN_EDU_DATA/pretrained/opencv``;
- the peak: a dense 3x3 convolution, 64 -> 64 channels, channels-last, inference, the layer
  LapSRN is made of (best of a few sizes): the machine's attainable convolution rate.

Milliseconds per output megapixel; ours as a fraction of the peak uses the FLOPs counted by
:mod:`lapsrn_edu.evaluation.flops`. The same number of threads everywhere (torch's default unless --threads).

Usage: python benchmarks/bench_inference.py [--scale 4] [--sizes 64 128 256] [--rounds 5]
       [--threads N] [--clock wall|cpu] [--json]
(``--clock cpu`` counts this process's CPU time, user + system: with --threads 1 it is a fair
comparison on a machine busy with other work, where wall time is not.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from lapsrn_edu.data.datasets import DataNotFoundError, data_root
from lapsrn_edu.evaluation import zoo
from lapsrn_edu.evaluation.flops import flops_per_megapixel
from lapsrn_edu.evaluation.upscale import super_resolve_y
from lapsrn_edu.models import LapSRN, LapSRNConfig

RELEASED_DEPTH = {2: 10, 4: 10, 8: 5}


def clock_function(kind: str) -> Callable[[], float]:
    if kind == "wall":
        return time.perf_counter

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    return cpu


def load_model(scale: int) -> tuple[torch.nn.Module, str]:
    try:
        model = zoo.load(f"official-x{scale}")
        assert model is not None  # only "bicubic" loads as None
        return model, f"official-x{scale}"
    except DataNotFoundError:
        torch.manual_seed(0)
        return LapSRN(LapSRNConfig(scale=scale, depth=RELEASED_DEPTH[scale])).eval(), "random init, released shape"


class LastLevel(torch.nn.Module):
    """The model's finest output only: what ONNX exports."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return self.model(lr)[-1]


def onnx_session(model: torch.nn.Module, folder: str, threads: int):
    """An onnxruntime session on the model exported to ONNX, or (None, reason)."""
    try:
        import onnxruntime
    except ImportError:
        return None, "onnxruntime not installed (make bench installs it)"
    import warnings

    path = os.path.join(folder, "lapsrn.onnx")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastLevel(model).eval(),
                (torch.rand(1, 1, 32, 32),),
                path,
                dynamo=False,
                opset_version=17,
                input_names=["lr"],
                output_names=["sr"],
                dynamic_axes={"lr": {2: "h", 3: "w"}, "sr": {2: "H", 3: "W"}},
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 (any failure of a peer is one line of the report)
        return None, f"onnxruntime {onnxruntime.__version__} cannot run the exported model: {first_line(exc)}"
    return session, f"onnxruntime {onnxruntime.__version__}"


def opencv_model(scale: int, threads: int):
    """OpenCV's dnn_superres on the official LapSRN .pb, or (None, reason)."""
    try:
        import cv2
    except ImportError:
        return None, "opencv-contrib-python-headless not installed (make bench installs it)"
    path = data_root() / "pretrained" / "opencv" / f"LapSRN_x{scale}.pb"
    if not path.is_file():
        return None, f"{path} not found"
    cv2.setNumThreads(threads)
    try:  # a peer that cannot run is one line of the report, and the rest is still measured
        sr = cv2.dnn_superres.DnnSuperResImpl_create()
        sr.readModel(str(path))
        sr.setModel("lapsrn", scale)
        sr.upsample(np.zeros((8, 8), np.uint8))
    except (cv2.error, AttributeError) as exc:
        return None, f"OpenCV {cv2.__version__} cannot run {path.name}: {first_line(exc)}"
    return sr, f"OpenCV {cv2.__version__} dnn_superres"


def first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:160]


@torch.inference_mode()
def conv_peak_gflops(clock: Callable[[], float], repeats: int = 3) -> float:
    """Best GFLOP/s of a dense 3x3 64 -> 64 convolution, channels-last, over a few sizes."""
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).eval().to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stubs of Module.to omit memory_format
    best = 0.0
    for side in (64, 128, 256):
        x = torch.randn(1, 64, side, side).contiguous(memory_format=torch.channels_last)
        flops = 2 * side * side * 64 * 64 * 9
        conv(x)
        for _ in range(repeats):
            start = clock()
            conv(x)
            best = max(best, flops / (clock() - start) / 1e9)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=4, choices=(2, 4, 8))
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256], help="LR input sides")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the best of each is kept")
    parser.add_argument("--threads", type=int, default=0, help="threads for every method (0: torch's default)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    clock = clock_function(args.clock)
    load_before = os.getloadavg()[0]
    model, origin = load_model(args.scale)
    gflop_per_mp = flops_per_megapixel(model, args.scale) / 1e9
    notes = []
    with tempfile.TemporaryDirectory() as folder:
        session, ort_name = onnx_session(model, folder, threads)
        opencv, cv_name = opencv_model(args.scale, threads)
        notes += [n for n, ok in ((ort_name, session), (cv_name, opencv)) if ok is None]
        rng = np.random.default_rng(0)
        inputs = {s: rng.random((s, s)).astype(np.float32) for s in args.sizes}
        methods: dict[str, Callable[[np.ndarray], object]] = {
            "ours": lambda y: super_resolve_y(model, y, args.scale),
            "eager": lambda y: _eager(model, y),
        }
        if session is not None:
            methods["onnxruntime"] = lambda y: session.run(None, {"lr": y[None, None]})
        if opencv is not None:
            methods["opencv"] = lambda y: opencv.upsample(np.round(y * 255).astype(np.uint8))
        differences = {}
        if session is not None:
            y = inputs[args.sizes[0]]
            differences["onnxruntime"] = float(
                np.abs(session.run(None, {"lr": y[None, None]})[0][0, 0] - super_resolve_y(model, y, args.scale)).max()
            )
        differences["eager"] = float(
            np.abs(
                _eager(model, inputs[args.sizes[0]]) - super_resolve_y(model, inputs[args.sizes[0]], args.scale)
            ).max()
        )
        best = {(m, s): float("inf") for m in methods for s in args.sizes}
        peak = 0.0
        for method in methods.values():  # warm-up: first calls allocate and pick kernels
            method(inputs[args.sizes[0]])
        for _ in range(args.rounds):
            peak = max(peak, conv_peak_gflops(clock, repeats=1))
            for s in args.sizes:
                for name, method in methods.items():
                    start = clock()
                    method(inputs[s])
                    best[name, s] = min(best[name, s], clock() - start)
    megapixels = {s: (s * args.scale) ** 2 / 1e6 for s in args.sizes}
    per_mp = {m: [round(best[m, s] / megapixels[s] * 1e3, 1) for s in args.sizes] for m in methods}
    fraction = [round(gflop_per_mp * megapixels[s] / best["ours", s] / peak, 3) for s in args.sizes]
    result = {
        "sizes": args.sizes,
        "scale": args.scale,
        "ours_ms_per_mp": per_mp["ours"],
        "onnxruntime_ms_per_mp": per_mp.get("onnxruntime"),
        "opencv_ms_per_mp": per_mp.get("opencv"),
        "eager_ms_per_mp": per_mp["eager"],
        "conv_peak_gflops": round(peak, 1),
        "ours_fraction_of_peak": fraction,
        "gflop_per_output_mp": round(gflop_per_mp, 1),
        "max_abs_difference_from_ours": differences,
        "model": origin,
        "threads": threads,
        "clock": args.clock,
        "rounds": args.rounds,
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "notes": notes,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"LapSRN x{args.scale} ({origin}), {threads} threads, {args.clock} clock, best of {args.rounds} interleaved "
        f"rounds; load average {result['load_average_before_after']}"
    )
    print(
        f"peak: dense 3x3 conv 64->64 channels-last {peak:.1f} GFLOP/s; the network costs {gflop_per_mp:.1f} GFLOP "
        "per output MP"
    )
    header = f"{'input (output)':<18}" + "".join(f"{m:>13}" for m in methods) + f"{'ours/peak':>11}"
    print(header + "\n" + "-" * len(header))
    for k, s in enumerate(args.sizes):
        row = f"{f'{s} px ({s * args.scale} px)':<18}" + "".join(f"{per_mp[m][k]:>13,.0f}" for m in methods)
        print(row + f"{fraction[k]:>11.2f}")
    print("(ms per output megapixel)")
    for name, difference in differences.items():
        print(f"max |{name} - ours| = {difference:.1e}")
    for note in notes:
        print(f"skipped: {note}")


@torch.no_grad()
def _eager(model: torch.nn.Module, y: np.ndarray) -> np.ndarray:
    return model(torch.from_numpy(y)[None, None])[-1][0, 0].numpy()


if __name__ == "__main__":
    main()
