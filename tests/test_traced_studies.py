"""Figures of our own study runs quoted in prose, each formatted here from the committed file it
comes from (``data/studies/*.json``) and looked up in the text (``helpers.assert_quoted``): when a
committed result changes, these tests fail until the prose follows it. A figure that a notebook
cell prints from a committed file needs no test here; figures of a live run are never quoted in
prose (the cell prints them)."""

from __future__ import annotations

import copy
import statistics
from itertools import pairwise

from helpers import assert_quoted, committed_result, decision_of, prose, variant_mean

from lapsrn_edu import studies
from lapsrn_edu.evaluation import published
from lapsrn_edu.studies import verdict
from lapsrn_edu.training.config import recipe

L05 = "tools/notebooks/05_study_residual_learning.md"
K05 = "lapsrn_edu/course/instructor/05_study_residual_learning.md"
L06 = "tools/notebooks/06_study_loss.md"
STUDIES_PAGE = "docs/studies.md"
STUDIES_README = "data/studies/README.md"


result, decision, mean = (
    committed_result,
    decision_of,
    variant_mean,
)  # the shared helpers, under this file's short names


def first_epoch(r: studies.StudyResult, name: str) -> float:
    return statistics.fmean(v.val_psnr[0] for v in r.runs_of(name))


def interval(d: studies.Decision) -> str:
    return f"{d.low:+.2f} to {d.high:+.2f}"


def each(r: studies.StudyResult, name: str, field: str, fmt: str = ".2f") -> str:
    """The seeds' values of ``field`` as the prose lists them: '600 and 900'."""
    return " and ".join(format(getattr(v, field), fmt) for v in r.runs_of(name))


def short_rate(rate: float) -> str:
    """A learning rate as docs/studies.md writes it: 3e-5."""
    mantissa, exponent = f"{rate:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def latex_rate(rate: float) -> str:
    mantissa, exponent = f"{rate:.0e}".split("e")
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else f"{mantissa} \\times {power}"


# --- lessons 05-06 and docs/studies.md --------------------------------------------------------------


def test_lesson_05_quotes_the_residual_result():
    r = result("residual")
    d = decision(r, "LapSRN", "no residual")
    assert r.val_dataset == "set5" and r.verdict == d.verdict == "reproduced"
    assert {v.passes_bicubic_at for v in r.runs_of("LapSRN")} == {200}
    assert_quoted(
        L05,
        f"What the committed result says: {d.verdict}, for the part of the claim the rule reads.",
        'The other part of the claim, "trains faster", gets no reading; the curves show it',
        f"higher: {d.margin:+.2f} dB on Set5 ({d.set14_margin:+.2f} on Set14), with a 95% interval of {interval(d)} dB",
        "passes bicubic after 200 iterations in both seeds",
        f"only after {each(r, 'no residual', 'passes_bicubic_at', ',')} (the reading above prints their mean, "
        f"{mean(r, 'no residual', 'passes_bicubic_at'):,.0f})",
        f'(two seeds per variant, the 291 training images, Set5 and Set14) reads "{r.verdict}"',
        f"is {verdict.t_quantile(1):.2f} at one degree of freedom",
        f"about {verdict.t_quantile(1):.1f} standard deviations on either side",
    )


def test_answer_key_05_computes_its_intervals_right():
    t14, t2 = verdict.t_quantile(14), verdict.t_quantile(2)
    assert_quoted(
        K05,
        f"With 14 degrees of freedom, t = {t14:.2f}",
        f"0.12 plus or minus {t14:.2f} x 0.05 = {t14 * 0.05:.2f} dB, that is {0.12 - t14 * 0.05:+.2f} to "
        f"{0.12 + t14 * 0.05:+.2f} dB",
        f"t = {t2:.2f} and the interval is {0.12 - t2 * 0.05:+.2f} to {0.12 + t2 * 0.05:+.2f} dB",
    )
    assert 0.12 - t14 * 0.05 > 0 > 0.12 - t2 * 0.05


