"""How much fine detail an output has, beside how close it is to the truth.

A network trained for PSNR predicts, where it cannot tell which detail belongs, the average of
the plausible answers, and an average is smooth. The finest band of a Laplacian pyramid (lesson
01) holds that detail; its energy in an output, divided by its energy in the ground truth, says
how much of it the output has: 1 is as much as the real image. It cannot say whether the detail
is the *right* one, which is what perceptual metrics such as LPIPS try to judge.

Sharpening an output adds detail energy and costs PSNR. Measuring both on the same images shows
the trade-off between distortion and realism that the methods after LapSRN (adversarial and
perceptual training) chose the other side of.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from ..errors import OptionError
from ..imaging.metrics import score, shave
from ..imaging.pyramid import laplacian_pyramid


def detail_energy(y: np.ndarray) -> float:
    """Mean square of the finest Laplacian band of an (H, W) image: its detail at the pixel scale."""
    return float(np.mean(laplacian_pyramid(np.asarray(y, dtype=np.float64), 2)[0] ** 2))


def detail_ratio(reference: np.ndarray, estimate: np.ndarray, border: int = 0) -> float:
    """Detail energy of ``estimate`` over that of ``reference`` (both (H, W)), ``border`` pixels
    left out on every side as the protocol's shave does; 1 means as much fine detail as the truth."""
    if np.shape(reference) != np.shape(estimate):
        raise OptionError(f"shapes differ: {np.shape(reference)} vs {np.shape(estimate)}")
    truth = detail_energy(shave(np.asarray(reference, dtype=np.float64), border))
    if truth == 0:
        raise OptionError("the reference image is flat (no detail to compare with)")
    return detail_energy(shave(np.asarray(estimate, dtype=np.float64), border)) / truth


def unsharp(y: np.ndarray, amount: float, sigma: float = 1.0) -> np.ndarray:
    """Unsharp masking: add ``amount`` times the image minus its Gaussian blur (``sigma`` pixels),
    clipped to [0, 1]. It adds detail energy without knowing which detail is there."""
    if amount < 0 or sigma <= 0:
        raise OptionError(f"amount must be >= 0 and sigma > 0, got amount={amount}, sigma={sigma}")
    y = np.asarray(y, dtype=np.float64)
    return np.clip(y + amount * (y - gaussian_filter(y, sigma, mode="nearest")), 0.0, 1.0)


def distortion_and_detail(reference: np.ndarray, estimate: np.ndarray, scale: int) -> tuple[float, float]:
    """(PSNR in dB by the paper's protocol on the Y channel, detail ratio) of one (H, W) luma estimate."""
    return score(reference, estimate, scale, gray_as_rgb=False)[0], detail_ratio(reference, estimate, scale)
