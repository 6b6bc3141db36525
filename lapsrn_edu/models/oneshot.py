"""A one-shot upsampling baseline for the paper's pyramid ablation.

FSRCNN-like: features are extracted at low resolution by the same conv layers as LapSRN (as many
in total as the pyramid has), then one transposed convolution upsamples by the whole scale at
once. Residual learning is kept (the residual is added to a bilinear-initialised x``scale``
upsampling of the input), so the only difference from LapSRN is the pyramid itself.
"""

from __future__ import annotations

import torch
from torch import nn

from .lapsrn import check_input, levels_for_scale
from .layers import LEAKY_SLOPE, bilinear_kernel, conv3x3, init_like_released_code


class OneShotSR(nn.Module):
    """Low-resolution features, then a single x``scale`` transposed conv (kernel 2*scale)."""

    def __init__(self, scale: int = 4, depth: int = 10, channels: int = 64) -> None:
        super().__init__()
        self.scale = scale
        self.hparams = {"scale": scale, "depth": depth, "channels": channels}
        total_depth = depth * levels_for_scale(scale)
        layers: list[nn.Module] = [conv3x3(1, channels), nn.LeakyReLU(LEAKY_SLOPE)]
        for _ in range(total_depth):
            layers += [conv3x3(channels, channels), nn.LeakyReLU(LEAKY_SLOPE)]
        self.features = nn.Sequential(*layers)
        k, pad = 2 * scale, scale // 2
        self.upsample = nn.ConvTranspose2d(channels, channels, k, stride=scale, padding=pad)
        self.act = nn.LeakyReLU(LEAKY_SLOPE)
        self.to_residual = conv3x3(channels, 1)
        self.image_upsample = nn.ConvTranspose2d(1, 1, k, stride=scale, padding=pad, bias=False)
        init_like_released_code(self, first_conv=self.features[0])
        with torch.no_grad():
            self.image_upsample.weight.copy_(bilinear_kernel(k).view(1, 1, k, k))

    def receptive_radius(self) -> int:
        """Upper bound, in low-resolution pixels, of an output pixel's field of view."""
        return self.hparams["depth"] * levels_for_scale(self.scale) + 4

    def forward(self, lr: torch.Tensor, levels: int | None = None) -> list[torch.Tensor]:
        """One output, at the full scale (a list for the same interface as LapSRN)."""
        check_input(lr)
        if levels not in (None, levels_for_scale(self.scale)):
            raise ValueError("a one-shot network has no intermediate levels")
        residual = self.to_residual(self.act(self.upsample(self.features(lr))))
        return [self.image_upsample(lr) + residual]
