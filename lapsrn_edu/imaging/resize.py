"""MATLAB-exact bicubic ``imresize``, vectorised, for numpy images and batched torch tensors.

Why not PIL or OpenCV? The paper's low-resolution inputs and pyramid targets are made by MATLAB's
``imresize(img, 1/scale, 'bicubic')``. Other bicubic resizers differ in the kernel width when
downscaling (antialiasing), the pixel-centre convention and the border rule. Lesson 09 measures
what that costs the official models: hundredths of a dB for PIL's 8-bit bicubic, several dB for
an LR input made without antialiasing.

MATLAB's rules, reproduced here:
- cubic kernel with a = -0.5, support 4; when downscaling by ``s < 1`` (and antialiasing is on)
  the kernel is stretched to ``s * cubic(s * x)`` with support ``4 / s``;
- output size ``ceil(input * scale)``; output pixel ``x`` (1-based) samples input ``u = x / s + 0.5 (1 - 1 / s)``;
- weights normalised to sum to one for every output pixel; indices outside the image mirrored
  (symmetric padding: the edge pixel is repeated);
- the dimension with the smaller scale is resized first, rows first when equal; everything in
  float64 (numpy) without rounding in between.

Each axis is one weight matrix, so a resize is two matrix products (``Wh @ X @ Ww.T``), kept
sparse (a row has only its few taps) in numpy. In torch, PyTorch's own antialiased bicubic kernel
computes the same values away from the borders, and only the border rows and columns are taken
from the matrices: fast, exact, and differentiable.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import cast

import numpy as np
import scipy.sparse
import torch

from ..errors import OptionError


def cubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    """Keys' cubic convolution kernel with MATLAB's a = -0.5."""
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    near = ((a + 2) * ax3 - (a + 3) * ax2 + 1) * (ax <= 1)
    far = (a * ax3 - 5 * a * ax2 + 8 * a * ax - 4 * a) * ((ax > 1) & (ax <= 2))
    return near + far


@lru_cache(maxsize=256)
def _weight_matrix_cached(in_size: int, out_size: int, scale: float, antialias: bool) -> np.ndarray:
    kernel_width = 4.0
    if scale < 1 and antialias:
        kernel = lambda x: scale * cubic(scale * x)  # noqa: E731 (a one-line kernel closure)
        kernel_width /= scale
    else:
        kernel = cubic
    x = np.arange(1, out_size + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kernel_width / 2)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]  # 1-based, may fall outside the image
    weights = kernel(u[:, None] - indices)
    weights /= weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_size), np.arange(in_size - 1, -1, -1)])
    source = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_size)]
    matrix = np.zeros((out_size, in_size))
    np.add.at(matrix, (np.repeat(np.arange(out_size), taps), source.ravel()), weights.ravel())
    matrix.setflags(write=False)
    return matrix


def weight_matrix(in_size: int, out_size: int, scale: float, antialias: bool = True) -> np.ndarray:
    """The (out_size, in_size) matrix that resizes one axis as MATLAB's ``imresize`` does."""
    if in_size < 1 or out_size < 1:
        raise OptionError(f"cannot resize an axis of length {in_size} to {out_size}")
    return _weight_matrix_cached(int(in_size), int(out_size), float(scale), bool(antialias))


@lru_cache(maxsize=256)
def _sparse_weight_matrix(in_size: int, out_size: int, scale: float, antialias: bool) -> scipy.sparse.csr_matrix:
    """:func:`weight_matrix` in sparse form: each row has only ~4/scale non-zeros, so a large
    upscale costs a few multiply-adds per output pixel instead of a whole row."""
    return scipy.sparse.csr_matrix(weight_matrix(in_size, out_size, scale, antialias))


