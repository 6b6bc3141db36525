"""The earlier networks LapSRN is compared with (CVPR 2017, section 2 and Table 4), at their
published sizes, with LapSRN's interface (an LR Y batch in, a list of one SR image out):

- SRCNN (Dong et al., ECCV 2014): three convolutions (9x9, 1x1, 5x5) on the *bicubic-upsampled*
  image: every layer works at high resolution.
- FSRCNN (Dong, Loy and Tang, ECCV 2016): works on the LR image (feature, shrink, mapping, expand)
  and upsamples once, at the very end, with a 9x9 transposed convolution.
- VDSR (Kim, Lee and Lee, CVPR 2016): twenty 3x3 convolutions on the bicubic-upsampled image,
  learning the residual between it and the HR image.

The bicubic upsampling inside SRCNN and VDSR is MATLAB's, as in their papers; it counts as part of
the model's input, not as a learned layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import OptionError
from ..imaging.resize import imresize_torch
from .lapsrn import check_input, levels_for_scale
from .layers import configured, conv3x3
from .oneshot import check_single_level

BICUBIC_RADIUS = 2  # LR pixels a bicubic output pixel reads on each side


def _check_size(**sizes: int) -> None:
    bad = {k: v for k, v in sizes.items() if v < 1}
    if bad:
        raise OptionError(f"sizes must be positive, got {bad}")


@dataclass(frozen=True)
class SRCNNConfig:
    """scale (2, 4, 8); filters of the two hidden layers; kernel sizes (the paper's 9-1-5)."""

    scale: int = 4
    filters: tuple[int, int] = (64, 32)
    kernels: tuple[int, int, int] = (9, 1, 5)

    def __post_init__(self) -> None:
        levels_for_scale(self.scale)
        _check_size(**{f"filters[{i}]": f for i, f in enumerate(self.filters)})
        if any(k % 2 == 0 or k < 1 for k in self.kernels):
            raise OptionError(f"kernel sizes must be odd and positive, got {self.kernels}")


class SRCNN(nn.Module):
    """Bicubic x``scale``, then conv 9x9 -> ReLU -> conv 1x1 -> ReLU -> conv 5x5, all at HR."""

    def __init__(self, config: SRCNNConfig | None = None, **overrides) -> None:
        super().__init__()
        config = self.config = configured(SRCNNConfig, config, overrides)
        self.scale = config.scale
        (n1, n2), (k1, k2, k3) = config.filters, config.kernels
        self.body = nn.Sequential(
            nn.Conv2d(1, n1, k1, padding=k1 // 2),
            nn.ReLU(),
            nn.Conv2d(n1, n2, k2, padding=k2 // 2),
            nn.ReLU(),
            nn.Conv2d(n2, 1, k3, padding=k3 // 2),
        )
        he_init(self)

    def receptive_radius(self) -> int:
        """LR pixels an output pixel depends on: the convolutions' reach at HR, plus bicubic's."""
        return math.ceil(sum(k // 2 for k in self.config.kernels) / self.scale) + BICUBIC_RADIUS + 1

    def forward(self, lr: torch.Tensor, levels: int | None = None) -> list[torch.Tensor]:
        check_input(lr)
        check_single_level(self.scale, levels)
        return [self.body(imresize_torch(lr, self.scale))]


@dataclass(frozen=True)
class FSRCNNConfig:
    """scale; d features, s shrunk features, m mapping layers (the paper's FSRCNN(56, 12, 4))."""

    scale: int = 4
    d: int = 56
    s: int = 12
    m: int = 4

    def __post_init__(self) -> None:
        levels_for_scale(self.scale)
        _check_size(d=self.d, s=self.s, m=self.m)


class FSRCNN(nn.Module):
    """LR features 5x5 (d), shrink 1x1 (s), m x 3x3 mapping, expand 1x1 (d), all with PReLU, then
    one 9x9 transposed convolution with stride ``scale`` straight to the HR image."""

    def __init__(self, config: FSRCNNConfig | None = None, **overrides) -> None:
        super().__init__()
        config = self.config = configured(FSRCNNConfig, config, overrides)
        self.scale = scale = config.scale
        d, s = config.d, config.s
        layers: list[nn.Module] = [nn.Conv2d(1, d, 5, padding=2), nn.PReLU(d), nn.Conv2d(d, s, 1), nn.PReLU(s)]
        for _ in range(config.m):
            layers += [conv3x3(s, s), nn.PReLU(s)]
        layers += [nn.Conv2d(s, d, 1), nn.PReLU(d)]
        self.body = nn.Sequential(*layers)
        # (h - 1) * scale - 2 * 4 + 9 + (scale - 1) = h * scale: the output is exactly scale x the input
        self.deconv = nn.ConvTranspose2d(d, 1, 9, stride=scale, padding=4, output_padding=scale - 1)
        he_init(self)
        nn.init.normal_(self.deconv.weight, 0.0, 1e-3)  # the paper's small init for the last layer

    def receptive_radius(self) -> int:
        return 2 + self.config.m + math.ceil(4 / self.scale) + 1

    def forward(self, lr: torch.Tensor, levels: int | None = None) -> list[torch.Tensor]:
        check_input(lr)
        check_single_level(self.scale, levels)
        return [self.deconv(self.body(lr))]


@dataclass(frozen=True)
class VDSRConfig:
    """scale; depth (20 convolutions in the paper, the last one to a single channel); channels."""

    scale: int = 4
    depth: int = 20
    channels: int = 64

    def __post_init__(self) -> None:
        levels_for_scale(self.scale)
        if self.depth < 2:
            raise OptionError(f"VDSR needs at least 2 convolutions (in and out), got depth {self.depth}")
        _check_size(channels=self.channels)


class VDSR(nn.Module):
    """Bicubic x``scale``, then ``depth`` 3x3 convs (ReLU between) predicting the residual."""

    def __init__(self, config: VDSRConfig | None = None, **overrides) -> None:
        super().__init__()
        config = self.config = configured(VDSRConfig, config, overrides)
        self.scale = config.scale
        c = config.channels
        layers: list[nn.Module] = [conv3x3(1, c), nn.ReLU()]
        for _ in range(config.depth - 2):
            layers += [conv3x3(c, c), nn.ReLU()]
        layers.append(conv3x3(c, 1))
        self.body = nn.Sequential(*layers)
        he_init(self)

    def receptive_radius(self) -> int:
        return math.ceil(self.config.depth / self.scale) + BICUBIC_RADIUS + 1

    def forward(self, lr: torch.Tensor, levels: int | None = None) -> list[torch.Tensor]:
        check_input(lr)
        check_single_level(self.scale, levels)
        upsampled = imresize_torch(lr, self.scale)
        return [upsampled + self.body(upsampled)]


def he_init(module: nn.Module) -> None:
    """He normal weights and zero biases for every convolution (what VDSR and FSRCNN prescribe)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
