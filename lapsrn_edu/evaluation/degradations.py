"""Low-resolution inputs made otherwise than the paper's protocol, and why it matters.

The paper's LR image is MATLAB's bicubic ``imresize(GT, 1/scale)`` in double precision
(:func:`lapsrn_edu.evaluation.evaluate.degrade`), and LapSRN is trained on exactly that degradation. Each
function here makes the LR image another way that people, libraries or cameras do: a network
trained on bicubic inputs meets them in practice, and lesson 09 measures what each one costs.
All take and return float images in [0, 1] shaped (H, W) or (H, W, 3); the LR size is always
the protocol's (the ground truth must be mod-cropped to the scale).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image as PILImage
from scipy.ndimage import gaussian_filter

from ..errors import OptionError
from ..imaging.metrics import quantize
from ..imaging.resize import imresize
from .evaluate import degrade


def _lr_size(gt: np.ndarray, scale: int) -> tuple[int, int]:
    h, w = gt.shape[:2]
    if h % scale or w % scale:
        raise OptionError(f"ground truth {h}x{w} is not a multiple of the scale {scale}: mod-crop it first")
    return h // scale, w // scale


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.rint(quantize(image) * 255).astype(np.uint8)


def rounded_lr(gt: np.ndarray, scale: int) -> np.ndarray:
    """The protocol's LR image rounded to 8 bits, as if it had been saved as a PNG."""
    return quantize(degrade(gt, scale))


def pil_lr(gt: np.ndarray, scale: int) -> np.ndarray:
    """PIL's bicubic downscale of the 8-bit image: what ``Image.resize(size, Image.BICUBIC)`` gives.

    PIL also widens its kernel when shrinking (antialiasing); the output is 8-bit.
    """
    h, w = _lr_size(gt, scale)
    small = PILImage.fromarray(_to_uint8(gt)).resize((w, h), PILImage.Resampling.BICUBIC)
    return np.asarray(small, dtype=np.float64) / 255.0


def aliased_lr(gt: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB's bicubic kernel without antialiasing (``imresize(..., 'Antialiasing', false)``):
    the kernel keeps its 4-pixel support when shrinking, so fine detail folds into false patterns."""
    _lr_size(gt, scale)
    return imresize(gt, 1.0 / scale, antialias=False)


def blurred_lr(gt: np.ndarray, scale: int, sigma: float = 1.0) -> np.ndarray:
    """A softer camera: the ground truth blurred by a Gaussian of ``sigma`` HR pixels, then the
    protocol's downscale."""
    _lr_size(gt, scale)
    sigmas = (sigma, sigma, 0) if gt.ndim == 3 else sigma
    return degrade(gaussian_filter(np.asarray(gt, dtype=np.float64), sigmas, mode="reflect"), scale)


def jpeg_lr(gt: np.ndarray, scale: int, quality: int = 40) -> np.ndarray:
    """The protocol's LR image saved as a JPEG of this ``quality`` (1-95) and read back."""
    if not 1 <= quality <= 95:
        raise OptionError(f"JPEG quality must be between 1 and 95, got {quality}")
    buffer = io.BytesIO()
    PILImage.fromarray(_to_uint8(degrade(gt, scale))).save(buffer, format="JPEG", quality=quality)
    return np.asarray(PILImage.open(io.BytesIO(buffer.getvalue())), dtype=np.float64) / 255.0


DEGRADATIONS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "protocol (MATLAB bicubic, double)": degrade,
    "rounded to 8 bits": rounded_lr,
    "PIL bicubic, 8 bits": pil_lr,
    "no antialiasing": aliased_lr,
    "blurred (sigma 1 HR px)": blurred_lr,
    "JPEG quality 40": jpeg_lr,
}
