"""Count a network's arithmetic: FLOPs per output megapixel, the cost measure that compares models.

LapSRN's point is that most of its work happens at low resolution; counting the multiply-adds
that each convolution really performs shows it. Forward hooks on every ``Conv2d`` and
``ConvTranspose2d`` count multiply-accumulates (MACs) on a small input; FLOPs = 2 x MACs (bias
additions and activations are ignored, as is usual). Only the network is counted: the bicubic
upsampling of Cb/Cr and the colour conversions are outside it.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from .upscale import model_levels

PROBE_SIZE = 16  # LR pixels per side; the counts are exactly proportional to the area


def conv_macs(module: nn.Conv2d | nn.ConvTranspose2d, inputs: torch.Tensor, output: torch.Tensor) -> int:
    """Multiply-accumulates of one call: a conv computes every output element from
    in/groups x kh x kw inputs; a transposed conv scatters every input element to
    out/groups x kh x kw outputs (including the rows a later crop throws away)."""
    kh, kw = module.kernel_size
    if isinstance(module, nn.ConvTranspose2d):
        return inputs.numel() * (module.out_channels // module.groups) * kh * kw
    return output.numel() * (module.in_channels // module.groups) * kh * kw


def count_macs(model: nn.Module, lr: torch.Tensor, levels: int) -> int:
    """MACs of ``model(lr, levels=levels)``, summed over all conv and transposed-conv calls
    (a shared, recursive layer is counted every time it runs)."""
    total = 0

    def hook(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        total += conv_macs(cast("nn.Conv2d | nn.ConvTranspose2d", module), args[0], output)  # hooked on those only

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    try:
        with torch.no_grad():
            model(lr, levels=levels)
    finally:
        for handle in handles:
            handle.remove()
    return total


def flops_per_megapixel(model: nn.Module, scale: int) -> float:
    """FLOPs (2 x MACs) that ``model`` spends per million output pixels at ``scale``
    (a model with more levels runs only the first log2(scale))."""
    levels = model_levels(model, scale)
    device = next(model.parameters()).device
    lr = torch.zeros(1, 1, PROBE_SIZE, PROBE_SIZE, device=device)
    output_pixels = (PROBE_SIZE * scale) ** 2
    return 2.0 * count_macs(model, lr, levels) / output_pixels * 1e6
