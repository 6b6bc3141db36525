"""Fast inference for LapSRN and MS-LapSRN: the readable model's numbers, in less time and memory.

The networks in :mod:`lapsrn_edu.models` are written to be read. This module runs their weights
for inference only, with what makes a CPU fast:

- feature maps stay channels-last (the layout oneDNN's convolutions work in: no conversions);
- LeakyReLU is fused into the convolution before it, and MS-LapSRN's skip additions into the
  convolution that ends a block (oneDNN post-ops, when this torch has them);
- each stride-2 transposed convolution (with its crop) is folded into four small ordinary
  convolutions, one per output phase (which pixel of each 2 x 2 output block), interleaved: the
  same sums as the transposed convolution, without its zero-stuffing;
- the image flows through the network in bands of rows, top to bottom: each layer keeps the last
  rows of its input that its next output rows still need (two for a 3x3 convolution), so a band
  is computed once, its feature maps stay in the CPU caches, memory is bounded by the image
  width instead of its area, and the same few buffer sizes are allocated again and again (the
  allocator reuses them, where whole-image maps cost a page fault per 4 KB, every call).

Rows are processed exactly as in one pass (the zero padding is added once, at the top and the
bottom of the image), so results equal the plain model's to float rounding; tests/test_fast.py
checks under 1e-5 for LapSRN x2/x4/x8 with both upsamplers and for MS-LapSRN.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from ..models import LapSRN, MSLapSRN, MSLapSRNConfig, levels_for_scale
from ..models.lapsrn import PyramidLevel, check_input
from ..models.layers import LEAKY_SLOPE

CHANNELS_LAST = torch.channels_last
_POINTWISE: Any = getattr(torch.ops.mkldnn, "_convolution_pointwise", None)  # an op with no type information
BAND_PIXELS = 1 << 15  # output pixels of the finest convolution per band (its maps: 8 MB)
CHUNK_BYTES = 1 << 20  # input rows per upsampler call: they stay in the cache through its phases


def fused_convolutions() -> bool:
    """True when this torch has oneDNN's fused convolution + activation/addition ops."""
    return _POINTWISE is not None and torch.backends.mkldnn.is_available()


@dataclass
class Conv:
    """One convolution with its weights in channels-last: ``padding`` (rows, columns) is applied
    to the columns only (rows come padded by the band logic), and LeakyReLU follows or not."""

    weight: torch.Tensor
    bias: torch.Tensor | None
    padding: tuple[int, int]
    leaky: bool

    @property
    def rows(self) -> int:
        return self.weight.shape[2]

    def __call__(self, x: torch.Tensor, add: torch.Tensor | None = None, pad_rows: int = 0) -> torch.Tensor:
        """conv(x) (+ ``add``) (then LeakyReLU), with ``pad_rows`` zero rows above and below;
        ``add`` excludes ``leaky``."""
        pad = [pad_rows, self.padding[1]]
        if fused_convolutions() and x.device.type == "cpu" and x.dtype == torch.float32:
            one = [1, 1]
            if add is not None:
                return _POINTWISE.binary(x, add, self.weight, self.bias, pad, one, one, 1, "add", None, None, [], None)
            if self.leaky:
                return _POINTWISE(x, self.weight, self.bias, pad, one, one, 1, "leaky_relu", [LEAKY_SLOPE], "")
            return _POINTWISE(x, self.weight, self.bias, pad, one, one, 1, "none", [], "")
        y = F.conv2d(x, self.weight, self.bias, padding=pad)
        if add is not None:
            y += add
        return F.leaky_relu_(y, LEAKY_SLOPE) if self.leaky else y


def _conv(module: nn.Conv2d, leaky: bool) -> Conv:
    weight = module.weight.detach().clone().contiguous(memory_format=CHANNELS_LAST)
    bias = None if module.bias is None else module.bias.detach().clone()
    return Conv(weight, bias, cast("tuple[int, int]", tuple(module.padding)), leaky)


def _rows(x: torch.Tensor, start: int, stop: int | None = None) -> torch.Tensor:
    return x[:, :, start:stop]


