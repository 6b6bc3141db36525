"""Every exercise check rejects a wrong answer and accepts the solution; check() never lets a
student's error escape as a traceback."""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lapsrn_edu.course import exercises, reading_exercises
from lapsrn_edu.course.exercises import ExerciseFailed, check, level_weights
from lapsrn_edu.imaging.color import rgb_to_y
from lapsrn_edu.imaging.metrics import quantize
from lapsrn_edu.imaging.pyramid import expand, pyramid_levels_torch
from lapsrn_edu.imaging.resize import imresize_torch
from lapsrn_edu.models import LapSRN, bilinear_kernel, levels_for_scale
from lapsrn_edu.training import losses

SOURCES = Path(__file__).resolve().parent.parent / "tools" / "notebooks"


def conv_params(k: int, cin: int, cout: int, bias: bool = True) -> int:
    return k * k * cin * cout + (cout if bias else 0)


def charbonnier_solution(prediction, target, eps=1e-3):
    return torch.sqrt((prediction - target) ** 2 + eps**2).sum() / prediction.shape[0]


def keys_cubic(x, a):
    ax = np.abs(x)
    return np.where(
        ax <= 1,
        (a + 2) * ax**3 - (a + 3) * ax**2 + 1,
        np.where(ax <= 2, a * ax**3 - 5 * a * ax**2 + 8 * a * ax - 4 * a, 0.0),
    )


def make_level(crop: str = "released", residual: bool = True, activation_after_upsample: bool = True):
    """A hand-written pyramid level; the keyword arguments plant the usual mistakes."""

    def pyramid_level(features, image, w):
        for weight, bias in w["convs"]:
            features = F.leaky_relu(F.conv2d(features, weight, bias, padding=1), 0.2)
        weight, bias = w["upsample"]
        if crop == "released":
            features = F.conv_transpose2d(features, weight, bias, stride=2)[..., :-1, :-1]
        else:  # padding=1, output_padding=1: right size, grid shifted by one pixel
            features = F.conv_transpose2d(features, weight, bias, stride=2, padding=1, output_padding=1)
        if activation_after_upsample:
            features = F.leaky_relu(features, 0.2)
        weight, bias = w["residual"]
        band = F.conv2d(features, weight, bias, padding=1)
        upsampled = F.conv_transpose2d(image, w["image_upsample"], stride=2, padding=1)
        return features, (upsampled + band if residual else band)

    return pyramid_level


def collapse_solution(laplacian):
    image = laplacian[-1]
    for band in reversed(laplacian[:-1]):
        image = band + expand(image, band.shape)
    return image


def multiscale_solution(model, hr, scales=(2, 4, 8)):
    total: torch.Tensor | float = 0
    for scale in scales:
        levels = levels_for_scale(scale)
        total = total + losses.multiscale_loss(
            model(imresize_torch(hr, 1 / scale), levels=levels), pyramid_levels_torch(hr, levels)
        )
    return total


def upsample_features_solution(features, weight, bias, crop="last", activation=True):
    """Exercise 2.4; the keyword arguments plant the usual mistakes."""
    if crop == "last":
        up = F.conv_transpose2d(features, weight, bias, stride=2)[..., :-1, :-1]
    elif crop == "first":
        up = F.conv_transpose2d(features, weight, bias, stride=2)[..., 1:, 1:]
    else:  # padding=1, output_padding=1
        up = F.conv_transpose2d(features, weight, bias, stride=2, padding=1, output_padding=1)
    return F.leaky_relu(up, 0.2) if activation else up


def image_branch_solution(image, features, w):
    weight, bias = w["residual"]
    return F.conv_transpose2d(image, w["image_upsample"], stride=2, padding=1) + F.conv2d(
        features, weight, bias, padding=1
    )


def training_step_solution(network, optimizer, hr, scale, zero_grad=True, last_level_only=False):
    """Exercise 4.2; the keyword arguments plant the usual mistakes."""
    lr, targets = imresize_torch(hr, 1 / scale), pyramid_levels_torch(hr, levels_for_scale(scale))
    outputs = network(lr)
    if last_level_only:
        outputs, targets = outputs[-1:], targets[-1:]
    loss = losses.multiscale_loss(outputs, targets)
    if zero_grad:
        optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()


