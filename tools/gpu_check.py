"""The GPU check of the ``gpu`` recipe, as one prepared command for a machine with a CUDA GPU.

Two steps:

``python tools/gpu_check.py pack`` (on a machine with the data, before): writes ``.gpu-data/``
in the repository (ignored by git through ``.git/info/exclude``): the 291 training images,
Set5, Set14 (lossless WebP, a third smaller than their PNGs), the official x4 weights, and the
SHA-256 of every image's pixels. With the repository it stays under the 64 MiB that a device
machine's copy of the working tree may hold. BSD100 does not fit: the model is scored on it
after, on the machine with the data, by re-exporting the returned run (``lapsrn-edu export
FILES/run --name ours-x4-gpu --overwrite --trained-on "..."``, which the summary prints), which
also scores Set5 and Set14 on the CPU.

``python3 tools/gpu_check.py run`` (on the GPU machine; results under ``$OUT`` or ``--out``),
inside a deadline (``--budget``, default 580 s), stopping at the first failure with one loud line:

1. the machine (GPU, driver, torch) and the data: ``$LAPSRN_EDU_DATA`` when it holds the
   training images and Set5, else ``.gpu-data/`` unpacked, every image checked pixel for pixel;
2. ``pytest -m gpu`` on the GPU tests (a skip counts as a failure on a GPU machine);
3. patches/s of the ``paper`` and ``gpu`` recipes (``benchmarks/bench_train.py --device cuda``);
4. the ``gpu`` recipe for ``--minutes`` (default 8, less if the deadline is nearer), its epochs
   set from the measured patches/s; Set5 after each epoch, the GPU's utilisation sampled by
   ``nvidia-smi`` every half second;
5. the last checkpoint exported as ``ours-x4-gpu.pt`` with its model card, scored on the test
   sets present (Set5 and Set14 from the pack).

Everything measured goes to ``results.json`` (rewritten after each step, so a run cut short
still leaves what it measured), the whole output to ``gpu_check.log``, the run to ``run/``.

``--tiny`` (or ``GPU_CHECK_TINY=1``) is the dry run for a machine without a GPU: the CPU, a
depth-1 network, seconds instead of minutes, every step otherwise the same.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # lapsrn_edu from this checkout: a GPU machine's python has it nowhere else
PACK = REPO / ".gpu-data"
PACKED_IMAGES = ("train/T91", "train/BSDS200", "benchmarks/Set5", "benchmarks/Set14")
PACKED_FILES = ("pretrained/matconvnet/LapSRN_x4.mat",)
ASSUMED_PATCHES_PER_SECOND = 4000.0  # plans the training when the throughput step failed (half the H100 estimate)
INFERENCE_SIDES = (128, 256, 512)  # LR sides timed on the GPU: 0.26, 1.0 and 4.2 output megapixels at x4
CARRY_LIMIT = 64 * 2**20  # what the device machine's copy of the working tree may hold
GPU_TESTS = ("tests/test_gpu.py", "tests/test_gpu_patches.py")
TINY = dict(depth=1, channels=8, patch_size=32, batch_size=8, workers=0, threads=1)  # seconds on a CPU


class CheckFailed(RuntimeError):
    """A step failed: the check stops and says which and why."""


# --- pack (on the machine with the data) and unpack (on the GPU machine) -------------------------


def pixels_digest(path: Path) -> tuple[str, str, list[int]]:
    """(mode, SHA-256 of the decoded pixels, shape) of an image file."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        array = np.ascontiguousarray(np.asarray(image))
        return image.mode, hashlib.sha256(array.tobytes()).hexdigest(), list(array.shape)


def _encode(job: tuple[str, str]) -> dict[str, Any]:
    source, target = Path(job[0]), Path(job[1])
    from PIL import Image

    mode, digest, shape = pixels_digest(source)
    if mode not in ("RGB", "L"):
        raise CheckFailed(f"{source}: mode {mode}; only RGB and gray images are packed")
    with Image.open(source) as image:
        image.convert("RGB").save(target, "WEBP", lossless=True, quality=75, method=4)
    return {"file": target.name, "png": source.name, "mode": mode, "sha256": digest, "shape": shape}