def _plan(
    in_hw: tuple[int, int],
    scale: float | tuple[float, float] | None,
    output_shape: tuple[int, int] | None,
) -> tuple[tuple[float, float], tuple[int, int]]:
    """Per-axis scales and output size, following MATLAB: a given scale wins over the sizes."""
    if (scale is None) == (output_shape is None):
        raise OptionError("give exactly one of scale or output_shape")
    in_h, in_w = in_hw
    if output_shape is not None:
        out_h, out_w = (int(n) for n in output_shape)
        if min(out_h, out_w) < 1:
            raise OptionError(f"output_shape must be positive, got {output_shape}")
        return (out_h / in_h, out_w / in_w), (out_h, out_w)
    # a number for both axes, or one per axis (np.isscalar tells them apart; mypy cannot follow it)
    both = (scale, scale) if np.isscalar(scale) else scale
    sy, sx = (float(s) for s in cast("tuple[float, float]", both))
    if min(sy, sx) <= 0:
        raise OptionError(f"scale must be positive, got {scale}")
    return (sy, sx), (int(math.ceil(in_h * sy - 1e-9)), int(math.ceil(in_w * sx - 1e-9)))


def _axis_order(scales: tuple[float, float]) -> tuple[int, int]:
    return (0, 1) if scales[0] <= scales[1] else (1, 0)


def imresize(
    image: np.ndarray,
    scale: float | tuple[float, float] | None = None,
    output_shape: tuple[int, int] | None = None,
    antialias: bool = True,
    rows: tuple[int, int] | None = None,
) -> np.ndarray:
    """MATLAB ``imresize(image, scale, 'bicubic')`` for an (H, W) or (H, W, C) array.

    Returns float64 and does not round or clip: MATLAB does neither for double input, and the
    paper's pipeline stays in double until evaluation. ``rows=(start, stop)`` computes only those
    output rows, with the same values as the whole result's (a large image a band at a time).
    """
    x = np.asarray(image, dtype=np.float64)
    if x.ndim not in (2, 3):
        raise OptionError(f"imresize expects an (H, W) or (H, W, C) array, got shape {x.shape}")
    scales, out = _plan(x.shape[:2], scale, output_shape)
    for axis in _axis_order(scales):
        w = _sparse_weight_matrix(x.shape[axis], out[axis], scales[axis], antialias)
        if axis == 0 and rows is not None:
            w = w[rows[0] : rows[1]]
        moved = np.moveaxis(x, axis, 0)
        resized = w @ moved.reshape(moved.shape[0], -1)
        x = np.moveaxis(resized.reshape((w.shape[0], *moved.shape[1:])), 0, axis)
    return x


