"""Exercise checks for the course notebooks: a verdict in one line, never a traceback.

Every exercise in a notebook is two cells: the exercise (a function whose body raises
``NotImplementedError`` with a TODO) and a check::

    check("Exercise 2.3", verify_transposed_output_size, transposed_output_size, strict=SOLUTIONS)

The solutions are not in the notebooks: the instructor build puts them between the two cells
(:mod:`lapsrn_edu.course.answer_key`) and sets ``SOLUTIONS``.

``verify_*`` functions take the student's function, try it on several probes (several scales,
strides, shapes, batch sizes: a check that tries one case passes wrong answers that happen to fit
it) and raise ``AssertionError`` with a message a student can act on. ``tests/test_exercises.py``
feeds every one of them a wrong answer (it must fail) and the solution (it must pass).

With ``strict`` (the instructor build, where the solutions are in place) a failing check raises,
so CI notices when a solution and its check drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import correlate1d
from torch import nn

from ..errors import OptionError, one_line
from ..evaluation.evaluate import mod_crop
from ..imaging.color import rgb_to_y
from ..imaging.metrics import SSIM_C1, SSIM_C2, gaussian_window, score, ssim
from ..imaging.pyramid import gaussian_pyramid, laplacian_pyramid, pyramid_levels_torch
from ..imaging.resize import cubic, imresize_torch
from ..models import LapSRN, MSLapSRN, bilinear_kernel, count_parameters, levels_for_scale
from ..models.lapsrn import PyramidLevel
from ..models.layers import LEAKY_SLOPE, FeatureUpsampler
from ..training import losses

if TYPE_CHECKING:
    from ..training.config import TrainConfig


class ExerciseFailed(AssertionError):
    """A solution that does not pass its own check (raised only in strict mode)."""


def check(name: str, test: Callable[..., object], *args: object, strict: bool = False) -> bool:
    """Run ``test(*args)``; print one line: done, not attempted, wrong (and why), or crashed (and
    how); return whether the answer is right (a lesson may then go on with it).

    An exception raised by the student's code (a typo, a shape error) is reported as one line
    naming its type and message, not as a traceback; ``strict`` raises :class:`ExerciseFailed`
    instead of printing, for the instructor build where the solutions are in place.
    """
    try:
        test(*args)
    except NotImplementedError as exc:
        message = f"{name}: not attempted yet ({exc}). Fill in the TODO above and run this cell again."
    except AssertionError as exc:
        message = f"{name}: not quite. {one_line(exc, 300)}"
    except Exception as exc:  # noqa: BLE001 (any error in the student's code becomes one line)
        raised = f"{type(exc).__name__}: {one_line(exc, 300)}"
        message = f"{name}: your code raised {raised}. Fix it and run the check again."
    else:
        print(f"{name}: correct!")
        return True
    if strict:
        raise ExerciseFailed(message)
    print(message)
    return False


def note_prediction(prediction: str, about: str) -> bool:
    """A prediction field, written before a result is shown: checked only for being filled in, never
    graded and never an error (an empty field in a papermill run prints the reminder and goes on).
    Returns whether the field is filled in."""
    if not prediction.strip():
        print(f"Your prediction of {about} is empty: write it in my_prediction above before you read on.")
        return False
    print(f"Your prediction of {about}: {prediction.strip()} (now compare it with the result below)")
    return True


def assert_close(
    actual: object, expected: object, what: str = "your result", rtol: float = 1e-5, atol: float = 1e-6
) -> None:
    """Assert two arrays (or numbers, or tensors) agree, with a message a student can act on."""
    a = _array(actual, what)
    e = _array(expected, "the expected value")
    if a.shape != e.shape:
        raise AssertionError(f"{what} has shape {a.shape}, expected {e.shape}")
    if not np.all(np.isfinite(a)) and np.all(np.isfinite(e)):
        bad = np.argwhere(~np.isfinite(np.atleast_1d(a)))[0]
        raise AssertionError(
            f"{what} holds NaN or infinite values (first at index {tuple(int(i) for i in bad)}), where finite ones "
            "are expected"
        )
    if not np.allclose(a, e, rtol=rtol, atol=atol):
        raise AssertionError(f"{what} differs from the expected values: {how_far(a, e)}")


def how_far(actual: np.ndarray, expected: np.ndarray) -> str:
    """How far off an answer is, in relative terms: a tiny absolute difference on tiny values (a
    learning rate of 1e-9) is still a wrong answer, and reads as one."""
    difference = np.abs(actual - expected).astype(np.float64)
    at = np.unravel_index(np.argmax(difference), difference.shape) if difference.ndim else ()
    scale = float(np.abs(expected[at])) if difference.ndim else float(np.abs(expected))
    overall = float(np.linalg.norm(difference) / max(np.linalg.norm(expected), np.finfo(np.float64).tiny))
    where = f" at index {tuple(int(i) for i in at)}" if difference.ndim else ""
    worst = float(difference[at]) if difference.ndim else float(difference)
    relative = f"{worst / scale:.1%} of the expected {scale:.3g}" if scale > 0 else "where the expected value is 0"
    return f"off by {worst:.3g}{where} ({relative}); {overall:.1%} off overall"


def _array(value: object, what: str) -> np.ndarray:
    if value is None:
        raise AssertionError(f"{what} is None: did the function forget to return its result?")
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{what} is not a number or an array of numbers ({type(value).__name__})") from exc


def _probe_rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- 00 welcome


def verify_pyramid_levels(pyramid_levels: Callable[[int], int]) -> None:
    """Exercise 0.1: the number of x2 levels for x2, x4 and x8."""
    for scale in (2, 4, 8):
        assert_close(pyramid_levels(scale), levels_for_scale(scale), f"levels for x{scale}")


def verify_luma(luma: Callable[[np.ndarray], np.ndarray]) -> None:
    """Exercise 0.2: MATLAB's studio-range Y, on random pixels and on black and white."""
    pixels = _probe_rng().random((4, 5, 3))
    assert_close(luma(pixels), rgb_to_y(pixels), "your Y channel")
    extremes = np.array([[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]])
    assert_close(luma(extremes), [[16 / 255, 235 / 255]], "your Y of a black and a white pixel")


