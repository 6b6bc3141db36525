"""Super-resolve a whole image: colour handling, tiling, device.

The network sees only luma. As in the paper's test code, an RGB image is converted to YCbCr, Y
goes through the network, Cb and Cr are upscaled with bicubic ``imresize``, and the three are
converted back to RGB. A gray image is treated as RGB with three equal channels (the paper's
convention); an alpha channel is upscaled with bicubic. Large images are processed in
overlapping tiles: each tile carries enough context (the model's receptive radius) that the
stitched result equals the untiled one, while memory stays bounded by the tile size.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .color import gray_to_rgb, rgb_to_ycbcr, ycbcr_to_rgb
from .datasets import Image
from .device import resolve_device
from .models import levels_for_scale
from .resize import imresize


def model_levels(model: nn.Module, scale: int) -> int:
    """How many pyramid levels of ``model`` give ``scale`` (an x8 model gives x2 with 1 level)."""
    needed = levels_for_scale(scale)
    top = levels_for_scale(model.scale)
    if needed > top:
        raise ValueError(f"this model upsamples by at most x{model.scale}; cannot give x{scale}")
    return needed


@torch.no_grad()
def super_resolve_y(
    model: nn.Module,
    y: np.ndarray,
    scale: int,
    tile: int | None = None,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Run ``model`` on one (H, W) luma image; ``tile`` (LR pixels) bounds memory. float64 out.

    The model runs in eval mode and is handed back in the mode it came in (a training loop that
    validates between epochs keeps training)."""
    was_training = model.training
    model.eval()
    try:
        return _super_resolve_y(model, y, scale, tile, device)
    finally:
        model.train(was_training)


def _super_resolve_y(model: nn.Module, y: np.ndarray, scale: int, tile: int | None, device: str | torch.device | None) -> np.ndarray:
    levels = model_levels(model, scale)
    dev = resolve_device(device)
    model = model.to(dev)

    def run(patch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(patch, dtype=np.float32))[None, None].to(dev)
        return model(x, levels=levels)[-1][0, 0].double().cpu().numpy()

    h, w = y.shape
    if tile is None or (h <= tile and w <= tile):
        return run(y)
    if tile < 8:
        raise ValueError(f"tile must be at least 8 low-resolution pixels, got {tile}")
    margin = model.receptive_radius()
    out = np.empty((h * scale, w * scale))
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            bottom, right = min(top + tile, h), min(left + tile, w)
            t0, l0 = max(top - margin, 0), max(left - margin, 0)
            t1, l1 = min(bottom + margin, h), min(right + margin, w)
            sr = run(y[t0:t1, l0:l1])
            out[top * scale : bottom * scale, left * scale : right * scale] = sr[
                (top - t0) * scale : (bottom - t0) * scale, (left - l0) * scale : (right - l0) * scale
            ]
    return out


def upscale_pixels(
    pixels: np.ndarray,
    scale: int,
    model: nn.Module | None,
    tile: int | None = None,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Upscale an (H, W) gray or (H, W, 3) RGB float image by ``scale``; ``model=None`` is bicubic.

    Returns float64, not clipped (the evaluation protocol clips when it quantises).
    """
    levels_for_scale(scale)
    if model is None:
        return imresize(pixels, scale)
    gray = pixels.ndim == 2
    rgb = gray_to_rgb(pixels) if gray else pixels
    ycbcr = rgb_to_ycbcr(rgb)
    y = super_resolve_y(model, ycbcr[..., 0], scale, tile, device)
    out = ycbcr_to_rgb(np.concatenate([y[..., None], imresize(ycbcr[..., 1:], scale)], axis=-1))
    return out[..., 0] if gray else out


def upscale_image(
    image: Image,
    scale: int,
    model: nn.Module | None,
    tile: int | None = None,
    device: str | torch.device | None = None,
) -> Image:
    """Upscale an :class:`Image` (its alpha channel bicubically) and clip to [0, 1]."""
    pixels = np.clip(upscale_pixels(image.pixels, scale, model, tile, device), 0.0, 1.0)
    alpha = None if image.alpha is None else np.clip(imresize(image.alpha, scale), 0.0, 1.0)
    return Image(image.name, pixels, alpha)
