"""Matplotlib figures: what people would rather see than read."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..data.datasets import DataNotFoundError, Image, embedded_images
from ..evaluation import zoo
from ..evaluation.evaluate import degrade, mod_crop
from ..evaluation.upscale import upscale_pixels
from ..imaging.metrics import score


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
    for row, (image, scale) in zip(axes, rows, strict=True):
        gt = mod_crop(center_crop(image.pixels, crop), 8)
        lr = degrade(gt, scale)
        name = zoo.best_for_scale(scale, root)
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


# --- Figures for the course notebooks -------------------------------------------------------


def band_display(band: np.ndarray, contrast: float) -> np.ndarray:
    """A signed Laplacian band as a picture: mid-gray is zero, ``contrast`` stretches the detail."""
    return np.clip(0.5 + contrast * band, 0.0, 1.0)


def power_spectrum(image: np.ndarray) -> np.ndarray:
    """log10 of the centred power spectrum of an (H, W) or (H, W, C) image (channels averaged)."""
    gray = image.mean(axis=-1) if image.ndim == 3 else image
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(gray - gray.mean()))) ** 2
    return np.log10(spectrum + 1e-12)


def radial_profile(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frequency in cycles per pixel, mean log power) along rings of the centred spectrum."""
    spectrum = power_spectrum(image)
    h, w = spectrum.shape
    fy = np.fft.fftshift(np.fft.fftfreq(h))[:, None]
    fx = np.fft.fftshift(np.fft.fftfreq(w))[None, :]
    radius = np.sqrt(fy**2 + fx**2)
    bins = np.linspace(0, 0.5, 26)
    which = np.digitize(radius.ravel(), bins)
    profile = np.array(
        [spectrum.ravel()[which == i].mean() if np.any(which == i) else np.nan for i in range(1, len(bins))]
    )
    return 0.5 * (bins[1:] + bins[:-1]), profile


