"""The experiment-reading exercises of lessons 05 to 08: each check accepts the instructor's
solution (taken from the answer key, as the instructor build runs it) and rejects planted wrong
answers; the prediction fields never stop a lesson."""

from __future__ import annotations

import copy
import math
import re
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from lapsrn_edu import studies
from lapsrn_edu.course import answer_key, reading_exercises
from lapsrn_edu.course.exercises import ExerciseFailed, check
from lapsrn_edu.models import LapSRN, OneShotSR, count_parameters
from lapsrn_edu.studies import Decision, StudyResult, verdict

SOURCES = Path(__file__).resolve().parent.parent / "tools" / "notebooks"
LESSONS = {"5": "05_study_residual_learning", "6": "06_study_loss", "7": "07_study_pyramid", "8": "08_study_depth"}


def solution(number: str) -> list[Callable[..., Any]]:
    """The functions the answer key's solution of exercise ``number`` defines, in order, run in a
    namespace holding what the lessons import."""
    code = answer_key.lesson_key(LESSONS[number.split(".")[0]]).solutions[f"Exercise {number}"]
    namespace: dict[str, Any] = {
        "math": math,
        "copy": copy,
        "statistics": statistics,
        "np": np,
        "torch": torch,
        "studies": studies,
        "verdict": verdict,
        "Decision": Decision,
        "StudyResult": StudyResult,
        "LapSRN": LapSRN,
        "OneShotSR": OneShotSR,
        "count_parameters": count_parameters,
    }
    exec(code, namespace)  # noqa: S102 (the project's own answer key)
    names = re.findall(r"^def (\w+)", code, flags=re.M)
    return [namespace[name] for name in names]


# --- planted wrong answers ---------------------------------------------------------------------------


def reproduced_no_floor(n1, n2, sd, dof, paper_margin=None):
    half = verdict.t_quantile(dof) * sd * math.sqrt(1 / n1 + 1 / n2)
    return max(half, paper_margin / 2 if paper_margin else 0.0)


def reproduced_no_paper(n1, n2, sd, dof, paper_margin=None):
    return max(verdict.t_quantile(dof) * sd * math.sqrt(1 / n1 + 1 / n2), verdict.FLOOR_DB)


def reproduced_normal(n1, n2, sd, dof, paper_margin=None):
    return max(1.96 * sd * math.sqrt(1 / n1 + 1 / n2), verdict.FLOOR_DB, paper_margin / 2 if paper_margin else 0.0)


def reproduced_equal_seeds(n1, n2, sd, dof, paper_margin=None):
    return max(verdict.t_quantile(dof) * sd * math.sqrt(2 / n1), verdict.FLOOR_DB, (paper_margin or 0.0) / 2)


def decision_by(pool: str = "groups", t: str = "student", set14: bool = True, paper: bool = True):
    """A hand reading with one planted mistake: the SD of the two variants only, 1.96, Set14 ignored,
    the paper's effect ignored."""

    def read_decision(better, worse, groups, set14_margin=None, paper_margin=None):
        margin = statistics.fmean(better) - statistics.fmean(worse)
        used = groups if pool == "groups" else [better, worse]
        dof = sum(len(g) - 1 for g in used)
        if dof == 0:
            return margin, math.nan, math.nan, "inconclusive"
        sd = math.sqrt(sum((x - statistics.fmean(g)) ** 2 for g in used for x in g) / dof)
        quantile = verdict.t_quantile(dof) if t == "student" else 1.96
        half = quantile * sd * math.sqrt(1 / len(better) + 1 / len(worse))
        low, high = margin - half, margin + half
        if high < 0:
            return margin, low, high, "reversed"
        if low <= 0:
            return margin, low, high, "inconclusive"
        large = margin >= verdict.FLOOR_DB and (not paper or paper_margin is None or margin >= paper_margin / 2)
        agrees = not set14 or (set14_margin is not None and set14_margin > 0)
        return margin, low, high, "reproduced" if large and agrees else "same direction, smaller"

    return read_decision


