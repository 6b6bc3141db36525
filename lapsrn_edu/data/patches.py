"""Training patches made on the fly: random HR crops of the Y channel, the paper's augmentation,
and the LR input plus every pyramid level's target made from each crop by MATLAB ``imresize``.

Why on the fly? Offline patch files freeze one augmentation per patch and take gigabytes; the
this module draws a fresh crop, scale, rotation and flip for every sample (the released code
draws each image's scale from {0.5, 0.6, ..., 1.0} and the turns and flips once per batch:
docs/paper.md, Training).

Why sample *indices*? Sample ``i`` is drawn from its own random generator seeded by
``(seed, i)``. A batch is a list of indices, so the stream of patches depends only on the seed
and the iteration number: not on the number of DataLoader workers, not on the number of
distributed ranks, and a resumed run continues with exactly the patches it would have seen.

Work split: workers crop, rescale and rotate (cheap numpy on one image each); the batched
pyramid (:func:`make_batch`) runs where the model runs, as two matrix products per level.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..errors import OptionError
from ..imaging.color import gray_to_rgb, rgb_to_y
from ..imaging.pyramid import pyramid_levels_torch
from ..imaging.resize import imresize, imresize_torch
from ..models import levels_for_scale
from .datasets import TEST_SETS, DataNotFoundError, Image, ImageReadError, embedded_images, image_paths, read_image


@dataclass(frozen=True)
class LumaImage:
    """A training image reduced to what training needs: its name and float32 Y channel."""

    name: str
    y: np.ndarray


def to_luma(image: Image) -> LumaImage:
    """Y (MATLAB ``rgb2ycbcr``) of an image; a gray image counts as RGB with equal channels."""
    pixels = gray_to_rgb(image.pixels) if image.pixels.ndim == 2 else image.pixels
    return LumaImage(image.name, rgb_to_y(pixels).astype(np.float32))


TrainingItem = Path | Image


def training_items(source: str | Path, root: str | Path | None = None) -> list[TrainingItem]:
    """What a training source names, not yet decoded: image files of a named dataset or a folder
    (an empty folder is a :class:`DataNotFoundError`), or the scikit-image images for ``"embedded"``."""
    if str(source).lower() in TEST_SETS:
        raise OptionError(f"{source!r} is a test set: training on it would make its scores meaningless")
    if str(source).lower() == "embedded":
        return list(embedded_images())
    return list(image_paths(source, root))


def read_item(item: TrainingItem) -> Image:
    """Decode a training item; an unreadable file is reported by its path."""
    if isinstance(item, Image):
        return item
    try:
        return read_image(item)
    except ImageReadError as exc:
        raise ImageReadError(f"training image {item} cannot be read: {exc}") from exc


def load_luma_images(items: Sequence[TrainingItem]) -> list[LumaImage]:
    """Y channels of training items, decoded one at a time so only the luma stays in memory."""
    return [to_luma(read_item(item)) for item in items]


def keep_large_enough(images: list[LumaImage], patch_size: int) -> list[LumaImage]:
    """Drop (with one warning naming them) images smaller than a patch; none left is an error."""
    small = [im for im in images if min(im.y.shape) < patch_size]
    if small:
        names = ", ".join(f"{im.name} ({im.y.shape[0]}x{im.y.shape[1]})" for im in small[:10])
        more = f" and {len(small) - 10} more" if len(small) > 10 else ""
        warnings.warn(
            f"skipping {len(small)} image(s) smaller than the {patch_size} px patch: {names}{more}", stacklevel=2
        )
    kept = [im for im in images if min(im.y.shape) >= patch_size]
    if not kept:
        raise DataNotFoundError(
            f"no training image is at least {patch_size}x{patch_size} pixels; use a smaller patch_size"
        )
    return kept


@dataclass(frozen=True)
class Augmentation:
    """The paper's augmentation: downscale by a random factor in ``scale_range`` (then crop),
    rotate by a random multiple of 90 degrees, flip left-right with probability 1/2."""

    scale_range: tuple[float, float] = (0.5, 1.0)
    rotate: bool = True
    flip: bool = True

    def __post_init__(self) -> None:
        low, high = self.scale_range
        if not 0 < low <= high <= 1:
            raise OptionError(f"scale_range must satisfy 0 < low <= high <= 1, got {self.scale_range}")


@dataclass(frozen=True)
class Placement:
    """Where sample ``i`` comes from: a ``window`` x ``window`` square of image ``image`` at
    (``top``, ``left``), resized to the patch, turned ``turns`` x 90 degrees, then maybe flipped."""

    image: int
    top: int
    left: int
    window: int
    turns: int
    flip: bool


class PatchDataset(Dataset):
    """Sample ``i`` -> one augmented (1, P, P) float32 HR luma patch, reproducible from ``(seed, i)``.

    Rescaling by ``s`` then cropping P pixels is done as: crop a window of P / s pixels, resize it
    to P with MATLAB bicubic (antialiased), so only the pixels that are kept get resized.
    :meth:`placement` draws where a sample comes from; :mod:`lapsrn_edu.engine.gpu_patches` cuts the same samples
    on the training device.
    """

    def __init__(
        self,
        images: list[LumaImage],
        patch_size: int,
        augmentation: Augmentation = Augmentation(),
        seed: int = 0,
    ) -> None:
        if patch_size < 2:
            raise OptionError(f"patch_size must be at least 2, got {patch_size}")
        self.images = keep_large_enough(images, patch_size)
        self.patch_size = patch_size
        self.augmentation = augmentation
        self.seed = seed

    def __len__(self) -> int:  # the stream is endless; a length only serves DataLoader's checks
        return 2**62

    def placement(self, index: int) -> Placement:
        """The random draws of sample ``index``, from its own generator seeded by ``(seed, index)``."""
        rng = np.random.default_rng([self.seed, index])
        which = int(rng.integers(len(self.images)))
        shape = self.images[which].y.shape
        p = self.patch_size
        low, high = self.augmentation.scale_range
        largest_window = min(shape)
        scale = max(rng.uniform(low, high), p / largest_window)  # small images: clamp the zoom-out
        window = min(int(round(p / scale)), largest_window)
        top = int(rng.integers(shape[0] - window + 1))
        left = int(rng.integers(shape[1] - window + 1))
        turns = int(rng.integers(4)) if self.augmentation.rotate else 0
        flip = bool(self.augmentation.flip and rng.integers(2))
        return Placement(which, top, left, window, turns, flip)

    def __getitem__(self, index: int) -> torch.Tensor:
        where = self.placement(index)
        patch = self.images[where.image].y[where.top : where.top + where.window, where.left : where.left + where.window]
        if where.window != self.patch_size:
            patch = imresize(patch, output_shape=(self.patch_size, self.patch_size))
        patch = np.rot90(patch, k=where.turns)
        if where.flip:
            patch = patch[:, ::-1]
        return torch.from_numpy(np.ascontiguousarray(patch, dtype=np.float32))[None]


class BatchIndices(Sampler[list[int]]):
    """Sample indices of iterations ``start .. stop - 1`` for one rank: iteration ``t`` uses the
    global indices ``t * B .. (t + 1) * B - 1`` (B = global batch), split evenly across ranks."""

    def __init__(self, start: int, stop: int, batch_size: int, rank: int = 0, world_size: int = 1) -> None:
        if batch_size % world_size:
            raise OptionError(f"batch_size {batch_size} must be divisible by the number of processes {world_size}")
        self.start, self.stop = start, stop
        self.batch_size, self.rank, self.world_size = batch_size, rank, world_size

    def __len__(self) -> int:
        return max(self.stop - self.start, 0)

    def __iter__(self) -> Iterator[list[int]]:
        local = self.batch_size // self.world_size
        for iteration in range(self.start, self.stop):
            first = iteration * self.batch_size + self.rank * local
            yield list(range(first, first + local))


def check_patch_size(scale: int, patch_size: int) -> None:
    """A patch must divide evenly into the LR grid of ``scale``."""
    if patch_size % scale:
        raise OptionError(f"patch_size {patch_size} must be a multiple of the scale {scale}")


def make_batch(hr: torch.Tensor, scale: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(LR input, level targets coarse to fine) for an HR batch (N, 1, P, P), on its device.

    The LR input is ``imresize(HR, 1 / scale)`` and level k's target ``imresize(HR, 2^k / scale)``,
    each straight from the HR patch as the paper's code does (not halved repeatedly).
    """
    check_patch_size(scale, hr.shape[-1])
    lr = imresize_torch(hr, 1.0 / scale)
    return lr, pyramid_levels_torch(hr, levels_for_scale(scale))
