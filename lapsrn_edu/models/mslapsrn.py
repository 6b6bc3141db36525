"""MS-LapSRN (Lai et al., TPAMI 2018): LapSRN with its weights shared across pyramid levels.

Three ideas on top of LapSRN:
- parameter sharing across levels: one set of weights serves every x2 level, so one model gives
  x2, x4 and x8 (run 1, 2 or 3 levels) with 73% fewer parameters than LapSRN x4;
- recursive blocks: within a level, ``recursions`` (R) passes through the same block of ``depth``
  (D) pre-activation units (LeakyReLU, then 3x3 conv);
- local residual learning: each block's output adds the level's input ("SS", shared source, what
  the released models use), the block's own input ("DS", distinct source), or nothing ("NS").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import OptionError
from .lapsrn import check_input, levels_for_scale
from .layers import LEAKY_SLOPE, FeatureUpsampler, ImageUpsampler, configured, conv3x3, init_like_released_code

SKIPS = ("SS", "DS", "NS")


@dataclass(frozen=True)
class MSLapSRNConfig:
    """depth (D) convs per recursive block, recursions (R) blocks per level, channels, skip
    ("SS", "DS" or "NS"), and the largest scale the model is run at (levels = log2(scale))."""

    depth: int = 5
    recursions: int = 8
    channels: int = 64
    skip: str = "SS"
    scale: int = 8

    def __post_init__(self) -> None:
        if self.skip not in SKIPS:
            raise OptionError(f"skip must be one of {SKIPS}, got {self.skip!r}")
        levels_for_scale(self.scale)


class MSLapSRN(nn.Module):
    """MS-LapSRN for Y images in [0, 1]; ``forward(lr, levels)`` returns levels' images, coarse to fine."""

    def __init__(self, config: MSLapSRNConfig | None = None, **overrides) -> None:
        super().__init__()
        config = self.config = configured(MSLapSRNConfig, config, overrides)
        self.scale = config.scale
        c = config.channels
        self.input_conv = conv3x3(1, c)
        self.block = nn.ModuleList(conv3x3(c, c) for _ in range(config.depth))
        self.act = nn.LeakyReLU(LEAKY_SLOPE)
        self.upsample = FeatureUpsampler(c, "released")
        self.to_residual = conv3x3(c, 1)
        self.image_upsample = ImageUpsampler(1)
        init_like_released_code(self, first_conv=self.input_conv)

    def _recursive_blocks(self, level_input: torch.Tensor) -> torch.Tensor:
        x = level_input
        for _ in range(self.config.recursions):
            block_input = x
            for conv in self.block:
                x = conv(self.act(x))
            if self.config.skip == "SS":
                x = x + level_input
            elif self.config.skip == "DS":
                x = x + block_input
        return x

    def receptive_radius(self) -> int:
        """Upper bound, in low-resolution pixels, of an output pixel's field of view (see LapSRN's)."""
        c = self.config
        per_level = [(c.depth * c.recursions + 2) / 2**i for i in range(levels_for_scale(c.scale))]
        return int(math.ceil(1 + sum(per_level))) + 1

    def forward(self, lr: torch.Tensor, levels: int | None = None) -> list[torch.Tensor]:
        check_input(lr)
        max_levels = levels_for_scale(self.scale)
        levels = max_levels if levels is None else levels
        if not 1 <= levels <= max_levels:
            raise OptionError(f"this model runs 1 to {max_levels} levels, asked for {levels}")
        features = self.input_conv(lr)
        image, outputs = lr, []
        for _ in range(levels):
            features = self.upsample(self.act(self._recursive_blocks(features)))
            image = self.image_upsample(image) + self.to_residual(features)
            outputs.append(image)
        return outputs