def step_before_backward(network, optimizer, hr, scale):
    lr, targets = imresize_torch(hr, 1 / scale), pyramid_levels_torch(hr, levels_for_scale(scale))
    loss = losses.multiscale_loss(network(lr), targets)
    optimizer.zero_grad()
    optimizer.step()
    loss.backward()
    return loss.detach()


def initial_loss_solution(hr, scale, upsample="bilinear", reduction="paper", levels=None):
    """Exercise 4.3: at initialisation the residuals are close to zero and every image upsampler
    is bilinear, so each level's output is the bilinear x2 of the previous one."""
    targets = pyramid_levels_torch(hr, levels_for_scale(scale))
    image, total = imresize_torch(hr, 1 / scale), 0.0
    kernel = bilinear_kernel(4)[None, None].float()
    for target in targets:
        if upsample == "bilinear":
            image = F.conv_transpose2d(image, kernel, stride=2, padding=1)
        else:
            image = F.interpolate(image, scale_factor=2, mode="bicubic", align_corners=False)
        total += float(losses.charbonnier(image, target, reduction=reduction))
    if levels == "last":
        return float(losses.charbonnier(image, targets[-1]))
    return total


def mslapsrn_macs_solution(depth, recursions, scale, side, channels=64, all_at_lr=False):
    """Exercise 10.1; ``all_at_lr`` plants the mistake of running every level at the LR size."""
    c, total = channels, side * side * 9 * channels
    for level in range(levels_for_scale(scale)):
        n = side * (1 if all_at_lr else 2**level)
        total += depth * recursions * n * n * 9 * c * c + n * n * c * 9 * c + (2 * n) ** 2 * 9 * c + n * n * 16
    return total