def pack(root: Path, out: Path = PACK) -> tuple[int, int]:
    """Write the pack: images as lossless WebP plus a manifest of their pixels' hashes, and the
    weights; returns (images, bytes)."""
    if out.exists():
        shutil.rmtree(out)
    jobs: list[tuple[str, str]] = []
    for folder in PACKED_IMAGES:
        (out / folder).mkdir(parents=True)
        jobs += [(str(p), str(out / folder / (p.stem + ".webp"))) for p in sorted((root / folder).glob("*.png"))]
    if not jobs:
        raise CheckFailed(f"no images under {root}: point --data-root (or LAPSRN_EDU_DATA) at the data root")
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        entries = list(pool.map(_encode, jobs, chunksize=4))
    manifest: dict[str, Any] = {"images": {}, "files": {}}
    for (_, target), entry in zip(jobs, entries, strict=True):
        manifest["images"][str(Path(target).relative_to(out))] = entry
    for name in PACKED_FILES:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, out / name)
        manifest["files"][name] = hashlib.sha256((out / name).read_bytes()).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return len(jobs), sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


def pack_for_a_device_call(root: Path, out: Path) -> None:
    """Pack, keep the pack out of git, and check that it travels with the working tree."""
    images, packed = pack(root, out)
    if out.resolve() == PACK:
        exclude = REPO / ".git" / "info" / "exclude"
        if exclude.parent.is_dir() and "/.gpu-data/" not in (exclude.read_text() if exclude.exists() else ""):
            with exclude.open("a") as f:
                f.write("/.gpu-data/\n")
    tree = working_tree_bytes()
    print(
        f"{out}: {images} images and {len(PACKED_FILES)} weights file, {packed / 2**20:.1f} MiB; with the working tree "
        f"({tree / 2**20:.1f} MiB) {(packed + tree) / 2**20:.1f} MiB of the {CARRY_LIMIT / 2**20:.0f} MiB a device "
        "call carries"
    )
    if packed + tree > CARRY_LIMIT:
        raise CheckFailed("the pack and the working tree are over what a device call carries; pack less")


def working_tree_bytes() -> int:
    """Bytes of the files git tracks or would track (what a device call copies besides carried paths)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    return sum((REPO / name.decode()).stat().st_size for name in listed if name and (REPO / name.decode()).is_file())


def _decode(job: tuple[str, str, dict[str, Any]]) -> str | None:
    source, target, entry = Path(job[0]), Path(job[1]), job[2]
    from PIL import Image

    with Image.open(source) as image:
        converted = image.convert(entry["mode"])
        converted.save(target, "PNG", compress_level=1)
    mode, digest, _ = pixels_digest(target)
    return (
        None
        if (mode, digest) == (entry["mode"], entry["sha256"])
        else f"{target}: pixels differ from the packed original"
    )


def unpack(pack_dir: Path, root: Path) -> int:
    """Restore the pack as a data root of PNG files, each image's pixels checked against the manifest."""
    manifest_path = pack_dir / "manifest.json"
    if not manifest_path.is_file():
        raise CheckFailed(
            f"no data: LAPSRN_EDU_DATA holds no training images and Set5, and {manifest_path} is missing; "
            "run `python tools/gpu_check.py pack` on the machine with the data, and carry .gpu-data"
        )
    manifest = json.loads(manifest_path.read_text())
    jobs = []
    for relative, entry in manifest["images"].items():
        target = root / Path(relative).parent / entry["png"]
        target.parent.mkdir(parents=True, exist_ok=True)
        jobs.append((str(pack_dir / relative), str(target), entry))
    with ProcessPoolExecutor(max_workers=min(16, os.cpu_count() or 1)) as pool:
        problems = [p for p in pool.map(_decode, jobs, chunksize=4) if p]
    for name, digest in manifest["files"].items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pack_dir / name, root / name)
        if hashlib.sha256((root / name).read_bytes()).hexdigest() != digest:
            problems.append(f"{root / name}: differs from the packed file")
    if problems:
        raise CheckFailed(f"the unpacked data are not the packed data: {problems[0]} (and {len(problems) - 1} more)")
    return len(jobs)


