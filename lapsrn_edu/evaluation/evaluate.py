"""Score a model on a dataset exactly as the paper's test code does, and tabulate the results.

For each image: ground truth as doubles in [0, 1], mod-cropped to a multiple of the scale (top-left
kept); LR = MATLAB bicubic ``imresize(GT, 1/scale)`` on RGB doubles (not quantised); SR from the
model (Y through the network, bicubic Cb/Cr); then :func:`lapsrn_edu.imaging.metrics.score` (8-bit
rounding, Y channel, shave = scale, PSNR and MATLAB SSIM). The dataset figure is the mean.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..data.datasets import Image, dataset_images
from ..errors import OptionError
from ..imaging.color import gray_to_rgb
from ..imaging.metrics import score
from ..imaging.resize import imresize
from . import zoo
from .upscale import Upscaler


@dataclass
class ImageScore:
    name: str
    psnr: float
    ssim: float


@dataclass
class EvaluationResult:
    """Mean and per-image PSNR (dB) / SSIM; ``seconds`` is the time spent in super-resolution."""

    model: str
    dataset: str
    scale: int
    psnr: float
    ssim: float
    seconds: float
    images: list[ImageScore] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EvaluationResult:
        """The inverse of :meth:`to_dict` (for a result saved as JSON)."""
        return cls(**{**data, "images": [ImageScore(**s) for s in data.get("images", [])]})

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.to_dict()))

    @classmethod
    def load(cls, path: str | Path) -> EvaluationResult:
        return cls.from_dict(json.loads(Path(path).read_text()))


def mod_crop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crop to a multiple of ``scale``, keeping the top-left corner (LapSRN's ``mod_crop``)."""
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale]


def degrade(ground_truth: np.ndarray, scale: int) -> np.ndarray:
    """The LR input of the protocol: MATLAB bicubic downscale by ``scale``, in double, not rounded."""
    return imresize(ground_truth, 1.0 / scale)


def evaluate(
    model: str | Path | nn.Module | None,
    dataset: str | Path | list[Image],
    scale: int,
    root: str | Path | None = None,
    gray_as_rgb: bool = True,
    device: str | torch.device | None = None,
    progress: bool = True,
    model_name: str | None = None,
    dataset_name: str | None = None,
    engine: str = "auto",
) -> EvaluationResult:
    """PSNR/SSIM of ``model`` (a zoo name, a file, an ``nn.Module``, or ``None``/"bicubic") on a
    dataset (a name, a folder, or a list of :class:`Image`) at ``scale``.

    ``gray_as_rgb`` replicates a gray image to RGB before anything else (the paper's convention);
    False keeps it gray end to end, which changes Set14's score (its gray images). ``model_name`` and
    ``dataset_name`` label the result (useful when passing a module or a list of images).
    ``engine`` chooses how the model runs (see :func:`lapsrn_edu.evaluation.upscale.super_resolve_y`).
    """
    name = model_name or (str(model) if isinstance(model, (str, Path)) or model is None else type(model).__name__)
    if isinstance(model, (str, Path)):
        model = zoo.load(model, root)
    upscaler = Upscaler(model, scale, device=device, engine=engine)  # checked and prepared once, before the loop
    images = dataset_images(dataset, root) if isinstance(dataset, (str, Path)) else dataset  # read one by one
    dataset_name = dataset_name or (str(dataset) if isinstance(dataset, (str, Path)) else "images")
    scores, seconds = [], 0.0
    for image in tqdm(images, desc=f"{name} x{scale} on {dataset_name}", disable=not progress, leave=False):
        pixels = image.pixels
        if pixels.ndim == 2 and gray_as_rgb:
            pixels = gray_to_rgb(pixels)
        gt = mod_crop(pixels, scale)
        lr = degrade(gt, scale)
        start = time.perf_counter()
        sr = upscaler.pixels(lr)
        seconds += time.perf_counter() - start
        p, s = score(gt, sr, scale, gray_as_rgb)
        scores.append(ImageScore(image.name, p, s))
    if not scores:
        raise OptionError(f"dataset {dataset_name!r} has no images")
    return EvaluationResult(
        model=name,
        dataset=str(dataset_name),
        scale=scale,
        psnr=float(np.mean([s.psnr for s in scores])),
        ssim=float(np.mean([s.ssim for s in scores])),
        seconds=seconds,
        images=scores,
    )


def results_table(results: list[EvaluationResult], fmt: str = "markdown") -> str:
    """Rows = models, columns = (dataset, scale), cells "PSNR / SSIM"; ``fmt`` "markdown" or "csv"."""
    columns = sorted({(r.dataset, r.scale) for r in results}, key=lambda c: (c[0], c[1]))
    models = list(dict.fromkeys(r.model for r in results))
    cell = {(r.model, r.dataset, r.scale): r for r in results}
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["model", "dataset", "scale", "psnr", "ssim", "seconds"])
        for r in results:
            writer.writerow([r.model, r.dataset, r.scale, f"{r.psnr:.4f}", f"{r.ssim:.5f}", f"{r.seconds:.3f}"])
        return out.getvalue()
    if fmt != "markdown":
        raise OptionError(f"fmt must be 'markdown' or 'csv', got {fmt!r}")
    header = "| model | " + " | ".join(f"{d} x{s}" for d, s in columns) + " |"
    lines = [header, "|---" * (len(columns) + 1) + "|"]
    for m in models:
        cells = [
            f"{cell[(m, d, s)].psnr:.2f} / {cell[(m, d, s)].ssim:.4f}" if (m, d, s) in cell else "" for d, s in columns
        ]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
