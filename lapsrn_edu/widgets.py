"""Interactive explorers for the course notebooks, built from core ipywidgets only.

Each builder returns an ``ipywidgets.interactive``: display it in a notebook, or drive it from
code (set a control's ``.value``; the new figure is in ``.result``), which is how the tests check
them. A widget's figure lives only in the live notebook, so every notebook also draws one static
figure with the same ``plots`` function, for executed copies and HTML pages.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from . import plots
from .pyramid import KINDS, laplacian_pyramid, max_levels
from .upscale import model_levels

STATIC_ENV = "LAPSRN_EDU_STATIC_WIDGETS"


def explorer(draw: Callable[..., Figure], **controls: w.ValueWidget) -> w.interactive | Figure:
    """``ipywidgets.interactive(draw, **controls)``, or, when ``$LAPSRN_EDU_STATIC_WIDGETS`` is set
    (the course runner sets it), the figure ``draw`` makes with the controls' default values.

    Why: executed copies and HTML pages cannot keep a live widget anyway, and nbclient (which
    papermill runs on) was seen here to hang on a cell whose Output widget captures a figure.
    """
    if not os.environ.get(STATIC_ENV):
        return w.interactive(draw, **controls)
    figure = draw(**{name: control.value for name, control in controls.items()})
    plt.close(figure)  # shown once, as the cell's result
    return figure


def pyramid_explorer(images: dict[str, np.ndarray], levels: int = 4, contrast: float = 4.0) -> w.interactive | Figure:
    """Explore Laplacian pyramids: choose the image, pyramid kind, number of levels, the level shown
    large (with its spectrum) and the contrast stretch of the signed bands."""
    if not images:
        raise ValueError("pyramid_explorer needs at least one image")
    most = min(max_levels(image.shape) for image in images.values())
    image_box = w.Dropdown(options=list(images), description="image")
    kind_box = w.Dropdown(options=list(KINDS), description="kind")
    levels_slider = w.IntSlider(value=min(levels, most), min=2, max=min(most, 7), description="levels")
    band_slider = w.IntSlider(value=0, min=0, max=levels_slider.value - 1, description="level shown")
    contrast_slider = w.FloatSlider(value=contrast, min=1.0, max=16.0, step=0.5, description="contrast")

    def clamp_band(change: dict) -> None:
        band_slider.max = change["new"] - 1

    levels_slider.observe(clamp_band, names="value")

    def draw(image: str, kind: str, levels: int, band: int, contrast: float) -> Figure:
        pyramid = laplacian_pyramid(images[image], levels, kind)
        return plots.pyramid_figure(pyramid, band, contrast, title=f"{image}: {kind} Laplacian pyramid")

    return explorer(draw, image=image_box, kind=kind_box, levels=levels_slider, band=band_slider, contrast=contrast_slider)


@torch.no_grad()
def level_images(model: nn.Module, lr_y: np.ndarray, scale: int) -> list[dict[str, np.ndarray]]:
    """Run ``model`` on one (H, W) luma image up to ``scale`` and take every level apart:
    ``upsampled`` (the previous image through the level's image upsampler), ``residual`` (what the
    feature branch adds) and ``output`` (their sum), coarse to fine, as float64 arrays."""
    levels = model_levels(model, scale)
    x = torch.from_numpy(np.ascontiguousarray(lr_y, dtype=np.float32))[None, None]
    outputs = model.eval()(x, levels=levels)
    upsamplers = [level.image_upsample for level in model.levels] if hasattr(model, "levels") else [model.image_upsample] * levels
    result, previous = [], x
    for upsampler, output in zip(upsamplers, outputs):
        upsampled = upsampler(previous)
        as_numpy = lambda t: t[0, 0].double().numpy()  # noqa: E731 - tiny local converter
        result.append({"upsampled": as_numpy(upsampled), "residual": as_numpy(output - upsampled), "output": as_numpy(output)})
        previous = output
    return result


def level_viewer(model: nn.Module, lr_y: np.ndarray, hr_y: np.ndarray | None = None, contrast: float = 4.0) -> w.interactive | Figure:
    """Every level of one model on one image: pick the scale (x2, x4, x8 up to the model's own)
    and the residual's contrast; ``hr_y`` is the ground truth at the model's full scale."""
    scales = [s for s in (2, 4, 8) if s <= model.scale]
    scale_box = w.Dropdown(options=scales, value=scales[-1], description="scale")
    contrast_slider = w.FloatSlider(value=contrast, min=1.0, max=16.0, step=0.5, description="contrast")

    def draw(scale: int, contrast: float) -> Figure:
        hr = None
        if hr_y is not None and scale == model.scale:
            hr = hr_y
        return plots.level_figure(level_images(model, lr_y, scale), hr, contrast, title=f"{type(model).__name__} run to x{scale}")

    return explorer(draw, scale=scale_box, contrast=contrast_slider)


def charbonnier_explorer(span: float = 0.05) -> w.interactive | Figure:
    """The Charbonnier penalty against L1 and L2 as eps varies (log slider, the paper's 1e-3 first)."""
    eps_slider = w.FloatLogSlider(value=1e-3, base=10, min=-5, max=-1, step=0.25, description="eps")
    span_slider = w.FloatLogSlider(value=span, base=10, min=-3, max=0, step=0.25, description="x range")
    return explorer(lambda eps, span: plots.loss_figure(eps, span), eps=eps_slider, span=span_slider)
