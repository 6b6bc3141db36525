"""Fine detail beside PSNR (lesson 10's last section): the measure, the sharpening, the errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from lapsrn_edu.errors import OptionError
from lapsrn_edu.evaluation.detail import detail_energy, detail_ratio, distortion_and_detail, unsharp


@pytest.fixture
def photo() -> np.ndarray:
    from skimage import data

    return data.camera()[100:228, 100:228] / 255.0


def test_a_flat_image_has_no_detail_and_a_checkerboard_has_much():
    assert detail_energy(np.full((32, 32), 0.5)) == 0.0
    checker = (np.indices((32, 32)).sum(0) % 2).astype(float)
    assert detail_energy(checker) > 0.1


def test_blur_removes_detail_and_sharpening_puts_energy_back(photo):
    blurred = gaussian_filter(photo, 1.5)
    assert detail_ratio(photo, photo) == pytest.approx(1.0)
    low = detail_ratio(photo, blurred)
    assert low < 0.3
    assert detail_ratio(photo, unsharp(blurred, 2.0)) > low
    assert np.array_equal(unsharp(photo, 0.0), photo)
    assert unsharp(photo, 3.0).min() >= 0.0 and unsharp(photo, 3.0).max() <= 1.0


def test_the_border_is_left_out_as_the_protocol_shaves_it(photo):
    spoiled = photo.copy()
    spoiled[:4] = 0.0  # damage only the top 4 rows
    assert detail_ratio(photo, spoiled, border=4) == pytest.approx(1.0)
    assert detail_ratio(photo, spoiled) != pytest.approx(1.0)


def test_distortion_and_detail_of_the_truth_itself(photo):
    psnr, ratio = distortion_and_detail(photo, photo, 4)
    assert psnr == float("inf") and ratio == pytest.approx(1.0)
    psnr, ratio = distortion_and_detail(photo, gaussian_filter(photo, 1.0), 4)
    assert 20 < psnr < 40 and ratio < 1


def test_bad_inputs_say_what_is_wrong(photo):
    with pytest.raises(OptionError, match="shapes differ"):
        detail_ratio(photo, photo[:-1])
    with pytest.raises(OptionError, match="flat"):
        detail_ratio(np.zeros((16, 16)), np.zeros((16, 16)))
    with pytest.raises(OptionError, match="amount"):
        unsharp(photo, -1.0)


def test_the_figure_draws_one_line_per_method():
    from lapsrn_edu.course.plots import distortion_detail_figure

    fig = distortion_detail_figure(
        {"bicubic": [(0.0, 0.1, 28.4), (1.0, 0.2, 28.7)], "LapSRN": [(0.0, 0.5, 31.5), (1.0, 1.0, 30.3)]}
    )
    assert len(fig.axes[0].lines) == 3  # two methods and the line at the truth's detail
