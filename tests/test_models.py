"""LapSRN, MS-LapSRN, the one-shot and earlier baselines, the registry: sizes, shapes, upsamplers,
input checks, checkpoints."""

import dataclasses
from typing import Any, cast

import pytest
import torch
from helpers import level_of
from torch import nn

from lapsrn_edu.models import (
    ARCHITECTURES,
    FSRCNN,
    SRCNN,
    VDSR,
    LapSRN,
    MSLapSRN,
    MSLapSRNConfig,
    OneShotSR,
    UnknownArchitectureError,
    bilinear_kernel,
    build,
    count_parameters,
    describe,
    levels_for_scale,
)
from lapsrn_edu.models.layers import DataclassInstance, FeatureUpsampler, ImageUpsampler


@pytest.mark.parametrize(
    "scale, depth, upsampler, expected",
    [
        (2, 10, "released", 407_441),
        (4, 10, "released", 814_242),
        (8, 5, "released", 667_123),
        (2, 10, "paper", 436_113),
        (4, 10, "paper", 871_586),
        (8, 5, "paper", 753_139),
    ],
)
def test_lapsrn_parameter_counts(scale, depth, upsampler, expected):
    assert count_parameters(LapSRN(scale=scale, depth=depth, upsampler=upsampler)) == expected


@pytest.mark.parametrize("recursions", [2, 5, 8])
def test_mslapsrn_parameter_count_does_not_depend_on_recursions(recursions):
    assert count_parameters(MSLapSRN(MSLapSRNConfig(depth=5, recursions=recursions))) == 222_801


def test_levels_for_scale():
    assert [levels_for_scale(s) for s in (2, 4, 8)] == [1, 2, 3]
    with pytest.raises(ValueError, match="2, 4 or 8"):
        levels_for_scale(3)


@pytest.mark.parametrize("upsampler", ["released", "paper"])
def test_every_level_doubles_odd_sizes(upsampler):
    model = LapSRN(scale=8, depth=1, channels=8, upsampler=upsampler)
    outputs = model(torch.rand(2, 1, 7, 5))
    assert [tuple(o.shape) for o in outputs] == [(2, 1, 14, 10), (2, 1, 28, 20), (2, 1, 56, 40)]
    assert [tuple(o.shape) for o in model(torch.rand(1, 1, 7, 5), levels=1)] == [(1, 1, 14, 10)]
    with pytest.raises(ValueError, match="3 levels"):
        model(torch.rand(1, 1, 7, 5), levels=4)


def test_fewer_levels_give_the_same_coarse_outputs():
    model = LapSRN(scale=4, depth=2, channels=8).eval()
    lr = torch.rand(1, 1, 9, 6)
    torch.testing.assert_close(model(lr, levels=1)[0], model(lr)[0])


def test_bilinear_kernel_is_the_outer_product():
    ramp = torch.tensor([0.25, 0.75, 0.75, 0.25])
    torch.testing.assert_close(bilinear_kernel(4), torch.outer(ramp, ramp))
    upsampler = ImageUpsampler(1)
    torch.testing.assert_close(upsampler.deconv.weight[0, 0], torch.outer(ramp, ramp))


def test_image_upsampler_keeps_a_constant_away_from_the_border():
    out = ImageUpsampler(1)(torch.full((1, 1, 6, 7), 0.4))
    assert out.shape == (1, 1, 12, 14)
    torch.testing.assert_close(out[..., 1:-1, 1:-1], torch.full((1, 1, 10, 12), 0.4))
    assert out[0, 0, 0, 0].item() < 0.4  # zero padding darkens the border


def test_residual_learning_adds_the_upsampled_image():
    model = LapSRN(scale=2, depth=1, channels=4)
    with torch.no_grad():
        for p in level_of(model).to_residual.parameters():
            p.zero_()
    lr = torch.rand(1, 1, 5, 6)
    torch.testing.assert_close(model(lr)[0], level_of(model).image_upsample(lr))
    direct = LapSRN(scale=2, depth=1, channels=4, residual=False)
    with torch.no_grad():
        for p in level_of(direct).to_residual.parameters():
            p.zero_()
    assert direct(lr)[0].abs().max().item() == 0.0  # no image path: the output is the prediction


def test_released_feature_upsampler_is_not_padding_1_output_padding_1():
    """The release crops the last row and column of the full 2H+1 output; PyTorch's
    padding=1, output_padding=1 crops the first ones instead: the same values, one pixel shifted."""
    torch.manual_seed(0)
    released = FeatureUpsampler(3, "released")
    shifted = nn.ConvTranspose2d(3, 3, 3, stride=2, padding=1, output_padding=1)
    shifted.load_state_dict(released.deconv.state_dict())
    x = torch.rand(1, 3, 5, 4)
    a, b = released(x), shifted(x)
    assert a.shape == b.shape == (1, 3, 10, 8)
    assert (a - b).abs().max().item() > 1e-2
    torch.testing.assert_close(a[..., 1:, 1:], b[..., :-1, :-1])


def test_unknown_upsampler_kind():
    with pytest.raises(ValueError, match="released"):
        LapSRN(scale=2, depth=1, channels=4, upsampler="pixelshuffle")


