"""Charbonnier (paper eps), L1, L2, reductions and deep supervision."""

import math

import pytest
import torch

from lapsrn_edu.training.losses import CHARBONNIER_EPS, charbonnier, l1, l2, multiscale_loss


def test_paper_eps_is_1e_minus_3():
    assert CHARBONNIER_EPS == 1e-3


def test_charbonnier_at_zero_is_eps_per_pixel():
    x = torch.zeros(2, 1, 4, 5, dtype=torch.float64)
    assert charbonnier(x, x, reduction="mean").item() == pytest.approx(1e-3, rel=1e-12)
    assert charbonnier(x, x, reduction="sum").item() == pytest.approx(40 * 1e-3, rel=1e-12)


def test_eps_is_squared_under_the_root():
    """A difference of 1e-3 gives sqrt(1e-6 + 1e-6), not sqrt(1e-6 + 1e-3)."""
    pred = torch.full((1, 1, 1, 1), 1e-3, dtype=torch.float64)
    value = charbonnier(pred, torch.zeros_like(pred)).item()
    assert value == pytest.approx(math.sqrt(2e-6), rel=1e-12)
    big = charbonnier(torch.full((1, 1, 1, 1), 0.5, dtype=torch.float64), torch.zeros(1, 1, 1, 1, dtype=torch.float64))
    assert big.item() == pytest.approx(math.sqrt(0.25 + 1e-6), rel=1e-12)


def test_reductions():
    """ "paper" = sum over pixels / batch size; "mean" over everything; "sum"."""
    pred = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=torch.float64).view(2, 1, 1, 3)
    target = torch.zeros_like(pred)
    assert l1(pred, target, reduction="paper").item() == pytest.approx(21 / 2)
    assert l1(pred, target, reduction="mean").item() == pytest.approx(21 / 6)
    assert l1(pred, target, reduction="sum").item() == pytest.approx(21)
    assert l2(pred, target, reduction="sum").item() == pytest.approx(91)
    assert l2(pred, target, reduction="paper").item() == pytest.approx(91 / 2)
    with pytest.raises(ValueError, match="paper"):
        l1(pred, target, reduction="median")


def test_paper_reduction_is_much_larger_than_the_mean():
    pred, target = torch.rand(4, 1, 32, 32), torch.rand(4, 1, 32, 32)
    ratio = charbonnier(pred, target, reduction="paper") / charbonnier(pred, target, reduction="mean")
    assert ratio.item() == pytest.approx(32 * 32, rel=1e-5)


def test_charbonnier_gradient_is_finite_near_zero_and_like_l1_far_away():
    pred = torch.tensor([0.0, 1e-9, 0.5, -0.5], dtype=torch.float64, requires_grad=True)
    charbonnier(pred, torch.zeros(4, dtype=torch.float64), reduction="sum").backward()
    grad = pred.grad
    assert grad is not None and torch.isfinite(grad).all()
    assert grad[0].item() == 0.0
    assert grad[2].item() == pytest.approx(1.0, abs=1e-5) and grad[3].item() == pytest.approx(-1.0, abs=1e-5)


def test_multiscale_sums_the_levels():
    preds = [torch.rand(2, 1, 4, 4), torch.rand(2, 1, 8, 8)]
    targets = [torch.rand(2, 1, 4, 4), torch.rand(2, 1, 8, 8)]
    total = multiscale_loss(preds, targets)
    assert total.item() == pytest.approx(
        sum(charbonnier(p, t).item() for p, t in zip(preds, targets, strict=True)), rel=1e-6
    )
    weighted = multiscale_loss(preds, targets, loss="l1", weights=[0.0, 2.0])
    assert weighted.item() == pytest.approx(2 * l1(preds[1], targets[1]).item(), rel=1e-6)
    custom = multiscale_loss(preds, targets, loss=l2, reduction="mean")
    assert custom.item() == pytest.approx(
        sum(l2(p, t, reduction="mean").item() for p, t in zip(preds, targets, strict=True)), rel=1e-6
    )


def test_multiscale_errors():
    a = [torch.zeros(1, 1, 2, 2)]
    with pytest.raises(ValueError, match="1 predictions but 2 targets"):
        multiscale_loss(a, a + a)
    with pytest.raises(ValueError, match="charbonnier"):
        multiscale_loss(a, a, loss="huber")
    with pytest.raises(ValueError, match="weights"):
        multiscale_loss(a, a, weights=[1.0, 1.0])


@pytest.mark.parametrize("fn", [charbonnier, l1, l2])
def test_shape_mismatch_is_an_error(fn):
    with pytest.raises(ValueError, match="differ in shape"):
        fn(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))
