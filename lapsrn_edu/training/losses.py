"""Losses: the Charbonnier penalty LapSRN trains with, L1 and L2 for comparison, deep supervision.

Charbonnier: rho(x) = sqrt(x^2 + eps^2) with the paper's eps = 1e-3 (CVPR 2017, section 3.2;
docs/paper.md#the-loss), so **1e-6** sits under the square root, as in the released code. It
behaves like L1 (robust to outliers, sharp results) but is differentiable at 0.

Other libraries write eps differently. BasicSR's ``CharbonnierLoss`` computes
``sqrt((pred - target)^2 + eps)``: its eps goes under the root as it is, and its default of 1e-12
is the paper's formula with eps = 1e-6 (nearly plain L1); the paper's loss is ``eps=1e-6`` there.
Its default reduction is a mean over every element, not the paper's sum.

Reduction matters as much as the penalty. The paper's code sums over pixels and averages over
the batch (``reduction="paper"``): with a mean over each level's pixels (summed over the levels)
the gradient is each level's pixel count times smaller (4,096 to 16,384 for 128 px patches at x4),
and SGD at the paper's learning rate of 1e-5 barely moves the weights. Adam normalises
each weight's step by its gradient's running scale, so there a constant factor in the loss
changes almost nothing (lesson 03 measures both).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import torch

from ..errors import OptionError

CHARBONNIER_EPS = 1e-3
REDUCTIONS = ("paper", "mean", "sum")

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def reduce(per_pixel: torch.Tensor, reduction: str) -> torch.Tensor:
    """ "paper": sum over pixels, mean over the batch (first axis); "mean": over everything; "sum"."""
    if reduction == "paper":
        return per_pixel.sum() / per_pixel.shape[0]
    if reduction == "mean":
        return per_pixel.mean()
    if reduction == "sum":
        return per_pixel.sum()
    raise OptionError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _check(prediction: torch.Tensor, target: torch.Tensor) -> None:
    if prediction.shape != target.shape:
        raise OptionError(f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ in shape")


def charbonnier(
    prediction: torch.Tensor, target: torch.Tensor, eps: float = CHARBONNIER_EPS, reduction: str = "paper"
) -> torch.Tensor:
    """sqrt((prediction - target)^2 + eps^2), reduced; ``eps`` is the paper's (unsquared) 1e-3."""
    _check(prediction, target)
    return reduce(torch.sqrt((prediction - target) ** 2 + eps**2), reduction)


def l1(prediction: torch.Tensor, target: torch.Tensor, reduction: str = "paper") -> torch.Tensor:
    """|prediction - target|, reduced."""
    _check(prediction, target)
    return reduce((prediction - target).abs(), reduction)


def l2(prediction: torch.Tensor, target: torch.Tensor, reduction: str = "paper") -> torch.Tensor:
    """(prediction - target)^2, reduced (half the squared error is not used: plain squares)."""
    _check(prediction, target)
    return reduce((prediction - target) ** 2, reduction)


LOSSES: dict[str, Callable[..., torch.Tensor]] = {"charbonnier": charbonnier, "l1": l1, "l2": l2}


def multiscale_loss(
    predictions: Sequence[torch.Tensor],
    targets: Sequence[torch.Tensor],
    loss: str | Callable[..., torch.Tensor] = "charbonnier",
    reduction: str = "paper",
    weights: Sequence[float] | None = None,
) -> torch.Tensor:
    """Deep supervision: the sum over pyramid levels of each level's loss (every level weight 1
    by default). ``predictions`` and ``targets`` are listed coarse to fine, as models return them."""
    if len(predictions) != len(targets):
        raise OptionError(f"{len(predictions)} predictions but {len(targets)} targets")
    if isinstance(loss, str) and loss not in LOSSES:
        raise OptionError(f"loss must be one of {tuple(LOSSES)} or a function, got {loss!r}")
    fn = LOSSES[loss] if isinstance(loss, str) else loss
    weights = [1.0] * len(predictions) if weights is None else list(weights)
    if len(weights) != len(predictions):
        raise OptionError(f"{len(weights)} weights for {len(predictions)} levels")
    # every model returns at least one level, so the sum is a tensor (never sum()'s start, 0)
    return cast(
        torch.Tensor,
        sum(w * fn(p, t, reduction=reduction) for w, p, t in zip(weights, predictions, targets, strict=True)),
    )