def _kept(rows: torch.Tensor) -> torch.Tensor:
    """A copy of the few rows a layer keeps for its next call: a view would keep its whole band
    alive, one band per layer (hundreds of MB on a wide image)."""
    return rows.clone(memory_format=CHANNELS_LAST) if rows.dim() == 4 else rows.clone()


def _cat_rows(pieces: list[torch.Tensor]) -> torch.Tensor:
    """Rows stacked top to bottom, channels-last. (torch.cat along the rows of channels-last
    tensors takes a slow strided path; stacking their (N, H, W, C) views is one memcpy each.)"""
    filled = [p.contiguous(memory_format=CHANNELS_LAST) for p in pieces if p.shape[2]] or pieces[:1]
    if len(filled) == 1:
        return filled[0].contiguous(memory_format=CHANNELS_LAST)
    return torch.cat([p.permute(0, 2, 3, 1) for p in filled], dim=1).permute(0, 3, 1, 2)


class ConvRows:
    """A convolution fed rows top to bottom: keeps the last ``kernel rows - 1`` input rows for
    its next call, and pads the top and bottom of the image with zero rows as one pass would."""

    def __init__(self, conv: Conv) -> None:
        self.conv = conv
        self.carry: torch.Tensor | None = None

    def push(self, x: torch.Tensor, last: bool, add: RowQueue | None = None) -> torch.Tensor:
        pad, kept = self.conv.padding[0], self.conv.rows - 1
        if self.carry is None and x.shape[2] >= kept:
            # first rows: the convolution pads the top itself (no copy); without the bottom
            # rows yet, its last ``pad`` output rows are not final and are dropped
            count = x.shape[2] if last else x.shape[2] - pad
            self.carry = _kept(_rows(x, x.shape[2] - kept))
            if count <= 0:
                return self._empty(x)
            if last:
                return self.conv(x, add=None if add is None else add.take(count), pad_rows=pad)
            out = _rows(self.conv(x, pad_rows=pad), 0, count)
            return out if add is None else out + add.take(count)
        pieces = [x.new_zeros(*x.shape[:2], pad, x.shape[3]) if self.carry is None else self.carry, x]
        if last:
            pieces.append(x.new_zeros(*x.shape[:2], pad, x.shape[3]))
        buf = _cat_rows(pieces)
        count = buf.shape[2] - kept
        self.carry = _kept(_rows(buf, max(count, 0)))
        if count <= 0:
            return self._empty(buf)
        return self.conv(buf, add=None if add is None else add.take(count))

    def _empty(self, x: torch.Tensor) -> torch.Tensor:
        width = x.shape[3] + 2 * self.conv.padding[1] - self.conv.weight.shape[3] + 1
        return x.new_empty(x.shape[0], self.conv.weight.shape[0], 0, width)


class RowQueue:
    """Rows that arrived before the rows they are to be added to (a skip connection, the image
    branch): kept until taken, in order."""

    def __init__(self) -> None:
        self.pending: list[torch.Tensor] = []

    def put(self, x: torch.Tensor) -> None:
        if x.shape[2]:
            self.pending.append(x)

    @property
    def held(self) -> int:
        return sum(p.shape[2] for p in self.pending)

    def take(self, count: int) -> torch.Tensor:
        rows = _cat_rows(self.pending) if len(self.pending) > 1 else self.pending[0]
        if rows.shape[2] < count:
            raise RuntimeError(f"internal error: {count} rows asked of a queue holding {rows.shape[2]}")
        self.pending = [_kept(_rows(rows, count))] if rows.shape[2] > count else []
        return _rows(rows, 0, count).contiguous(memory_format=CHANNELS_LAST)


# Which input rows (offset d from i) and kernel taps t give output row 2i + a of a stride-2
# transposed convolution, for the phases a = 0, 1. "released": 3x3 kernel, no padding, the last
# row cropped: output 2m + t. "paper" (and the image upsampler): 4x4 kernel, padding 1: 2m + t - 1.
PHASE_TAPS = {
    "released": ({0: 0, -1: 2}, {0: 1}),
    "paper": ({0: 1, -1: 3}, {1: 0, 0: 2}),
}