def test_lesson_06_quotes_the_adam_result():
    r = result("loss")
    d = decision(r, "Charbonnier", "L2")
    assert d.verdict == r.verdict == "same direction, smaller" and d.margin < verdict.FLOOR_DB
    assert studies.every_seed_above(r, "Charbonnier", "L2")
    assert first_epoch(r, "L2") > first_epoch(r, "Charbonnier")
    assert abs(mean(r, "L1") - mean(r, "Charbonnier")) < d.high - d.low  # "level"
    assert round(d.margin / d.spread) == 2
    assert_quoted(
        L06,
        f"What the committed result says: {d.verdict}.",
        f"Charbonnier ends {d.margin:.2f} dB above L2 on Set5 x4 ({mean(r, 'Charbonnier'):.2f} against "
        f"{mean(r, 'L2'):.2f} dB, means of three seeds; Set14 {mean(r, 'Charbonnier', 'set14_psnr'):.2f} against "
        f"{mean(r, 'L2', 'set14_psnr'):.2f})",
        "every Charbonnier seed finishes above every L2 seed",
        f"The 95% interval of the margin, {interval(d)} dB, lies above zero",
        f"L1 ends level with Charbonnier ({mean(r, 'L1'):.2f} dB)",
        f"({first_epoch(r, 'L2'):.2f} against {first_epoch(r, 'Charbonnier'):.2f} dB, means of three seeds)",
        f"about twice the seed spread ({d.spread:.2f} dB)",
        f"the Charbonnier loss is {d.margin:.2f} dB ahead: {d.verdict}",
    )
    assert r.seeds == 3 and "three seeds each" in prose(L06)


def test_lesson_06_says_the_third_seed_was_added_and_changed_no_reading():
    r = result("loss")
    assert (r.planned_seeds, r.seeds) == (2, 3)
    cut = [copy.deepcopy(o) for o in studies.committed_results()]
    for o in cut:
        if o.planned_seeds:
            o.variants = [v for v in o.variants if v.seed < o.planned_seeds]
    planned = studies.read(next(o for o in cut if o.file_name == r.file_name), cut)
    assert [d.verdict for d in planned.decisions] == [d.verdict for d in r.decisions]
    assert_quoted(
        L06,
        "Two seeds were planned. The third was run after the two-seed result had been seen",
        "the reading is the same",
    )