def pyramid_figure(pyramid: list[np.ndarray], band: int = 0, contrast: float = 4.0, title: str = "") -> Figure:
    """Every level of a Laplacian pyramid (bands, then the low-pass residual) on one row, and below
    the chosen level at its own pixel size beside its power spectrum."""
    n = len(pyramid)
    band = min(max(band, 0), n - 1)
    fig = plt.figure(figsize=(2.2 * max(n, 4), 6.4))
    grid = fig.add_gridspec(2, max(n, 4), height_ratios=[1, 1.6])
    for k, level in enumerate(pyramid):
        ax = fig.add_subplot(grid[0, k])
        last = k == n - 1
        show(
            ax,
            level if last else band_display(level, contrast),
            f"{'residual' if last else f'band {k}'} {level.shape[0]}x{level.shape[1]}",
        )
        if k == band:
            ax.axis("on")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_color("red")
                spine.set_linewidth(2.5)
    half = max(n, 4) // 2
    chosen = pyramid[band]
    picture = chosen if band == n - 1 else band_display(chosen, contrast)
    show(
        fig.add_subplot(grid[1, :half]),
        picture,
        f"level {band} (contrast x{contrast:g})" if band < n - 1 else "low-pass residual",
    )
    ax = fig.add_subplot(grid[1, half:])
    ax.imshow(power_spectrum(chosen), cmap="magma", extent=(-0.5, 0.5, 0.5, -0.5))
    ax.set_title("log power spectrum (cycles/pixel)", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def spectra_figure(pyramid: list[np.ndarray]) -> Figure:
    """Radially averaged power of each level, plotted against the frequency of the *original*
    image's grid: each band occupies its own octave, which is why the bands add up without overlap."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for k, level in enumerate(pyramid):
        freq, profile = radial_profile(level)
        label = "residual" if k == len(pyramid) - 1 else f"band {k}"
        ax.plot(freq / 2**k, profile, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("frequency on the finest grid (cycles per pixel, log scale)")
    ax.set_ylabel("log10 power")
    ax.legend(fontsize=8)
    ax.set_title("each band holds one octave of frequencies", fontsize=10)
    fig.tight_layout()
    return fig


def kernel_figure(kernels: dict[str, np.ndarray], cmap: str = "viridis") -> Figure:
    """Small 2-D kernels (e.g. transposed-conv filters) as annotated heat maps."""
    fig, axes = plt.subplots(1, len(kernels), figsize=(2.8 * len(kernels), 2.9), squeeze=False)
    for ax, (name, kernel) in zip(axes[0], kernels.items(), strict=True):
        kernel = np.asarray(kernel, dtype=np.float64)
        ax.imshow(kernel, cmap=cmap)
        if kernel.size <= 36:
            for (i, j), v in np.ndenumerate(kernel):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="w")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def level_figure(
    levels: list[dict[str, np.ndarray]], hr: np.ndarray | None = None, contrast: float = 4.0, title: str = ""
) -> Figure:
    """Each pyramid level of a network: the upsampled input, the predicted residual (a Laplacian
    band) and their sum, the level's output; ``levels`` as :func:`lapsrn_edu.course.widgets.level_images`
    returns them, ``hr`` (optional) the ground truth beside the finest output."""
    rows = len(levels)
    cols = 4 if hr is not None else 3
    fig, axes = plt.subplots(rows, cols, figsize=(2.8 * cols, 2.8 * rows), squeeze=False)
    for k, (row, level) in enumerate(zip(axes, levels, strict=True)):
        size = level["output"].shape
        show(row[0], level["upsampled"], f"level {k + 1}: upsampled input {size[0]}x{size[1]}")
        show(row[1], band_display(level["residual"], contrast), f"predicted residual (x{contrast:g})")
        show(row[2], level["output"], f"output x{2 ** (k + 1)}")
        if hr is not None:
            if k == rows - 1:
                show(row[3], hr, "ground truth")
            else:
                row[3].axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def loss_figure(eps: float = 1e-3, span: float = 0.05) -> Figure:
    """Charbonnier, L1 and L2 penalties and their gradients for residuals in [-span, span]."""
    x = np.linspace(-span, span, 801)
    rho = np.sqrt(x**2 + eps**2)
    curves = {
        "L2: x^2": (x**2, 2 * x),
        "L1: |x|": (np.abs(x), np.sign(x)),
        f"Charbonnier: sqrt(x^2 + eps^2), eps={eps:g}": (rho, x / rho),
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for label, (value, grad) in curves.items():
        left.plot(x, value, label=label)
        right.plot(x, grad, label=label)
    left.set_ylim(0, span * 1.05)
    left.set_title("penalty rho(x)", fontsize=10)
    right.set_title("gradient d rho / dx", fontsize=10)
    for ax in (left, right):
        ax.set_xlabel("residual x = prediction - target")
        ax.axvline(0, color="gray", lw=0.5)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def zoom_gallery(
    ground_truth: np.ndarray,
    results: dict[str, np.ndarray],
    scale: int,
    box: tuple[int, int, int] | None = None,
    title: str = "",
) -> Figure:
    """The ground truth with a marked region, then that region zoomed in every result, with its
    PSNR (paper protocol) in the title; ``box`` is (top, left, size) in HR pixels (default: the
    centre, a quarter of the shorter side)."""
    h, w = ground_truth.shape[:2]
    if box is None:
        size = min(h, w) // 4
        box = ((h - size) // 2, (w - size) // 2, size)
    top, left, size = box
    panels = {"ground truth": ground_truth, **results}
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(2.6 * (len(panels) + 1), 2.9))
    show(axes[0], ground_truth, "ground truth (region marked)")
    axes[0].add_patch(plt.Rectangle((left, top), size, size, fill=False, edgecolor="red", linewidth=1.5))
    for ax, (name, pixels) in zip(axes[1:], panels.items(), strict=True):
        label = name if name == "ground truth" else f"{name}\n{score(ground_truth, pixels, scale)[0]:.2f} dB"
        show(ax, pixels[top : top + size, left : left + size], label)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _feature_stack(ax, x: float, size: float, count: int, color: str) -> float:
    """``count`` thin boxes of height ``size`` (a resolution) from ``x``; returns the right end."""
    for i in range(count):
        ax.add_patch(plt.Rectangle((x + 0.35 * i, -size / 2), 0.25, size, facecolor=color, edgecolor="k", lw=0.5))
    return x + 0.35 * count


def _image(ax, x: float, size: float, label: str, color: str = "0.85") -> float:
    ax.add_patch(plt.Rectangle((x, -size / 2), size, size, facecolor=color, edgecolor="k", lw=0.8))
    ax.text(x + size / 2, -size / 2 - 0.35, label, ha="center", va="top", fontsize=7)
    return x + size


def _arrow(ax, x0: float, x1: float, label: str = "", y: float = 0.0) -> None:
    ax.annotate("", xy=(x1, y), xytext=(x0, y), arrowprops={"arrowstyle": "->", "lw": 0.9})
    if label:
        ax.text((x0 + x1) / 2, y + 0.2, label, ha="center", va="bottom", fontsize=7)


def frameworks_figure() -> Figure:
    """The three ways CNNs upsample, drawn for x4: pre-upsampling (SRCNN, VDSR, DRCN: bicubic
    first, every convolution at the HR size), one-shot post-upsampling (FSRCNN, ESPCN: all
    convolutions at the LR size, one x4 step at the end) and LapSRN's progressive pyramid (x2 per
    level, a residual added at each level, an SR image at x2 and at x4). Box heights are image
    sizes: a box twice as tall holds four times the pixels, and costs four times as much."""
    fig, axes = plt.subplots(3, 1, figsize=(10, 7.4))
    conv, up = "#9ecae1", "#fdae6b"
    rows = [
        ("pre-upsampling: SRCNN, VDSR, DRCN", "every convolution works on the large image"),
        ("one-shot post-upsampling: FSRCNN, ESPCN", "convolutions on the small image, one x4 step at the end"),
        ("progressive (LapSRN): x2 per level", "convolutions at each level's size; every level outputs an SR image"),
    ]
    for ax, (title, note) in zip(axes, rows, strict=True):
        ax.set_title(f"{title}: {note}", fontsize=9, loc="left")
        ax.set_xlim(0, 19)
        ax.set_ylim(-3.1, 2.6)
        ax.set_aspect("equal")
        ax.axis("off")

    def upsampler(ax, x: float, size: float, label: str) -> float:
        ax.add_patch(plt.Rectangle((x, -size / 2), 0.45, size, facecolor=up, edgecolor="k", lw=0.5))
        ax.text(x + 0.22, size / 2 + 0.1, label, ha="center", va="bottom", fontsize=7)
        return x + 0.45

    ax = axes[0]
    x = _image(ax, 0.2, 1, "LR")
    _arrow(ax, x + 0.1, x + 2.1, "bicubic x4")
    x = _image(ax, x + 2.2, 4, "bicubic image (HR size)")
    _arrow(ax, x + 0.1, x + 0.7)
    x = _feature_stack(ax, x + 0.8, 4, 12, conv)
    _arrow(ax, x + 0.3, x + 2.5, "+ bicubic image")
    _image(ax, x + 2.6, 4, "SR x4")
    ax = axes[1]
    x = _image(ax, 0.2, 1, "LR")
    _arrow(ax, x + 0.1, x + 0.7)
    x = _feature_stack(ax, x + 0.8, 1, 12, conv)
    x = upsampler(ax, x + 0.3, 4, "x4 up")
    _arrow(ax, x + 0.1, x + 0.7)
    _image(ax, x + 0.8, 4, "SR x4")
    ax = axes[2]
    x = _image(ax, 0.2, 1, "LR")
    _arrow(ax, x + 0.1, x + 0.7)
    x = _feature_stack(ax, x + 0.8, 1, 6, conv)
    x = upsampler(ax, x + 0.3, 2, "x2")
    _arrow(ax, x + 0.1, x + 2.1, "residual + up x2")
    x = _image(ax, x + 2.2, 2, "SR x2")
    _arrow(ax, x + 0.1, x + 0.7)
    x = _feature_stack(ax, x + 0.8, 2, 6, conv)
    x = upsampler(ax, x + 0.3, 4, "x2")
    _arrow(ax, x + 0.1, x + 2.1, "residual + up x2")
    _image(ax, x + 2.2, 4, "SR x4")
    ax.text(
        0.2,
        -2.8,
        "image branch: each SR image is upsampled x2 and the next level's residual is added to it",
        fontsize=7,
    )
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=c, edgecolor="k") for c in (conv, up)]
    fig.legend(
        handles,
        ["3x3 convolutions (height = image size)", "learned upsampling"],
        loc="lower center",
        ncol=2,
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def residual_band_spectra(model, hr_images: list[np.ndarray], scale: int) -> list[dict[str, np.ndarray]]:
    """What each level of ``model`` learned, in frequencies.

    For every level (coarse to fine), radially averaged log power spectra (frequencies in cycles
    per pixel of the HR grid), averaged over the (H, W) HR luma images:
    ``predicted``, the residual the level adds; ``band``, the true Laplacian band at that level
    (the HR image's MATLAB-bicubic pyramid: G_k - expand(G_k+1)); and ``needed``, what the level
    would have to add to its own upsampled image to hit its target exactly (target minus the
    level's image branch applied to the previous output). The band assumes a bicubic expand, the
    network's image branch is a learned one: where ``band`` and ``needed`` differ, the residual
    also corrects its own upsampler."""
    import torch

    from ..evaluation.upscale import model_levels
    from ..imaging.pyramid import gaussian_pyramid, laplacian_pyramid

    levels = model_levels(model, scale)
    upsamplers = (
        [level.image_upsample for level in model.levels]
        if hasattr(model, "levels")
        else [model.image_upsample] * levels
    )
    spectra: list[dict[str, np.ndarray]] = []
    for hr in hr_images:
        hr = mod_crop(np.asarray(hr, dtype=np.float64), scale)
        bands = laplacian_pyramid(hr, levels + 1, kind="bicubic")  # index 0: the finest band (HR size)
        targets = gaussian_pyramid(hr, levels + 1, kind="bicubic")
        lr = torch.from_numpy(np.ascontiguousarray(degrade(hr, scale), dtype=np.float32))[None, None]
        with torch.no_grad():
            outputs = model.eval()(lr, levels=levels)
            previous = lr
            # not strict: a model with more levels than the scale needs runs only its first ``levels``
            for s, (upsampler, output) in enumerate(zip(upsamplers, outputs, strict=False)):
                upsampled = upsampler(previous)[0, 0].double().numpy()
                k = levels - 1 - s  # pyramid index of this level's size
                parts = {
                    "predicted": output[0, 0].double().numpy() - upsampled,
                    "band": bands[k],
                    "needed": targets[k] - upsampled,
                }
                if len(spectra) <= s:
                    spectra.append({"freq": radial_profile(bands[k])[0] / 2**k} | {name: 0.0 for name in parts})
                for name, part in parts.items():
                    spectra[s][name] = spectra[s][name] + radial_profile(part)[1] / len(hr_images)
                previous = output
    return spectra


def band_spectra_figure(spectra: list[dict[str, np.ndarray]], title: str = "") -> Figure:
    """Left: each level's predicted residual (solid), true Laplacian band (dashed) and the residual
    it needed (dotted), log power against HR frequency (:func:`residual_band_spectra`). Right: the
    predicted residual's power against the needed one's, in dB: 0 where a level adds all it should,
    below 0 where detail is missing."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for s, level in enumerate(spectra):
        color = f"C{s}"
        label = f"level {s + 1} (x{2 ** (s + 1)})"
        left.plot(level["freq"], level["predicted"], color=color, label=f"{label}: predicted residual")
        left.plot(level["freq"], level["band"], color=color, ls="--", label=f"{label}: true Laplacian band")
        left.plot(level["freq"], level["needed"], color=color, ls=":", label=f"{label}: needed residual")
        right.plot(level["freq"], 10 * (level["predicted"] - level["needed"]), color=color, marker=".", label=label)
    for ax in (left, right):
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_xlabel("frequency on the HR grid (cycles per pixel, log scale)")
        ax.legend(fontsize=6.5)
    left.set_ylabel("log10 power")
    right.set_ylabel("predicted / needed power (dB)")
    right.axhline(0, color="gray", lw=0.6)
    left.set_title("each level's residual, its true band, and what it needed", fontsize=9)
    right.set_title("how much of the needed detail each level adds", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def side_by_side(panels: dict[str, np.ndarray], crop: int | None = None, title: str = "") -> Figure:
    """Images of the same size in a row (e.g. an input enlarged by nearest neighbour, bicubic and a
    network), each cut to the same central ``crop`` x ``crop`` region when given."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.6), squeeze=False)
    for ax, (name, pixels) in zip(axes[0], panels.items(), strict=True):
        show(ax, center_crop(pixels, crop) if crop else pixels, name)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def history_figure(history, bicubic_psnr: float | None = None) -> Figure:
    """A training run's three curves against iterations (a :class:`lapsrn_edu.training.trainer.History`):
    the loss, the learning rate, and the validation PSNR with bicubic's as the line to beat."""
    epochs = history.epochs
    iterations = [e.iteration for e in epochs]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    axes[0].plot(iterations, [e.loss for e in epochs], marker="o")
    axes[0].set_title(
        f"training loss ({history.config.get('loss', '')}, {history.config.get('reduction', '')} reduction)", fontsize=9
    )
    axes[1].plot(iterations, [e.lr for e in epochs], marker="o")
    axes[1].set_title(f"learning rate ({history.config.get('lr_schedule', '')})", fontsize=9)
    axes[2].plot(iterations, [e.val_psnr for e in epochs], marker="o", label="this run")
    if bicubic_psnr is not None:
        axes[2].axhline(bicubic_psnr, color="gray", ls="--", label="bicubic")
    axes[2].set_title(f"validation PSNR on {history.val_dataset} (x{history.config.get('scale', '?')})", fontsize=9)
    axes[2].legend(fontsize=8)
    for ax in axes:
        ax.set_xlabel("iteration")
    fig.tight_layout()
    return fig


def night_curve_figure(curve: dict, paper_psnr: float | None = None, title: str = "") -> Figure:
    """A published run's monitor PSNR against hours (a model's ``.curve.json``, written by
    ``lapsrn-edu export``): wall-clock hours on the left, the CPU's core-hours on the right, with
    the paper's score as the line to reach. The monitor selects nothing: the model is the last point."""
    epochs = curve["epochs"]
    psnr = [e["val_psnr"] for e in epochs]
    clocks = {"hours of wall clock": [e["hours"] for e in epochs]}
    if all(e.get("cpu_hours") is not None for e in epochs):
        clocks["core-hours (CPU time of the training process)"] = [e["cpu_hours"] for e in epochs]
    fig, axes = plt.subplots(1, len(clocks), figsize=(5.5 * len(clocks), 3.4), squeeze=False)
    for ax, (label, hours) in zip(axes[0], clocks.items(), strict=True):
        ax.plot(hours, psnr, marker=".", label="this run (monitor)")
        if paper_psnr is not None:
            ax.axhline(paper_psnr, color="gray", ls="--", label=f"the paper's model, {paper_psnr:.2f} dB")
        ax.set_xlabel(label)
        ax.set_ylabel(f"PSNR on {curve.get('val_dataset') or 'the monitor set'} (dB)")
        ax.legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def distortion_detail_figure(curves: dict[str, list[tuple[float, float, float]]], title: str = "") -> Figure:
    """PSNR against fine detail (:mod:`lapsrn_edu.evaluation.detail`): one line per method, one
    point per sharpening amount ``(amount, detail ratio, PSNR)``, each labelled with its amount."""
    fig, ax = plt.subplots(figsize=(6.6, 4.2))
    for name, points in curves.items():
        _, ratios, psnrs = zip(*points, strict=True)
        ax.plot(ratios, psnrs, "o-", label=f"{name}, sharpened by the amount shown")
        for amount, ratio, value in points:
            ax.annotate(f"{amount:g}", (ratio, value), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.axvline(1.0, color="0.5", linestyle="--", linewidth=1)
    ax.annotate(
        "as much fine detail\nas the ground truth",
        (1.0, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(4, -24),
        textcoords="offset points",
        fontsize=8,
        color="0.35",
    )
    ax.set_xlabel("fine detail relative to the ground truth (energy of the finest Laplacian band)")
    ax.set_ylabel("PSNR (dB, Y channel)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
