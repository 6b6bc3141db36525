"""Faster training steps on the CPU: the same network and parameters, computed in less time.

On the CPU the trainer runs its forward and backward passes through :func:`for_training` of an
unedited model: a light copy that shares every parameter with it (the optimiser, the checkpoints and
evaluation all use the model itself) and changes only how three things are computed:

- the released feature upsampler, a 3x3 stride-2 transposed convolution whose last row and column
  are cropped, becomes two ordinary convolutions, one per output row phase (:class:`SubPixelUpsampler`):
  torch runs that transposed convolution through a slow path, and cropping it copies a map one
  row and one column too large (and zero-fills its gradient on the way back);
- a 3x3 convolution to one channel (the residual image) becomes a matrix product over the channels
  and a sum over the nine taps (:class:`OneChannelConv`): oneDNN spends nearly as long on one
  output channel as on 64;
- a ReLU or LeakyReLU that directly follows a convolution inside an ``nn.Sequential`` works in
  place: nothing else reads the convolution's output, and the activation's backward needs only its
  result, so each layer keeps one feature map instead of two.

The readable models in :mod:`lapsrn_edu.models` stay as they are; tests/test_fast_train.py checks
that outputs and every gradient match theirs, and the trainer uses this copy only when
:mod:`lapsrn_edu.engine.switch` finds the model unedited. What each change gains is measured in
``benchmarks/README.md``.
"""

from __future__ import annotations

import copy
from typing import TypeGuard

import torch
import torch.nn.functional as F
from torch import nn

from ..models.layers import FeatureUpsampler
from .inference import PHASE_TAPS


class SubPixelUpsampler(nn.Module):
    """The released :class:`FeatureUpsampler` as two ordinary convolutions, one per output row phase.

    Output pixel (2i + a, 2j + b) sums input pixels of rows i - 1 and i and columns j - 1 and j
    (``PHASE_TAPS`` says which tap of the 3x3 kernel each one meets; the others meet none). The
    even output rows (a = 0) are then a 2x2 convolution of the input with one zero row on top and
    one zero column on the left, the odd rows (a = 1) a 1x2 one; each gives 2 x out channels, the
    kernels of columns b = 0 and b = 1 side by side. In channels-last memory, an output row's
    pixels 2j and 2j + 1 are then already next to each other, so interleaving is one stack of the
    two row phases. The kernels are the transposed kernel's taps (through a 0/1 selection
    matrix): the same parameters, so the same gradients."""

    def __init__(self, upsampler: FeatureUpsampler) -> None:
        super().__init__()
        if upsampler.kind != "released":
            raise ValueError(f"only the released upsampler folds into ordinary convolutions, not {upsampler.kind!r}")
        self.deconv = upsampler.deconv  # shared: the same parameters, the same gradients
        row_taps, col_taps = PHASE_TAPS["released"], PHASE_TAPS["released"]
        columns = (-1, 0)  # input columns j - 1 and j (one zero column on the left)
        self.top = []  # zero rows above the input, per row phase
        for a, rows in enumerate(row_taps):
            offsets = sorted(rows)
            select = torch.zeros(9, 2, len(offsets), len(columns))  # tap -> (b, kernel row, kernel column)
            for b, cols in enumerate(col_taps):
                for u, dy in enumerate(offsets):
                    for v, dx in enumerate(columns):
                        if dx in cols:
                            select[3 * rows[dy] + cols[dx], b, u, v] = 1.0
            self.register_buffer(f"select{a}", select.flatten(1).to(self.deconv.weight), persistent=False)
            self.top.append(-offsets[0])

    def kernel(self, a: int) -> torch.Tensor:
        """Row phase ``a``'s kernel, (2 x out, in, rows, 2): output channels [0, out) give the even
        output columns (b = 0), [out, 2 x out) the odd ones."""
        weight = self.deconv.weight  # (in, out, 3, 3)
        c_in, c_out = weight.shape[:2]
        select = getattr(self, f"select{a}")
        rows = select.shape[1] // 4
        kernel = (weight.reshape(c_in * c_out, 9) @ select).view(c_in, c_out, 2, rows, 2)
        return kernel.permute(2, 1, 0, 3, 4).reshape(2 * c_out, c_in, rows, 2).contiguous(memory_format=_layout(weight))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        bias = None if self.deconv.bias is None else self.deconv.bias.repeat(2)
        rows = [
            F.conv2d(F.pad(x, (1, 0, top, 0)), self.kernel(a), bias) for a, top in enumerate(self.top)
        ]  # (N, 2C, H, W)
        c = rows[0].shape[1] // 2
        if x.is_contiguous(memory_format=torch.channels_last):  # (N, H, W, b, C) is (N, H, 2W, C): stack the row phases
            pixels = torch.stack([r.permute(0, 2, 3, 1).reshape(n, h, 2 * w, c) for r in rows], dim=2)
            return pixels.view(n, 2 * h, 2 * w, c).permute(0, 3, 1, 2)
        grid = torch.stack([r.view(n, 2, c, h, w) for r in rows], dim=1)  # (N, a, b, C, H, W)
        return grid.permute(0, 3, 4, 1, 5, 2).reshape(n, c, 2 * h, 2 * w)