def test_lesson_06_quotes_the_sgd_result_and_its_tuning():
    r, adam = result("loss-sgd"), result("loss")
    d = decision(r, "Charbonnier", "L2")
    assert d.verdict == r.verdict == "inconclusive" and d.dof == 2 and len(r.variants) == 4
    grids = {
        name: {float(rate): score for rate, score in r.tuning[name]["grid"].items()} for name in ("Charbonnier", "L2")
    }
    ch, l2 = grids["Charbonnier"], grids["L2"]
    assert r.tuning["L2"]["chosen_lr"] == max(l2) and r.tuning["Charbonnier"]["chosen_lr"] == 3e-5
    assert ch[3e-4] is None and all(l2[a] < l2[b] for a, b in pairwise(sorted(l2)))
    assert ch[1e-5] > l2[1e-5] and ch[3e-5] > l2[3e-5] and l2[1e-4] > ch[1e-4]
    paper, ours = recipe("paper"), r.budget["config"]
    equivalent = (
        1e-5 * (paper.patch_size / ours["patch_size"]) ** 2
    )  # the summed loss's gradient scales with the pixels
    assert paper.lr == 1e-5 and 3e-5 < equivalent < 1e-4
    assert {r.tuning[n]["iterations"] for n in grids} == {1000} and {r.tuning[n]["held_out_images"] for n in grids} == {
        30
    }
    assert {v.iterations[-1] for v in r.variants} == {24000}
    l2_runs = r.runs_of("L2")
    assert len({f"{v.final_psnr:.2f}" for v in l2_runs}) == 1 and {v.passes_bicubic_at for v in l2_runs} == {300}
    assert_quoted(
        L06,
        f"up to ${latex_rate(max(l2))}$, the top of the grid",
        f"did best at ${latex_rate(3e-5)}$ and diverged at ${latex_rate(3e-4)}$",
        f"on its {paper.patch_size} px patches is about ${latex_rate(equivalent)}$ on our {ours['patch_size']} px ones",
        "for 1,000 iterations each",
        "30 training images held out",
        "judged after 1,000 iterations",
        f"L2 to {l2_runs[0].final_psnr:.2f} dB on Set5 x4 in both seeds, the Charbonnier loss to "
        f"{each(r, 'Charbonnier', 'final_psnr')} (Set14: {each(r, 'L2', 'set14_psnr')} against "
        f"{each(r, 'Charbonnier', 'set14_psnr')})",
        f"margin is {d.margin:+.2f} dB, and its 95% interval, {interval(d)} dB, includes zero",
        "only these four runs were trained with this recipe (two degrees of freedom)",
        "after 300 iterations in both seeds, the Charbonnier loss after "
        f"{each(r, 'Charbonnier', 'passes_bicubic_at', ',')}",
        f"allows the Charbonnier loss {d.high:.2f} dB ahead, or L2 {-d.low:.2f} dB ahead",
        f"about {mean(r, 'Charbonnier') - r.bicubic_psnr:.1f} dB above bicubic",
        f"Adam reached {mean(adam, 'Charbonnier') - adam.bicubic_psnr:.1f} dB in 3,000",
        f"the paper's reach {published.SET5_X4['LapSRN']:.2f} dB",
        "shows the budget's rate, `lr` 0.001",
        f"two degrees of freedom, so $t = {verdict.t_quantile(2):.2f}$",
    )
    assert f"{mean(r, 'L2') - r.bicubic_psnr:.1f}" == f"{mean(r, 'Charbonnier') - r.bicubic_psnr:.1f}"
    assert ours["lr"] == 0.001