# ---------------------------------------------------------------- 01 pyramids


def _pyramid_probes() -> list[np.ndarray]:
    rng = _probe_rng(1)
    return [rng.random((32, 32)), rng.random((37, 23))]


def verify_laplacian_from_gaussian(laplacian_from_gaussian: Callable[[list[np.ndarray]], list[np.ndarray]]) -> None:
    """Exercise 1.1: bands G_k - expand(G_k+1) and the coarsest level, on even and odd sizes."""
    for image in _pyramid_probes():
        for levels in (2, 4):
            mine = list(laplacian_from_gaussian(gaussian_pyramid(image, levels)))
            expected = laplacian_pyramid(image, levels)
            assert len(mine) == len(expected), (
                f"{levels} Gaussian levels give {len(expected)} Laplacian levels, you returned {len(mine)}"
            )
            for k, (a, b) in enumerate(zip(mine, expected, strict=True)):
                assert_close(a, b, f"level {k} of a {levels}-level pyramid of a {image.shape} image")


def verify_collapse(collapse: Callable[[list[np.ndarray]], np.ndarray]) -> None:
    """Exercise 1.2: collapsing a Laplacian pyramid rebuilds the image exactly."""
    for image in _pyramid_probes():
        for levels in (2, 4):
            assert_close(
                collapse(laplacian_pyramid(image, levels)),
                image,
                f"your reconstruction of a {image.shape} image from {levels} levels",
                atol=1e-10,
            )


# ---------------------------------------------------------------- 02 architecture


def verify_lapsrn_parameters(lapsrn_parameters: Callable[..., int]) -> None:
    """Exercise 2.1: parameter counts at every scale, several depths and widths, both upsamplers."""
    for scale, depth, channels in ((2, 10, 64), (4, 10, 64), (8, 5, 64), (4, 3, 16), (8, 2, 8)):
        for kernel, upsampler in ((3, "released"), (4, "paper")):
            expected = count_parameters(LapSRN(scale=scale, depth=depth, channels=channels, upsampler=upsampler))
            actual = lapsrn_parameters(scale, depth, channels=channels, feature_kernel=kernel)
            assert_close(
                actual,
                expected,
                f"your count for x{scale}, depth {depth}, {channels} channels, {kernel}x{kernel} feature upsampler",
            )