@dataclass
class Phase:
    """The ordinary convolution giving output phase (a, b), and the first row and column of its
    output that count (it reads from row ``row0`` of the band, with symmetric column padding)."""

    a: int
    b: int
    conv: Conv
    row0: int
    col0: int


@dataclass
class PhaseFold:
    """A stride-2 transposed convolution (with the released crop or the paper's padding) folded
    into four ordinary convolutions, one per output phase: output pixel (2i + a, 2j + b) is phase
    (a, b)'s output at (i, j). Each phase has only the taps that reach it (released: 2x2, 2x1, 1x2
    and 1x1, nine in all, as many as the 3x3 kernel); ``above`` and ``below`` are the input rows
    that output row pair i needs above and below row i."""

    phases: list[Phase]
    above: int
    below: int


def fold_transposed(weight: torch.Tensor, bias: torch.Tensor | None, kind: str, leaky: bool) -> PhaseFold:
    """Fold a transposed convolution's weight (in, out, kh, kw) and bias into a :class:`PhaseFold`."""
    taps = PHASE_TAPS[kind]
    weight = weight.detach()
    offsets = sorted({d for phase in taps for d in phase})
    above, below = -offsets[0], offsets[-1]
    phases = []
    for a in (0, 1):
        for b in (0, 1):
            rows, cols = sorted(taps[a]), sorted(taps[b])
            kernel = weight.new_zeros(weight.shape[1], weight.shape[0], len(rows), len(cols))
            for u, dy in enumerate(rows):
                for v, dx in enumerate(cols):
                    kernel[:, :, u, v] = weight[:, :, taps[a][dy], taps[b][dx]].T
            # symmetric column padding p: output column c reads input columns c - p, ...;
            # phase column j must read j + cols[0], ...: so it is output column j + cols[0] + p
            pad = max(-cols[0], cols[-1])
            conv = Conv(
                kernel.contiguous(memory_format=CHANNELS_LAST),
                None if bias is None else bias.detach().clone(),
                (0, pad),
                leaky,
            )
            phases.append(Phase(a, b, conv, rows[0] + above, cols[0] + pad))
    return PhaseFold(phases, above, below)


class PhaseRows:
    """A :class:`PhaseFold` fed rows top to bottom, like :class:`ConvRows`."""

    def __init__(self, fold: PhaseFold) -> None:
        self.fold = fold
        self.carry: torch.Tensor | None = None

    def push_phases(self, x: torch.Tensor, last: bool) -> list[tuple[Phase, torch.Tensor]]:
        """Each phase's output for the next input rows, as (N, rows, W, C) views."""
        fold = self.fold
        if self.carry is None and fold.below == 0 and x.shape[2] >= max(fold.above, 1):
            # first rows of the released upsampler (no row below needed): each phase convolution
            # pads its own top, without copying the rows under a zero row
            buf, count, pad = x, x.shape[2], fold.above
        else:
            pieces = [x.new_zeros(*x.shape[:2], fold.above, x.shape[3]) if self.carry is None else self.carry, x]
            if last:
                pieces.append(x.new_zeros(*x.shape[:2], fold.below, x.shape[3]))
            buf = _cat_rows(pieces)
            count, pad = max(buf.shape[2] - fold.above - fold.below, 0), 0
        self.carry = _kept(
            _rows(buf, buf.shape[2] - fold.above - fold.below if pad == 0 else buf.shape[2] - fold.above)
        )
        if count == 0:
            return []
        outputs = []
        for p in fold.phases:
            if pad:  # phase rows start at -1 (padded: output row i is row i) or at 0 (output row i)
                y = p.conv(buf, pad_rows=pad if p.row0 == 0 else 0)
            else:
                y = p.conv(_rows(buf, p.row0, p.row0 + count + p.conv.rows - 1))
            outputs.append((p, y.permute(0, 2, 3, 1)[:, :count, p.col0 : p.col0 + buf.shape[3]]))
        return outputs

    def count(self, rows: int, last: bool) -> int:
        """How many output row pairs pushing ``rows`` more input rows gives."""
        fold = self.fold
        held = fold.above if self.carry is None else self.carry.shape[2]
        return max(0, held + rows + (fold.below if last else 0) - fold.above - fold.below)

    def push(self, x: torch.Tensor, last: bool) -> torch.Tensor:
        """The transposed convolution's next output rows (twice as many as input rows), channels-last."""
        return interleave(self.push_phases(x, last), x)


