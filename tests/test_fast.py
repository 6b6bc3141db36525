"""The fast inference path gives the plain model's numbers: every architecture it serves, both
upsamplers, every scale, bands of any height, with and without oneDNN's fused ops."""

import numpy as np
import pytest
import torch
from helpers import level_of, lively

from lapsrn_edu.engine import inference as fast
from lapsrn_edu.evaluation.upscale import super_resolve_y
from lapsrn_edu.models import LapSRN, MSLapSRN
from lapsrn_edu.models.official import load_official

TOLERANCE = 1e-5


def plain(model: torch.nn.Module, x: torch.Tensor, levels: int | None = None) -> list[torch.Tensor]:
    with torch.no_grad():
        return model(x, levels=levels)


def banded(network: fast.FastPyramid, x: torch.Tensor, band: int, levels: int | None = None) -> list[torch.Tensor]:
    return [torch.cat(rows, dim=2) for rows in zip(*network.bands(x, levels, band=band), strict=True)]


def assert_same(got: list[torch.Tensor], expected: list[torch.Tensor]) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape
        assert (g - e).abs().max().item() < TOLERANCE


LAPSRN = {f"x{scale}-{upsampler}": (scale, upsampler) for scale in (2, 4, 8) for upsampler in ("released", "paper")}


@pytest.mark.parametrize("name", LAPSRN)
def test_lapsrn_equals_the_model(name):
    scale, upsampler = LAPSRN[name]
    model = lively(LapSRN(scale=scale, depth=3, channels=16, upsampler=upsampler))
    x = torch.rand(2, 1, 13, 10)
    assert_same(fast.FastPyramid(model)(x), plain(model, x))


def test_released_shape_with_64_channels_equals_the_model():
    """The released width (64 channels) takes other oneDNN kernels than a narrow test model."""
    model = lively(LapSRN(scale=4, depth=2, channels=64))
    x = torch.rand(1, 1, 24, 19)
    assert_same(fast.FastPyramid(model)(x), plain(model, x))


@pytest.mark.parametrize("skip", ["SS", "DS", "NS"])
def test_mslapsrn_equals_the_model(skip):
    model = lively(MSLapSRN(depth=2, recursions=3, channels=16, skip=skip, scale=8))
    x = torch.rand(1, 1, 11, 9)
    assert_same(fast.FastPyramid(model)(x), plain(model, x))


def test_shallow_levels_where_the_image_branch_lags_behind_equal_the_model():
    """With one conv per level the residual's rows come before the upsampled image's."""
    model = lively(LapSRN(scale=8, depth=1, channels=8))
    x = torch.rand(1, 1, 40, 6)
    assert_same(banded(fast.FastPyramid(model), x, band=3), plain(model, x))


def test_without_residual_learning_equals_the_model():
    model = lively(LapSRN(scale=4, depth=2, channels=8, residual=False))
    x = torch.rand(1, 1, 9, 12)
    assert_same(fast.FastPyramid(model)(x), plain(model, x))


def test_fewer_levels_equal_the_models_first_levels():
    model = lively(LapSRN(scale=8, depth=2, channels=8))
    x = torch.rand(1, 1, 9, 7)
    assert_same(fast.FastPyramid(model)(x, levels=2), plain(model, x, levels=2))
    with pytest.raises(ValueError, match="3 levels"):
        fast.FastPyramid(model)(x, levels=4)


@pytest.mark.parametrize("band", [1, 3])
@pytest.mark.parametrize("kind", ["lapsrn-paper", "mslapsrn"])
def test_any_band_height_and_chunk_size_gives_the_same_rows(monkeypatch, band, kind):
    """Streaming rows: each layer keeps the rows its next outputs need, whatever the cut."""
    monkeypatch.setattr(fast, "CHUNK_BYTES", 1)  # the upsamplers one input row at a time
    model = (
        lively(LapSRN(scale=4, depth=2, channels=8, upsampler="paper"))
        if kind == "lapsrn-paper"
        else lively(MSLapSRN(depth=2, recursions=2, channels=8, skip="DS", scale=4))
    )
    for shape in [(1, 1), (2, 3), (11, 6)]:
        x = torch.rand(1, 1, *shape)
        assert_same(banded(fast.FastPyramid(model), x, band), plain(model, x))


def test_without_fused_ops_the_plain_convolutions_give_the_same(monkeypatch):
    """A torch without oneDNN's fused convolution ops falls back to conv2d + LeakyReLU."""
    monkeypatch.setattr(fast, "_POINTWISE", None)
    assert not fast.fused_convolutions()
    model = lively(MSLapSRN(depth=2, recursions=2, channels=8, scale=4))
    x = torch.rand(1, 1, 10, 8)
    assert_same(fast.FastPyramid(model)(x), plain(model, x))


def test_bands_were_really_cut(monkeypatch):
    """The checks above can fail: a layer that forgets its carried rows is wrong at every cut."""
    model = lively(LapSRN(scale=4, depth=2, channels=8))
    x = torch.rand(1, 1, 12, 5)
    network = fast.FastPyramid(model)
    original = fast.ConvRows.push

    def forgetful(self, rows, last, add=None):
        self.carry = None  # every band starts as if it were the top of the image
        return original(self, rows, last, add)

    with monkeypatch.context() as patched:
        patched.setattr(fast.ConvRows, "push", forgetful)
        got = banded(network, x, band=4)
    expected = plain(model, x)
    assert any(g.shape != e.shape or (g - e).abs().max() > 1e-3 for g, e in zip(got, expected, strict=True))


def test_upscale_sees_weights_changed_since_the_last_call():
    """super_resolve_y folds the weights on every call: a model validated between training
    steps is never run with stale weights."""
    model = lively(LapSRN(scale=2, depth=1, channels=8))
    y = np.random.default_rng(0).random((8, 8))
    before = super_resolve_y(model, y, 2)
    with torch.no_grad():
        bias = level_of(model).to_residual.bias
        assert bias is not None
        bias.add_(0.5)
    after = super_resolve_y(model, y, 2)
    np.testing.assert_allclose(after - before, 0.5, atol=1e-5)


@pytest.mark.data
@pytest.mark.parametrize("file_name", ["LapSRN_x2.mat", "LapSRN_x4.mat", "LapSRN_x8.mat", "MSLapSRN_D5R2.mat"])
def test_official_models_equal_the_model(data_root, file_name):
    model = load_official(data_root / "pretrained" / "matconvnet" / file_name)
    x = torch.rand(1, 1, 20, 17, generator=torch.Generator().manual_seed(0))
    assert_same(fast.FastPyramid(model)(x), plain(model, x))


def test_evaluate_folds_the_weights_once_for_all_its_images(monkeypatch):
    """evaluate prepares one Upscaler: the inference engine's copy of the weights is made once per
    call, not once per image (an epoch's validation used to re-check and re-fold for each image)."""
    from lapsrn_edu.data.datasets import Image
    from lapsrn_edu.engine import inference, switch
    from lapsrn_edu.evaluation.evaluate import evaluate

    built = []
    real = inference.FastPyramid.__init__

    def counted(self, model):
        built.append(1)
        real(self, model)

    monkeypatch.setattr(inference.FastPyramid, "__init__", counted)
    monkeypatch.setattr(switch, "FastPyramid", inference.FastPyramid)
    rng = np.random.default_rng(0)
    images = [Image(f"i{k}", rng.random((16, 16, 3))) for k in range(3)]
    evaluate(lively(LapSRN(scale=2, depth=1, channels=8)), images, 2, progress=False)
    assert len(built) == 1
