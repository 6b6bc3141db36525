"""Super-resolve a whole image: colour handling, bounded memory, device.

The network sees only luma. As in the paper's test code, an RGB image is converted to YCbCr, Y
goes through the network, Cb and Cr are upscaled with bicubic ``imresize``, and the three are
converted back to RGB. A gray image is treated as RGB with three equal channels (the paper's
convention); an alpha channel is upscaled with bicubic.

Memory stays bounded by default, whatever the image size. LapSRN and MS-LapSRN on the CPU go
through the inference engine (:mod:`lapsrn_edu.engine.inference`, when :mod:`lapsrn_edu.engine.switch`
finds the model unedited), which streams the image through the network in bands of rows
(images wider than :data:`STRIP_WIDTH` in overlapping strips); other models and devices work in
overlapping tiles of :data:`AUTO_TILE_OUTPUT` output pixels. Each tile or strip carries enough
context (the model's receptive radius) that the stitched result equals the untiled one. The
colour conversion then runs band by band into the one output array.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import torch
from torch import nn

from ..data.datasets import Image
from ..device import resolve_device
from ..engine.switch import inference_network
from ..errors import OptionError
from ..imaging.color import gray_to_rgb, rgb_to_ycbcr, ycbcr_to_rgb
from ..imaging.resize import imresize
from ..models import levels_for_scale


def model_levels(model: nn.Module, scale: int) -> int:
    """How many pyramid levels of ``model`` give ``scale`` (an x8 model gives x2 with 1 level)."""
    needed = levels_for_scale(scale)
    top = levels_for_scale(cast(int, model.scale))
    if needed > top:
        raise OptionError(f"this model upsamples by at most x{model.scale}; cannot give x{scale}")
    return needed


STRIP_WIDTH = 2048  # LR columns streamed at once by the fast path; wider images go in strips
AUTO_TILE_OUTPUT = 1024  # output pixels per tile side for models without the fast path
COLOUR_BAND_ROWS = 256  # output rows per step of the chroma resize and colour conversion


class Upscaler:
    """One upscaling request, validated and prepared once: the scale checked, the model's levels
    for it, the device, the tile size, and the inference engine's copy of the weights (folded once,
    reused for every image; prepare a new one after the weights change). ``model=None`` is bicubic.

    ``engine`` (:mod:`lapsrn_edu.engine.switch`): ``auto`` streams an unedited LapSRN or MS-LapSRN
    through the inference engine on the CPU and runs anything else as its own code; ``reference``
    always runs the model's own ``forward``; ``fast`` refuses a model the engine cannot prove equal.
    ``tile`` (LR pixels) runs the image in overlapping tiles of that size; without it, memory is
    bounded anyway (see the module's docstring) and the result is the same."""

    def __init__(
        self,
        model: nn.Module | None,
        scale: int,
        tile: int | None = None,
        device: str | torch.device | None = None,
        engine: str = "auto",
    ) -> None:
        levels_for_scale(scale)
        if tile is not None and tile < 8:
            raise OptionError(f"tile must be at least 8 low-resolution pixels, got {tile}")
        self.model, self.scale, self.tile = model, scale, tile
        self.levels, self.device, self.network = 0, torch.device("cpu"), None
        if model is not None:
            self.levels = model_levels(model, scale)
            self.device = resolve_device(device)
            model.to(self.device)
            self.network = inference_network(model, engine, self.device)

    @torch.no_grad()
    def luma(self, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The network on one (H, W) luma image; float64 out (written into ``out`` if given). The
        model runs in eval mode and is handed back in the mode it came in (a training loop that
        validates between epochs keeps training)."""
        if self.model is None:
            raise OptionError("bicubic upscaling has no network to run on luma alone: use Upscaler.pixels")
        was_training = self.model.training
        self.model.eval()
        try:
            return self._luma(y, out)
        finally:
            self.model.train(was_training)

    def _run(self, patch: np.ndarray, into: np.ndarray) -> None:
        x = torch.from_numpy(np.ascontiguousarray(patch, dtype=np.float32))[None, None].to(self.device)
        if self.network is None:
            model = cast(nn.Module, self.model)  # luma() refuses bicubic (None)
            into[...] = model(x, levels=self.levels)[-1][0, 0].cpu().numpy()
            return
        row = 0
        for rows in self.network.bands(x, self.levels):
            band = rows[-1][0, 0].numpy()
            into[row : row + band.shape[0]] = band
            row += band.shape[0]

    def _luma(self, y: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        scale = self.scale
        h, w = y.shape
        if out is None:
            out = np.empty((h * scale, w * scale))
        if self.tile is None and self.network is not None:
            tile_h, tile_w = h, STRIP_WIDTH
        else:
            tile_h = tile_w = self.tile if self.tile is not None else max(8, AUTO_TILE_OUTPUT // scale)
        if h <= tile_h and w <= tile_w:
            self._run(y, out)
            return out
        margin = self.model.receptive_radius()  # type: ignore[operator, union-attr]  # every architecture defines it; not None here
        for top in range(0, h, tile_h):
            for left in range(0, w, tile_w):
                bottom, right = min(top + tile_h, h), min(left + tile_w, w)
                t0, l0 = max(top - margin, 0), max(left - margin, 0)
                t1, l1 = min(bottom + margin, h), min(right + margin, w)
                sr = np.empty(((t1 - t0) * scale, (l1 - l0) * scale))
                self._run(y[t0:t1, l0:l1], sr)
                out[top * scale : bottom * scale, left * scale : right * scale] = sr[
                    (top - t0) * scale : (bottom - t0) * scale, (left - l0) * scale : (right - l0) * scale
                ]
        return out

    def pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Upscale an (H, W) gray or (H, W, 3) RGB float image. Returns float64, not clipped (the
        evaluation protocol clips when it quantises). The output array is the only full-size
        allocation: luma is written into it by the network, and chroma and the conversion back to
        RGB are done into it a band of rows at a time."""
        scale = self.scale
        if self.model is None:
            return imresize(pixels, scale)
        gray = pixels.ndim == 2
        ycbcr = rgb_to_ycbcr(gray_to_rgb(pixels) if gray else pixels)
        h, w = ycbcr.shape[:2]
        out = np.empty((h * scale, w * scale, 3))
        self.luma(ycbcr[..., 0], out=out[..., 0])
        chroma = ycbcr[..., 1:]
        for top in range(0, h * scale, COLOUR_BAND_ROWS):
            band = slice(top, min(top + COLOUR_BAND_ROWS, h * scale))
            out[band, :, 1:] = imresize(chroma, scale, rows=(band.start, band.stop))
            out[band] = ycbcr_to_rgb(out[band])
        return np.ascontiguousarray(out[..., 0]) if gray else out

    def image(self, image: Image) -> Image:
        """Upscale an :class:`Image` (its alpha channel bicubically) and clip to [0, 1]."""
        pixels = self.pixels(image.pixels)
        np.clip(pixels, 0.0, 1.0, out=pixels)  # in place: a 4096 x 4096 RGB image is 400 MB
        alpha = None if image.alpha is None else np.clip(imresize(image.alpha, self.scale), 0.0, 1.0)
        return Image(image.name, pixels, alpha)


def super_resolve_y(
    model: nn.Module,
    y: np.ndarray,
    scale: int,
    tile: int | None = None,
    device: str | torch.device | None = None,
    out: np.ndarray | None = None,
    engine: str = "auto",
) -> np.ndarray:
    """Run ``model`` on one (H, W) luma image (:meth:`Upscaler.luma`, prepared for this one call)."""
    return Upscaler(model, scale, tile, device, engine).luma(y, out)


def upscale_pixels(
    pixels: np.ndarray,
    scale: int,
    model: nn.Module | None,
    tile: int | None = None,
    device: str | torch.device | None = None,
    engine: str = "auto",
) -> np.ndarray:
    """Upscale an (H, W) gray or (H, W, 3) RGB float image by ``scale`` (:meth:`Upscaler.pixels`,
    prepared for this one call); ``model=None`` is bicubic."""
    return Upscaler(model, scale, tile, device, engine).pixels(pixels)


def upscale_image(
    image: Image,
    scale: int,
    model: nn.Module | None,
    tile: int | None = None,
    device: str | torch.device | None = None,
    engine: str = "auto",
) -> Image:
    """Upscale an :class:`Image` (its alpha channel bicubically) and clip to [0, 1] (:meth:`Upscaler.image`)."""
    return Upscaler(model, scale, tile, device, engine).image(image)
