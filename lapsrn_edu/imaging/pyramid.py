"""Gaussian and Laplacian pyramids: what LapSRN's name refers to, and where its targets come from.

A *Gaussian pyramid* is an image at ever coarser resolutions: each level is the previous one
blurred and halved. A *Laplacian pyramid* stores, for every level but the coarsest, the
difference between that level and the coarser level expanded back to its size::

    band_k = G_k - expand(G_{k+1})        (k = 0 .. levels - 2),   residual = G_{levels - 1}

Why bother? Each band holds only the detail that exists at its own scale: band 0 the finest
edges and texture, deeper bands coarser structure, and the residual the overall colours and
shapes. Adding the bands back from coarse to fine (:func:`collapse`) rebuilds the image exactly,
because every band was defined as precisely what expansion had lost.

Super-resolution is the same picture read backwards. The low-resolution input is a coarse level
of the HR image's pyramid; the missing finer bands are what it lacks. LapSRN upsamples its image
by 2 per level (the ``expand`` step, a learned transposed conv) and its residual branch predicts
the band to add, so it builds the HR image's Laplacian pyramid one band at a time. Its level
targets are this module's ``kind="bicubic"`` Gaussian levels: the HR image downscaled by MATLAB
bicubic ``imresize`` (:func:`pyramid_levels_torch` gives them as tensors for training).

Two kinds of pyramid:

- ``"burt-adelson"``: the classic one (Burt & Adelson, 1983). Blur with the 5-tap binomial kernel
  [1, 4, 6, 4, 1] / 16, mirror the border, keep every second sample (size ceil(n / 2)); expand by
  inserting zeros up to the finer size and blurring with twice the kernel.
- ``"bicubic"``: level k is MATLAB ``imresize(image, 1 / 2^k)``, directly from the image as
  LapSRN's training code makes its targets (not halved repeatedly, which blurs differently);
  expand is ``imresize`` to the finer level's exact size.

Images are numpy arrays, (H, W) or (H, W, C), computed in float64; any size, odd ones included.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import torch
from scipy.ndimage import correlate1d

from ..errors import OptionError
from .resize import imresize, imresize_torch

KINDS = ("burt-adelson", "bicubic")
BINOMIAL_KERNEL = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0  # Burt & Adelson's a = 0.375


def max_levels(shape: tuple[int, ...]) -> int:
    """The most levels an image of this (H, W, ...) shape allows: halving stops once the shorter
    side reaches one pixel, since further levels would just repeat it."""
    return 1 + math.ceil(math.log2(min(shape[:2])))


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise OptionError(f"unknown pyramid kind {kind!r}; choose one of {', '.join(KINDS)}")


def _check_image(image: np.ndarray) -> np.ndarray:
    x = np.asarray(image, dtype=np.float64)
    if x.ndim not in (2, 3) or min(x.shape[:2], default=0) < 1:
        raise OptionError(f"expected an (H, W) or (H, W, C) image, got shape {x.shape}")
    return x


def _check_levels(levels: int, shape: tuple[int, ...]) -> None:
    if not isinstance(levels, (int, np.integer)) or isinstance(levels, bool) or levels < 1:
        raise OptionError(f"levels must be a positive integer, got {levels!r}")
    most = max_levels(shape)
    if levels > most:
        raise OptionError(
            f"{levels} levels is too many for an image of size {shape[0]}x{shape[1]}: "
            f"at most {most} (the coarsest level would be smaller than one pixel)"
        )


def _blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable blur of the two spatial axes, mirroring the border about the edge sample."""
    return correlate1d(correlate1d(image, kernel, axis=0, mode="mirror"), kernel, axis=1, mode="mirror")


def expand(coarse: np.ndarray, shape: tuple[int, ...], kind: str = "burt-adelson") -> np.ndarray:
    """Upsample a level to the finer level's exact ``shape`` (H, W, ...), the step that a band
    is measured against; sizes come from the finer level, so odd sizes round-trip exactly."""
    _check_kind(kind)
    coarse = _check_image(coarse)
    height, width = shape[0], shape[1]
    if kind == "bicubic":
        return imresize(coarse, output_shape=(height, width))
    if coarse.shape[:2] != ((height + 1) // 2, (width + 1) // 2):
        raise OptionError(f"a level of size {coarse.shape[:2]} cannot expand to {(height, width)}")
    upsampled = np.zeros((height, width, *coarse.shape[2:]))
    upsampled[::2, ::2] = coarse
    return _blur(upsampled, 2.0 * BINOMIAL_KERNEL)


def gaussian_pyramid(image: np.ndarray, levels: int, kind: str = "burt-adelson") -> list[np.ndarray]:
    """``levels`` images, fine to coarse: index 0 is the image, each next one half its size
    (ceil(n / 2) per side)."""
    _check_kind(kind)
    x = _check_image(image)
    _check_levels(levels, x.shape)
    if kind == "bicubic":
        return [x] + [imresize(x, 0.5**k) for k in range(1, levels)]
    pyramid = [x]
    for _ in range(levels - 1):
        pyramid.append(_blur(pyramid[-1], BINOMIAL_KERNEL)[::2, ::2])
    return pyramid


def laplacian_pyramid(image: np.ndarray, levels: int, kind: str = "burt-adelson") -> list[np.ndarray]:
    """``levels - 1`` band-pass images (fine to coarse), then the coarsest Gaussian level (the
    low-pass residual): everything :func:`collapse` needs to rebuild the image exactly."""
    gaussian = gaussian_pyramid(image, levels, kind)
    bands = [fine - expand(coarse, fine.shape, kind) for fine, coarse in pairwise(gaussian)]
    return bands + [gaussian[-1]]


def collapse(pyramid: list[np.ndarray], kind: str = "burt-adelson") -> np.ndarray:
    """Rebuild the image from a Laplacian pyramid: expand from the coarsest level, add each band."""
    _check_kind(kind)
    if len(pyramid) == 0:
        raise OptionError("cannot collapse an empty pyramid")
    image = _check_image(pyramid[-1])
    for band in reversed(pyramid[:-1]):
        band = _check_image(band)
        image = band + expand(image, band.shape, kind)
    return image


def pyramid_levels_torch(hr: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """LapSRN's level targets, coarse to fine: for an x(2^L) model with L ``levels``,
    [HR / 2^(L-1), ..., HR / 2, HR], each MATLAB-bicubic-downscaled directly from ``hr`` (N, C, H, W)."""
    if not isinstance(hr, torch.Tensor) or hr.ndim != 4:
        shape = tuple(hr.shape) if isinstance(hr, torch.Tensor) else type(hr).__name__
        raise OptionError(f"expected an HR batch shaped (N, C, H, W), got {shape}")
    _check_levels(levels, tuple(hr.shape[-2:]))
    return [imresize_torch(hr, 0.5**k) for k in range(levels - 1, 0, -1)] + [hr]
