"""FLOPs per output megapixel, checked against a hand count of LapSRN's convolutions and against
PyTorch's FlopCounterMode on every registered architecture."""

from __future__ import annotations

from functools import partial
from typing import Any, cast

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from lapsrn_edu.evaluation import flops
from lapsrn_edu.evaluation.upscale import model_levels
from lapsrn_edu.imaging.resize import imresize_torch
from lapsrn_edu.models import LapSRN, LapSRNConfig, MSLapSRN, MSLapSRNConfig, OneShotSR
from lapsrn_edu.models.mslapsrn import SKIPS
from lapsrn_edu.models.registry import ARCHITECTURES, build


def lapsrn_macs_per_lr_pixel(depth: int, c: int, levels: int) -> float:
    """By hand: level i (0-based) works on 4**i times the LR area. Its ``depth`` convs and the 3x3
    feature upsampler (which scatters every input pixel) run there; the residual conv runs at the
    next resolution (4**(i+1)); the 4x4 image upsampler scatters every pixel of its input."""
    total = 9 * c  # input conv, 1 -> c
    for i in range(levels):
        area = 4**i
        total += area * (depth * 9 * c * c + 9 * c * c + 16)
        total += 4 * area * 9 * c
    return total


@pytest.mark.parametrize(("depth", "channels", "scale"), [(10, 64, 2), (2, 8, 4), (3, 4, 8)])
def test_lapsrn_matches_the_hand_count(depth, channels, scale):
    model = LapSRN(LapSRNConfig(scale=scale, depth=depth, channels=channels))
    levels = {2: 1, 4: 2, 8: 3}[scale]
    expected = 2 * lapsrn_macs_per_lr_pixel(depth, channels, levels) / scale**2 * 1e6
    assert flops.flops_per_megapixel(model, scale) == pytest.approx(expected, rel=1e-12)


def test_released_x2_shape_costs_204_gflops_per_megapixel():
    """The released x2 shape (d=10, 64 channels): 408,400 MACs per LR pixel, 4 output pixels each."""
    model = LapSRN(LapSRNConfig(scale=2, depth=10, channels=64))
    assert flops.flops_per_megapixel(model, 2) == pytest.approx(2 * 408_400 / 4 * 1e6)


def test_a_larger_model_run_at_a_smaller_scale_costs_the_same_as_the_smaller_model():
    x8 = LapSRN(LapSRNConfig(scale=8, depth=2, channels=8))
    x2 = LapSRN(LapSRNConfig(scale=2, depth=2, channels=8))
    assert flops.flops_per_megapixel(x8, 2) == pytest.approx(flops.flops_per_megapixel(x2, 2))


def test_the_count_does_not_depend_on_the_probe_size(monkeypatch):
    model = LapSRN(LapSRNConfig(scale=4, depth=2, channels=8))
    small = flops.flops_per_megapixel(model, 4)
    monkeypatch.setattr(flops, "PROBE_SIZE", 23)
    assert flops.flops_per_megapixel(model, 4) == pytest.approx(small, rel=1e-12)


def test_shared_recursive_blocks_are_counted_every_time_they_run():
    def cost(recursions: int) -> float:
        return flops.flops_per_megapixel(
            MSLapSRN(MSLapSRNConfig(depth=2, recursions=recursions, channels=8, scale=2)), 2
        )

    one_block = 2 * 2 * 9 * 8 * 8 / 4 * 1e6  # 2 convs of 8 -> 8 at LR, per output megapixel
    assert cost(3) - cost(2) == pytest.approx(one_block)
    assert cost(5) - cost(2) == pytest.approx(3 * one_block)


def test_one_shot_baseline_counts_its_big_transposed_conv():
    model = OneShotSR(scale=4, depth=1, channels=4)
    c, k = 4, 8
    per_lr_pixel = 9 * c + 2 * 9 * c * c + c * c * k * k + 16 * 9 * c + k * k
    assert flops.flops_per_megapixel(model, 4) == pytest.approx(2 * per_lr_pixel / 16 * 1e6)