def imresize_torch(
    images: torch.Tensor,
    scale: float | tuple[float, float] | None = None,
    output_shape: tuple[int, int] | None = None,
    antialias: bool = True,
) -> torch.Tensor:
    """The same resize for a (..., H, W) tensor (e.g. a batch N x C x H x W), differentiable.

    Computed in the tensor's dtype on its device; use float64 to match the numpy path to 1e-12.
    Away from the borders MATLAB's bicubic is the one PyTorch's ``interpolate(mode="bicubic",
    antialias=True)`` computes (Pillow's kernel, a = -0.5, stretched when downscaling): that fused
    kernel does the bulk, and the output rows and columns whose taps reach past the image, where
    MATLAB mirrors the image and PyTorch renormalises the taps that remain, are recomputed here.
    Sizes or options that kernel cannot reproduce (a scale that does not divide the size, no
    antialiasing when downscaling) gather every output pixel's taps instead.
    """
    if images.ndim < 2:
        raise OptionError(f"imresize_torch expects a (..., H, W) tensor, got shape {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"imresize_torch needs a floating-point tensor, got {images.dtype}")
    in_hw = (images.shape[-2], images.shape[-1])
    scales, out = _plan(in_hw, scale, output_shape)
    axes = [(axis, in_hw[axis], out[axis], scales[axis], antialias) for axis in (0, 1)]
    if not all(_interpolate_agrees(*axis[1:]) for axis in axes):
        x = images
        for axis in _axis_order(scales):
            x = _resize_axis(x, *axes[axis])
        return x
    flat = images.reshape(1, -1, *in_hw)  # one image of many channels: the faster layout for this kernel
    y = torch.nn.functional.interpolate(flat, size=out, mode="bicubic", antialias=True, align_corners=False)
    height, width = (_dense_weights(*axis[1:], images.dtype, images.device) for axis in axes)
    rows, columns = (torch.as_tensor(_border(*axis[1:]), device=images.device) for axis in axes)
    if len(rows):  # MATLAB's rows at the top and bottom, every column: a few rows of Wh X Ww^T
        y[..., rows, :] = height[rows] @ flat @ width.T
    if len(columns):  # and its columns at the left and right, every row
        y[..., columns] = height @ (flat @ width[columns].T)
    return y.reshape(*images.shape[:-2], *out)


@lru_cache(maxsize=32)
def _dense_weights(
    in_size: int, out_size: int, scale: float, antialias: bool, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """:func:`weight_matrix` as a tensor, kept for the next call (a batch of patches reuses it)."""
    return torch.tensor(weight_matrix(in_size, out_size, scale, antialias).copy(), dtype=dtype, device=device)


def _resize_axis(
    x: torch.Tensor, axis: int, in_size: int, out_size: int, scale: float, antialias: bool
) -> torch.Tensor:
    """Resize ``x`` along one axis (0: rows, 1: columns of the last two) by gathering each output
    pixel's taps."""
    taps, tap_weights = _taps(in_size, out_size, scale, antialias)
    indices = torch.as_tensor(taps, device=x.device)
    weights = torch.as_tensor(tap_weights, dtype=x.dtype, device=x.device)
    # gather whole rows (index_select along the last axis is slow): columns are resized as the
    # rows of the transposed image
    rows = x if axis == 0 else x.transpose(-1, -2).contiguous()
    resized = rows.index_select(-2, indices[:, 0]) * weights[:, :1]
    for k in range(1, indices.shape[1]):
        resized = resized + rows.index_select(-2, indices[:, k]) * weights[:, k : k + 1]
    return resized if axis == 0 else resized.transpose(-1, -2).contiguous()


def _interpolate_agrees(in_size: int, out_size: int, scale: float, antialias: bool) -> bool:
    """Whether ``interpolate(size=..., mode="bicubic", antialias=True)`` computes MATLAB's values
    away from the borders on this axis: the scale must be the size ratio, and a downscale must be
    antialiased (PyTorch's kernel without antialiasing has a = -0.75)."""
    return abs(in_size * scale - out_size) < 1e-9 and (antialias or scale >= 1)


@lru_cache(maxsize=256)
def _border(in_size: int, out_size: int, scale: float, antialias: bool) -> np.ndarray:
    """Output positions whose non-zero taps reach past the image (where MATLAB mirrors it)."""
    kernel_width = 4.0 / scale if scale < 1 and antialias else 4.0
    u = np.arange(1, out_size + 1, dtype=np.float64) / scale + 0.5 * (1 - 1 / scale)
    reach = kernel_width / 2  # the kernel is zero at and beyond this distance
    first = np.floor(u - reach) + 1  # 1-based, the nearest taps with a non-zero weight
    last = np.ceil(u + reach) - 1
    return np.flatnonzero((first < 1) | (last > in_size))


@lru_cache(maxsize=256)
def _taps(in_size: int, out_size: int, scale: float, antialias: bool) -> tuple[np.ndarray, np.ndarray]:
    """The non-zero entries of :func:`weight_matrix`, row by row: (out_size, taps) source
    indices and weights (rows with fewer non-zeros padded with weight 0 on index 0)."""
    matrix = _sparse_weight_matrix(in_size, out_size, scale, antialias)
    counts = np.diff(matrix.indptr)
    taps = int(counts.max())
    indices = np.zeros((out_size, taps), dtype=np.int64)
    weights = np.zeros((out_size, taps))
    for row in range(out_size):
        span = slice(matrix.indptr[row], matrix.indptr[row + 1])
        indices[row, : counts[row]] = matrix.indices[span]
        weights[row, : counts[row]] = matrix.data[span]
    return indices, weights
