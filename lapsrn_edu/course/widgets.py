"""Interactive explorers for the course notebooks, built from core ipywidgets only.

Each builder returns an :class:`Explorer`: its controls above its figure. Display it in a
notebook, or drive it from code (set a control's ``.value``; the new figure is in ``.result``),
which is how the tests check them. A widget's figure lives only in the live notebook, so every
notebook also draws one static figure with the same ``plots`` function, for executed copies and
HTML pages.

A redraw should feel immediate (``benchmarks/bench_widgets.py`` measures it). So what a network or a
pyramid computes is computed once per input and kept, and moving a display control (the level shown,
the contrast, the scale) only draws; and the figure is rendered once, to a PNG shown in an ``Image``
widget, where ``ipywidgets.interactive`` with the inline backend renders it twice
(``bbox_inches="tight"``) and replaces the whole output area.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import cast

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython import get_ipython
from matplotlib.figure import Figure
from torch import nn

from ..engine.switch import inference_network
from ..errors import OptionError
from ..evaluation.upscale import model_levels
from ..imaging.pyramid import KINDS, laplacian_pyramid, max_levels
from ..models.lapsrn import PyramidLevel
from . import plots

STATIC_ENV = "LAPSRN_EDU_STATIC_WIDGETS"  # set by the course runner (lapsrn_edu.course.build)
SPANS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)  # the Charbonnier explorer's x ranges


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG at its own size and resolution (its layout is already tight)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})  # 5x faster to encode, larger file
    return buffer.getvalue()


class Explorer(w.VBox):
    """Controls, then the figure ``draw(**values)`` makes from their values, redrawn when one
    changes; a redraw that fails shows its traceback below the figure instead."""

    def __init__(self, draw: Callable[..., Figure], **controls: w.ValueWidget) -> None:
        self.draw = draw
        self.controls = controls
        self.result: Figure | None = None
        self.figure_view = w.Image(format="png", layout=w.Layout(max_width="100%", height="auto"))
        self.errors = w.Output()
        self.drawn: dict[str, object] | None = None  # the values the figure shows
        self.failed = False
        super().__init__([*controls.values(), self.figure_view, self.errors])
        self.add_class("lapsrn-explorer")
        for control in controls.values():
            control.observe(self.redraw, names="value")
        self.redraw()

    def values(self) -> dict[str, object]:
        return {name: control.value for name, control in self.controls.items()}

    def redraw(self, change: dict | None = None) -> None:
        """Draw the figure for the controls' values, unless it shows them already (a control that
        clamps another, as ``levels`` clamps ``level shown``, changes two values in one move)."""
        values = self.values()
        if values == self.drawn:
            return
        if self.failed:
            self.errors.clear_output()
            self.failed = False
        try:
            figure = self.draw(**values)
            plt.close(figure)  # shown by the Image widget, not by the inline backend
            self.figure_view.value = png_bytes(figure)
        except Exception:
            shell = get_ipython()
            if shell is None:  # driven from code: the caller sees the error
                raise
            with self.errors:
                shell.showtraceback()
            self.failed, self.drawn = True, None
            return
        self.result, self.drawn = figure, values


def explorer(draw: Callable[..., Figure], **controls: w.ValueWidget) -> Explorer | Figure:
    """An :class:`Explorer`, or, when ``$LAPSRN_EDU_STATIC_WIDGETS`` is set (the course runner
    sets it), the figure ``draw`` makes with the controls' default values.

    Why: executed copies and HTML pages cannot keep a live widget anyway, and nbclient (which
    papermill runs on) was seen here to hang on a cell whose Output widget captures a figure.
    """
    if os.environ.get(STATIC_ENV):
        figure = draw(**{name: control.value for name, control in controls.items()})
        plt.close(figure)  # shown once, as the cell's result
        return figure
    return Explorer(draw, **controls)


def pyramid_explorer(images: dict[str, np.ndarray], levels: int = 4, contrast: float = 4.0) -> Explorer | Figure:
    """Explore Laplacian pyramids: choose the image, pyramid kind, number of levels, the level shown
    large (with its spectrum) and the contrast stretch of the signed bands."""
    if not images:
        raise OptionError("pyramid_explorer needs at least one image")
    most = min(max_levels(image.shape) for image in images.values())
    image_box = w.Dropdown(options=list(images), description="image")
    kind_box = w.Dropdown(options=list(KINDS), description="kind")
    levels_slider = w.IntSlider(value=min(levels, most), min=2, max=min(most, 7), description="levels")
    band_slider = w.IntSlider(value=0, min=0, max=levels_slider.value - 1, description="level shown")
    contrast_slider = w.FloatSlider(value=contrast, min=1.0, max=16.0, step=0.5, description="contrast")

    def clamp_band(change: dict) -> None:
        band_slider.max = change["new"] - 1

    levels_slider.observe(clamp_band, names="value")
    pyramids: dict[tuple[str, str, int], list[np.ndarray]] = {}

    def draw(image: str, kind: str, levels: int, band: int, contrast: float) -> Figure:
        key = (image, kind, levels)
        if key not in pyramids:
            pyramids[key] = laplacian_pyramid(images[image], levels, kind)
        return plots.pyramid_figure(pyramids[key], band, contrast, title=f"{image}: {kind} Laplacian pyramid")

    return explorer(
        draw, image=image_box, kind=kind_box, levels=levels_slider, band=band_slider, contrast=contrast_slider
    )


@torch.no_grad()
def level_images(model: nn.Module, lr_y: np.ndarray, scale: int, engine: str = "auto") -> list[dict[str, np.ndarray]]:
    """Run ``model`` on one (H, W) luma image up to ``scale`` and take every level apart:
    ``upsampled`` (the previous image through the level's image upsampler), ``residual`` (what the
    feature branch adds) and ``output`` (their sum), coarse to fine, as float32 arrays (the
    network's own precision; a 4096 x 4096 level is 64 MB per array)."""
    levels = model_levels(model, scale)
    x = torch.from_numpy(np.ascontiguousarray(lr_y, dtype=np.float32))[None, None]
    outputs = level_outputs(model.eval(), x, levels, engine)
    upsamplers = (
        [cast(PyramidLevel, level).image_upsample for level in cast(nn.ModuleList, model.levels)]
        if hasattr(model, "levels")
        else [cast(nn.Module, model.image_upsample)] * levels
    )
    result, previous = [], x
    # not strict: a model with more levels than the scale needs runs only its first ``levels``
    for upsampler, output in zip(upsamplers, outputs, strict=False):
        upsampled = upsampler(previous)
        result.append(
            {
                "upsampled": upsampled[0, 0].numpy(),
                "residual": (output - upsampled)[0, 0].numpy(),
                "output": output[0, 0].numpy(),
            }
        )
        previous = output
    return result


def level_outputs(model: nn.Module, x: torch.Tensor, levels: int, engine: str = "auto") -> list[torch.Tensor]:
    """Every level's output image, coarse to fine. An unedited LapSRN or MS-LapSRN on the CPU
    streams through the inference engine a band of rows at a time, so that memory holds the level
    images and not the feature maps of the whole image (64 channels at the finest level); other
    models, and edited ones, run whole as their own code (``engine`` as in :mod:`lapsrn_edu.evaluation.upscale`)."""
    network = inference_network(model, engine, x.device)
    return network(x, levels) if network is not None else list(model(x, levels=levels))


def repaint_residuals(figure: Figure, levels: list[dict[str, np.ndarray]], contrast: float) -> Figure:
    """A :func:`plots.level_figure` with its residual column (the second) shown at ``contrast``:
    the same picture as drawing the figure anew, in a fraction of the time."""
    columns = len(figure.axes) // len(levels)
    for k, level in enumerate(levels):
        ax = figure.axes[k * columns + 1]
        ax.images[0].set_data(plots.band_display(level["residual"], contrast))
        ax.set_title(f"predicted residual (x{contrast:g})", fontsize=9)
    return figure


def level_viewer(
    model: nn.Module, lr_y: np.ndarray, hr_y: np.ndarray | None = None, contrast: float = 4.0, engine: str = "auto"
) -> Explorer | Figure:
    """Every level of one model on one image: pick the scale (x2, x4, x8 up to the model's own)
    and the residual's contrast; ``hr_y`` is the ground truth at the model's full scale.

    The model runs once, to its full scale: running it to a smaller scale computes exactly the
    first levels of that run (same input, same weights), so every redraw only draws."""
    scales = [s for s in (2, 4, 8) if s <= cast(int, model.scale)]
    scale_box = w.Dropdown(options=scales, value=scales[-1], description="scale")
    contrast_slider = w.FloatSlider(value=contrast, min=1.0, max=16.0, step=0.5, description="contrast")
    all_levels = level_images(model, lr_y, scales[-1], engine)
    figures: dict[int, Figure] = {}  # one per scale; a new contrast only repaints its residuals

    def draw(scale: int, contrast: float) -> Figure:
        levels = all_levels[: model_levels(model, scale)]
        if scale in figures:
            return repaint_residuals(figures[scale], levels, contrast)
        hr = hr_y if hr_y is not None and scale == model.scale else None
        figures[scale] = plots.level_figure(levels, hr, contrast, title=f"{type(model).__name__} run to x{scale}")
        return figures[scale]

    return explorer(draw, scale=scale_box, contrast=contrast_slider)


def charbonnier_explorer(span: float = 0.05) -> Explorer | Figure:
    """The Charbonnier penalty against L1 and L2 as eps varies (log slider, the paper's 1e-3 first)
    over residuals in [-span, span] (a slider over :data:`SPANS` that starts at ``span``)."""
    eps_slider = w.FloatLogSlider(value=1e-3, base=10, min=-5, max=-1, step=0.25, description="eps")
    span_slider = w.SelectionSlider(options=sorted({*SPANS, span}), value=span, description="x range")
    return explorer(lambda eps, span: plots.loss_figure(eps, span), eps=eps_slider, span=span_slider)
