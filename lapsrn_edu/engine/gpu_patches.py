"""Training patches cut on the training device (a GPU) from images kept there.

Why: cutting one 128 px patch on the CPU (crop, MATLAB bicubic zoom-out, turns, flip, in numpy)
takes a fraction of a millisecond of a core, and a current GPU trains a LapSRN x4 on thousands
of such patches per second (docs/models.md, the `gpu` recipe). Cloud notebooks give a GPU
2 to 8 cores, and the training process needs one of them: the GPU would wait for the workers.

What stays the same: the samples. :meth:`PatchDataset.placement` draws where sample ``i`` comes
from (image, window, turns, flip) from its own generator seeded by ``(seed, i)``, exactly as the
CPU path does; only these few numbers come from the DataLoader workers. The same seed gives the
same patches on either path (to float32 rounding), so exact resume and the split across
``torchrun`` ranks hold unchanged.

How the device cuts a batch: every image sits in one flat float32 buffer on the device; each
sample's largest possible window is gathered from it in one indexing operation; the resize to
the patch is two batched matrix products with MATLAB's bicubic weights (one weight matrix per
possible window side, made once and zero-padded, so the pixels outside a window count for
nothing); turns and flips are chosen per sample from the turned and flipped batch.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..data.patches import BatchIndices, LumaImage, PatchDataset
from ..imaging.resize import weight_matrix

PLACEMENT_FIELDS = ("image", "top", "left", "window", "turns", "flip")


class Placements(Dataset):
    """Sample ``i`` -> its :class:`~lapsrn_edu.data.patches.Placement` as six integers (what workers send)."""

    def __init__(self, patches: PatchDataset) -> None:
        self.patches = patches

    def __len__(self) -> int:
        return len(self.patches)

    def __getitem__(self, index: int) -> torch.Tensor:
        where = self.patches.placement(index)
        return torch.tensor([int(getattr(where, name)) for name in PLACEMENT_FIELDS], dtype=torch.int64)


def largest_window(images: list[LumaImage], patch_size: int, low: float) -> int:
    """The widest window a placement can take: a zoom-out by ``low`` (at most the smaller image side)."""
    return max(min(int(round(patch_size / low)), min(image.y.shape)) for image in images)


class DevicePatchCutter:
    """Placements (B, 6) -> HR patches (B, 1, P, P) float32, cut on ``device`` as the CPU path cuts them."""

    def __init__(self, images: list[LumaImage], patch_size: int, max_window: int, device: torch.device | str) -> None:
        if max_window < patch_size:
            raise ValueError(f"max_window {max_window} is smaller than the patch size {patch_size}")
        self.device = torch.device(device)
        self.patch_size, self.max_window = patch_size, max_window
        sizes = [image.y.size for image in images]
        self.pixels = torch.from_numpy(np.concatenate([image.y.ravel() for image in images]).astype(np.float32)).to(
            self.device
        )
        self.offsets = torch.tensor(np.cumsum([0, *sizes[:-1]]), dtype=torch.int64, device=self.device)
        self.heights = torch.tensor([image.y.shape[0] for image in images], dtype=torch.int64, device=self.device)
        self.widths = torch.tensor([image.y.shape[1] for image in images], dtype=torch.int64, device=self.device)
        self.weights = torch.from_numpy(self._weight_table()).to(self.device)
        self.steps = torch.arange(max_window, device=self.device)

    def _weight_table(self) -> np.ndarray:
        """(windows, P, max_window): row w - P resizes a w-pixel side to P (MATLAB bicubic), zero-padded."""
        p, m = self.patch_size, self.max_window
        table = np.zeros((m - p + 1, p, m), dtype=np.float32)
        for window in range(p, m + 1):
            resize = np.eye(p) if window == p else weight_matrix(window, p, p / window)
            table[window - p, :, :window] = resize
        return table

    @classmethod
    def for_dataset(cls, patches: PatchDataset, device: torch.device | str) -> DevicePatchCutter:
        """A cutter for every placement ``patches`` can draw."""
        low = patches.augmentation.scale_range[0]
        return cls(patches.images, patches.patch_size, largest_window(patches.images, patches.patch_size, low), device)

    def __call__(self, placements: torch.Tensor) -> torch.Tensor:
        image, top, left, window, turns, flip = placements.to(self.device, non_blocking=True).unbind(1)
        p = self.patch_size
        # the largest window at each placement; rows and columns past the image repeat its edge,
        # which the zero-padded weights then ignore
        rows = torch.minimum(top[:, None] + self.steps, self.heights[image, None] - 1)
        cols = torch.minimum(left[:, None] + self.steps, self.widths[image, None] - 1)
        index = self.offsets[image, None, None] + rows[:, :, None] * self.widths[image, None, None] + cols[:, None, :]
        crops = self.pixels[index]  # (B, m, m)
        resize = self.weights[window - p]  # (B, P, m)
        patches = resize @ crops @ resize.transpose(1, 2)
        turned = torch.stack([torch.rot90(patches, k, dims=(1, 2)) for k in range(4)])
        patches = turned[turns, torch.arange(len(turns), device=self.device)]
        patches = torch.where(flip.bool()[:, None, None], patches.flip(-1), patches)
        return patches[:, None].contiguous()


def device_batches(
    patches: PatchDataset, sampler: BatchIndices, workers: int, device: torch.device | str
) -> Iterator[torch.Tensor]:
    """HR patch batches for ``sampler``'s iterations, cut on ``device``; ``workers`` draw the placements."""
    cutter = DevicePatchCutter.for_dataset(patches, device)
    loader = DataLoader(
        Placements(patches), batch_sampler=sampler, num_workers=workers, prefetch_factor=8 if workers else None
    )
    return (cutter(placements) for placements in loader)
