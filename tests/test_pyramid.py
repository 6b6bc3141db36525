"""Gaussian and Laplacian pyramids: exact reconstruction, shapes, LapSRN's level targets, errors."""

import numpy as np
import pytest
import torch

from lapsrn_edu.imaging.pyramid import (
    BINOMIAL_KERNEL,
    KINDS,
    collapse,
    expand,
    gaussian_pyramid,
    laplacian_pyramid,
    max_levels,
    pyramid_levels_torch,
)
from lapsrn_edu.imaging.resize import imresize

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(33, 20), (32, 48), (25, 17, 3), (1, 1), (2, 7)])
def test_collapse_reconstructs_exactly(kind, shape):
    image = RNG.random(shape)
    for levels in range(1, max_levels(shape) + 1):
        pyramid = laplacian_pyramid(image, levels, kind)
        assert len(pyramid) == levels
        assert np.abs(collapse(pyramid, kind) - image).max() < 1e-12


@pytest.mark.parametrize("kind", KINDS)
def test_levels_halve_with_ceil(kind):
    image = RNG.random((37, 23, 3))
    gaussian = gaussian_pyramid(image, 4, kind)
    laplacian = laplacian_pyramid(image, 4, kind)
    expected = [(37, 23, 3), (19, 12, 3), (10, 6, 3), (5, 3, 3)]
    assert [g.shape for g in gaussian] == expected
    assert [b.shape for b in laplacian] == expected
    assert np.array_equal(gaussian[0], image)
    assert np.array_equal(laplacian[-1], gaussian[-1])  # the low-pass residual
    assert all(g.dtype == np.float64 for g in gaussian + laplacian)


@pytest.mark.parametrize("kind", KINDS)
def test_constant_image_has_zero_bands(kind):
    pyramid = laplacian_pyramid(np.full((29, 18), 0.6), 4, kind)
    for band in pyramid[:-1]:
        assert np.abs(band).max() < 1e-12
    np.testing.assert_allclose(pyramid[-1], 0.6, atol=1e-12)


def test_bands_hold_detail_at_their_own_scale():
    """A fine checkerboard lives in the finest band; a smooth ramp leaves the finest band near zero."""
    checker = (np.indices((32, 32)).sum(axis=0) % 2).astype(float)
    ramp = np.linspace(0, 1, 32)[None, :].repeat(32, axis=0)
    fine_checker = np.abs(laplacian_pyramid(checker, 3)[0][4:-4, 4:-4]).mean()
    fine_ramp = np.abs(laplacian_pyramid(ramp, 3)[0][4:-4, 4:-4]).mean()
    assert fine_checker > 0.4 and fine_ramp < 1e-12


def test_burt_adelson_reduce_is_binomial_blur_then_subsample():
    image = RNG.random((12, 10))
    kernel2d = np.outer(BINOMIAL_KERNEL, BINOMIAL_KERNEL)
    padded = np.pad(image, 2, mode="reflect")  # numpy's reflect mirrors about the edge sample
    blurred = np.array([[np.sum(padded[i : i + 5, j : j + 5] * kernel2d) for j in range(10)] for i in range(12)])
    np.testing.assert_allclose(gaussian_pyramid(image, 2)[1], blurred[::2, ::2], atol=1e-14)


def test_burt_adelson_expand_keeps_constants_and_rejects_wrong_sizes():
    np.testing.assert_allclose(expand(np.full((5, 4), 0.25), (9, 8)), 0.25, atol=1e-14)
    with pytest.raises(ValueError, match="cannot expand"):
        expand(np.zeros((5, 4)), (12, 8))


def test_bicubic_levels_are_direct_matlab_downscales():
    image = RNG.random((40, 36))
    gaussian = gaussian_pyramid(image, 4, "bicubic")
    for k in range(1, 4):
        np.testing.assert_array_equal(gaussian[k], imresize(image, 1 / 2**k))
    band = laplacian_pyramid(image, 2, "bicubic")[0]
    np.testing.assert_allclose(band, image - imresize(gaussian[1], output_shape=(40, 36)), atol=1e-14)


def test_torch_targets_are_coarse_to_fine_and_match_numpy():
    hr = torch.from_numpy(RNG.random((2, 1, 27, 34)))
    targets = pyramid_levels_torch(hr, 3)
    assert [tuple(t.shape) for t in targets] == [(2, 1, 7, 9), (2, 1, 14, 17), (2, 1, 27, 34)]
    assert targets[-1] is hr
    numpy_levels = gaussian_pyramid(hr[1, 0].numpy(), 3, "bicubic")[::-1]
    for target, level in zip(targets, numpy_levels, strict=True):
        np.testing.assert_allclose(target[1, 0].numpy(), level, atol=1e-12)
    assert len(pyramid_levels_torch(hr, 1)) == 1


def test_torch_targets_keep_float32_and_gradients():
    hr = torch.rand(1, 1, 16, 16, requires_grad=True)
    targets = pyramid_levels_torch(hr, 2)
    assert targets[0].dtype == torch.float32
    targets[0].sum().backward()
    assert hr.grad is not None and torch.isfinite(hr.grad).all()


def test_too_many_levels_names_the_maximum():
    assert max_levels((16, 40)) == 5
    with pytest.raises(ValueError, match="at most 5"):
        laplacian_pyramid(np.zeros((16, 40)), 6)
    with pytest.raises(ValueError, match="at most 3"):
        pyramid_levels_torch(torch.zeros(1, 1, 4, 9), 4)


@pytest.mark.parametrize("levels", [0, -1, 2.0, True])
def test_levels_must_be_a_positive_integer(levels):
    with pytest.raises(ValueError, match="positive integer"):
        gaussian_pyramid(np.zeros((8, 8)), levels)


@pytest.mark.parametrize("shape", [(8,), (2, 8, 8, 3), ()])
def test_image_must_be_2d_or_3d(shape):
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, C\)"):
        laplacian_pyramid(np.zeros(shape), 1)


def test_unknown_kind_lists_the_kinds():
    for call in (
        lambda: gaussian_pyramid(np.zeros((8, 8)), 2, "lanczos"),
        lambda: collapse([np.zeros((8, 8))], "lanczos"),
    ):
        with pytest.raises(ValueError, match="burt-adelson, bicubic"):
            call()


def test_torch_targets_need_a_4d_batch():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        pyramid_levels_torch(torch.zeros(1, 16, 16), 2)


def test_empty_pyramid_cannot_collapse():
    with pytest.raises(ValueError, match="empty"):
        collapse([])
