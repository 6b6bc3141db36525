"""MATLAB bicubic imresize: the vectorised port against a slow transliteration of imresize.m."""

import math

import numpy as np
import pytest
import torch

from lapsrn_edu.imaging.resize import cubic, imresize, imresize_torch, weight_matrix


def matlab_cubic(x: float) -> float:
    """imresize.m's cubic(): Keys' kernel with a = -0.5, written out as MATLAB does."""
    absx = abs(x)
    absx2, absx3 = absx**2, absx**3
    return (1.5 * absx3 - 2.5 * absx2 + 1) * (absx <= 1) + (-0.5 * absx3 + 2.5 * absx2 - 4 * absx + 2) * (
        (1 < absx) and (absx <= 2)
    )


def matlab_contributions(in_length: int, out_length: int, scale: float) -> tuple[list[list[int]], list[list[float]]]:
    """imresize.m's contributions(), one output pixel and one tap at a time (1-based indices)."""
    kernel_width = 4.0
    if scale < 1:  # antialiasing: stretch the kernel
        h = lambda x: scale * matlab_cubic(scale * x)  # noqa: E731 (a one-line closure)
        kernel_width = kernel_width / scale
    else:
        h = matlab_cubic
    taps = math.ceil(kernel_width) + 2
    aux = list(range(1, in_length + 1)) + list(range(in_length, 0, -1))
    all_indices, all_weights = [], []
    for x in range(1, out_length + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - kernel_width / 2)
        indices = [left + k for k in range(taps)]
        weights = [h(u - j) for j in indices]
        total = sum(weights)
        all_weights.append([w / total for w in weights])
        all_indices.append([aux[(j - 1) % len(aux)] for j in indices])
    return all_indices, all_weights


def matlab_resize_along(image: np.ndarray, axis: int, out_length: int, scale: float) -> np.ndarray:
    """imresize.m's resizeAlongDim: out(i) = sum_k weights(i, k) * in(indices(i, k))."""
    x = np.moveaxis(image, axis, 0)
    indices, weights = matlab_contributions(x.shape[0], out_length, scale)
    out = np.zeros((out_length, *x.shape[1:]))
    for i in range(out_length):
        for j, w in zip(indices[i], weights[i], strict=True):
            out[i] += w * x[j - 1]
    return np.moveaxis(out, 0, axis)


def matlab_imresize(image: np.ndarray, scale=None, output_shape=None) -> np.ndarray:
    """imresize(image, scale_or_size, 'bicubic') on doubles, the slow way."""
    image = np.asarray(image, dtype=np.float64)
    if scale is not None:
        scales = [scale, scale]
        sizes = [math.ceil(n * scale) for n in image.shape[:2]]
    else:
        sizes = list(output_shape)
        scales = [o / n for o, n in zip(sizes, image.shape[:2], strict=True)]
    order = sorted(range(2), key=lambda d: scales[d])  # MATLAB's stable sort: rows first on ties
    for d in order:
        image = matlab_resize_along(image, d, sizes[d], scales[d])
    return image


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("scale", [1 / 2, 1 / 3, 1 / 4, 1 / 8, 2, 3, 4])
@pytest.mark.parametrize("shape", [(17, 23), (19, 14, 3)])
def test_matches_matlab_transliteration(shape, scale):
    image = RNG.random(shape)
    ours = imresize(image, scale)
    assert ours.shape[:2] == tuple(math.ceil(n * scale) for n in shape[:2])
    np.testing.assert_allclose(ours, matlab_imresize(image, scale), atol=1e-12)


@pytest.mark.parametrize("output_shape", [(9, 30), (40, 7), (17, 17), (5, 5)])
def test_output_shape_matches_matlab_transliteration(output_shape):
    """Different scales per axis: the smaller scale goes first, as in MATLAB."""
    image = RNG.random((13, 21, 2))
    ours = imresize(image, output_shape=output_shape)
    assert ours.shape == (*output_shape, 2)
    np.testing.assert_allclose(ours, matlab_imresize(image, output_shape=output_shape), atol=1e-12)


def test_tiny_images_mirror_their_border():
    """Kernels far wider than the image: the mirror indices wrap several times."""
    image = RNG.random((3, 2))
    for scale in (1 / 8, 4):
        np.testing.assert_allclose(imresize(image, scale), matlab_imresize(image, scale), atol=1e-12)


@pytest.mark.parametrize(
    "n, scale, expected", [(37, 1 / 2, 19), (37, 1 / 3, 13), (37, 1 / 8, 5), (37, 3, 111), (8, 1 / 4, 2)]
)
def test_output_size_is_ceil_of_scaled_size(n, scale, expected):
    assert imresize(np.zeros((n, n)), scale).shape == (expected, expected)