def interleave(
    outputs: list[tuple[Phase, torch.Tensor]], like: torch.Tensor, out: torch.Tensor | None = None
) -> torch.Tensor:
    """(N, C, 2H, 2W) channels-last from the four phases' (N, H, W, C) outputs (into ``out``)."""
    if not outputs:
        return like.new_empty(like.shape[0], like.shape[1], 0, 2 * like.shape[3])
    n, h, w, c = outputs[0][1].shape
    if out is None:
        out = torch.empty((n, c, 2 * h, 2 * w), dtype=like.dtype, device=like.device, memory_format=CHANNELS_LAST)
    grid = out.permute(0, 2, 3, 1).view(n, h, 2, w, 2, c)
    for p, y in outputs:
        grid[:, :, p.a, :, p.b, :] = y
    return out


class ResidualRows:
    """A 3x3 convolution to one channel (the residual image), fed rows top to bottom.

    oneDNN computes a one-channel output slowly (4x the time of a 64-channel one per output
    value); here each of the nine taps is one matrix product over the channels (T = features x
    weights, nine planes), taken while the upsampler's phases are still in cache, and the
    residual is the sum of the nine planes, each shifted by its tap's offset."""

    def __init__(self, conv: Conv) -> None:
        weight = conv.weight.detach()
        self.taps = weight[0].reshape(weight.shape[1], 9).T.contiguous()  # (9, C): tap (dy, dx) -> row 3 dy + dx
        self.bias = conv.bias
        self.carry: torch.Tensor | None = None

    def planes(self, outputs: list[tuple[Phase, torch.Tensor]]) -> torch.Tensor:
        """The nine tap planes (9, N, 2H, 2W) of the upsampled features, from their phases."""
        n, h, w, c = outputs[0][1].shape
        planes = outputs[0][1].new_empty(9, n, h, 2, w, 2)
        for p, y in outputs:
            planes[:, :, :, p.a, :, p.b] = (self.taps @ y.reshape(-1, c).T).view(9, n, h, w)
        return planes.view(9, n, 2 * h, 2 * w)

    def push(self, planes: torch.Tensor | None, last: bool, like: torch.Tensor) -> torch.Tensor:
        """The residual's next rows (N, 1, rows, W) from the next rows of tap planes."""
        if planes is None:
            planes = like.new_zeros(9, like.shape[0], 0, 2 * like.shape[3])
        zero = planes.new_zeros(9, planes.shape[1], 1, planes.shape[3])
        pieces = [zero if self.carry is None else self.carry, planes] + ([zero] if last else [])
        buf = torch.cat([p for p in pieces if p.shape[2]], dim=2)
        count = buf.shape[2] - 2
        self.carry = buf[:, :, max(count, 0) :].clone()
        if count <= 0:
            return planes.new_empty(planes.shape[1], 1, 0, planes.shape[3])
        buf = F.pad(buf, (1, 1))
        width = planes.shape[3]
        out = buf[0, :, 0:count, 0:width] + (0.0 if self.bias is None else self.bias[0])
        for k in range(1, 9):
            dy, dx = divmod(k, 3)
            out += buf[k, :, dy : dy + count, dx : dx + width]
        return out[:, None]


def _leaky(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, LEAKY_SLOPE)


@dataclass
class Level:
    """One LapSRN level, folded: its convolutions, feature upsampler, residual convolution and
    image upsampler (None without residual learning: the level predicts its image directly)."""

    convs: list[Conv]
    upsample: PhaseFold
    to_residual: Conv
    image_upsample: PhaseFold | None


