"""Whole-image super-resolution: tiling equals one pass, colour and alpha handling, bicubic."""

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pytest
import torch

from lapsrn_edu.data.datasets import Image, read_image
from lapsrn_edu.evaluation import upscale
from lapsrn_edu.evaluation.upscale import super_resolve_y, upscale_image, upscale_pixels
from lapsrn_edu.imaging.color import gray_to_rgb, rgb_to_ycbcr
from lapsrn_edu.imaging.resize import imresize
from lapsrn_edu.models import FSRCNN, SRCNN, VDSR, LapSRN, MSLapSRN, OneShotSR
from lapsrn_edu.models.official import load_official

RNG = np.random.default_rng(0)
M = TypeVar("M", bound=torch.nn.Module)


def lively(model: M) -> M:
    """A random model whose residual matters: the released init's first conv (std 1e-3) would make
    every output nearly bilinear, and a tiling error invisible."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.1)
    return model.eval()


SMALL_MODELS: dict[str, Callable[[], LapSRN | MSLapSRN | OneShotSR | SRCNN | FSRCNN | VDSR]] = {
    "lapsrn-x4": lambda: lively(LapSRN(scale=4, depth=2, channels=8)),
    "lapsrn-x8": lambda: lively(LapSRN(scale=8, depth=1, channels=8)),
    "mslapsrn-x4": lambda: lively(MSLapSRN(depth=2, recursions=2, channels=8, scale=4)),
    "oneshot-x4": lambda: lively(OneShotSR(scale=4, depth=2, channels=8)),
    "srcnn-x4": lambda: lively(SRCNN(scale=4, filters=(8, 4))),
    "fsrcnn-x2": lambda: lively(FSRCNN(scale=2, d=8, s=4, m=2)),
    "vdsr-x4": lambda: lively(VDSR(scale=4, depth=5, channels=8)),
}


@pytest.mark.parametrize("name", SMALL_MODELS)
@pytest.mark.parametrize("tile", [8, 13, 16])
def test_tiles_equal_one_pass_for_random_models(name, tile):
    model = SMALL_MODELS[name]()
    y = RNG.random((30, 23))
    whole = super_resolve_y(model, y, model.scale)
    tiled = super_resolve_y(model, y, model.scale, tile=tile)
    assert tiled.shape == whole.shape == (30 * model.scale, 23 * model.scale)
    assert np.abs(tiled - whole).max() < 1e-5


@pytest.mark.parametrize("name", ["lapsrn-x8", "mslapsrn-x4"])
def test_strips_of_a_wide_image_equal_one_pass(monkeypatch, name):
    """The fast path streams rows; an image wider than STRIP_WIDTH goes in overlapping strips."""
    model = SMALL_MODELS[name]()
    y = RNG.random((12, 41))
    whole = super_resolve_y(model, y, model.scale)
    monkeypatch.setattr(upscale, "STRIP_WIDTH", 9)
    assert np.abs(super_resolve_y(model, y, model.scale) - whole).max() < 1e-5


@pytest.mark.parametrize("name", ["srcnn-x4", "vdsr-x4"])
def test_automatic_tiles_equal_one_pass(monkeypatch, name):
    """Models without the fast path are tiled by default, so memory stays bounded for them too."""
    model = SMALL_MODELS[name]()
    y = RNG.random((30, 23))
    with torch.no_grad():
        whole = model(torch.from_numpy(y).float()[None, None])[-1][0, 0].double().numpy()
    monkeypatch.setattr(upscale, "AUTO_TILE_OUTPUT", 40)  # 10 LR pixels at x4: 3 x 3 tiles
    assert np.abs(super_resolve_y(model, y, model.scale) - whole).max() < 1e-5


def test_colour_in_bands_equals_colour_at_once(monkeypatch):
    model = SMALL_MODELS["lapsrn-x4"]()
    rgb = RNG.random((10, 12, 3))
    whole = upscale_pixels(rgb, 4, model)
    monkeypatch.setattr(upscale, "COLOUR_BAND_ROWS", 7)
    np.testing.assert_array_equal(upscale_pixels(rgb, 4, model), whole)


def test_evaluation_hands_the_model_back_in_its_mode():
    model = SMALL_MODELS["lapsrn-x4"]()
    y = RNG.random((9, 7))
    for mode in (True, False):
        model.train(mode)
        super_resolve_y(model, y, 4)
        assert model.training is mode


def test_tiles_without_context_would_show_seams(monkeypatch):
    """The check above can fail: with no overlap, the stitched result differs."""
    model = SMALL_MODELS["lapsrn-x4"]()
    y = RNG.random((30, 23))
    whole = super_resolve_y(model, y, 4)
    monkeypatch.setattr(type(model), "receptive_radius", lambda self: 0)
    assert np.abs(super_resolve_y(model, y, 4, tile=10) - whole).max() > 1e-3


def test_an_x8_model_gives_x2():
    model = SMALL_MODELS["lapsrn-x8"]()
    y = RNG.random((9, 7))
    out = super_resolve_y(model, y, 2)
    with torch.no_grad():
        expected = model(torch.from_numpy(y).float()[None, None], levels=1)[0][0, 0].double().numpy()
    np.testing.assert_allclose(out, expected, atol=1e-6)
    with pytest.raises(ValueError, match="at most x4"):
        super_resolve_y(SMALL_MODELS["lapsrn-x4"](), y, 8)


def test_tile_too_small():
    with pytest.raises(ValueError, match="at least 8"):
        super_resolve_y(SMALL_MODELS["lapsrn-x4"](), RNG.random((20, 20)), 4, tile=4)


@pytest.mark.data
@pytest.mark.parametrize("file_name, scale", [("LapSRN_x4.mat", 4), ("MSLapSRN_D5R2.mat", 4)])
def test_tiles_equal_one_pass_for_official_models(data_root, file_name, scale):
    model = load_official(data_root / "pretrained" / "matconvnet" / file_name)
    rgb = read_image(data_root / "benchmarks" / "Set5" / "butterfly.png").pixels
    y = imresize(rgb, 1 / scale)[..., 1][:40, :35]  # any luma-like plane will do
    whole = super_resolve_y(model, y, scale)
    for tile in (16, 24):
        assert np.abs(super_resolve_y(model, y, scale, tile=tile) - whole).max() < 1e-5


def test_gray_in_gray_out_equals_rgb_path():
    model = SMALL_MODELS["lapsrn-x4"]()
    gray = RNG.random((11, 9))
    out = upscale_pixels(gray, 4, model)
    assert out.shape == (44, 36)
    rgb_out = upscale_pixels(gray_to_rgb(gray), 4, model)
    np.testing.assert_allclose(out, rgb_out[..., 0], atol=1e-12)
    np.testing.assert_allclose(rgb_out[..., 1], rgb_out[..., 2], atol=1e-12)  # stays gray


def test_colour_comes_from_bicubic_chroma():
    model = SMALL_MODELS["lapsrn-x4"]()
    rgb = RNG.random((10, 12, 3))
    out = upscale_pixels(rgb, 4, model)
    assert out.shape == (40, 48, 3)
    np.testing.assert_allclose(rgb_to_ycbcr(out)[..., 1:], imresize(rgb_to_ycbcr(rgb)[..., 1:], 4), atol=1e-10)


def test_bicubic_when_no_model():
    rgb = RNG.random((10, 12, 3))
    np.testing.assert_array_equal(upscale_pixels(rgb, 2, None), imresize(rgb, 2))
    with pytest.raises(ValueError, match="2, 4 or 8"):
        upscale_pixels(rgb, 3, None)


def test_alpha_is_upscaled_and_everything_clipped():
    alpha = np.zeros((10, 12))
    alpha[3:7, 4:9] = 1.0
    image = Image("logo", RNG.random((10, 12, 3)), alpha)
    out = upscale_image(image, 2, SMALL_MODELS["lapsrn-x4"]())
    assert out.alpha is not None
    assert out.name == "logo" and out.pixels.shape == (20, 24, 3) and out.alpha.shape == (20, 24)
    np.testing.assert_allclose(out.alpha, np.clip(imresize(alpha, 2), 0, 1))
    assert out.pixels.min() >= 0 and out.pixels.max() <= 1 and out.alpha.min() >= 0
    assert upscale_image(Image("flat", RNG.random((10, 12))), 2, None).alpha is None