@pytest.mark.parametrize("scale", [1 / 4, 1 / 3, 1 / 2, 2, 3])
def test_weights_sum_to_one(scale):
    n = 23
    matrix = weight_matrix(n, math.ceil(n * scale), scale)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-12)


def test_kernel_values():
    np.testing.assert_allclose(cubic(np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])), [1, 0.5625, 0, -0.0625, 0, 0])


@pytest.mark.parametrize("scale", [1 / 4, 1 / 3, 2, 3])
def test_constant_image_stays_constant(scale):
    out = imresize(np.full((11, 14, 3), 0.37), scale)
    np.testing.assert_allclose(out, 0.37, atol=1e-13)


@pytest.mark.parametrize("scale", [1 / 3, 4])
def test_a_band_of_rows_equals_those_rows_of_the_whole(scale):
    image = RNG.random((13, 11, 2))
    whole = imresize(image, scale)
    for start, stop in [(0, 3), (3, 7), (whole.shape[0] - 2, whole.shape[0])]:
        np.testing.assert_array_equal(imresize(image, scale, rows=(start, stop)), whole[start:stop])


@pytest.mark.parametrize("scale", [1 / 4, 1 / 2, 3])
def test_torch_matches_numpy_in_float64_for_a_batch(scale):
    batch = torch.from_numpy(RNG.random((2, 3, 15, 22)))
    out = imresize_torch(batch, scale)
    assert out.shape == (2, 3, math.ceil(15 * scale), math.ceil(22 * scale))
    expected = imresize(batch[1].permute(1, 2, 0).numpy(), scale)
    np.testing.assert_allclose(out[1].permute(1, 2, 0).numpy(), expected, atol=1e-10)


@pytest.mark.parametrize("shape", [(64, 48), (24, 40), (8, 8), (4, 12)])
@pytest.mark.parametrize("scale", [1 / 8, 1 / 4, 1 / 2, 2, 4, 8, (2, 1 / 4)])
@pytest.mark.parametrize("antialias", [True, False])
def test_torch_border_rows_and_interior_match_numpy(shape, scale, antialias, monkeypatch):
    """Where the sizes divide, PyTorch's kernel does the interior and the borders are recomputed:
    the whole result must still be MATLAB's, and the fast kernel must have been used."""
    calls = []
    interpolate = torch.nn.functional.interpolate

    def recorded(*a, **k):
        calls.append(k)
        return interpolate(*a, **k)

    monkeypatch.setattr(torch.nn.functional, "interpolate", recorded)
    image = RNG.random(shape)
    out = imresize_torch(torch.from_numpy(image)[None], scale, antialias=antialias)[0].numpy()
    np.testing.assert_allclose(out, imresize(image, scale, antialias=antialias), atol=1e-12)
    downscales = min(scale if isinstance(scale, tuple) else (scale,)) < 1
    divides = all(
        float(n * s).is_integer()
        for n, s in zip(shape, scale if isinstance(scale, tuple) else (scale, scale), strict=True)
    )
    assert bool(calls) == (divides and (antialias or not downscales))


def test_torch_output_shape_matches_numpy():
    image = torch.from_numpy(RNG.random((1, 1, 9, 12)))
    out = imresize_torch(image, output_shape=(20, 5))
    np.testing.assert_allclose(out[0, 0].numpy(), imresize(image[0, 0].numpy(), output_shape=(20, 5)), atol=1e-10)


def test_torch_path_is_differentiable():
    x = torch.rand(1, 1, 6, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: imresize_torch(t, 0.5), (x,))
    assert torch.autograd.gradcheck(lambda t: imresize_torch(t, output_shape=(9, 11)), (x,))


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="exactly one"):
        imresize(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="exactly one"):
        imresize(np.zeros((4, 4)), 2, output_shape=(8, 8))
    with pytest.raises(ValueError, match="positive"):
        imresize(np.zeros((4, 4)), -1)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        imresize(np.zeros(4), 2)
    with pytest.raises(TypeError, match="floating"):
        imresize_torch(torch.zeros(1, 1, 4, 4, dtype=torch.int64), 2)


def test_pil_bicubic_differs_from_matlab():
    """Why the toolkit does not use PIL. PIL's bicubic has the same kernel (a = -0.5) and the same
    antialiasing, but at the border it drops the taps that fall outside the image and renormalises,
    where MATLAB mirrors the image; with 8-bit images it also rounds the result. Away from the
    border the two agree to float32 precision; at the border they differ by percents."""
    from PIL import Image

    image = RNG.random((40, 40))
    ours = imresize(image, 0.5)
    theirs = np.asarray(Image.fromarray(image.astype(np.float32)).resize((20, 20), Image.Resampling.BICUBIC))
    difference = np.abs(ours - theirs)
    assert difference[4:-4, 4:-4].max() < 1e-6
    assert difference[:2].max() > 1e-2
