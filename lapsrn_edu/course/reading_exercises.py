"""Checks for the experiment-reading exercises of the study lessons (05 to 08). (Their prediction
fields, filled in before a result is shown, use :func:`.exercises.note_prediction`, as every lesson.)

The exercises of lessons 05 to 08 practise what the studies are for: reading a decision from the
per-seed numbers of a committed file, predicting what a design can decide before its result is
shown, sizing a fair comparison, and seeing what a choice made after a look at the result does.
Each ``verify_*`` function below follows the pattern of :mod:`.exercises` (several probes, so that
an answer fitting one case fails another; an ``AssertionError`` a student can act on) and checks
the student's computation against the package's own: :mod:`lapsrn_edu.studies.verdict` for the
rule, :func:`lapsrn_edu.studies.read` for a file, the model registry for the sizes.
``tests/test_reading_exercises.py`` feeds each a planted wrong answer and the instructor's solution.
"""

from __future__ import annotations

import copy
import math
import statistics
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..models import LapSRN, OneShotSR, count_parameters
from ..studies import StudyResult, committed_results, load_result, read
from ..studies.results import recipe_groups
from ..studies.runner import equal_time_iterations
from ..studies.verdict import FLOOR_DB, Decision, SeedNoise, decide, pooled_noise, t_quantile
from ..training import losses
from .exercises import assert_close

# ---------------------------------------------------------------- shared probes


def _committed(name: str) -> StudyResult:
    found = load_result(name)
    if found is None:
        raise AssertionError(f"data/studies/{name}.json is missing: the check needs the committed results")
    return found


def _same(actual: object, expected: float, what: str, atol: float = 1e-9) -> None:
    """assert_close that also accepts nan where nan is expected (no estimate of the noise)."""
    if math.isnan(expected):
        if not (isinstance(actual, (int, float, np.floating)) and math.isnan(float(actual))):
            raise AssertionError(f"{what} should be nan (no degrees of freedom, so no interval), got {actual!r}")
        return
    assert_close(actual, expected, what, rtol=1e-7, atol=atol)


# ---------------------------------------------------------------- 05 residual learning


def _reproduced_above(n1: int, n2: int, sd: float, dof: int, paper_margin: float | None) -> float:
    half = t_quantile(dof) * sd * math.sqrt(1 / n1 + 1 / n2)
    return max(half, FLOOR_DB, paper_margin / 2 if paper_margin is not None else 0.0)


def verify_smallest_reproduced_margin(smallest_reproduced_margin: Callable[..., float]) -> None:
    """Exercise 5.1: the margin above which a design reads "reproduced" (Set14 agreeing), for
    several seeds, noises and paper effects; each answer is also put through the package's rule."""
    probes = [  # (n1, n2, sd, dof, paper_margin): the interval, the floor or the paper's effect binds
        (2, 2, 0.05, 14, None),
        (2, 2, 0.0168, 14, None),
        (3, 3, 0.0168, 14, 0.7),
        (2, 2, 0.05, 2, None),
        (1, 3, 0.06, 5, None),
        (4, 2, 0.03, 3, 1.0),
    ]
    for n1, n2, sd, dof, paper in probes:
        what = f"your margin for {n1} and {n2} seeds, SD {sd} dB with {dof} degrees of freedom" + (
            f", paper's effect {paper} dB" if paper is not None else ""
        )
        mine = smallest_reproduced_margin(n1, n2, sd, dof, paper)
        assert_close(mine, _reproduced_above(n1, n2, sd, dof, paper), what, rtol=1e-6, atol=1e-9)
        for factor, expected in ((1.001, True), (0.999, False)):
            margin = float(mine) * factor
            d = decide(
                [margin] * n1, [0.0] * n2, SeedNoise(sd, dof, 0, ""), set14=([1.0] * n1, [0.0] * n2), paper_margin=paper
            )
            assert (d.verdict == "reproduced") is expected, (
                f"{what}: the package reads a margin of {margin:.4f} dB as {d.verdict!r}"
            )


Probe = tuple[list[float], list[float], list[list[float]], float | None, float | None, Decision]


