"""PSNR and SSIM exactly as LapSRN's official evaluation code computes them.

The protocol (``evaluate_SR.m``): both images are rounded to 8 bits (``im2uint8``), converted to
the Y channel of MATLAB's ``rgb2ycbcr``, and ``shave`` = scale pixels are cut from every side.
PSNR uses peak 1; SSIM is MATLAB's built-in ``ssim``: an 11x11 Gaussian window (sigma 1.5) applied
with replicate padding, so the SSIM map keeps the image's size, C1 = 0.01^2, C2 = 0.03^2, and the
mean over the whole map. (skimage's ``structural_similarity`` crops the map's border instead.)

Every function takes one (H, W) image and computes in float64. Training validation uses the same
functions (through :func:`lapsrn_edu.evaluation.evaluate.evaluate`), so a curve's PSNR is the paper's PSNR.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import correlate1d

from ..errors import OptionError
from .color import gray_to_rgb, rgb_to_y

SSIM_SIGMA = 1.5
SSIM_WINDOW = 11
SSIM_C1 = 0.01**2
SSIM_C2 = 0.03**2


def quantize(image: np.ndarray) -> np.ndarray:
    """MATLAB ``im2double(im2uint8(x))``: clip to [0, 1], round half away from zero to 1/255 steps."""
    return np.floor(np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0) * 255.0 + 0.5) / 255.0


def shave(image: np.ndarray, border: int) -> np.ndarray:
    """Drop ``border`` pixels on every side of the first two axes."""
    if border == 0:
        return image
    if min(image.shape[:2]) <= 2 * border:
        raise OptionError(f"image of shape {image.shape[:2]} is too small to shave {border} pixels per side")
    return image[border:-border, border:-border]


def psnr(reference: np.ndarray, estimate: np.ndarray, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB between two same-shaped arrays (inf if identical)."""
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.shape != estimate.shape:
        raise OptionError(f"shapes differ: {reference.shape} vs {estimate.shape}")
    mse = np.mean((reference - estimate) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(peak**2 / mse))


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """The normalised 1-D Gaussian that MATLAB's ssim applies along each axis."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    w = np.exp(-(x**2) / (2 * sigma**2))
    return w / w.sum()


def _blur(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    return correlate1d(correlate1d(image, window, axis=0, mode="nearest"), window, axis=1, mode="nearest")


def ssim(reference: np.ndarray, estimate: np.ndarray) -> float:
    """MATLAB R2017a ``ssim(estimate, reference)`` for (H, W) images in [0, 1] (dynamic range 1)."""
    return float(np.mean(ssim_map(reference, estimate)))


def ssim_map(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """The local SSIM of every pixel, the image's size (replicate padding), whose mean is :func:`ssim`."""
    x = np.asarray(estimate, dtype=np.float64)
    y = np.asarray(reference, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise OptionError(f"ssim needs two (H, W) images of the same shape, got {x.shape} and {y.shape}")
    w = gaussian_window()
    mu_x, mu_y = _blur(x, w), _blur(y, w)
    var_x = _blur(x * x, w) - mu_x**2
    var_y = _blur(y * y, w) - mu_y**2
    cov = _blur(x * y, w) - mu_x * mu_y
    num = (2 * mu_x * mu_y + SSIM_C1) * (2 * cov + SSIM_C2)
    den = (mu_x**2 + mu_y**2 + SSIM_C1) * (var_x + var_y + SSIM_C2)
    return num / den


def to_y_for_scoring(image: np.ndarray, gray_as_rgb: bool = True) -> np.ndarray:
    """Quantise to 8 bits, then take the channel that is scored.

    RGB (H, W, 3) gives MATLAB's Y. A gray (H, W) image is replicated to RGB first when
    ``gray_as_rgb`` (the paper's convention, which its Set14 numbers need), or scored as it is.
    """
    image = quantize(image)
    if image.ndim == 2:
        return rgb_to_y(gray_to_rgb(image)) if gray_as_rgb else image
    return rgb_to_y(image)


def score(reference: np.ndarray, estimate: np.ndarray, scale: int, gray_as_rgb: bool = True) -> tuple[float, float]:
    """(PSNR, SSIM) of an SR image against its ground truth, as the official test code does it."""
    ref = shave(to_y_for_scoring(reference, gray_as_rgb), scale)
    est = shave(to_y_for_scoring(estimate, gray_as_rgb), scale)
    return psnr(ref, est), ssim(ref, est)