# --- the check ------------------------------------------------------------------------------------


class Check:
    """The steps of ``run``, their log and their results, against one deadline."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self.started = args, time.monotonic()
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.log = (self.out / "gpu_check.log").open("a", buffering=1)
        self.results: dict[str, Any] = {"status": "running", "tiny": args.tiny, "steps": {}}
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg", "PYTHONPATH": str(REPO)}

    # bookkeeping
    def say(self, text: str) -> None:
        line = f"[gpu_check {time.monotonic() - self.started:6.1f} s] {text}"
        print(line, flush=True)
        self.log.write(line + "\n")

    def problem(self, text: str) -> None:
        """A failure that does not stop the check: a device call is rare, so the steps that can still
        run are measured; the check's status says FAILED at the end."""
        self.results.setdefault("problems", []).append(text)
        self.say(f"PROBLEM: {text}")
        self.save()

    def left(self) -> float:
        return self.args.budget - (time.monotonic() - self.started)

    def save(self) -> None:
        (self.out / "results.json").write_text(json.dumps(self.results, indent=1, default=str))

    def step(self, name: str, result: Any, started: float) -> None:
        self.results["steps"][name] = round(time.monotonic() - started, 1)
        self.results[name] = result
        self.save()

    def command(
        self, argv: list[str], timeout: float, what: str, watch: Callable[[], None] | None = None
    ) -> tuple[int, bool]:
        """Run ``argv`` with its output into the log and the console, calling ``watch`` every second;
        returns (exit code, whether it was stopped at ``timeout``). No time left stops the check."""
        if timeout <= 5:
            raise CheckFailed(f"{what}: no time left before the deadline ({self.left():.0f} s)")
        self.say(f"$ {' '.join(argv)}   (at most {timeout:.0f} s)")
        try:
            process = subprocess.Popen(
                argv,
                cwd=REPO,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        except OSError as exc:
            raise CheckFailed(f"{what}: cannot start {argv[0]} ({exc})") from None
        reader = threading.Thread(target=self._echo, args=(process,), daemon=True)
        reader.start()
        end, cut = time.monotonic() + timeout, False
        while process.poll() is None:
            time.sleep(1.0)
            if watch:
                watch()
            if time.monotonic() > end and not cut:
                self.say(f"{what}: still running after {timeout:.0f} s; stopping it")
                stop(process)
                cut = True
        reader.join(timeout=10)
        if watch:
            watch()
        return process.returncode, cut

    def _echo(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None  # started with stdout=PIPE
        for line in process.stdout:
            sys.stdout.write(line)
            self.log.write(line)
        sys.stdout.flush()

    # the steps
    def machine(self) -> dict[str, Any]:
        import torch

        cuda = torch.cuda.is_available()
        if not cuda and not self.args.tiny:
            raise CheckFailed(
                "no CUDA GPU visible to torch (torch.cuda.is_available() is False); --tiny is the CPU dry run"
            )
        info: dict[str, Any] = {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "cpu_cores": os.cpu_count(),
            "device": "cuda" if cuda else "cpu",
            "gpu": torch.cuda.get_device_name() if cuda else None,
        }
        if cuda:
            props = torch.cuda.get_device_properties(0)
            info.update(gpu_memory_gib=round(props.total_memory / 2**30, 1), bf16=torch.cuda.is_bf16_supported())
            smi = shutil.which("nvidia-smi")
            if smi:
                query = subprocess.run(
                    [smi, "--query-gpu=driver_version,clocks.max.sm,power.limit", "--format=csv,noheader"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
                info["nvidia_smi"] = query.stdout.strip()
        from lapsrn_edu.training.export import machine

        info["machine"] = machine()
        return info

    def data(self) -> dict[str, Any]:
        from lapsrn_edu.data.datasets import has_dataset

        given = os.environ.get("LAPSRN_EDU_DATA")
        if given and not self.args.unpack_to and has_dataset("train", given) and has_dataset("set5", given):
            root, images = Path(given), None
        else:
            root = Path(self.args.unpack_to or "/tmp/lapsrn-edu-gpu-data")
            images = unpack(Path(self.args.pack), root)
        self.env["LAPSRN_EDU_DATA"] = os.environ["LAPSRN_EDU_DATA"] = str(root)
        present = [name for name in ("train", "set5", "set14", "bsd100") if has_dataset(name, root)]
        if "train" not in present or "set5" not in present:
            raise CheckFailed(f"{root}: the training images or Set5 are missing")
        return {"root": str(root), "unpacked_images": images, "datasets": present}

    def tests(self) -> dict[str, Any]:
        junit = Path("/tmp") / f"gpu_check_junit_{os.getpid()}.xml"
        marker = [] if self.args.tiny else ["-m", "gpu"]  # the dry run also runs the CPU side of each test
        argv = [
            sys.executable,
            "-m",
            "pytest",
            *marker,
            *GPU_TESTS,
            "-p",
            "no:cacheprovider",
            "-q",
            "-rA",
            f"--junitxml={junit}",
        ]
        code, cut = self.command(argv, min(240.0, self.left() - 60), "GPU tests")
        counts = junit_counts(junit)
        result = {"exit_code": code, **counts}
        self.results["tests"] = result
        self.save()
        if cut or code != 0 or counts["failed"] or counts["errors"]:
            self.problem(
                f"GPU tests: {counts['failed']} failed, {counts['errors']} errors (pytest exit {code}"
                f"{', stopped at its time limit' if cut else ''}); see the log"
            )
        elif not self.args.tiny and (counts["skipped"] or not counts["passed"]):
            self.problem(
                f"GPU tests: {counts['skipped']} skipped on a GPU machine ({counts['passed']} passed); see the log"
            )
        return result

    def bench(self, device: str) -> dict[str, Any]:
        path = Path("/tmp") / f"gpu_check_bench_{os.getpid()}.json"
        argv = [
            sys.executable,
            "benchmarks/bench_train.py",
            "--device",
            device,
            "--recipes",
            "paper,gpu",
            "--json",
            str(path),
        ]
        if self.args.tiny:
            argv += ["--iterations", "2", "--threads", "1", *(f"--set={k}={v}" for k, v in TINY.items())]
        code, cut = self.command(argv, min(180.0, self.left() - 60), "throughput of the paper and gpu recipes")
        if cut or code != 0 or not path.is_file():
            raise CheckFailed(
                f"benchmarks/bench_train.py failed (exit {code}{', stopped at its time limit' if cut else ''}); see "
                "the log"
            )
        return json.loads(path.read_text())

    def plan(self, bench: dict[str, Any] | None) -> dict[str, Any]:
        """Epochs and iterations of the gpu recipe that fit the minutes asked for and the deadline."""
        from lapsrn_edu.training.config import RECIPES

        measured = [r for r in (bench or {}).get("recipes", []) if r["recipe"] == "gpu"]
        gpu = (
            measured[0]
            if measured
            else {"batch_size": RECIPES["gpu"].batch_size, "patches_per_second": ASSUMED_PATCHES_PER_SECOND}
        )
        batch = gpu["batch_size"]
        reserve = 60.0 if not self.args.tiny else 20.0  # starting the run, exporting and scoring it
        seconds = min(self.args.minutes * 60, self.left() - reserve)
        if seconds < 60 and not self.args.tiny:
            raise CheckFailed(f"only {seconds:.0f} s left for training; rerun with a larger --budget")
        epochs = self.args.epochs or (2 if self.args.tiny else max(4, round(seconds / 32)))
        overhead = 2.0  # validation on Set5 and the checkpoints, per epoch (seconds)
        rate = 0.93 * gpu["patches_per_second"]  # a margin: a GPU under minutes of load may run a little slower
        iterations = max(1, math.floor((seconds - epochs * overhead) * rate / batch / epochs))
        if self.args.tiny:
            iterations = min(iterations, 3)
        paper = RECIPES["paper"]
        return {
            "seconds": round(seconds),
            "epochs": epochs,
            "iterations_per_epoch": iterations,
            "batch_size": batch,
            "patches_per_second": gpu["patches_per_second"],
            "rate_measured": bool(measured),
            "patches": epochs * iterations * batch,
            "paper_patches": paper.epochs * paper.iterations_per_epoch * paper.batch_size,
        }

    def train_with_retry(self, plan: dict[str, Any], device: str) -> None:
        """The ``gpu`` recipe; if it fails before its first epoch (the GPU-side patches are the part
        never run before), once more with patches cut on the CPU, planned for the time left."""
        try:
            self.train(plan, device)
        except CheckFailed as exc:
            if self.results.get("training", {}).get("epochs_done") or self.left() < 150 or self.args.tiny:
                raise
            self.problem(f"{exc}; training again with patches cut on the CPU by 8 workers")
            shutil.rmtree(self.out / "run", ignore_errors=True)
            retry = {**plan, **self.plan(self.results.get("throughput")), "patches_on": "cpu"}
            self.step("plan", retry, time.monotonic())
            self.train(retry, device, ["--patches-on", "cpu", "--workers", "8"])

    def inference(self, device: str) -> dict[str, Any]:
        """Milliseconds per output megapixel of the official LapSRN x4 on this device: the whole
        ``super_resolve_y`` (host transfers and tiling included), and the network alone in float32
        and in bf16 channels-last; the best of five after two warm-ups."""
        import numpy as np
        import torch

        from lapsrn_edu.evaluation.upscale import super_resolve_y
        from lapsrn_edu.evaluation.zoo import load

        model = load("official-x4")
        assert model is not None  # only "bicubic" loads as None
        dev = torch.device(device)
        net = copy.deepcopy(model).to(dev).eval()
        fast_net = copy.deepcopy(model).to(dev, memory_format=torch.channels_last).eval()  # type: ignore[call-overload]  # torch's stubs of Module.to omit memory_format
        sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

        def best_ms(action: Callable[[], Any]) -> float:
            times = []
            for i in range(7):
                sync()
                start = time.perf_counter()
                action()
                sync()
                if i >= 2:
                    times.append((time.perf_counter() - start) * 1e3)
            return min(times)

        rows = []
        for side in (16, 24) if self.args.tiny else INFERENCE_SIDES:
            y = np.random.default_rng(0).random((side, side))
            x = torch.from_numpy(y.astype(np.float32))[None, None].to(dev)
            x_last = x.contiguous(memory_format=torch.channels_last)
            megapixels = (4 * side) ** 2 / 1e6
            with torch.no_grad():
                whole = best_ms(partial(super_resolve_y, model, y, 4, device=dev))
                fp32 = best_ms(partial(net, x))
                with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
                    bf16 = best_ms(partial(fast_net, x_last))
            rows.append(
                {
                    "lr_side": side,
                    "output_megapixels": round(megapixels, 3),
                    "upscale_ms_per_mp": round(whole / megapixels, 2),
                    "network_fp32_ms_per_mp": round(fp32 / megapixels, 3),
                    "network_bf16_ms_per_mp": round(bf16 / megapixels, 3),
                }
            )
            self.say(
                f"inference x4, {side} px in: upscale {rows[-1]['upscale_ms_per_mp']} ms/MP, network fp32 "
                f"{rows[-1]['network_fp32_ms_per_mp']}, bf16 channels-last {rows[-1]['network_bf16_ms_per_mp']}"
            )
        return {"model": "official-x4", "device": device, "rows": rows}

    def train(self, plan: dict[str, Any], device: str, extra: list[str] | None = None) -> dict[str, Any]:
        run = self.out / "run"
        argv = [
            sys.executable,
            "-m",
            "lapsrn_edu",
            "train",
            "--config",
            "gpu",
            "--scale",
            "4",
            "--device",
            device,
            "--epochs",
            str(plan["epochs"]),
            "--iterations-per-epoch",
            str(plan["iterations_per_epoch"]),
            "--out",
            str(run),
            *(extra or []),
        ]
        if self.args.tiny:
            argv += [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
        history_file = run / "history.json"
        seen: dict[str, Any] = {"epochs": 0, "first": None, "last": None}

        def report_new_epochs() -> None:  # and when the first and the last epoch ended, for the utilisation
            for record in read_epochs(history_file)[seen["epochs"] :]:
                now = time.monotonic()
                seen["first"] = seen["first"] or now - record["elapsed_seconds"]
                seen["last"], seen["epochs"] = now, record["epoch"]
                self.say(
                    f"epoch {record['epoch']}: Set5 {record['val_psnr']:.3f} dB after "
                    f"{record['train_seconds'] / 60:.2f} min "
                    f"of training ({record['elapsed_seconds'] / 60:.2f} min with validation), "
                    f"{record['patches_per_second']:.0f} patches/s"
                )

        started = time.monotonic()
        sampler = GpuSampler() if device == "cuda" else None
        try:
            code, cut = self.command(argv, self.left() - 40, "training", report_new_epochs)
        finally:
            if sampler:
                sampler.stop()
        (run / "best.pt").unlink(missing_ok=True)  # selected on Set5: never published, and $OUT holds few files
        epochs = read_epochs(history_file)
        busy = sampler.between(seen["first"], seen["last"]) if sampler and seen["first"] else []
        result = {
            "exit_code": code,
            "cut_at_deadline": cut,
            "epochs_done": len(epochs),
            "set5_against_minutes": [
                {
                    "epoch": e["epoch"],
                    "train_minutes": round(e["train_seconds"] / 60, 3),
                    "wall_minutes": round(e["elapsed_seconds"] / 60, 3),
                    "set5_psnr": e["val_psnr"],
                    "patches_per_second": round(e["patches_per_second"]),
                }
                for e in epochs
            ],
            "gpu_utilisation_mean": statistics.fmean(u for u, _ in busy) if busy else None,
            "gpu_utilisation_samples": len(busy),
            "gpu_memory_used_mib_max": max((m for _, m in busy), default=None),
        }
        self.step("training", result, started)
        if code != 0 and not cut:
            raise CheckFailed(f"training failed (exit {code}); see the log")
        if not epochs:
            raise CheckFailed("training: no epoch finished")
        return result

    def export(self) -> dict[str, Any]:
        from lapsrn_edu.training.export import export_run

        weights, card = export_run(
            self.out / "run", self.out, ("set5", "set14", "bsd100"), progress=False, name="ours-x4-gpu"
        )
        rows = re.findall(r"^\| (set5|set14|bsd100) \| ([\d.]+) \| ([\d.]+) \|$", card.read_text(), flags=re.MULTILINE)
        return {
            "weights": weights.name,
            "card": card.name,
            "mb": round(weights.stat().st_size / 2**20, 2),
            "scores": {name: {"psnr": float(psnr), "ssim": float(ssim)} for name, psnr, ssim in rows},
        }

    def run(self) -> int:
        device = "cpu"
        try:
            for name, action in (("machine", self.machine), ("data", self.data)):
                started = time.monotonic()
                self.step(name, action(), started)
                self.say(f"{name}: {json.dumps(self.results[name], default=str)}")
            device = self.results["machine"]["device"]
            started = time.monotonic()
            self.step("tests", self.tests(), started)
            started = time.monotonic()
            try:
                self.step("throughput", self.bench(device), started)
            except CheckFailed as exc:
                self.problem(f"{exc}; the training is planned at an assumed {ASSUMED_PATCHES_PER_SECOND:.0f} patches/s")
            started = time.monotonic()
            try:
                self.step("inference", self.inference(device), started)
            except Exception as exc:  # a measurement to report; the training matters more
                self.problem(f"inference: {type(exc).__name__}: {exc}")
            self.step("plan", self.plan(self.results.get("throughput")), time.monotonic())
            self.say(f"plan: {json.dumps(self.results['plan'])}")
            self.train_with_retry(self.results["plan"], device)
            started = time.monotonic()
            self.step("export", self.export(), started)
            self.results["status"] = (
                "cut at the deadline"
                if self.results["training"]["cut_at_deadline"]
                else f"FAILED: {self.results['problems'][0]}"
                if self.results.get("problems")
                else "passed"
            )
        except CheckFailed as exc:
            self.results["status"] = f"FAILED: {exc}"
        except Exception as exc:  # an unexpected error is a failure too, with its type
            self.results["status"] = f"FAILED: {type(exc).__name__}: {exc}"
        finally:
            self.results["seconds"] = round(time.monotonic() - self.started, 1)
            self.save()
        self.summary()
        return 0 if self.results["status"] == "passed" else 1

    def summary(self) -> None:
        r = self.results
        status = {
            "passed": "PASSED",
            "cut at the deadline": "CUT AT THE DEADLINE: the run did not finish its schedule",
        }.get(r["status"], r["status"])
        lines = [
            "",
            "=" * 100,
            f"GPU CHECK {status} (after {r['seconds']} s)",
            f"machine: {r.get('machine', {}).get('machine')}",
        ]
        if "tests" in r:
            t = r["tests"]
            lines.append(
                f"tests: {t['passed']} passed, {t['failed']} failed, {t['errors']} errors, {t['skipped']} skipped"
            )
        for b in r.get("throughput", {}).get("recipes", []):
            used = b.get("gpu_utilisation_mean")
            lines.append(
                f"throughput {b['recipe']:6s}: {b['patches_per_second']:9.0f} patches/s (batch {b['batch_size']}, "
                f"patches cut on {b['patches_on']}{'' if used is None else f', GPU utilisation {used:.0f}%'})"
            )
        for row in r.get("inference", {}).get("rows", []):
            lines.append(
                f"inference x4 {row['lr_side']} px in: upscale {row['upscale_ms_per_mp']} ms/MP, network fp32 "
                f"{row['network_fp32_ms_per_mp']} ms/MP, bf16 {row['network_bf16_ms_per_mp']} ms/MP"
            )
        for problem in r.get("problems", []):
            lines.append(f"PROBLEM: {problem}")
        if "training" in r:
            t = r["training"]
            for e in t["set5_against_minutes"]:
                lines.append(
                    f"  epoch {e['epoch']:2d}: Set5 {e['set5_psnr']:.3f} dB after {e['train_minutes']:.2f} min "
                    f"training ({e['wall_minutes']:.2f} min wall)"
                )
            if t["gpu_utilisation_mean"] is not None:
                lines.append(
                    f"GPU utilisation while training: {t['gpu_utilisation_mean']:.0f}% (mean of "
                    f"{t['gpu_utilisation_samples']} samples)"
                )
        if "export" in r:
            scores = ", ".join(f"{name} {s['psnr']:.2f} dB" for name, s in r["export"]["scores"].items())
            lines.append(f"exported {r['export']['weights']} + {r['export']['card']}: {scores}")
            lines.append(
                f"next, on the CPU machine: cp FILES/{r['export']['weights']} FILES/{r['export']['card']} data/models/ "
                "or re-export with BSD100: lapsrn-edu export FILES/run --name ours-x4-gpu --overwrite "
                f'--trained-on "{r["machine"]["machine"]}"'
            )
        lines.append("=" * 100)
        for line in lines:
            self.say(line)


def junit_counts(path: Path) -> dict[str, int]:
    """passed / failed / errors / skipped from pytest's JUnit XML (zeros when it was not written)."""
    import xml.etree.ElementTree as ET

    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    if not path.is_file():
        return counts
    for case in ET.parse(path).getroot().iter("testcase"):
        kinds = {child.tag for child in case}
        key = (
            "failed"
            if "failure" in kinds
            else "errors"
            if "error" in kinds
            else "skipped"
            if "skipped" in kinds
            else "passed"
        )
        counts[key] += 1
    return counts


def read_epochs(path: Path) -> list[dict[str, Any]]:
    try:
        return json.loads(path.read_text())["epochs"]
    except (OSError, ValueError, KeyError):  # not written yet, or being rewritten
        return []


def stop(process: subprocess.Popen) -> None:
    """Ctrl-C the process group (the trainer keeps its last checkpoint), then kill it if it lingers."""
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


class GpuSampler:
    """(utilisation %, memory MiB) from ``nvidia-smi`` every half second, with the time of each sample."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float, float]] = []
        self._stop = threading.Event()
        self._smi = shutil.which("nvidia-smi") or ""  # "": none on this machine
        self._thread = threading.Thread(target=self._run, daemon=True)
        if self._smi:
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                out = subprocess.run(
                    [self._smi, "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"],
                    capture_output=True,
                    text=True,
                    timeout=5,
                ).stdout.split("\n")[0]
                used, memory = (float(v) for v in out.split(","))
            except (subprocess.SubprocessError, ValueError, OSError):
                continue
            self.samples.append((time.monotonic(), used, memory))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def between(self, start: float, end: float | None) -> list[tuple[float, float]]:
        return [(u, m) for at, u, m in self.samples if start <= at <= (end or math.inf)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="write .gpu-data/ from the data root (on the machine with the data)")
    p.add_argument(
        "--data-root", default=os.environ.get("LAPSRN_EDU_DATA"), help="the data root (default: $LAPSRN_EDU_DATA)"
    )
    p.add_argument("--to", default=str(PACK), help="the pack folder (default: .gpu-data in the repository)")
    p = sub.add_parser("run", help="the check, on the GPU machine")
    p.add_argument("--out", default=os.environ.get("OUT"), help="results folder (default: $OUT)")
    p.add_argument(
        "--budget",
        type=float,
        default=float(os.environ.get("GPU_CHECK_BUDGET_S", 580)),
        help="seconds for everything (default 580: a device call may run 600)",
    )
    p.add_argument(
        "--minutes", type=float, default=8.0, help="training minutes wanted (default 8; the deadline may allow fewer)"
    )
    p.add_argument("--epochs", type=int, help="training epochs (default: one per ~32 s of training)")
    p.add_argument(
        "--pack", default=str(PACK), help="the pack to unpack when LAPSRN_EDU_DATA holds no data (default: .gpu-data)"
    )
    p.add_argument(
        "--unpack-to", help="unpack here even if LAPSRN_EDU_DATA holds data (default: /tmp/lapsrn-edu-gpu-data)"
    )
    p.add_argument(
        "--tiny",
        action="store_true",
        default=os.environ.get("GPU_CHECK_TINY") == "1",
        help="dry run on the CPU: a depth-1 network, seconds of training (also GPU_CHECK_TINY=1)",
    )
    args = parser.parse_args()
    try:
        if args.command == "pack":
            if not args.data_root:
                parser.error("pack: give --data-root or set LAPSRN_EDU_DATA")
            pack_for_a_device_call(Path(args.data_root), Path(args.to))
            return 0
        if not args.out:
            parser.error("run: give --out or set OUT")
        return Check(args).run()
    except CheckFailed as exc:
        print(f"gpu_check: FAILED: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