def planned_by(cut_others: bool = True, cut_result: bool = True, keep_planned_seed: bool = False):
    def planned_decisions(result, others):
        def cut(r, really):
            if really and r.planned_seeds:
                last = r.planned_seeds if keep_planned_seed else r.planned_seeds - 1
                r.variants = [v for v in r.variants if v.seed <= last]
            return r

        return studies.read(cut(result, cut_result), [cut(o, cut_others) for o in others]).decisions

    return planned_decisions


def step_inverted(rate, errors, eps=1e-3):
    return float(rate * np.mean(np.abs(2 * errors)) / np.mean(np.abs(errors) / np.sqrt(errors**2 + eps**2)))


def step_without_two(rate, errors, eps=1e-3):
    return float(rate * np.mean(np.abs(errors) / np.sqrt(errors**2 + eps**2)) / np.mean(np.abs(errors)))


def step_sign_only(rate, errors, eps=1e-3):
    return float(rate * np.mean(errors != 0) / np.mean(np.abs(2 * errors)))


def one_shot_count(image_kernel: bool = True, upsampler_kernel: int | None = None):
    def one_shot_parameters(scale, depth, channels):
        c, k = channels, 2 * scale
        u = upsampler_kernel or k
        body = depth * int(math.log2(scale)) * (9 * c * c + c)
        return 10 * c + body + u * u * c * c + c + 9 * c + 1 + (k * k if image_kernel else 0)

    return one_shot_parameters


def channels_by_ratio(scale, depth, channels):
    """Width scaled by the square root of the weight ratio: near, not the closest."""
    ratio = count_parameters(LapSRN(scale=scale, depth=depth, channels=channels)) / count_parameters(
        OneShotSR(scale=scale, depth=depth, channels=channels)
    )
    return int(channels * math.sqrt(ratio))


def chance_normal(margin, sd, n1, n2, dof):
    from scipy.stats import norm

    return float(norm.sf(1.96 - margin / (sd * math.sqrt(1 / n1 + 1 / n2))))


def chance_two_sided(margin, sd, n1, n2, dof):
    from scipy.stats import nct

    shift = margin / (sd * math.sqrt(1 / n1 + 1 / n2))
    quantile = verdict.t_quantile(dof)
    return float(nct.sf(quantile, dof, shift) + nct.cdf(-quantile, dof, shift))


def chance_ignoring_seeds(margin, sd, n1, n2, dof):
    """Every study as if it had two seeds per variant."""
    return reading_exercises.chance_above_zero_reference(margin, sd, 2, 2, dof)


def per_iteration_fixed(result):
    return {n: statistics.fmean(v.train_seconds / 3000 for v in result.runs_of(n)) for n in result.variant_names()}


def equal_time_inverted(per_iteration, reference, iterations):
    return {n: round(iterations * t / per_iteration[reference]) for n, t in per_iteration.items()}


def look_by(seed_zero: bool = False, absolute: bool = False, last_is_best: bool = False):
    def look_then_choose(result, better, worse):
        def curve(name):
            runs = result.runs_of(name)[:1] if seed_zero else result.runs_of(name)
            return np.mean([r.val_psnr for r in runs], axis=0)

        margins = curve(better) - curve(worse)
        best = int(np.argmax(np.abs(margins) if absolute else margins))
        iterations = result.runs_of(better)[0].iterations
        return iterations[best], float(margins[best]), float(margins[best] if last_is_best else margins[-1])

    return look_then_choose