def _decision_probes() -> list[Probe]:
    """Every decision of every committed file, with what the package decided, and a few made up to
    reach the cases the files do not (Set14 against, no Set14, no degrees of freedom)."""
    every = committed_results()
    probes: list[Probe] = []
    for r in every:
        groups, _ = recipe_groups(r, every)
        for d in r.decisions:
            better = [v.final_psnr for v in r.runs_of(d.better)]
            worse = [v.final_psnr for v in r.runs_of(d.worse)]
            probes.append((better, worse, groups, d.set14_margin, d.paper_margin, d))
    made_up = [
        ([30.9, 30.95], [30.7, 30.72], [[30.9, 30.95], [30.7, 30.72], [29.0, 29.03]], -0.02, None),
        ([30.9, 30.95], [30.7, 30.72], [[30.9, 30.95], [30.7, 30.72], [29.0, 29.03]], None, None),
        ([30.9, 30.95, 30.93], [30.7, 30.72], [[30.9, 30.95, 30.93], [30.7, 30.72]], 0.1, 0.5),
        ([30.9], [30.7], [[30.9], [30.7]], 0.1, None),
    ]
    for better, worse, groups, set14, paper in made_up:
        noise = pooled_noise(groups, "")
        set14_pair = None if set14 is None else ([set14] * len(better), [0.0] * len(worse))
        decision = decide(better, worse, noise, set14=set14_pair, paper_margin=paper)
        probes.append((better, worse, groups, set14, paper, decision))
    return probes


def verify_read_decision(read_decision: Callable[..., tuple[float, float, float, str]]) -> None:
    """Exercise 5.2: margin, 95% interval on the pooled seed SD, and the reading, for every decision
    of the committed files and for cases they lack, against the package's rule."""
    for better, worse, groups, set14, paper, d in _decision_probes():
        what = f"{d.better} against {d.worse}"
        answer = read_decision(list(better), list(worse), [list(g) for g in groups], set14, paper)
        assert isinstance(answer, tuple) and len(answer) == 4, (
            f"{what}: return (margin, low, high, reading), got {answer!r:.80}"
        )
        margin, low, high, reading = answer
        _same(margin, d.margin, f"your margin of {what}")
        _same(low, d.low, f"the low end of your interval of {what}")
        _same(high, d.high, f"the high end of your interval of {what}")
        assert reading == d.verdict, (
            f"{what} (margin {d.margin:+.3f}, interval {d.low:+.3f} to {d.high:+.3f}, Set14 "
            f"{'not scored' if set14 is None else f'{set14:+.2f}'}): your reading is {reading!r}, the rule's "
            f"{d.verdict!r}"
        )


# ---------------------------------------------------------------- 06 loss


def planned_reading(result: StudyResult, others: Sequence[StudyResult]) -> list[Decision]:
    """The package's reading of ``result`` with only the seeds planned before the first look, in
    it and in every file its noise is pooled with (the reference of exercise 6.1)."""
    cut = [copy.deepcopy(r) for r in [result, *others]]
    for r in cut:
        if r.planned_seeds:
            r.variants = [v for v in r.variants if v.seed < r.planned_seeds]
    return read(cut[0], cut[1:]).decisions


def verify_planned_decisions(planned_decisions: Callable[[StudyResult, list[StudyResult]], list[Decision]]) -> None:
    """Exercise 6.1: the decisions of a file read with the planned seeds only: the two files that
    added a seed after a look, a file that added none but pools its noise with them, and one whose
    plan is made up to be a single seed."""
    loss, pyramid, residual, depth = (_committed(n) for n in ("loss", "pyramid", "residual", "depth"))
    single = copy.deepcopy(depth)
    single.planned_seeds = 1
    for result in (loss, pyramid, residual, single):
        name = result.file_name + (" (planned: one seed)" if result is single else "")
        others = committed_results()
        expected = planned_reading(result, others)
        mine = list(planned_decisions(copy.deepcopy(result), [copy.deepcopy(o) for o in others]))
        assert len(mine) == len(expected), f"{name}: {len(expected)} decisions expected, you returned {len(mine)}"
        for a, b in zip(mine, expected, strict=True):
            what = f"{name}, {b.better} against {b.worse}"
            assert (a.better, a.worse) == (b.better, b.worse), f"{name}: decisions out of order"
            _same(a.margin, b.margin, f"the margin of {what} with the planned seeds")
            _same(a.sd, b.sd, f"the pooled seed SD of {what} with the planned seeds (which runs did you pool?)")
            _same(a.low, b.low, f"the low end of the interval of {what}")
            assert a.verdict == b.verdict, f"{what}: your reading {a.verdict!r}, with the planned seeds {b.verdict!r}"