def test_the_studies_page_quotes_every_committed_study():
    res, loss, pyr, depth = result("residual"), result("loss"), result("pyramid"), result("depth")
    x8, sgd, long, base = result("pyramid-x8"), result("loss-sgd"), result("depth-long"), result("baselines")
    d = decision(res, "LapSRN", "no residual")
    quotes = [
        f"| {d.margin:+.2f} dB ({interval(d)}; Set14 {d.set14_margin:+.2f}; 2 seeds each); passes bicubic after 200 "
        f"iterations against {each(res, 'no residual', 'passes_bicubic_at', ',')} | {d.verdict} (the final margin,"
    ]
    d = decision(loss, "Charbonnier", "L2")
    quotes.append(
        f"| {d.margin:+.2f} dB over L2 ({interval(d)}; 3 seeds each, the third added after a look: "
        f"{mean(loss, 'Charbonnier'):.2f} against {mean(loss, 'L2'):.2f} dB; Set14 {d.set14_margin:+.2f}); "
        f"L1 level with Charbonnier ({mean(loss, 'L1'):.2f}) | {d.verdict}: under the 0.1 dB floor"
    )
    convs, params = (
        decision(pyr, "LapSRN", "one-shot, same convolutions"),
        decision(pyr, "LapSRN", "one-shot, same parameters"),
    )
    quotes.append(
        f"| {convs.margin:+.2f} dB over one-shot with the same convolutions ({interval(convs)}), {params.margin:+.2f} "
        f"over one-shot with the same parameters ({interval(params)}); 3 seeds each, the third added after a look | "
        f"same convolutions {convs.verdict}; same parameters {params.verdict} (under the floor) |"
    )
    assert pyr.planned_seeds == loss.planned_seeds == 2
    steps = [decision(depth, f"depth {b}", f"depth {w}") for b, w in ((5, 3), (10, 5), (15, 10))]
    quotes.append(
        f"d = 3, 5, 10, 15: {', '.join(f'{mean(depth, n):.2f}' for n in depth.variant_names())} dB (2 seeds each); "
        + ", ".join(
            f"{w} to {b} {s.margin:+.2f} ({interval(s)})"
            for (b, w), s in zip(((5, 3), (10, 5), (15, 10)), steps, strict=True)
        )
        + f"; test time {', '.join(f'{depth.runs_of(n)[0].ms_per_mp:,.0f}' for n in depth.variant_names())} ms per "
        "output MP "
        f"| 3 to 5 {steps[0].verdict}; 5 to 10 {steps[1].verdict}; 10 to 15 {steps[2].verdict} (depth 10 ends higher)"
    )
    convs, params = (
        decision(x8, "LapSRN", "one-shot, same convolutions"),
        decision(x8, "LapSRN", "one-shot, same parameters"),
    )
    assert {v.passes_bicubic_at for v in x8.runs_of("LapSRN")} == {200}
    assert {v.passes_bicubic_at for n in x8.variant_names()[1:] for v in x8.runs_of(n)} == {500}
    quotes.append(
        f"Set5 x8, 2 seeds each: LapSRN {mean(x8, 'LapSRN'):.2f} (bicubic {x8.bicubic_psnr:.2f}); {convs.margin:+.2f} "
        f"dB over one-shot with the same convolutions ({interval(convs)}), {params.margin:+.2f} over one-shot with the "
        "same "
        f"parameters ({interval(params)}); LapSRN passes bicubic after 200 iterations, both one-shot networks after "
        f"500 | same parameters {params.verdict}; same convolutions {convs.verdict} (under the floor)"
    )
    d = decision(sgd, "Charbonnier", "L2")
    quotes.append(
        f"(Charbonnier {short_rate(sgd.tuning['Charbonnier']['chosen_lr'])}, L2 "
        f"{short_rate(sgd.tuning['L2']['chosen_lr'])}, the grid's top): "
        f"Charbonnier {d.margin:+.2f} dB against L2 ({interval(d)}; 2 seeds each, the recipe's only runs: two degrees "
        f"of freedom)"
    )
    quotes.append(f"| {d.verdict}: consistent with the paper's gap coming from one shared rate")
    grids = {
        name: {float(rate): score for rate, score in sgd.tuning[name]["grid"].items()} for name in ("Charbonnier", "L2")
    }
    ahead = [rate for rate in grids["L2"] if (grids["Charbonnier"][rate] or -1) > grids["L2"][rate]]
    assert ahead == [1e-5, 3e-5] and grids["L2"][1e-4] > grids["Charbonnier"][1e-4]
    quotes.append(
        f"judged by {sgd.tuning['L2']['iterations']:,}-iteration runs on {sgd.tuning['L2']['held_out_images']} "
        f"held-out training images"
    )
    quotes.append(
        "in the grid, Charbonnier ahead at 1e-5 and 3e-5, L2 at 1e-4 (the paper's 1e-5 on 128 px patches is about "
        "4e-5 on our 64 px ones)"
    )
    steps = [decision(long, "depth 5", "depth 3"), decision(long, "depth 10", "depth 5")]
    assert studies.every_seed_above(long, "depth 10", "depth 5") and studies.every_seed_above(
        long, "depth 10", "depth 5", "set14_psnr"
    )
    quotes.append(
        "12,000 iterations, 2 seeds each: d = 3, 5, 10: "
        f"{', '.join(f'{mean(long, n):.2f}' for n in long.variant_names())} dB; "
        f"3 to 5 {steps[0].margin:+.2f} ({interval(steps[0])}), 5 to 10 {steps[1].margin:+.2f} ({interval(steps[1])}), "
        f"every depth-10 seed above every depth-5 seed on Set5 and Set14 | 3 to 5 {steps[0].verdict}; 5 to 10 "
        f"{steps[1].verdict};"
    )
    assert {v.iterations[-1] for v in long.variants} == {12000}
    ds = [decision(base, "LapSRN", n) for n in ("SRCNN", "FSRCNN", "VDSR")]
    quotes.append(
        f"{ds[0].margin:+.2f} dB over SRCNN ({interval(ds[0])}), {ds[1].margin:+.2f} over FSRCNN ({interval(ds[1])}), "
        f"{ds[2].margin:+.2f} over VDSR ({interval(ds[2])}); 1 seed each"
    )
    vdsr, lapsrn = base.runs_of("VDSR")[0], base.runs_of("LapSRN")[0]
    quotes.append(
        f"VDSR got {vdsr.iterations[-1]} iterations to LapSRN's {lapsrn.iterations[-1]:,}, one of its iterations "
        f"costing about {round(base.calibration['VDSR'] / base.calibration['LapSRN'])} of LapSRN's; at test time about "
        f"{round(vdsr.ms_per_mp / lapsrn.ms_per_mp)}x faster than VDSR"
    )
    assert lapsrn.ms_per_mp > max(base.runs_of(n)[0].ms_per_mp for n in ("SRCNN", "FSRCNN"))
    assert {d.verdict for d in ds} == {"reproduced"}
    assert_quoted(STUDIES_PAGE, *quotes)