# exercise -> [wrong answers], each a tuple of the functions the exercise defines
WRONG: dict[str, list[tuple[Callable[..., Any], ...]]] = {
    "5.1": [(reproduced_no_floor,), (reproduced_no_paper,), (reproduced_normal,), (reproduced_equal_seeds,)],
    "5.2": [
        (decision_by(pool="variants"),),
        (decision_by(t="normal"),),
        (decision_by(set14=False),),
        (decision_by(paper=False),),
    ],
    "6.1": [
        (planned_by(cut_others=False),),
        (planned_by(cut_result=False),),
        (planned_by(keep_planned_seed=True),),
        (planned_by(cut_others=False, cut_result=False),),
    ],
    "6.2": [(step_inverted,), (step_without_two,), (step_sign_only,)],
    "7.1": [
        (one_shot_count(image_kernel=False), lambda s, d, c: solution("7.1")[1](s, d, c)),
        (one_shot_count(upsampler_kernel=3), lambda s, d, c: solution("7.1")[1](s, d, c)),
        (one_shot_count(), channels_by_ratio),
    ],
    "7.2": [(chance_normal,), (chance_two_sided,), (chance_ignoring_seeds,)],
    "8.1": [
        (per_iteration_fixed, lambda p, r, i: solution("8.1")[1](p, r, i)),
        (lambda result: solution("8.1")[0](result), equal_time_inverted),
    ],
    "8.2": [(look_by(seed_zero=True),), (look_by(absolute=True),), (look_by(last_is_best=True),)],
}


def run(number: str, answer: tuple[Callable[..., Any], ...]) -> str:
    """check() strict on one answer: '' when it passes, the one-line verdict when it fails."""
    try:
        check(f"Exercise {number}", reading_exercises.VERIFIERS[number], *answer, strict=True)
    except ExerciseFailed as exc:
        return str(exc)
    return ""


def test_every_reading_exercise_has_wrong_answers():
    assert sorted(WRONG) == sorted(reading_exercises.VERIFIERS)


@pytest.mark.parametrize("number", sorted(reading_exercises.VERIFIERS))
def test_the_answer_keys_solution_passes(number):
    assert run(number, tuple(solution(number))) == ""


@pytest.mark.parametrize("number", sorted(WRONG))
def test_planted_wrong_answers_fail(number):
    for i, wrong in enumerate(WRONG[number]):
        verdict_line = run(number, wrong)
        assert verdict_line.startswith(f"Exercise {number}: "), f"wrong answer {i} passed exercise {number}"
        assert "\n" not in verdict_line


def test_the_lessons_check_each_exercise_with_its_reading_verifier():
    for number, verifier in reading_exercises.VERIFIERS.items():
        text = (SOURCES / f"{LESSONS[number.split('.')[0]]}.md").read_text(encoding="utf-8")
        assert re.search(rf'check\(\s*"Exercise {re.escape(number)}",\s*{verifier.__name__}\b', text), (
            f"exercise {number} is not checked with {verifier.__name__}"
        )


def test_the_planned_reading_of_the_loss_study_is_the_committed_one():
    """What lesson 06 states after exercise 6.1: the third seed changed no reading."""
    loss = studies.load_result("loss")
    assert loss is not None and loss.planned_seeds == 2
    planned = reading_exercises.planned_reading(loss, studies.committed_results())
    assert [d.verdict for d in planned] == [d.verdict for d in loss.decisions]


@pytest.mark.parametrize("number", ["5", "6", "7", "8"])
def test_every_result_and_live_run_is_preceded_by_a_prediction_field(number):
    """Predict, then reveal: a filled-in field before each committed result and each live run, and
    the bold reading of a committed result comes after it."""
    text = (SOURCES / f"{LESSONS[number]}.md").read_text(encoding="utf-8")
    cells = re.split(r"\n```\{code-cell\}", text)
    reveals = [i for i, c in enumerate(cells) if "studies.load_result(" in c and "print(" in c and "summary()" in c]
    reveals += [i for i, c in enumerate(cells) if "studies.run_study(" in c]
    assert reveals
    for i in reveals:
        before = cells[i - 1]
        assert 'my_prediction = ""' in before and "note_prediction(my_prediction" in before, (
            f"lesson {LESSONS[number]}: no prediction field right before cell {i}"
        )
    for bold in re.finditer(r"\*\*What the (committed|SGD|x8|long) result says", text):
        assert text.rfind('my_prediction = ""', 0, bold.start()) != -1