def verify_bilinear_4x4(bilinear_4x4: Callable[[], np.ndarray]) -> None:
    """Exercise 2.2: the 4x4 bilinear kernel."""
    assert_close(bilinear_4x4(), bilinear_kernel(4), "your kernel")


def verify_transposed_output_size(transposed_output_size: Callable[[int, int, int, int], int]) -> None:
    """Exercise 2.3: the output length of ``nn.ConvTranspose2d`` at strides 1 to 4 and several paddings."""
    for n in (1, 5, 8):
        for kernel in (3, 4, 5):
            for stride in (1, 2, 3, 4):
                for padding in (0, 1):
                    layer = nn.ConvTranspose2d(1, 1, kernel, stride=stride, padding=padding)
                    actual = layer(torch.zeros(1, 1, n, n)).shape[-1]
                    mine = transposed_output_size(n, kernel, stride, padding)
                    assert_close(
                        mine, actual, f"your size for n={n}, kernel={kernel}, stride={stride}, padding={padding}"
                    )


def _bias(layer: nn.Conv2d | nn.ConvTranspose2d) -> torch.Tensor:
    """A layer's bias, detached (every layer of a level has one)."""
    if layer.bias is None:
        raise OptionError(f"{layer} has no bias")
    return layer.bias.detach()


def level_weights(model: LapSRN, level: int) -> dict[str, object]:
    """One pyramid level's weights as plain tensors, for exercises 2.5 and 2.6 (a level by hand).

    Keys: ``convs`` (a list of (weight, bias)), ``upsample`` (weight, bias) of the 3x3 feature
    upsampler, ``residual`` (weight, bias), ``image_upsample`` (the 4x4 weight, no bias).
    """
    part = cast(PyramidLevel, model.levels[level])
    if part.upsample.kind != "released":
        raise OptionError("level_weights expects the released (3x3) feature upsampler")
    convs = [m for m in part.convs if isinstance(m, nn.Conv2d)]
    return {
        "convs": [(c.weight.detach(), _bias(c)) for c in convs],
        "upsample": (part.upsample.deconv.weight.detach(), _bias(part.upsample.deconv)),
        "residual": (part.to_residual.weight.detach(), _bias(part.to_residual)),
        "image_upsample": part.image_upsample.deconv.weight.detach(),
    }


def _small_x4(model: LapSRN | None) -> LapSRN:
    """The model a level exercise is checked on: ``model``, or a small random x4 LapSRN."""
    if model is None:
        torch.manual_seed(0)
        model = LapSRN(scale=4, depth=2, channels=8)
    return model.eval()