def test_the_run_name_caveat_quotes_both_scores():
    """LapSRN-3e03c442cc39 was retrained for baselines.json: the same name, another score."""
    scores: dict[str, list[str]] = {}
    first: dict[str, float] = {}
    for r in studies.committed_results():
        for v in r.variants:
            if v.run == "LapSRN-3e03c442cc39":
                scores.setdefault(f"{v.final_psnr:.4f}", []).append(r.file_name)
                first[r.file_name] = v.val_psnr[0]
    assert len(scores) == 2
    (retrained, [where]), (original, files) = sorted(scores.items(), key=lambda item: len(item[1]))
    assert where == "baselines.json" and len(files) == 4
    listed = ", ".join(f"`{f}`" for f in ["residual.json", "loss.json", "pyramid.json"]) + " and `depth.json`"
    assert sorted(files) == sorted(["residual.json", "loss.json", "pyramid.json", "depth.json"])
    assert_quoted(
        STUDIES_README,
        f"where it scores {retrained} dB on Set5 at the end against {original} in {listed}",
        f"({first['baselines.json']:.2f} against {first['residual.json']:.2f} dB after the first 100 iterations)",
    )
    assert_quoted(
        STUDIES_PAGE, f"`LapSRN-3e03c442cc39` scores {original} dB in four files and {retrained} in `baselines.json`"
    )


def test_the_studies_readme_quotes_the_tuned_condition():
    r = result("loss-sgd")
    assert {r.tuning[n]["iterations"] for n in r.tuning} == {1000} and r.budget["config"]["lr"] == 0.001
    assert {v.lr for v in r.variants} == {r.tuning[n]["chosen_lr"] for n in r.tuning}
    assert_quoted(STUDIES_README, "(1,000 iterations in `loss-sgd.json`)", "(0.001 in `loss-sgd.json`)")


def test_docs_studies_quotes_when_the_slowest_variants_pass_bicubic_by_1_db() -> None:
    """docs/studies.md explains the longer course budgets by the iteration at which each run's
    committed curve first reached bicubic + 1 dB on Set5 x4."""

    def first_plus_1_db(name: str, variant: str) -> list[int]:
        result = committed_result(name)
        return [
            next(i for i, p in zip(r.iterations, r.val_psnr, strict=True) if p >= result.bicubic_psnr + 1)
            for r in result.variants
            if r.name == variant
        ]

    assert first_plus_1_db("residual", "no residual") == [1400, 900]
    one_shot = first_plus_1_db("pyramid", "one-shot, same convolutions") + first_plus_1_db(
        "pyramid", "one-shot, same parameters"
    )
    assert max(one_shot) == 500 and max(first_plus_1_db("pyramid", "LapSRN")) == 400
    assert_quoted(
        "docs/studies.md",
        "first passed bicubic by 1 dB at iterations 1400 and 900 of the standard budget",
        "passed bicubic by 1 dB by iteration 500, against 400 for LapSRN",
    )
