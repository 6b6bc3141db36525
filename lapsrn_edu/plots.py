"""Matplotlib figures: what people would rather see than read."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from . import zoo
from .datasets import DataNotFoundError, Image, embedded_images
from .evaluate import degrade, mod_crop
from .metrics import score
from .upscale import upscale_pixels


def best_model_name(scale: int, root: str | Path | None = None) -> str:
    """The strongest model present for ``scale``: the official LapSRN, then ours, then bicubic."""
    present = zoo.available(root)
    for name in (f"official-x{scale}", f"ours-x{scale}", "official-x8", "ours-x8"):
        if name in present:
            return name
    return "bicubic"


def show(ax, pixels: np.ndarray, title: str) -> None:
    """Draw an image in [0, 1] (gray or RGB) without axes."""
    ax.imshow(np.clip(pixels, 0, 1), cmap="gray" if pixels.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def center_crop(pixels: np.ndarray, size: int) -> np.ndarray:
    """The central ``size`` x ``size`` region (the whole image if it is smaller)."""
    h, w = pixels.shape[:2]
    top, left = max((h - size) // 2, 0), max((w - size) // 2, 0)
    return pixels[top : top + size, left : left + size]


def sample_comparison(
    out_path: str | Path | None = None,
    scales: tuple[int, ...] = (2, 4, 8),
    root: str | Path | None = None,
    images: list[Image] | None = None,
    crop: int = 192,
) -> Figure:
    """LR input, bicubic, the best available network and the ground truth, for every scale.

    Each row is one image at one scale (ground truth: a central crop of an embedded image, LR made
    by the paper's MATLAB bicubic degradation); titles give the PSNR (Y channel, paper protocol).
    Saves to ``out_path`` when given.
    """
    images = images or embedded_images(("chelsea", "astronaut"))
    rows = [(img, s) for img in images for s in scales]
    fig, axes = plt.subplots(len(rows), 4, figsize=(10, 2.6 * len(rows)), squeeze=False)
    for row, (image, scale) in zip(axes, rows):
        gt = mod_crop(center_crop(image.pixels, crop), 8)
        lr = degrade(gt, scale)
        name = best_model_name(scale, root)
        try:
            model = zoo.load(name, root)
        except DataNotFoundError:
            name, model = "bicubic", None
        bicubic = upscale_pixels(lr, scale, None)
        network = upscale_pixels(lr, scale, model)
        nearest = lr.repeat(scale, axis=0).repeat(scale, axis=1)
        show(row[0], nearest, f"{image.name}: LR (x{scale}, nearest)")
        show(row[1], bicubic, f"bicubic  {score(gt, bicubic, scale)[0]:.2f} dB")
        show(row[2], network, f"{name}  {score(gt, network, scale)[0]:.2f} dB")
        show(row[3], gt, "ground truth")
    fig.tight_layout()
    if out_path is not None:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_path, dpi=110)
    return fig
