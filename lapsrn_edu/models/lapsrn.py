"""LapSRN: the Laplacian pyramid super-resolution network (Lai et al., CVPR 2017).

The network works on the luma (Y) channel at low resolution and climbs a pyramid one x2 level at
a time. Each level has two branches:

- feature extraction: ``depth`` 3x3 convs (LeakyReLU 0.2) at the coarse resolution, then a x2
  feature upsampler; a 3x3 conv turns the upsampled features into a residual image (one band of
  the Laplacian pyramid), and the features go on to the next level;
- image reconstruction: a bilinear-initialised x2 transposed conv upsamples the previous image,
  and the residual is added.

``forward`` returns every level's image, coarse to fine, so one x8 model also gives x2 and x4.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from ..errors import OptionError
from .layers import LEAKY_SLOPE, FeatureUpsampler, ImageUpsampler, configured, conv3x3, init_like_released_code

SCALES = (2, 4, 8)


def levels_for_scale(scale: int) -> int:
    """Number of x2 pyramid levels for an overall scale (2 -> 1, 4 -> 2, 8 -> 3)."""
    if scale not in SCALES:
        raise OptionError(f"unsupported scale {scale!r}: LapSRN upsamples by 2, 4 or 8")
    return int(math.log2(scale))


@dataclass(frozen=True)
class LapSRNConfig:
    """Shape of a LapSRN.

    scale: overall upsampling factor (2, 4 or 8); log2(scale) pyramid levels.
    depth: 3x3 conv layers per level (released models: 10 for x2/x4, 5 for x8).
    channels: feature maps per conv (64 in the paper).
    upsampler: "released" (3x3 transposed conv with an asymmetric crop, what the official weights
        use) or "paper" (4x4 transposed conv, as the paper's text says).
    residual: True for residual learning (each level adds its prediction to the upsampled image);
        False makes every level predict its image directly (the paper's ablation).
    """

    scale: int = 4
    depth: int = 10
    channels: int = 64
    upsampler: str = "released"
    residual: bool = True

    def __post_init__(self) -> None:
        levels_for_scale(self.scale)
        if self.depth < 1 or self.channels < 1:
            raise OptionError(f"depth and channels must be positive, got {self.depth} and {self.channels}")


class PyramidLevel(nn.Module):
    """One x2 level: coarse features -> (fine features, residual image)."""

    def __init__(self, channels: int, depth: int, upsampler: str) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [conv3x3(channels, channels), nn.LeakyReLU(LEAKY_SLOPE)]
        self.convs = nn.Sequential(*layers)
        self.upsample = FeatureUpsampler(channels, upsampler)
        self.act = nn.LeakyReLU(LEAKY_SLOPE)
        self.to_residual = conv3x3(channels, 1)
        self.image_upsample = ImageUpsampler(1)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.act(self.upsample(self.convs(features)))
        return features, self.to_residual(features)


class LapSRN(nn.Module):
    """LapSRN for single-channel (Y) images in [0, 1]; see :class:`LapSRNConfig`."""

    def __init__(self, config: LapSRNConfig | None = None, **overrides) -> None:
        super().__init__()
        config = self.config = configured(LapSRNConfig, config, overrides)
        self.scale = config.scale
        self.input_conv = conv3x3(1, config.channels)
        self.input_act = nn.LeakyReLU(LEAKY_SLOPE)
        self.levels = nn.ModuleList(
            PyramidLevel(config.channels, config.depth, config.upsampler) for _ in range(levels_for_scale(config.scale))
        )
        init_like_released_code(self, first_conv=self.input_conv)

    def receptive_radius(self) -> int:
        """An upper bound, in low-resolution pixels, on how far an output pixel sees: the overlap
        that tiled inference needs to match the untiled result exactly."""
        per_level = [(self.config.depth + 2) / 2**i for i in range(len(self.levels))]
        return int(math.ceil(1 + sum(per_level))) + 1

    def forward(self, lr: torch.Tensor, levels: int | None = None) -> list[torch.Tensor]:
        """Return the SR image of every level, coarse to fine (x2, x4, ...), each (N, 1, H, W).

        ``levels`` runs only the first levels (e.g. 1 for the x2 output of an x8 model).
        """
        check_input(lr)
        levels = len(self.levels) if levels is None else levels
        if not 1 <= levels <= len(self.levels):
            raise OptionError(f"this model has {len(self.levels)} levels, asked for {levels}")
        features = self.input_act(self.input_conv(lr))
        image, outputs = lr, []
        for level in cast("Iterable[PyramidLevel]", self.levels[:levels]):  # a ModuleList yields plain Modules
            features, residual = level(features)
            image = level.image_upsample(image) + residual if self.config.residual else residual
            outputs.append(image)
        return outputs


def check_input(lr: torch.Tensor) -> None:
    """A clear message instead of a convolution error deep inside torch."""
    if not isinstance(lr, torch.Tensor) or lr.ndim != 4 or lr.shape[1] != 1:
        shape = tuple(lr.shape) if isinstance(lr, torch.Tensor) else type(lr).__name__
        raise OptionError(
            f"expected a batch of Y-channel images shaped (N, 1, H, W), got {shape}; "
            "convert RGB with lapsrn_edu.imaging.color.rgb_to_y and add a batch axis"
        )
