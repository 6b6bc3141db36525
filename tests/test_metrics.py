"""PSNR and MATLAB SSIM as the official evaluation computes them; quantisation; shaving."""

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from lapsrn_edu.imaging.color import gray_to_rgb, rgb_to_y
from lapsrn_edu.imaging.metrics import (
    gaussian_window,
    psnr,
    quantize,
    score,
    shave,
    ssim,
    ssim_map,
    to_y_for_scoring,
)

RNG = np.random.default_rng(0)


def noisy_pair(shape=(32, 27)):
    reference = RNG.random(shape)
    return reference, np.clip(reference + 0.1 * RNG.standard_normal(shape), 0, 1)


def test_psnr_of_identical_images_is_infinite():
    image = RNG.random((8, 8))
    assert psnr(image, image) == float("inf")


def test_psnr_of_a_known_mse():
    reference = np.zeros((10, 10))
    assert psnr(reference, reference + 0.01) == pytest.approx(40.0, abs=1e-9)  # MSE 1e-4, peak 1
    assert psnr(reference, reference + 0.1) == pytest.approx(20.0, abs=1e-9)
    assert psnr(reference, reference + 25.5, peak=255) == pytest.approx(20.0, abs=1e-9)
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(reference, np.zeros((10, 11)))


def test_ssim_matches_skimage_away_from_the_border():
    """MATLAB's ssim and skimage's agree pixel for pixel where the 11x11 window stays inside the
    image; they differ only in border handling (MATLAB replicates, skimage reflects and crops)."""
    reference, estimate = noisy_pair()
    ours = ssim_map(reference, estimate)
    _, theirs = structural_similarity(
        reference, estimate, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, full=True
    )
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours[5:-5, 5:-5], theirs[5:-5, 5:-5], atol=1e-12)
    assert np.abs(ours[:5] - theirs[:5]).max() > 1e-4  # the border is where they part
    assert ssim(reference, estimate) == pytest.approx(ours.mean(), abs=1e-15)  # MATLAB: the mean of the whole map


def test_ssim_of_identical_images_is_one_and_noise_lowers_it():
    reference, estimate = noisy_pair()
    assert ssim(reference, reference) == pytest.approx(1.0, abs=1e-12)
    assert 0 < ssim(reference, estimate) < 0.99
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        ssim(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)))


def test_gaussian_window():
    w = gaussian_window()
    assert w.shape == (11,) and w.sum() == pytest.approx(1.0)
    assert w[5] / w[4] == pytest.approx(np.exp(1 / (2 * 1.5**2)))


def test_quantize_rounds_half_away_from_zero_and_clips():
    halves = np.array([0.5, 1.5, 2.5, 100.5, 253.5])
    x = halves / 255
    exact = x * 255 == halves  # only values whose product is exactly k + 0.5 test the tie rule
    assert exact.sum() >= 3
    np.testing.assert_array_equal(quantize(x)[exact] * 255, np.floor(halves + 0.5)[exact])
    assert quantize(np.array([2.5 / 255]))[0] * 255 != np.round(2.5)  # not numpy's round-half-to-even
    np.testing.assert_array_equal(quantize(np.array([-0.2, 1.3, 0.2 / 255])), [0.0, 1.0, 0.0])


def test_shave():
    image = np.arange(100.0).reshape(10, 10)
    assert shave(image, 0) is image
    np.testing.assert_array_equal(shave(image, 2), image[2:8, 2:8])
    with pytest.raises(ValueError, match="too small"):
        shave(np.zeros((4, 9)), 2)


def test_scoring_uses_quantised_luma_and_gray_as_rgb():
    rgb = RNG.random((6, 7, 3))
    np.testing.assert_allclose(to_y_for_scoring(rgb), rgb_to_y(quantize(rgb)), atol=1e-15)
    gray = RNG.random((6, 7))
    np.testing.assert_allclose(to_y_for_scoring(gray), rgb_to_y(gray_to_rgb(quantize(gray))), atol=1e-15)
    np.testing.assert_array_equal(to_y_for_scoring(gray, gray_as_rgb=False), quantize(gray))


def test_score_shaves_the_scale():
    reference = RNG.random((20, 20, 3))
    estimate = reference.copy()
    estimate[:4] = 0  # damage only the band that scale 4 shaves
    assert score(reference, estimate, 4) == (float("inf"), pytest.approx(1.0))
    assert score(reference, estimate, 2)[0] < 30