def test_a_scale_the_model_cannot_give_is_an_error():
    with pytest.raises(ValueError, match="at most x2"):
        flops.flops_per_megapixel(LapSRN(LapSRNConfig(scale=2, depth=1, channels=4)), 4)


# --- cross-check against PyTorch's own counter ------------------------------------------------------
# torch.utils.flop_counter.FlopCounterMode counts every aten op with a FLOP formula (2 x MACs for a
# convolution). Our hooks count only nn.Conv2d / nn.ConvTranspose2d modules, which reads better in a
# lesson; the two must agree on every model. Models run on the meta device: shapes only, no arithmetic.


def torch_flops(model: torch.nn.Module, scale: int, forward=None) -> dict[str, int]:
    """FlopCounterMode's FLOPs per op for one forward on the probe, keyed "convolution", "mm", ..."""
    lr = torch.zeros(1, 1, flops.PROBE_SIZE, flops.PROBE_SIZE, device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        (forward or (lambda x: model(x, levels=model_levels(model, scale))))(lr)
    return {str(op).removeprefix("aten.").removeprefix("_"): n for op, n in counter.get_flop_counts()["Global"].items()}


def per_megapixel(total: int, scale: int) -> float:
    return total / (flops.PROBE_SIZE * scale) ** 2 * 1e6


def variants() -> list[tuple[str, str, dict[str, Any]]]:
    """(test id, architecture, config): every registered architecture at x2, x4 and x8 (a new entry
    of the registry is covered without touching this file), and LapSRN's and MS-LapSRN's options."""
    cases: list[tuple[str, str, dict[str, Any]]] = [
        (f"{name}-x{s}", name, {"scale": s}) for name in ARCHITECTURES for s in (2, 4, 8)
    ]
    for upsampler in ("released", "paper"):
        for residual in (True, False):
            cases.append(
                (
                    f"LapSRN-{upsampler}-residual{residual}",
                    "LapSRN",
                    {"scale": 8, "upsampler": upsampler, "residual": residual},
                )
            )
    cases.append(("LapSRN-official-x8-d5", "LapSRN", {"scale": 8, "depth": 5}))
    cases += [(f"MSLapSRN-{skip}-R2", "MSLapSRN", {"skip": skip, "recursions": 2}) for skip in SKIPS]
    return cases


@pytest.mark.parametrize(("name", "config"), [v[1:] for v in variants()], ids=[v[0] for v in variants()])
def test_our_counter_agrees_with_torch_flop_counter(name, config):
    with torch.device("meta"):
        model = build(name, config)
    top = cast(int, model.scale)
    scales = [s for s in (2, 4, 8) if s <= top] if ARCHITECTURES[name].pyramid else [top]
    for scale in scales:
        by_op = torch_flops(model, scale)
        ours = flops.flops_per_megapixel(model, scale)
        assert ours > 0 and ours == pytest.approx(per_megapixel(by_op.pop("convolution"), scale), rel=1e-12)
        # anything else torch counts can only be a bicubic resize inside the model (SRCNN, VDSR), which
        # our counter leaves out like the bicubic Cb/Cr (today's gather-based resize has no FLOP
        # formula in torch, so the totals agree exactly); nothing else may be missed
        if by_op:
            resize = torch_flops(model, scale, forward=partial(imresize_torch, scale=scale))
            assert by_op == resize, f"{name} x{scale}: FlopCounterMode found {by_op} beyond the convolutions"


def test_the_meta_device_counts_what_a_real_run_counts():
    model = LapSRN(LapSRNConfig(scale=4, depth=2, channels=8))
    assert flops.flops_per_megapixel(model, 4) == flops.flops_per_megapixel(LapSRN(model.config).to("meta"), 4)
