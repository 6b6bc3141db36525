"""MATLAB rgb2ycbcr / ycbcr2rgb on doubles: known values, round trip, numpy vs torch, errors."""

import numpy as np
import pytest
import torch

from lapsrn_edu.imaging.color import gray_to_rgb, rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb

# MATLAB: rgb2ycbcr(double([r g b])) * 255, from the BT.601 formulas in its documentation.
KNOWN = {
    (1.0, 1.0, 1.0): (235.0, 128.0, 128.0),
    (0.0, 0.0, 0.0): (16.0, 128.0, 128.0),
    (1.0, 0.0, 0.0): (81.481, 90.203, 240.0),
    (0.0, 1.0, 0.0): (144.553, 53.797, 34.214),
    (0.0, 0.0, 1.0): (40.966, 240.0, 109.786),
}


@pytest.mark.parametrize("rgb, ycbcr", KNOWN.items())
def test_known_colours_match_matlab(rgb, ycbcr):
    out = rgb_to_ycbcr(np.array(rgb).reshape(1, 1, 3))[0, 0] * 255
    np.testing.assert_allclose(out, ycbcr, atol=1e-9)


def test_white_and_black_luma_span_studio_range():
    pixels = np.array([[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]])
    np.testing.assert_allclose(rgb_to_y(pixels)[0], [235 / 255, 16 / 255], atol=1e-12)


def test_round_trip_is_exact():
    rgb = np.random.default_rng(0).random((7, 5, 3))
    np.testing.assert_allclose(ycbcr_to_rgb(rgb_to_ycbcr(rgb)), rgb, atol=1e-12)


def test_numpy_and_torch_agree():
    rgb = np.random.default_rng(1).random((6, 9, 3))
    batch = torch.from_numpy(rgb).permute(2, 0, 1)[None].repeat(2, 1, 1, 1)  # (2, 3, H, W)
    ycbcr = rgb_to_ycbcr(batch)
    assert ycbcr.shape == (2, 3, 6, 9) and ycbcr.dtype == torch.float64
    np.testing.assert_allclose(ycbcr[1].permute(1, 2, 0).numpy(), rgb_to_ycbcr(rgb), atol=1e-12)
    y = rgb_to_y(batch)
    assert y.shape == (2, 1, 6, 9)
    np.testing.assert_allclose(y[0, 0].numpy(), rgb_to_y(rgb), atol=1e-12)
    np.testing.assert_allclose(ycbcr_to_rgb(ycbcr).numpy(), batch.numpy(), atol=1e-12)


def test_numpy_luma_drops_the_channel_axis():
    assert rgb_to_y(np.zeros((4, 5, 3))).shape == (4, 5)


@pytest.mark.parametrize("shape", [(4, 5), (4, 5, 4), (4, 3, 5)])
def test_numpy_wrong_shape_is_a_clear_error(shape):
    with pytest.raises(ValueError, match=r"3-channel image.*\(H, W, 3\)"):
        rgb_to_ycbcr(np.zeros(shape))


def test_torch_wrong_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, H, W\)"):
        rgb_to_ycbcr(torch.zeros(1, 1, 4, 4))


def test_gray_to_rgb_replicates_and_rejects_colour():
    gray = np.random.default_rng(2).random((3, 4))
    rgb = gray_to_rgb(gray)
    assert rgb.shape == (3, 4, 3)
    assert all(np.array_equal(rgb[..., c], gray) for c in range(3))
    np.testing.assert_array_equal(gray_to_rgb(gray[..., None]), rgb)
    with pytest.raises(ValueError, match="gray"):
        gray_to_rgb(np.zeros((3, 4, 3)))


def test_gray_pixels_have_neutral_chroma():
    ycbcr = rgb_to_ycbcr(gray_to_rgb(np.linspace(0, 1, 12).reshape(3, 4)))
    np.testing.assert_allclose(ycbcr[..., 1:], 128 / 255, atol=1e-12)