def test_mslapsrn_levels_and_shapes():
    model = MSLapSRN(depth=2, recursions=2, channels=8)
    outputs = model(torch.rand(1, 1, 5, 9))
    assert [tuple(o.shape) for o in outputs] == [(1, 1, 10, 18), (1, 1, 20, 36), (1, 1, 40, 72)]
    assert len(model(torch.rand(1, 1, 5, 9), levels=2)) == 2
    with pytest.raises(ValueError, match="skip"):
        MSLapSRNConfig(skip="XX")


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_oneshot_shapes(scale):
    model = OneShotSR(scale=scale, depth=1, channels=8)
    outputs = model(torch.rand(2, 1, 7, 5))
    assert len(outputs) == 1 and outputs[0].shape == (2, 1, 7 * scale, 5 * scale)
    with pytest.raises(ValueError, match="intermediate"):
        model(torch.rand(1, 1, 7, 5), levels=1 if scale > 2 else 2)


@pytest.mark.parametrize(
    "model",
    [
        LapSRN(scale=2, depth=1, channels=4),
        MSLapSRN(depth=1, recursions=1, channels=4),
        OneShotSR(scale=2, depth=1, channels=4),
    ],
)
@pytest.mark.parametrize("bad", [torch.rand(1, 3, 8, 8), torch.rand(1, 8, 8)])
def test_bad_input_names_the_expected_layout(model, bad):
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        model(bad)


def test_released_init():
    torch.manual_seed(0)
    model = LapSRN(scale=4, depth=10)
    assert model.input_conv.weight.std().item() == pytest.approx(1e-3, rel=0.1)
    conv = level_of(model).convs[0]
    assert isinstance(conv, torch.nn.Conv2d) and conv.bias is not None
    assert conv.weight.std().item() == pytest.approx((2 / (9 * 64)) ** 0.5, rel=0.05)
    assert conv.bias.abs().max().item() == 0.0


# --- the baselines and the registry -----------------------------------------------------------------


@pytest.mark.parametrize("scale", [2, 4, 8])
@pytest.mark.parametrize(
    "make", [lambda s: SRCNN(scale=s), lambda s: FSRCNN(scale=s), lambda s: VDSR(scale=s, depth=4, channels=8)]
)
def test_baselines_map_an_lr_batch_to_one_image_at_the_full_scale(make, scale):
    model = make(scale)
    outputs = model(torch.rand(2, 1, 7, 5))
    assert len(outputs) == 1 and outputs[0].shape == (2, 1, 7 * scale, 5 * scale)
    with pytest.raises(ValueError, match="no intermediate levels"):
        model(torch.rand(1, 1, 7, 5), levels=1 if scale > 2 else 2)


def test_baselines_have_their_published_sizes():
    assert count_parameters(SRCNN()) == 8_129  # 9-1-5 with 64 and 32 filters
    assert count_parameters(VDSR()) == 665_921  # 20 layers of 64 filters
    fsrcnn = FSRCNN()
    body = sum(p.numel() for p in fsrcnn.body.parameters())
    assert body + sum(p.numel() for p in fsrcnn.deconv.parameters()) == count_parameters(fsrcnn) == 12_809


def test_vdsr_starts_as_bicubic_plus_a_residual():
    from lapsrn_edu.imaging.resize import imresize_torch

    model = VDSR(scale=2, depth=3, channels=4)
    with torch.no_grad():
        last = model.body[-1]
        assert isinstance(last, torch.nn.Conv2d) and last.bias is not None
        last.weight.zero_()
        last.bias.zero_()
    lr = torch.rand(1, 1, 6, 5, dtype=torch.float64)
    assert torch.allclose(model.double()(lr)[0], imresize_torch(lr, 2))


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_architecture_round_trips_through_a_checkpoint(name, tmp_path):
    from lapsrn_edu.models.checkpoint import load_model, save_checkpoint

    small: dict[str, dict[str, Any]] = {
        "LapSRN": {"depth": 1, "channels": 4},
        "MSLapSRN": {"depth": 1, "recursions": 2, "channels": 4},
        "OneShotSR": {"depth": 1, "channels": 4},
        "SRCNN": {"filters": (4, 2)},
        "FSRCNN": {"d": 4, "s": 2, "m": 1},
        "VDSR": {"depth": 3, "channels": 4},
    }
    torch.manual_seed(0)
    model = build(name, {"scale": 4, **small[name]}).eval()
    save_checkpoint(tmp_path / "m.pt", model)
    loaded = load_model(tmp_path / "m.pt")
    assert type(loaded) is type(model) and loaded.config == model.config
    lr = torch.rand(1, 1, 6, 5)
    with torch.no_grad():
        assert torch.equal(loaded(lr)[-1], model(lr)[-1])
    assert describe(loaded) == (name, dataclasses.asdict(cast(DataclassInstance, model.config)))


def test_the_registry_names_what_it_does_not_know():
    with pytest.raises(UnknownArchitectureError, match="known: LapSRN"):
        build("EDSR")
    with pytest.raises(ValueError, match="has no option"):
        build("VDSR", {"layers": 3})
    with pytest.raises(UnknownArchitectureError):
        describe(torch.nn.Conv2d(1, 1, 3))