def subpixel_solution(features, weight, bias, padding=1, order="torch"):
    """Exercise 10.3; ``padding`` and ``order`` plant the usual mistakes."""
    conv = F.conv2d(features, weight, bias, padding=padding)
    if order == "torch":
        return F.pixel_shuffle(conv, 2)
    n, c4, h, w = conv.shape  # the 2x2 position as the slow index, the channel as the fast one
    return conv.reshape(n, 2, 2, c4 // 4, h, w).permute(0, 3, 4, 1, 5, 2).reshape(n, c4 // 4, 2 * h, 2 * w)


C1, C2 = 0.01**2, 0.03**2


def ssim_solution(mu_x, mu_y, var_x, var_y, cov):
    """Luminance x contrast x structure, with C3 = C2 / 2 (the three as the lesson states them)."""
    sx, sy = np.sqrt(var_x), np.sqrt(var_y)
    luminance = (2 * mu_x * mu_y + C1) / (mu_x**2 + mu_y**2 + C1)
    contrast = (2 * sx * sy + C2) / (var_x + var_y + C2)
    structure = (cov + C2 / 2) / (sx * sy + C2 / 2)
    return luminance * contrast * structure


def ssim_without_constants(mu_x, mu_y, var_x, var_y, cov):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (2 * mu_x * mu_y) * (2 * cov) / ((mu_x**2 + mu_y**2) * (var_x + var_y))


def ssim_without_structure(mu_x, mu_y, var_x, var_y, cov):
    return (2 * mu_x * mu_y + C1) / (mu_x**2 + mu_y**2 + C1) * (2 * np.sqrt(var_x * var_y) + C2) / (var_x + var_y + C2)


def ssim_with_deviations_for_variances(mu_x, mu_y, var_x, var_y, cov):
    sx, sy = np.sqrt(var_x), np.sqrt(var_y)
    return (2 * mu_x * mu_y + C1) * (2 * cov + C2) / ((mu_x**2 + mu_y**2 + C1) * (sx + sy + C2))


def protocol_psnr_solution(gt, sr, scale):
    a = rgb_to_y(quantize(gt))[scale:-scale, scale:-scale]
    b = rgb_to_y(quantize(sr))[scale:-scale, scale:-scale]
    return float(10 * np.log10(1 / np.mean((a - b) ** 2)))


def protocol_psnr_no_shave(gt, sr, scale):
    a, b = rgb_to_y(quantize(gt)), rgb_to_y(quantize(sr))
    return float(10 * np.log10(1 / np.mean((a - b) ** 2)))


def protocol_psnr_rounding_y(gt, sr, scale):
    """The old exercise 9.2: Y first, then 8-bit rounding."""
    a = quantize(rgb_to_y(gt))[scale:-scale, scale:-scale]
    b = quantize(rgb_to_y(sr))[scale:-scale, scale:-scale]
    return float(10 * np.log10(1 / np.mean((a - b) ** 2)))


# exercise -> (solution, [wrong answers])
CASES: dict[str, tuple[Callable[..., Any], list[Callable[..., Any]]]] = {
    "0.1": (lambda s: int(np.log2(s)), [lambda s: s // 2, lambda s: 2]),
    "0.2": (
        lambda rgb: (16 + 65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255,
        [
            lambda rgb: (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255,
            lambda rgb: rgb.mean(-1),
        ],
    ),
    "1.1": (
        lambda g: [f - expand(c, f.shape) for f, c in pairwise(g)] + [g[-1]],
        [lambda g: [f - expand(c, f.shape) for f, c in pairwise(g)], lambda g: list(g)],
    ),
    "1.2": (
        collapse_solution,
        [lambda lap: lap[0] + expand(lap[-1], lap[0].shape)],
    ),
    "2.1": (
        lambda scale, depth, channels=64, feature_kernel=3: (
            conv_params(3, 1, channels)
            + levels_for_scale(scale)
            * (
                depth * conv_params(3, channels, channels)
                + conv_params(feature_kernel, channels, channels)
                + conv_params(3, channels, 1)
                + 16
            )
        ),
        [
            # no image upsampler
            lambda scale, depth, channels=64, feature_kernel=3: (
                conv_params(3, 1, channels)
                + levels_for_scale(scale)
                * (
                    depth * conv_params(3, channels, channels)
                    + conv_params(feature_kernel, channels, channels)
                    + conv_params(3, channels, 1)
                )
            ),
            # always 3x3 feature upsamplers
            lambda scale, depth, channels=64, feature_kernel=3: (
                conv_params(3, 1, channels)
                + levels_for_scale(scale)
                * (
                    depth * conv_params(3, channels, channels)
                    + conv_params(3, channels, channels)
                    + conv_params(3, channels, 1)
                    + 16
                )
            ),
        ],
    ),
    "2.2": (
        lambda: np.outer([0.25, 0.75, 0.75, 0.25], [0.25, 0.75, 0.75, 0.25]),
        [lambda: np.full((4, 4), 0.25), lambda: np.outer([0.5, 1, 1, 0.5], [0.5, 1, 1, 0.5])],
    ),
    "2.3": (
        lambda n, k, s, p: (n - 1) * s - 2 * p + k,
        [lambda n, k, s, p: (n - 1) * 2 - 2 * p + k, lambda n, k, s, p: n * s, lambda n, k, s, p: (n - 1) * s + k],
    ),
    "2.4": (
        upsample_features_solution,
        [
            lambda f, w, b: upsample_features_solution(f, w, b, crop="first"),
            lambda f, w, b: upsample_features_solution(f, w, b, crop="output_padding"),
            lambda f, w, b: upsample_features_solution(f, w, b, activation=False),
        ],
    ),
    "2.5": (
        image_branch_solution,
        [
            lambda image, features, w: F.conv_transpose2d(image, w["image_upsample"], stride=2, padding=1),
            lambda image, features, w: (
                F.interpolate(image, scale_factor=2, mode="bilinear")
                + F.conv2d(features, w["residual"][0], w["residual"][1], padding=1)
            ),
            lambda image, features, w: (
                F.conv_transpose2d(image, w["image_upsample"], stride=2, padding=1)
                + F.leaky_relu(F.conv2d(features, w["residual"][0], w["residual"][1], padding=1), 0.2)
            ),
        ],
    ),
    "2.6": (
        make_level(),
        [make_level(crop="output_padding"), make_level(residual=False), make_level(activation_after_upsample=False)],
    ),
    "3.1": (
        charbonnier_solution,
        [
            lambda p, t, eps=1e-3: torch.sqrt((p - t) ** 2 + eps).sum() / p.shape[0],  # eps unsquared
            lambda p, t, eps=1e-3: torch.sqrt((p - t) ** 2 + eps**2).mean(),  # mean reduction
            lambda p, t, eps=1e-3: torch.sqrt((p - t) ** 2 + eps**2).sum(),  # no batch average
            lambda p, t, eps=1e-3: charbonnier_solution(p, t),  # ignores eps
        ],
    ),
    "3.2": (
        lambda x, eps=1e-3: x / torch.sqrt(x**2 + eps**2),
        [torch.sign, lambda x, eps=1e-3: x / torch.sqrt(x**2 + eps)],
    ),
    "3.3": (
        lambda preds, hr: sum(
            losses.charbonnier(p, t) for p, t in zip(preds, pyramid_levels_torch(hr, len(preds)), strict=True)
        ),
        [
            lambda preds, hr: losses.charbonnier(preds[-1], hr),  # last level only
            lambda preds, hr: sum(
                losses.charbonnier(p, t, reduction="mean")
                for p, t in zip(preds, pyramid_levels_torch(hr, len(preds)), strict=True)
            ),
        ],
    ),
    "4.1": (
        lambda hr, scale: (imresize_torch(hr, 1.0 / scale), pyramid_levels_torch(hr, levels_for_scale(scale))),
        [
            lambda hr, scale: (imresize_torch(hr, 1.0 / scale), pyramid_levels_torch(hr, 2)),  # right only at x4
            lambda hr, scale: (imresize_torch(hr, 0.25), pyramid_levels_torch(hr, levels_for_scale(scale))),
        ],
    ),
    "4.4": (
        lambda t, total, lr, lr_min: lr_min + (lr - lr_min) * 0.5 * (1 + np.cos(np.pi * t / total)),
        [
            lambda t, total, lr, lr_min: lr * 0.5 * (1 + np.cos(np.pi * t / total)),
            lambda t, total, lr, lr_min: lr - (lr - lr_min) * t / total,
        ],
    ),
    "4.2": (
        training_step_solution,
        [
            lambda n, o, hr, s: training_step_solution(n, o, hr, s, zero_grad=False),
            lambda n, o, hr, s: training_step_solution(n, o, hr, s, last_level_only=True),
            step_before_backward,
        ],
    ),
    "4.3": (
        initial_loss_solution,
        [
            lambda hr, s: initial_loss_solution(hr, s, levels="last"),
            lambda hr, s: initial_loss_solution(hr, s, reduction="mean"),
            lambda hr, s: initial_loss_solution(hr, s, upsample="bicubic"),
        ],
    ),
    "9.1": (
        lambda im, s: im[: im.shape[0] - im.shape[0] % s, : im.shape[1] - im.shape[1] % s],
        [
            lambda im, s: im[im.shape[0] % s :, im.shape[1] % s :],
            lambda im, s: im[: im.shape[0] // s * s, : im.shape[1] // 8 * 8],
        ],
    ),
    "9.2": (protocol_psnr_solution, [protocol_psnr_rounding_y, protocol_psnr_no_shave]),
    "9.3": (lambda x: keys_cubic(x, -0.5), [lambda x: keys_cubic(x, -0.75), lambda x: np.maximum(0, 1 - np.abs(x))]),
    "9.4": (ssim_solution, [ssim_without_constants, ssim_without_structure, ssim_with_deviations_for_variances]),
    "10.1": (
        mslapsrn_macs_solution,
        [
            lambda d, r, s, n, channels=64: mslapsrn_macs_solution(d, 1, s, n, channels),  # R ignored
            lambda d, r, s, n, channels=64: mslapsrn_macs_solution(d, r, s, n, channels, all_at_lr=True),
        ],
    ),
    "10.2": (
        multiscale_solution,
        [
            lambda model, hr: multiscale_solution(model, hr, scales=(8,)),
            lambda model, hr: multiscale_solution(model, hr, scales=(2, 4)),
        ],
    ),
    "10.3": (
        subpixel_solution,
        [
            lambda f, w, b: subpixel_solution(f, w, b, order="position first"),
            lambda f, w, b: subpixel_solution(f, w, b, padding=0),
            lambda f, w, b: F.interpolate(F.conv2d(f, w[::4], b[::4], padding=1), scale_factor=2),
        ],
    ),
}


def run(number: str, answer) -> str:
    """check() on one answer, strict: '' when it passes, the one-line verdict when it fails."""
    try:
        check(f"Exercise {number}", exercises.VERIFIERS[number], answer, strict=True)
    except ExerciseFailed as exc:
        return str(exc)
    return ""


def test_every_exercise_has_a_case():
    assert sorted(CASES) == sorted(exercises.VERIFIERS)


@pytest.mark.parametrize("number", list(CASES))
def test_solution_passes(number):
    assert run(number, CASES[number][0]) == ""


@pytest.mark.parametrize("number", list(CASES))
def test_wrong_answers_fail(number):
    for i, wrong in enumerate(CASES[number][1]):
        verdict = run(number, wrong)
        assert verdict.startswith(f"Exercise {number}: "), f"wrong answer {i} passed exercise {number}"
        assert "\n" not in verdict


def test_pyramid_level_on_a_full_size_x4_model():
    """Exercise 2.6 against a model shaped like the official x4 (depth 10, 64 channels)."""
    torch.manual_seed(1)
    model = LapSRN(scale=4, depth=10)
    exercises.verify_pyramid_level(make_level(), model)
    with pytest.raises(AssertionError, match="level 1"):
        exercises.verify_pyramid_level(make_level(crop="output_padding"), model)
    weights = level_weights(model, 0)
    convs, upsample = weights["convs"], weights["upsample"]
    assert isinstance(convs, list) and isinstance(upsample, tuple)
    assert len(convs) == 10 and upsample[0].shape == (64, 64, 3, 3)


def test_check_turns_any_error_into_one_line(capsys):
    def broken(_):
        raise KeyError("weights\nmissing")

    check("Exercise 0.1", exercises.verify_pyramid_levels, broken)
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith("Exercise 0.1: your code raised KeyError: ")
    with pytest.raises(ExerciseFailed, match="raised ZeroDivisionError"):
        check("Exercise 0.1", exercises.verify_pyramid_levels, lambda s: 1 / 0, strict=True)


def test_check_reports_not_attempted_and_correct(capsys):
    def todo(_):
        raise NotImplementedError("Exercise 0.1: return the number of levels")

    check("Exercise 0.1", exercises.verify_pyramid_levels, todo)
    check("Exercise 0.1", exercises.verify_pyramid_levels, CASES["0.1"][0])
    check("Exercise 0.1", lambda: exercises.assert_close(None, 1))
    lines = capsys.readouterr().out.splitlines()
    assert "not attempted yet" in lines[0]
    assert lines[1] == "Exercise 0.1: correct!"
    assert "forget to return" in lines[2]


def test_a_prediction_field_is_only_checked_for_being_filled_in(capsys):
    assert exercises.note_prediction("", "the loss") is False
    assert exercises.note_prediction("  about 180, the bilinear loss ", "the loss") is True
    empty, filled = capsys.readouterr().out.splitlines()
    assert "is empty" in empty and "my_prediction" in empty
    assert "about 180, the bilinear loss (now compare" in filled


def exercise_paragraphs(text: str) -> dict[str, str]:
    """Exercise number -> its statement (the paragraph that opens with **Exercise N.M ...)."""
    return {m.group(1): m.group(0) for m in re.finditer(r"\*\*Exercise (\d+\.\d+) .*?(?:\n\n|$)", text, flags=re.S)}


def lesson_sources() -> dict[str, str]:
    return {source.stem[:2]: source.read_text(encoding="utf-8") for source in sorted(SOURCES.glob("*.md"))}


@pytest.mark.parametrize("lesson", sorted(lesson_sources()))
def test_every_exercise_is_checked_by_its_tested_verifier(lesson):
    """An exercise is checked with VERIFIERS[its number] (tested above; the study lessons' in
    reading_exercises, tested in test_reading_exercises.py), or says it has no check."""
    text = lesson_sources()[lesson]
    verifiers = {**exercises.VERIFIERS, **reading_exercises.VERIFIERS}
    for number, statement in exercise_paragraphs(text).items():
        if "No check" in statement:
            assert not re.search(rf'check\(\s*"Exercise {re.escape(number)}"', text), (
                f"exercise {number} says No check but has one"
            )
            continue
        assert number in verifiers, f"lesson {lesson}: exercise {number} has no verifier in lapsrn_edu.course"
        name = verifiers[number].__name__
        assert re.search(rf'check\(\s*"Exercise {re.escape(number)}",\s*{name}\b', text), (
            f"lesson {lesson} does not check exercise {number} with {name}"
        )


def test_a_wrong_answer_is_told_how_far_off_in_relative_terms(capsys):
    import math

    from lapsrn_edu.course.exercises import check, verify_cosine_lr

    def one_percent_high(t, total, lr, lr_min):
        return 1.01 * (lr_min + (lr - lr_min) * 0.5 * (1 + math.cos(math.pi * t / total)))

    check("Exercise 4.4", verify_cosine_lr, one_percent_high)
    line = capsys.readouterr().out
    assert line.startswith("Exercise 4.4: not quite.") and "1.0% of the expected" in line and "off overall" in line