def _step_ratio(errors: np.ndarray, eps: float) -> float:
    """Mean size of the Charbonnier loss's gradient per pixel over that of L2's, by autograd."""
    sizes = []
    for loss in ("charbonnier", "l2"):
        prediction = torch.tensor(np.asarray(errors, dtype=np.float64)).reshape(1, 1, 1, -1).requires_grad_(True)
        target = torch.zeros_like(prediction)
        if loss == "charbonnier":
            losses.charbonnier(prediction, target, eps=eps).backward()
        else:
            losses.l2(prediction, target).backward()
        assert prediction.grad is not None
        sizes.append(float(prediction.grad.abs().mean()))
    return sizes[0] / sizes[1]


def verify_equal_step_rate(equal_step_rate: Callable[..., float]) -> None:
    """Exercise 6.2: the SGD rate at which L2's gradient matches the Charbonnier loss's in mean size
    per pixel, for large and small errors (where eps matters), two eps and two rates."""
    rng = np.random.default_rng(62)
    cases = [
        (1e-5, rng.normal(0, 0.05, (48, 48)), 1e-3),
        (3e-5, rng.normal(0, 0.05, (48, 48)), 1e-3),
        (1e-5, rng.normal(0, 0.004, (48, 48)), 1e-2),
        (1e-4, rng.uniform(-0.3, 0.3, (20, 30)), 1e-3),
        (1e-5, np.concatenate([np.zeros(50), rng.normal(0, 0.02, 150)]), 5e-3),
    ]
    for rate, errors, eps in cases:
        expected = rate * _step_ratio(errors, eps)
        assert_close(
            equal_step_rate(rate, errors.copy(), eps),
            expected,
            f"your L2 rate for a Charbonnier rate of {rate:g}, eps {eps:g}, errors of typical size "
            f"{np.mean(np.abs(errors)):.3f}",
            rtol=1e-6,
            atol=0,
        )


# ---------------------------------------------------------------- 07 pyramid


def _one_shot_channels(scale: int, depth: int, target: int) -> int:
    """The channels whose OneShotSR count is closest to ``target``: the count is a quadratic in the
    channels, fitted exactly from three small networks built by the package."""
    counts = [count_parameters(OneShotSR(scale=scale, depth=depth, channels=c)) for c in (1, 2, 3)]
    a = (counts[2] - 2 * counts[1] + counts[0]) / 2
    b = counts[1] - counts[0] - 3 * a
    k = counts[0] - a - b
    return min(range(1, 1025), key=lambda c: abs(a * c * c + b * c + k - target))


def verify_one_shot_sizes(
    one_shot_parameters: Callable[[int, int, int], int], same_parameters_channels: Callable[[int, int, int], int]
) -> None:
    """Exercise 7.1: the one-shot network's weights at several scales, depths and widths, and the
    width that matches a LapSRN's weights (the study's ``same_parameters_as`` rule)."""
    for scale, depth, channels in ((2, 1, 8), (4, 5, 64), (8, 5, 64), (4, 3, 16), (8, 2, 32), (2, 10, 64)):
        expected = count_parameters(OneShotSR(scale=scale, depth=depth, channels=channels))
        assert_close(
            one_shot_parameters(scale, depth, channels),
            expected,
            f"your weight count of OneShotSR(scale={scale}, depth={depth}, channels={channels})",
            rtol=0,
            atol=0.5,
        )
    for scale, depth, channels in ((4, 5, 64), (8, 5, 64), (2, 10, 64), (4, 3, 32), (8, 2, 16)):
        target = count_parameters(LapSRN(scale=scale, depth=depth, channels=channels))
        mine = int(same_parameters_channels(scale, depth, channels))
        expected = _one_shot_channels(scale, depth, target)
        assert mine == expected, (
            f"LapSRN(scale={scale}, depth={depth}, channels={channels}) has {target:,} weights: the closest one-shot "
            f"network of depth {depth} has {expected} channels "
            f"({count_parameters(OneShotSR(scale=scale, depth=depth, channels=expected)):,} weights); yours, "
            f"{mine}, has {count_parameters(OneShotSR(scale=scale, depth=depth, channels=max(mine, 1))):,}"
        )


def chance_above_zero_reference(margin: float, sd: float, n1: int, n2: int, dof: int) -> float:
    """The chance that the 95% interval lies above zero when the true margin is ``margin``: the
    margin over its estimated standard error follows a noncentral t."""
    from scipy.stats import nct

    shift = margin / (sd * math.sqrt(1 / n1 + 1 / n2))
    return float(nct.sf(t_quantile(dof), dof, shift))


