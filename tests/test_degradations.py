"""The LR degradations other than the protocol's: sizes, ranges, and that each differs from the protocol."""

import numpy as np
import pytest

from lapsrn_edu.evaluation import degradations
from lapsrn_edu.evaluation.evaluate import degrade


@pytest.fixture
def gt():
    rng = np.random.default_rng(0)
    smooth = np.cumsum(np.cumsum(rng.normal(0, 1, (48, 40, 3)), 0), 1)
    return (smooth - smooth.min()) / np.ptp(smooth)


@pytest.mark.parametrize("name", list(degradations.DEGRADATIONS))
def test_every_degradation_gives_the_protocol_lr_size(gt, name):
    lr = degradations.DEGRADATIONS[name](gt, 4)
    assert lr.shape == (12, 10, 3)
    assert np.isfinite(lr).all()


@pytest.mark.parametrize("name", [n for n in degradations.DEGRADATIONS if not n.startswith("protocol")])
def test_each_differs_from_the_protocol(gt, name):
    assert np.abs(degradations.DEGRADATIONS[name](gt, 4) - degrade(gt, 4)).max() > 1e-3


def test_eight_bit_outputs_are_on_the_255_grid(gt):
    for lr in (degradations.rounded_lr(gt, 2), degradations.pil_lr(gt, 2), degradations.jpeg_lr(gt, 2)):
        assert np.allclose(lr * 255, np.rint(lr * 255))


def test_pil_is_close_to_matlab_but_not_equal(gt):
    difference = np.abs(degradations.pil_lr(gt, 2) - degrade(gt, 2))
    assert 0 < difference.mean() < 2 / 255


def test_gray_images_and_bad_input(gt):
    gray = gt[..., 0]
    assert degradations.blurred_lr(gray, 2).shape == (24, 20)
    assert degradations.pil_lr(gray, 2).shape == (24, 20)
    with pytest.raises(ValueError, match="mod-crop"):
        degradations.aliased_lr(gt[:47], 4)
    with pytest.raises(ValueError, match="quality"):
        degradations.jpeg_lr(gt, 2, quality=0)
