"""A one-shot upsampling baseline for the paper's pyramid ablation.

FSRCNN-like: features are extracted at low resolution by the same conv layers as LapSRN (as many
in total as the pyramid has), then one transposed convolution upsamples by the whole scale at
once. Residual learning is kept (the residual is added to a bilinear-initialised x``scale``
upsampling of the input), so the only difference from LapSRN is the pyramid itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import OptionError
from .lapsrn import check_input, levels_for_scale
from .layers import LEAKY_SLOPE, bilinear_kernel, configured, conv3x3, init_like_released_code


@dataclass(frozen=True)
class OneShotConfig:
    """scale (2, 4, 8); depth: convs per x2 level of the LapSRN it is compared with (the network
    has depth x log2(scale) convs in all); channels: feature maps per conv."""

    scale: int = 4
    depth: int = 10
    channels: int = 64

    def __post_init__(self) -> None:
        levels_for_scale(self.scale)
        if self.depth < 1 or self.channels < 1:
            raise OptionError(f"depth and channels must be positive, got {self.depth} and {self.channels}")


class OneShotSR(nn.Module):
    """Low-resolution features, then a single x``scale`` transposed conv (kernel 2*scale)."""

    def __init__(self, config: OneShotConfig | None = None, **overrides) -> None:
        super().__init__()
        config = self.config = configured(OneShotConfig, config, overrides)
        scale, channels = config.scale, config.channels
        self.scale = scale
        first = conv3x3(1, channels)
        layers: list[nn.Module] = [first, nn.LeakyReLU(LEAKY_SLOPE)]
        for _ in range(config.depth * levels_for_scale(scale)):
            layers += [conv3x3(channels, channels), nn.LeakyReLU(LEAKY_SLOPE)]
        self.features = nn.Sequential(*layers)
        k, pad = 2 * scale, scale // 2
        self.upsample = nn.ConvTranspose2d(channels, channels, k, stride=scale, padding=pad)
        self.act = nn.LeakyReLU(LEAKY_SLOPE)
        self.to_residual = conv3x3(channels, 1)
        self.image_upsample = nn.ConvTranspose2d(1, 1, k, stride=scale, padding=pad, bias=False)
        init_like_released_code(self, first_conv=first)
        with torch.no_grad():
            self.image_upsample.weight.copy_(bilinear_kernel(k).view(1, 1, k, k))

    def receptive_radius(self) -> int:
        """Upper bound, in low-resolution pixels, of an output pixel's field of view."""
        return self.config.depth * levels_for_scale(self.scale) + 4

    def forward(self, lr: torch.Tensor, levels: int | None = None) -> list[torch.Tensor]:
        """One output, at the full scale (a list for the same interface as LapSRN)."""
        check_input(lr)
        check_single_level(self.scale, levels)
        residual = self.to_residual(self.act(self.upsample(self.features(lr))))
        return [self.image_upsample(lr) + residual]


def check_single_level(scale: int, levels: int | None) -> None:
    """A network without a pyramid gives only its full scale: a clear error for any other."""
    if levels not in (None, levels_for_scale(scale)):
        raise OptionError(
            f"this network upsamples by x{scale} in one step and has no intermediate levels; "
            f"evaluate it at x{scale} only"
        )