class FastPyramid:
    """Inference-only LapSRN / MS-LapSRN: ``fast(lr, levels)`` returns what ``model(lr, levels)``
    returns (every level's image, coarse to fine), from a copy of the model's weights taken when
    it is built (rebuild it after the weights change)."""

    def __init__(self, model: LapSRN | MSLapSRN) -> None:
        self.scale = model.scale
        self.config = model.config
        self.ms = isinstance(model, MSLapSRN)
        self.level_count = levels_for_scale(model.scale)
        self.input_conv = _conv(model.input_conv, leaky=not self.ms)
        if isinstance(model, MSLapSRN):  # self.ms, said so that the type checker narrows ``model``
            block = cast("list[nn.Conv2d]", list(model.block))
            self.block = [_conv(conv, leaky=k < len(block) - 1) for k, conv in enumerate(block)]
            deconv = model.upsample.deconv
            self.upsample = fold_transposed(deconv.weight, deconv.bias, "released", leaky=False)
            self.to_residual = _conv(model.to_residual, leaky=False)
            self.image_upsample = fold_transposed(model.image_upsample.deconv.weight, None, "paper", leaky=False)
        else:
            residual = model.config.residual
            self.levels = [
                Level(
                    [_conv(m, leaky=True) for m in level.convs if isinstance(m, nn.Conv2d)],
                    fold_transposed(
                        level.upsample.deconv.weight, level.upsample.deconv.bias, level.upsample.kind, leaky=True
                    ),
                    _conv(level.to_residual, leaky=False),
                    fold_transposed(level.image_upsample.deconv.weight, None, "paper", leaky=False)
                    if residual
                    else None,
                )
                for level in cast("list[PyramidLevel]", list(model.levels))
            ]

    def band_rows(self, width: int, levels: int) -> int:
        """LR rows per band: the finest convolution's band holds about :data:`BAND_PIXELS` pixels."""
        finest = 2 ** (levels - 1)
        return max(1, BAND_PIXELS // (finest * finest * max(width, 1)))

    @torch.inference_mode()
    def __call__(self, lr: torch.Tensor, levels: int | None = None) -> list[torch.Tensor]:
        """Every level's whole image, each written band by band into one tensor (no second copy
        of the pieces: a 4096 x 4096 level is 64 MB)."""
        outputs: list[torch.Tensor] = []
        filled: list[int] = []
        for rows in self.bands(lr, levels):
            if not outputs:
                outputs = [
                    lr.new_empty(lr.shape[0], r.shape[1], lr.shape[2] << k, lr.shape[3] << k)
                    for k, r in enumerate(rows, 1)
                ]
                filled = [0] * len(rows)
            for k, band in enumerate(rows):
                outputs[k][:, :, filled[k] : filled[k] + band.shape[2]] = band
                filled[k] += band.shape[2]
        return outputs

    @torch.inference_mode()
    def bands(
        self, lr: torch.Tensor, levels: int | None = None, band: int | None = None
    ) -> Iterator[list[torch.Tensor]]:
        """Run the network on ``lr`` in bands of ``band`` LR rows; yields, band after band, the
        next rows of every level's image, top to bottom (early bands may have none yet)."""
        check_input(lr)
        levels = self.level_count if levels is None else levels
        if not 1 <= levels <= self.level_count:
            raise ValueError(f"this model has {self.level_count} levels, asked for {levels}")
        band = band or self.band_rows(lr.shape[3], levels)
        step = self._ms_step(levels) if self.ms else self._lapsrn_step(levels)
        height = lr.shape[2]
        for top in range(0, height, band):
            yield step(lr[:, :, top : top + band], top + band >= height)

    def _lapsrn_step(self, levels: int):
        """One band through every level: ``step(rows, last) -> [new rows of each level's image]``."""
        input_conv = ConvRows(self.input_conv)
        stages = [
            (
                [ConvRows(c) for c in level.convs],
                PhaseRows(level.upsample),
                ResidualRows(level.to_residual),
                None if level.image_upsample is None else PhaseRows(level.image_upsample),
                RowSum(),
            )
            for level in self.levels[:levels]
        ]

        def step(x: torch.Tensor, last: bool) -> list[torch.Tensor]:
            features, image, out = input_conv.push(x, last), x, []
            for k, (convs, upsample, to_residual, image_upsample, upsampled) in enumerate(stages):
                for conv in convs:
                    features = conv.push(features, last)
                kept, residual = _upsample_level(upsample, to_residual, features, last, keep=k < len(stages) - 1)
                features = features if kept is None else kept  # None after the last level: nothing follows
                if image_upsample is None:
                    image = residual
                else:
                    image = upsampled.add(image_upsample.push(image, last), residual)
                out.append(image)
            return out

        return step

    def _ms_step(self, levels: int):
        """The same for MS-LapSRN: every use of a shared convolution keeps its own rows."""
        config = cast(MSLapSRNConfig, self.config)  # this path is an MS-LapSRN's
        skip_kind = config.skip
        input_conv = ConvRows(self.input_conv)
        stages = [
            (
                [
                    ([ConvRows(c) for c in self.block[:-1]], ConvRows(self.block[-1]), RowQueue())
                    for _ in range(config.recursions)
                ],
                PhaseRows(self.upsample),
                ResidualRows(self.to_residual),
                PhaseRows(self.image_upsample),
                RowSum(),
            )
            for _ in range(levels)
        ]

        def step(x: torch.Tensor, last: bool) -> list[torch.Tensor]:
            features, image, out = input_conv.push(x, last), x, []
            for k, (blocks, upsample, to_residual, image_upsample, upsampled) in enumerate(stages):
                state, active = features, _leaky(features)
                for convs, end, skips in blocks:
                    if skip_kind != "NS":
                        skips.put(features if skip_kind == "SS" else state)
                    for conv in convs:
                        active = conv.push(active, last)
                    state = end.push(active, last, add=None if skip_kind == "NS" else skips)
                    active = _leaky(state)
                kept, residual = _upsample_level(upsample, to_residual, active, last, keep=k < len(stages) - 1)
                features = features if kept is None else kept  # None after the last level: nothing follows
                image = upsampled.add(image_upsample.push(image, last), residual)
                out.append(image)
            return out

        return step


def _upsample_level(
    upsample: PhaseRows, to_residual: ResidualRows, features: torch.Tensor, last: bool, keep: bool
) -> tuple[torch.Tensor | None, torch.Tensor]:
    """(upsampled features if ``keep``, residual) for a level's next rows, a few rows at a time:
    the four phase convolutions then read their input from the cache, and their outputs are
    still there when they are interleaved and turned into tap planes. The last level's upsampled
    features, four times the size of any map before them, only feed its residual: they are never
    assembled."""
    rows, width = features.shape[2], features.shape[3]
    step = max(1, CHUNK_BYTES // (width * features.shape[1] * features.element_size()))
    fine = None
    if keep:
        total = upsample.count(rows, last)
        fine = torch.empty(
            (features.shape[0], features.shape[1], 2 * total, 2 * width),
            dtype=features.dtype,
            device=features.device,
            memory_format=CHANNELS_LAST,
        )
    done, residuals = 0, []
    for start in range(0, max(rows, 1), step):
        ends = last and start + step >= rows
        outputs = upsample.push_phases(_rows(features, start, start + step), ends)
        if outputs and fine is not None:
            count = outputs[0][1].shape[1]
            interleave(outputs, features, out=_rows(fine, 2 * done, 2 * (done + count)))
            done += count
        residuals.append(to_residual.push(to_residual.planes(outputs) if outputs else None, ends, like=features))
    return fine, _cat_rows(residuals)


class RowSum:
    """The sum of two branches that give their rows at different paces (the upsampled image and
    the residual): the rows that both have given so far, each branch's extra rows kept."""

    def __init__(self) -> None:
        self.first, self.second = RowQueue(), RowQueue()

    def add(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        self.first.put(first)
        self.second.put(second)
        count = min(self.first.held, self.second.held)
        if count == 0:
            return second[:, :, :0]
        return self.first.take(count) + self.second.take(count)
