"""MATLAB-exact colour conversion between RGB and YCbCr (ITU-R BT.601, studio range).

LapSRN, like every super-resolution paper of its time, trains and scores on the Y channel that
MATLAB's ``rgb2ycbcr`` produces for images in [0, 1]:

    Y  = ( 16 +  65.481 R + 128.553 G +  24.966 B) / 255
    Cb = (128 -  37.797 R -  74.203 G + 112.000 B) / 255
    Cr = (128 + 112.000 R -  93.786 G -  18.214 B) / 255

Y therefore lives in [16/255, 235/255], not [0, 1]; that range matters for PSNR. Every function
here takes channels in RGB order (not OpenCV's BGR), values as floats in [0, 1], and works on
numpy arrays with channels last (H, W, 3) or torch tensors with channels first (..., 3, H, W).
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

from ..errors import OptionError

RGB_TO_YCBCR = (
    np.array(
        [
            [65.481, 128.553, 24.966],
            [-37.797, -74.203, 112.0],
            [112.0, -93.786, -18.214],
        ]
    )
    / 255.0
)
YCBCR_OFFSET = np.array([16.0, 128.0, 128.0]) / 255.0
YCBCR_TO_RGB = np.linalg.inv(RGB_TO_YCBCR)

Array = np.ndarray | torch.Tensor
ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)  # a numpy image in gives one out, a tensor a tensor


def _check_channels(image: Array, channel_axis: int) -> None:
    if image.ndim < 3 or image.shape[channel_axis] != 3:
        layout = "(H, W, 3)" if channel_axis == -1 else "(..., 3, H, W)"
        raise OptionError(
            f"expected a 3-channel image laid out as {layout}, got shape {tuple(image.shape)}; "
            "convert grayscale with gray_to_rgb() first"
        )


def _apply(image: ArrayT, matrix: np.ndarray, pre: np.ndarray, post: np.ndarray) -> ArrayT:
    """(x + pre) @ matrix.T + post, on the channel axis (last for numpy, -3 for torch)."""
    if isinstance(image, torch.Tensor):
        _check_channels(image, -3)
        m = torch.as_tensor(matrix, dtype=image.dtype, device=image.device)
        a = torch.as_tensor(pre, dtype=image.dtype, device=image.device).view(3, 1, 1)
        b = torch.as_tensor(post, dtype=image.dtype, device=image.device).view(3, 1, 1)
        return torch.einsum("ij,...jhw->...ihw", m, image + a) + b
    _check_channels(image, -1)
    x = np.asarray(image, dtype=np.float64)
    return (x + pre) @ matrix.T + post


def rgb_to_ycbcr(rgb: ArrayT) -> ArrayT:
    """RGB in [0, 1] -> YCbCr as MATLAB's ``rgb2ycbcr`` on doubles (Y in [16/255, 235/255])."""
    return _apply(rgb, RGB_TO_YCBCR, np.zeros(3), YCBCR_OFFSET)


def ycbcr_to_rgb(ycbcr: ArrayT) -> ArrayT:
    """YCbCr -> RGB as MATLAB's ``ycbcr2rgb`` on doubles (no clipping: callers clip)."""
    return _apply(ycbcr, YCBCR_TO_RGB, -YCBCR_OFFSET, np.zeros(3))


def rgb_to_y(rgb: ArrayT) -> ArrayT:
    """Only the Y (luma) channel of :func:`rgb_to_ycbcr`: (H, W) for numpy, (..., 1, H, W) for torch."""
    if isinstance(rgb, torch.Tensor):
        return rgb_to_ycbcr(rgb)[..., :1, :, :]
    return rgb_to_ycbcr(rgb)[..., 0]


def gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    """Replicate an (H, W) gray image to (H, W, 3): the paper's convention for Set14's bridge.png."""
    gray = np.asarray(gray)
    if gray.ndim == 3 and gray.shape[-1] == 1:
        gray = gray[..., 0]
    if gray.ndim != 2:
        raise OptionError(f"expected an (H, W) gray image, got shape {gray.shape}")
    return np.repeat(gray[..., None], 3, axis=-1)
