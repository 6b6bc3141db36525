"""Building blocks shared by LapSRN, MS-LapSRN and the one-shot baseline."""

from __future__ import annotations

import math
from dataclasses import Field, replace
from typing import Any, ClassVar, Protocol, TypeVar

import torch
from torch import nn

from ..errors import OptionError

LEAKY_SLOPE = 0.2


class DataclassInstance(Protocol):
    """Any dataclass instance (what ``dataclasses.replace`` and ``asdict`` take), for the type checker."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]


Config = TypeVar("Config", bound=DataclassInstance)


def configured(config_class: type[Config], config: Config | None, overrides: dict[str, Any]) -> Config:
    """The configuration a model is built from: ``config`` (or the defaults) with keyword
    overrides, so ``LapSRN(depth=5)`` and ``LapSRN(LapSRNConfig(depth=5))`` are the same model."""
    config = config if config is not None else config_class()
    return replace(config, **overrides) if overrides else config


def bilinear_kernel(size: int) -> torch.Tensor:
    """The (size x size) bilinear interpolation kernel for a stride-``size // 2`` transposed conv.

    For size 4 this is the outer product of [0.25, 0.75, 0.75, 0.25]: initialised with it, the
    image upsampler starts as plain bilinear x2 interpolation and training refines it.
    """
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    ramp = 1 - torch.abs(torch.arange(size, dtype=torch.float64) - center) / factor
    return torch.outer(ramp, ramp).float()


def conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=True)


class FeatureUpsampler(nn.Module):
    """Doubles the spatial size of a feature map with a transposed convolution.

    ``kind="released"`` is what the official weights contain: a 3x3 kernel whose full output
    (2H + 1) loses its last row and column (MatConvNet crop [0 1 0 1]). Note that PyTorch's
    ``padding=1, output_padding=1`` is *not* the same: it shifts the grid by one pixel.
    ``kind="paper"`` is the paper's text: a 4x4 kernel, stride 2, padding 1.
    """

    def __init__(self, channels: int, kind: str = "released") -> None:
        super().__init__()
        if kind not in ("released", "paper"):
            raise OptionError(f"upsampler kind must be 'released' or 'paper', got {kind!r}")
        self.kind = kind
        if kind == "released":
            self.deconv = nn.ConvTranspose2d(channels, channels, 3, stride=2, padding=0)
        else:
            self.deconv = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.deconv(x)
        return y[..., :-1, :-1] if self.kind == "released" else y


class ImageUpsampler(nn.Module):
    """x2 transposed convolution of the image branch (4x4, stride 2, crop 1), bilinear-initialised."""

    def __init__(self, channels: int = 1) -> None:
        super().__init__()
        self.deconv = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1, bias=False)
        with torch.no_grad():
            self.deconv.weight.zero_()
            for c in range(channels):
                self.deconv.weight[c, c] = bilinear_kernel(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv(x)


def init_like_released_code(module: nn.Module, first_conv: nn.Conv2d | None = None) -> None:
    """The official code's init: He normal N(0, sqrt(2 / fan_in)) for every conv and feature
    upsampler, zero biases, N(0, 0.001) for the first conv; image upsamplers stay bilinear."""
    bilinear = {id(m.deconv) for m in module.modules() if isinstance(m, ImageUpsampler)}
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and id(m) not in bilinear:
            w = m.weight
            in_channels = w.shape[0] if isinstance(m, nn.ConvTranspose2d) else w.shape[1]
            nn.init.normal_(w, 0.0, math.sqrt(2.0 / (in_channels * w.shape[2] * w.shape[3])))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    if first_conv is not None:
        nn.init.normal_(first_conv.weight, 0.0, 1e-3)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