def verify_chance_above_zero(chance_above_zero: Callable[[float, float, int, int, int], float]) -> None:
    """Exercise 7.2: how likely a design reads a true margin as above zero, within 0.01 (a
    simulation of 100,000 studies is close enough), for few and many degrees of freedom."""
    for margin, sd, n1, n2, dof in (
        (0.1, 0.05, 2, 2, 2),
        (0.1, 0.05, 2, 2, 14),
        (0.05, 0.0168, 3, 3, 14),
        (0.0, 0.05, 2, 2, 2),
        (0.3, 0.1, 2, 2, 2),
        (0.08, 0.05, 3, 1, 6),
        (-0.1, 0.05, 2, 2, 6),
    ):
        assert_close(
            chance_above_zero(margin, sd, n1, n2, dof),
            chance_above_zero_reference(margin, sd, n1, n2, dof),
            f"your chance for a true margin of {margin} dB, SD {sd}, {n1} and {n2} seeds, {dof} degrees of freedom",
            rtol=0,
            atol=0.01,
        )


# ---------------------------------------------------------------- 08 depth


def verify_equal_time(
    seconds_per_iteration: Callable[[StudyResult], dict[str, float]],
    equal_time_iterations_exercise: Callable[[dict[str, float], str, int], dict[str, int]],
) -> None:
    """Exercise 8.1: each variant's training seconds per iteration in committed files (the baselines
    trained different lengths), and the iterations each gets in one variant's time."""
    files = (("depth", "depth 10"), ("depth-long", "depth 3"), ("baselines", "LapSRN"), ("pyramid", "LapSRN"))
    for name, reference in files:
        result = _committed(name)
        expected = {
            n: statistics.fmean(v.train_seconds / v.iterations[-1] for v in result.runs_of(n))
            for n in result.variant_names()
        }
        mine = dict(seconds_per_iteration(copy.deepcopy(result)))
        assert sorted(mine) == sorted(expected), f"{name}.json: one entry per variant, {sorted(expected)}"
        for n in expected:
            assert_close(mine[n], expected[n], f"your seconds per iteration of {n} in {name}.json", rtol=1e-9)
        for iterations in (3000, 1000):
            counts = equal_time_iterations(expected, reference, iterations)
            got = dict(equal_time_iterations_exercise(dict(expected), reference, iterations))
            for n, count in counts.items():
                assert n in got, f"no count for {n}"
                what = f"your iterations for {n} in the time {reference} takes for {iterations:,}"
                assert_close(got[n], count, what, rtol=0, atol=0.5)


def _mean_curve(result: StudyResult, name: str) -> dict[int, float]:
    curves = [dict(zip(v.iterations, v.val_psnr, strict=True)) for v in result.runs_of(name)]
    return {it: statistics.fmean(c[it] for c in curves) for it in curves[0]}


def verify_look_then_choose(look_then_choose: Callable[[StudyResult, str, str], tuple[int, float, float]]) -> None:
    """Exercise 8.2: the checkpoint with the largest Set5 margin (the one a look would pick), that
    margin and the last one, for several pairs of several files."""
    for name, better, worse in (
        ("depth", "depth 5", "depth 3"),
        ("depth", "depth 10", "depth 5"),
        ("depth", "depth 15", "depth 10"),
        ("depth-long", "depth 10", "depth 5"),
        ("residual", "LapSRN", "no residual"),
        ("pyramid-x8", "LapSRN", "one-shot, same convolutions"),
    ):
        result = _committed(name)
        a, b = _mean_curve(result, better), _mean_curve(result, worse)
        margins = {it: a[it] - b[it] for it in a}
        best = max(margins, key=lambda it: margins[it])
        last = max(margins)
        answer = look_then_choose(copy.deepcopy(result), better, worse)
        what = f"{better} against {worse} in {name}.json"
        assert isinstance(answer, tuple) and len(answer) == 3, f"{what}: return (iteration, its margin, last margin)"
        iteration, margin, final = answer
        assert int(iteration) == best, (
            f"{what}: the largest margin is after {best:,} iterations ({margins[best]:+.3f} dB), you chose {iteration}"
        )
        assert_close(margin, margins[best], f"your largest margin of {what}", rtol=1e-9)
        assert_close(final, margins[last], f"your last margin of {what}", rtol=1e-9)


# Every experiment-reading exercise, by number, with the function that checks it.
VERIFIERS: dict[str, Callable[..., None]] = {
    "5.1": verify_smallest_reproduced_margin,
    "5.2": verify_read_decision,
    "6.1": verify_planned_decisions,
    "6.2": verify_equal_step_rate,
    "7.1": verify_one_shot_sizes,
    "7.2": verify_chance_above_zero,
    "8.1": verify_equal_time,
    "8.2": verify_look_then_choose,
}
