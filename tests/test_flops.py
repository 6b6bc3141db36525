"""FLOPs per output megapixel, checked against a hand count of LapSRN's convolutions."""

from __future__ import annotations

import pytest

from lapsrn_edu import flops
from lapsrn_edu.models import LapSRN, LapSRNConfig, MSLapSRN, MSLapSRNConfig, OneShotSR


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
        return flops.flops_per_megapixel(MSLapSRN(MSLapSRNConfig(depth=2, recursions=recursions, channels=8, scale=2)), 2)

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