def verify_upsample_features(
    upsample_features: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> None:
    """Exercise 2.4: the released feature upsampler (3x3 transposed conv, stride 2, last row and
    column cropped) and its LeakyReLU, on random weights, odd and even sizes, two batch sizes."""
    torch.manual_seed(24)
    for channels, shape in ((4, (1, 5, 7)), (3, (2, 8, 6))):
        layer = FeatureUpsampler(channels, "released")
        features = torch.randn(shape[0], channels, *shape[1:])
        with torch.no_grad():
            expected = F.leaky_relu(layer(features), LEAKY_SLOPE)
            mine = upsample_features(features, layer.deconv.weight.detach(), _bias(layer.deconv))
        assert_close(mine, expected, f"your upsampled features for an input of {tuple(features.shape)}", atol=1e-5)


def verify_image_branch(
    image_branch: Callable[[torch.Tensor, torch.Tensor, dict], torch.Tensor], model: LapSRN | None = None
) -> None:
    """Exercise 2.5: a level's output image from the previous image and the level's upsampled
    features, level by level of an x4 model (a small random one without ``model``)."""
    model = _small_x4(model)
    lr = torch.from_numpy(_probe_rng(25).random((2, 1, 7, 10))).float()
    with torch.no_grad():
        expected = model(lr)
        features, image = model.input_act(model.input_conv(lr)), lr
        for s in range(len(model.levels)):
            features, _ = model.levels[s](features)
            mine = image_branch(image, features, level_weights(model, s))
            assert_close(mine, expected[s], f"the image of your level {s + 1}", rtol=1e-4, atol=1e-5)
            image = expected[s]


def verify_pyramid_level(
    pyramid_level: Callable[..., tuple[torch.Tensor, torch.Tensor]], model: LapSRN | None = None
) -> None:
    """Exercise 2.6: a hand-written level, fed ``level_weights(model, s)``, matches the package
    level by level on an x4 model: the features it passes on and the image it outputs.

    ``pyramid_level(features, image, weights) -> (features, image)``. Without ``model`` a small
    random x4 LapSRN is used; the notebook passes the official x4 model when it is present.
    """
    model = _small_x4(model)
    lr = torch.from_numpy(_probe_rng(2).random((1, 1, 9, 11))).float()
    with torch.no_grad():
        expected = model(lr)
        features = model.input_act(model.input_conv(lr))
        image = lr
        for s in range(len(model.levels)):
            mine_features, mine_image = pyramid_level(features, image, level_weights(model, s))
            features, _ = model.levels[s](features)
            assert_close(mine_features, features, f"the features your level {s + 1} passes on", rtol=1e-4, atol=1e-5)
            assert_close(mine_image, expected[s], f"the image your level {s + 1} outputs", rtol=1e-4, atol=1e-5)
            image = expected[s]


# ---------------------------------------------------------------- 03 loss


def verify_charbonnier(charbonnier: Callable[..., torch.Tensor]) -> None:
    """Exercise 3.1: the Charbonnier loss with the paper's reduction, several batch sizes and eps."""
    rng = torch.Generator().manual_seed(3)
    for batch in (1, 4):
        a, b = torch.rand(batch, 1, 8, 8, generator=rng), torch.rand(batch, 1, 8, 8, generator=rng)
        b[:, :, :4] = a[:, :, :4] + 1e-4  # small residuals, where eps matters
        assert_close(charbonnier(a, b), losses.charbonnier(a, b), f"your loss for a batch of {batch}")
        assert_close(
            charbonnier(a, b, eps=0.1), losses.charbonnier(a, b, eps=0.1), f"your loss with eps=0.1, batch of {batch}"
        )


def verify_charbonnier_grad(charbonnier_grad: Callable[..., torch.Tensor]) -> None:
    """Exercise 3.2: the derivative of sqrt(x^2 + eps^2) against autograd, for two eps."""
    for eps in (1e-3, 0.05):
        x = torch.linspace(-0.1, 0.1, 81, dtype=torch.float64, requires_grad=True)
        torch.sqrt(x**2 + eps**2).sum().backward()
        assert_close(charbonnier_grad(x.detach(), eps=eps), x.grad, f"your gradient with eps={eps}")


def verify_deep_supervision_loss(
    deep_supervision_loss: Callable[[list[torch.Tensor], torch.Tensor], torch.Tensor],
) -> None:
    """Exercise 3.3: the sum over levels of the Charbonnier loss, for x2, x4 and x8 models."""
    torch.manual_seed(0)
    hr = torch.rand(2, 1, 32, 32)
    for scale in (2, 4, 8):
        model = LapSRN(scale=scale, depth=1, channels=4).eval()
        levels = levels_for_scale(scale)
        with torch.no_grad():
            predictions = model(imresize_torch(hr, 1.0 / scale))
        expected = losses.multiscale_loss(predictions, pyramid_levels_torch(hr, levels))
        assert_close(
            deep_supervision_loss(predictions, hr),
            expected,
            f"your loss for an x{scale} model ({levels} levels)",
            rtol=1e-4,
        )


# ---------------------------------------------------------------- 04 training


def verify_lr_and_targets(
    lr_and_targets: Callable[[torch.Tensor, int], tuple[torch.Tensor, list[torch.Tensor]]],
) -> None:
    """Exercise 4.1: LR input and per-level targets at x2, x4 and x8."""
    hr = torch.from_numpy(_probe_rng(4).random((2, 1, 48, 48))).float()
    for scale in (2, 4, 8):
        mine_lr, mine_targets = lr_and_targets(hr, scale)
        assert_close(mine_lr, imresize_torch(hr, 1.0 / scale), f"your LR input at x{scale}", atol=1e-5)
        targets = pyramid_levels_torch(hr, levels_for_scale(scale))
        mine_targets = list(mine_targets)
        assert len(mine_targets) == len(targets), (
            f"x{scale} needs {len(targets)} targets, you returned {len(mine_targets)}"
        )
        for k, (a, b) in enumerate(zip(mine_targets, targets, strict=True)):
            assert_close(a, b, f"target {k + 1} at x{scale}", atol=1e-5)


def verify_cosine_lr(cosine_lr: Callable[[int, int, float, float], float]) -> None:
    """Exercise 4.4: the cosine schedule at its ends, its middle and in between, for two runs."""
    for total, lr, lr_min in ((300, 1e-3, 1e-5), (1000, 0.1, 0.0)):
        for t in (0, 1, total // 4, total // 2, total - 1, total):
            expected = lr_min + (lr - lr_min) * 0.5 * (1 + np.cos(np.pi * t / total))
            assert_close(
                cosine_lr(t, total, lr, lr_min),
                expected,
                f"lr at iteration {t} of {total} (lr {lr:g}, lr_min {lr_min:g})",
                rtol=1e-7,
                atol=1e-12,
            )


def _training_probe(scale: int, seed: int) -> tuple[LapSRN, torch.optim.Optimizer, TrainConfig]:
    """A fresh small LapSRN, its optimiser and the quick recipe's configuration, as ``one_batch``
    receives them from the trainer (the learning rate set for the first iteration)."""
    from ..training.config import recipe  # the training machinery only where an exercise needs it
    from ..training.schedule import make_optimizer

    config = recipe("quick", scale=scale, depth=2, channels=8, seed=seed)
    torch.manual_seed(seed)
    network = LapSRN(scale=scale, depth=config.depth, channels=config.channels)
    optimizer = make_optimizer(network, config)
    for group in optimizer.param_groups:
        group["lr"] = config.lr * group["lr_mult"]
    return network, optimizer, config


def _hr_batches(count: int, batch: int = 3, side: int = 32) -> list[torch.Tensor]:
    """``count`` random HR batches, the same at every call."""
    rng = _probe_rng(43)
    return [torch.from_numpy(rng.random((batch, 1, side, side))).float() for _ in range(count)]


def verify_training_step(
    training_step: Callable[[nn.Module, torch.optim.Optimizer, torch.Tensor, int], torch.Tensor],
) -> None:
    """Exercise 4.2: three training steps, each against ``lapsrn_edu.training.loop.one_batch`` on
    the same network, batch and seed: the loss each returns and the weights after each update."""
    from ..training.loop import one_batch

    for scale in (2, 4):
        mine, mine_optimizer, _ = _training_probe(scale, seed=scale)
        theirs, their_optimizer, config = _training_probe(scale, seed=scale)
        for step, hr in enumerate(_hr_batches(3), start=1):
            loss = training_step(mine, mine_optimizer, hr, scale)
            expected = one_batch(theirs, their_optimizer, hr, config)
            what = f"at x{scale}, step {step}"
            assert_close(loss, expected, f"the loss your step returns {what}", rtol=1e-4)
            for (name, a), b in zip(mine.named_parameters(), theirs.parameters(), strict=True):
                assert_close(a, b, f"the weights {name} after your step {what}", rtol=1e-4, atol=1e-6)


def verify_initial_loss(initial_loss: Callable[[torch.Tensor, int], float]) -> None:
    """Exercise 4.3: the loss of a freshly initialised LapSRN, predicted from the HR batch alone,
    within 2% of the first loss ``one_batch`` reports, at x2, x4 and x8 and for two seeds."""
    from ..training.loop import one_batch

    for scale in (2, 4, 8):
        hr = _hr_batches(1, batch=4, side=64)[0]
        predicted = initial_loss(hr, scale)
        for seed in (0, 1):
            network, optimizer, config = _training_probe(scale, seed)
            actual = float(one_batch(network, optimizer, hr, config))
            assert_close(predicted, actual, f"your predicted loss at x{scale} (fresh network, seed {seed})", rtol=0.02)


# ---------------------------------------------------------------- 09 benchmarks


def verify_mod_crop(mod_crop_exercise: Callable[[np.ndarray, int], np.ndarray]) -> None:
    """Exercise 9.1: the top-left crop to multiples of the scale, colour and gray, several scales."""
    rng = _probe_rng(9)
    for shape in ((31, 45, 3), (17, 16)):
        probe = rng.random(shape)
        for scale in (2, 3, 4, 8):
            assert_close(
                mod_crop_exercise(probe, scale), mod_crop(probe, scale), f"your crop of a {shape} image at x{scale}"
            )


def verify_protocol_psnr(protocol_psnr: Callable[[np.ndarray, np.ndarray, int], float]) -> None:
    """Exercise 9.2: PSNR as the official code computes it: RGB rounded to 8 bits, then Y, then shave.

    Rounding the Y channel instead of RGB is off by about a hundredth of a dB here: it fails.
    """
    rng = _probe_rng(10)
    for scale in (2, 4):
        gt = rng.random((40, 44, 3))
        sr = np.clip(gt + rng.normal(0, 0.02, gt.shape), 0, 1)
        assert_close(
            protocol_psnr(gt, sr, scale), score(gt, sr, scale)[0], f"your PSNR at x{scale}", rtol=1e-7, atol=1e-9
        )


def verify_cubic_kernel(matlab_cubic: Callable[[np.ndarray], np.ndarray]) -> None:
    """Exercise 9.3: MATLAB's cubic kernel (a = -0.5) on [-3, 3], including 0, 1 and 2."""
    x = np.concatenate([np.linspace(-3, 3, 121), [0.0, 1.0, -1.0, 2.0, -2.0]])
    assert_close(matlab_cubic(x), cubic(x), "your kernel", atol=1e-9)


def verify_ssim_from_statistics(ssim_from_statistics: Callable[..., np.ndarray]) -> None:
    """Exercise 9.4: SSIM from local statistics (luminance x contrast x structure, C3 = C2 / 2),
    on random statistics, flat patches (zero variance) and whole images against :func:`ssim`."""
    rng = _probe_rng(11)
    mu_x, mu_y = rng.random((6, 7)), rng.random((6, 7))
    var_x, var_y = rng.random((6, 7)) * 0.05, rng.random((6, 7)) * 0.05
    cov = np.sqrt(var_x * var_y) * rng.uniform(-1, 1, (6, 7))
    var_x[0], var_y[0], cov[0] = 0.0, 0.0, 0.0  # a flat patch in both images: only the constants keep it finite
    expected = ((2 * mu_x * mu_y + SSIM_C1) * (2 * cov + SSIM_C2)) / (
        (mu_x**2 + mu_y**2 + SSIM_C1) * (var_x + var_y + SSIM_C2)
    )
    got = np.asarray(ssim_from_statistics(mu_x, mu_y, var_x, var_y, cov), dtype=np.float64)
    assert_close(got, expected, "your SSIM map from these statistics", rtol=1e-9, atol=1e-12)
    x = rng.random((24, 20))
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1)
    w = gaussian_window()

    def blur(a: np.ndarray) -> np.ndarray:
        return correlate1d(correlate1d(a, w, axis=0, mode="nearest"), w, axis=1, mode="nearest")

    mx, my = blur(x), blur(y)
    mine = float(np.mean(ssim_from_statistics(mx, my, blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my)))
    assert_close(mine, ssim(y, x), "the mean of your SSIM map over a whole image", rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- 10 MS-LapSRN


def verify_mslapsrn_macs(mslapsrn_macs: Callable[..., int]) -> None:
    """Exercise 10.1: the multiply-accumulates of one MS-LapSRN forward pass, against the package's
    hooks (:func:`lapsrn_edu.evaluation.flops.count_macs`) for several D, R, scales, widths and sizes."""
    from ..evaluation.flops import count_macs

    for depth, recursions, scale, channels, side in (
        (5, 8, 4, 64, 16),
        (2, 1, 2, 8, 12),
        (3, 4, 8, 16, 9),
        (1, 2, 8, 4, 5),
    ):
        model = MSLapSRN(depth=depth, recursions=recursions, channels=channels, scale=scale)
        expected = count_macs(model, torch.zeros(1, 1, side, side), levels_for_scale(scale))
        assert_close(
            mslapsrn_macs(depth, recursions, scale, side, channels=channels),
            expected,
            f"your count for D{depth}R{recursions} at x{scale}, {channels} channels, a {side}x{side} LR input",
        )


def verify_multiscale_training_loss(
    multiscale_training_loss: Callable[[nn.Module, torch.Tensor], torch.Tensor],
) -> None:
    """Exercise 10.2: deep-supervision losses summed over x2, x4 and x8, two batch sizes."""
    torch.manual_seed(0)
    small = MSLapSRN(depth=2, recursions=2, channels=8)
    for batch in (1, 2):
        hr = torch.rand(batch, 1, 32, 32)
        with torch.no_grad():
            expected = sum(
                losses.multiscale_loss(small(imresize_torch(hr, 1 / 2**k), levels=k), pyramid_levels_torch(hr, k))
                for k in (1, 2, 3)
            )
            assert_close(multiscale_training_loss(small, hr), expected, f"your loss for a batch of {batch}", rtol=1e-4)


def verify_subpixel_upsample(
    subpixel_upsample: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> None:
    """Exercise 10.3: a 3x3 conv (padding 1) to 4C channels, then each pixel's four channels of a
    group laid out as its 2x2 block (PyTorch's pixel-shuffle order), checked against that layout
    written out index by index, for two widths, odd and even sizes and two batch sizes."""
    torch.manual_seed(103)
    for channels, shape in ((3, (1, 5, 7)), (2, (2, 4, 6))):
        features = torch.randn(shape[0], channels, *shape[1:])
        weight, bias = torch.randn(4 * channels, channels, 3, 3), torch.randn(4 * channels)
        conv = F.conv2d(features, weight, bias, padding=1)
        expected = torch.zeros(shape[0], channels, 2 * shape[1], 2 * shape[2])
        for a in (0, 1):
            for b in (0, 1):
                expected[:, :, a::2, b::2] = conv[:, [4 * c + 2 * a + b for c in range(channels)]]
        mine = subpixel_upsample(features, weight, bias)
        assert_close(mine, expected, f"your upsampled features for an input of {tuple(features.shape)}", atol=1e-5)


# Every exercise of the course, by number, with the function that checks it.
VERIFIERS: dict[str, Callable[..., None]] = {
    "0.1": verify_pyramid_levels,
    "0.2": verify_luma,
    "1.1": verify_laplacian_from_gaussian,
    "1.2": verify_collapse,
    "2.1": verify_lapsrn_parameters,
    "2.2": verify_bilinear_4x4,
    "2.3": verify_transposed_output_size,
    "2.4": verify_upsample_features,
    "2.5": verify_image_branch,
    "2.6": verify_pyramid_level,
    "3.1": verify_charbonnier,
    "3.2": verify_charbonnier_grad,
    "3.3": verify_deep_supervision_loss,
    "4.1": verify_lr_and_targets,
    "4.2": verify_training_step,
    "4.3": verify_initial_loss,
    "4.4": verify_cosine_lr,
    "9.1": verify_mod_crop,
    "9.2": verify_protocol_psnr,
    "9.3": verify_cubic_kernel,
    "9.4": verify_ssim_from_statistics,
    "10.1": verify_mslapsrn_macs,
    "10.2": verify_multiscale_training_loss,
    "10.3": verify_subpixel_upsample,
}