class OneChannelConv(nn.Module):
    """A 3x3 convolution to one channel (the residual image) as a product over the channels, then
    a sum over the nine taps.

    oneDNN spends about as long on a one-channel output as on a 64-channel one. Here each
    pixel's 64 channels are multiplied by the nine taps' weights in one matrix product (the
    features are channels-last, so (pixels, channels) is a view of them), giving nine planes;
    the output is their sum, each plane shifted by its tap's offset: a 3x3 convolution from nine
    channels to one with a fixed 0/1 kernel. Half the time of the plain convolution, forward and
    back. A channels-first input goes through the plain convolution."""

    spread: torch.Tensor  # a buffer: each tap's 3x3 one-hot kernel

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        if not takes_one_channel_path(conv):
            raise ValueError("OneChannelConv needs a 3x3, stride-1, zero-padded (1) convolution to one channel")
        self.conv = conv  # shared
        self.register_buffer("spread", torch.eye(9).view(1, 9, 3, 3).to(conv.weight), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not x.is_contiguous(memory_format=torch.channels_last):
            return self.conv(x)
        n, c, h, w = x.shape
        planes = x.permute(0, 2, 3, 1).reshape(-1, c) @ self.conv.weight.reshape(c, 9)  # (pixels, tap 3 dy + dx)
        planes = planes.view(n, h, w, 9).permute(0, 3, 1, 2)
        return F.conv2d(planes, self.spread, self.conv.bias, padding=1)


def takes_one_channel_path(conv: nn.Module) -> TypeGuard[nn.Conv2d]:
    """A plain 3x3 convolution (stride 1, zero padding 1, no groups or dilation) to one channel."""
    return (
        type(conv) is nn.Conv2d
        and conv.out_channels == 1
        and conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.padding == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
    )


def _layout(t: torch.Tensor) -> torch.memory_format:
    return (
        torch.channels_last
        if t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last)
        else torch.contiguous_format
    )


def _in_place(activation: nn.Module) -> TypeGuard[nn.LeakyReLU | nn.ReLU]:
    """ReLU always, LeakyReLU with a positive slope: their backward can be computed from the result."""
    if isinstance(activation, nn.LeakyReLU):
        return activation.negative_slope > 0
    return isinstance(activation, nn.ReLU)


def for_training(model: nn.Module) -> nn.Module:
    """A copy of ``model`` that shares its parameters and buffers, with the faster computations
    above in place of the ones they replace. Train through it; save, evaluate and export the model."""
    clone = copy.copy(model)
    clone._modules = {}
    before: nn.Module | None = None
    for name, child in model._modules.items():
        replacement: nn.Module | None
        if child is None:
            replacement = None
        elif isinstance(child, FeatureUpsampler) and child.kind == "released":
            replacement = SubPixelUpsampler(child)
        elif takes_one_channel_path(child):
            replacement = OneChannelConv(child)
        elif isinstance(model, nn.Sequential) and isinstance(before, nn.Conv2d) and _in_place(child):
            replacement = copy.copy(child)
            replacement.inplace = True
        else:
            replacement = for_training(child)
        clone._modules[name] = replacement
        before = child
    return clone
