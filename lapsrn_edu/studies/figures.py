"""Figures of a study's result (:class:`lapsrn_edu.studies.results.StudyResult`): what a verdict rests on.

- :func:`curves_figure`: Set5 PSNR against iterations for every variant (mean over seeds, the band
  between the best and the worst seed), bicubic as the line to beat, and the final scores with
  every seed as a dot: the convergence plot of the paper's section 4.1, at our budget.
- :func:`tradeoff_figure`: final PSNR against a cost (parameters, FLOPs or measured milliseconds
  per output megapixel), the paper's speed-against-quality view, with published points if given.
- :func:`tuning_figure`: a tuned condition's learning-rate grid: each variant's score on the
  held-out training images at every rate tried, the chosen rate ringed, diverged rates marked.
- :func:`verdicts_figure`: the decisions of several results of one claim side by side (the
  standard budget, and the condition that should matter): each margin with the noise the rule
  compares it with.
"""

from __future__ import annotations

import statistics

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..errors import OptionError
from .results import StudyResult
from .verdict import FLOOR_DB

VERDICT_COLORS = {
    "reproduced": "#1a7f37",
    "same direction, smaller": "#0969da",
    "inconclusive": "#9a6700",
    "reversed": "#cf222e",
}

COSTS = {
    "parameters": "parameters",
    "gflops_per_mp": "GFLOPs per output megapixel",
    "ms_per_mp": "measured ms per output megapixel (this CPU)",
}


def curves_figure(result: StudyResult) -> Figure:
    """Left: validation PSNR against iterations; right: each variant's last-checkpoint PSNR per seed."""
    fig, (curves, finals) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1.6, 1]})
    names = result.variant_names()
    for i, name in enumerate(names):
        runs = result.runs_of(name)
        color = f"C{i}"
        length = min(len(r.val_psnr) for r in runs)
        iterations = np.array(runs[0].iterations[:length])
        psnr = np.array([r.val_psnr[:length] for r in runs])
        curves.plot(iterations, psnr.mean(axis=0), color=color, marker="o", ms=2.5, label=name)
        if len(runs) > 1:
            curves.fill_between(iterations, psnr.min(axis=0), psnr.max(axis=0), color=color, alpha=0.2, lw=0)
        crossings = [r.passes_bicubic_at for r in runs if r.passes_bicubic_at is not None]
        if crossings:
            curves.axvline(statistics.fmean(crossings), color=color, ls=":", lw=1)
        finals.scatter([i] * len(runs), [r.final_psnr for r in runs], color=color, zorder=3)
        finals.hlines(statistics.fmean(r.final_psnr for r in runs), i - 0.3, i + 0.3, color=color)
    for ax in (curves, finals):
        ax.axhline(result.bicubic_psnr, color="gray", ls="--", lw=1, label="bicubic")
        ax.set_ylabel(f"PSNR on {result.val_dataset} x{result.scale} (dB)")
    low = min(result.bicubic_psnr, *(min(r.val_psnr) for r in result.variants)) - 0.3
    curves.set_ylim(max(low, result.bicubic_psnr - 3), None)
    curves.set_xlabel("training iteration (dotted: where the variant passes bicubic)")
    curves.legend(fontsize=8)
    curves.set_title(f"{result.study}: learning curves, budget {result.budget['name']}", fontsize=10)
    finals.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=8)
    finals.set_title(f"last checkpoint, every seed; verdict: {result.verdict}", fontsize=10)
    fig.tight_layout()
    return fig


def tradeoff_figure(
    result: StudyResult,
    costs: tuple[str, ...] = ("gflops_per_mp", "ms_per_mp"),
    published: dict[str, float] | None = None,
) -> Figure:
    """Final PSNR (mean over seeds; Set5, and Set14 where measured) against each cost in ``costs``.

    ``published`` maps variant names to published Set5 x4 PSNR, drawn as hollow markers."""
    for cost in costs:
        if cost not in COSTS:
            raise OptionError(f"unknown cost {cost!r}; choose from {', '.join(COSTS)}")
    fig, axes = plt.subplots(1, len(costs), figsize=(5.2 * len(costs), 3.8), squeeze=False)
    for ax, cost in zip(axes[0], costs, strict=True):
        for i, name in enumerate(result.variant_names()):
            runs = result.runs_of(name)
            x = getattr(runs[0], cost)
            set5 = statistics.fmean(r.final_psnr for r in runs)
            ax.scatter(x, set5, color=f"C{i}", marker="o", zorder=3, label=f"{name}, Set5")
            ax.annotate(name, (x, set5), textcoords="offset points", xytext=(5, 4), fontsize=8)
            set14 = [r.set14_psnr for r in runs if r.set14_psnr is not None]
            if set14:
                ax.scatter(x, statistics.fmean(set14), color=f"C{i}", marker="s", zorder=3)
            if published and name in published:
                ax.scatter(x, published[name], facecolors="none", edgecolors=f"C{i}", marker="D", s=50, zorder=3)
        ax.axhline(result.bicubic_psnr, color="gray", ls="--", lw=1)
        if result.bicubic_set14 is not None:
            ax.axhline(result.bicubic_set14, color="gray", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel(COSTS[cost])
        ax.set_ylabel(f"PSNR x{result.scale} (dB)")
    markers = "circles: Set5, squares: Set14, dashed/dotted: bicubic"
    if published:
        markers += ", hollow diamonds: published Set5 figures"
    fig.suptitle(f"{result.study}: quality against cost ({markers})", fontsize=9)
    fig.tight_layout()
    return fig


def verdicts_figure(results: dict[str, StudyResult], title: str = "") -> Figure:
    """Every decision of each result (``{label: result}``, e.g. the standard budget and a
    condition) as its margin in dB with its 95% interval (the bar), coloured by its reading; the
    dotted line is the 0.1 dB floor a reproduced margin must reach."""
    rows = [(label, d) for label, result in results.items() for d in result.decisions]
    if not rows:
        raise OptionError("no decisions to draw")
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(rows) + 1.2))
    for y, (_label, d) in enumerate(reversed(rows)):
        color = VERDICT_COLORS.get(d.verdict, "k")
        if d.dof:
            ax.plot([d.low, d.high], [y, y], color=color, lw=4, alpha=0.35, solid_capstyle="butt", zorder=2)
        ax.plot(d.margin, y, "o", color=color, zorder=3)
        ax.annotate(
            f"{d.margin:+.2f} dB, {d.verdict}",
            (max(d.margin, d.high if d.dof else d.margin), y),
            textcoords="offset points",
            xytext=(7, -3),
            fontsize=8,
        )
    ax.axvline(0, color="0.4", lw=1)
    ax.axvline(FLOOR_DB, color="0.4", lw=1, ls=":")
    ax.set_yticks(range(len(rows)), [f"{label}: {d.better} vs {d.worse}" for label, d in reversed(rows)], fontsize=8)
    ax.set_xlabel("margin of the claimed winner, dB on Set5 (bar: 95% interval; dotted: the 0.1 dB floor)")
    ends = [d.low for _, d in rows if d.dof] + [d.margin for _, d in rows]
    tops = [d.high for _, d in rows if d.dof] + [d.margin for _, d in rows]
    ax.set_xlim(min(min(ends), -FLOOR_DB) - 0.1, max(max(tops), FLOOR_DB) + 0.6)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def tuning_figure(result: StudyResult) -> Figure:
    """The learning rates a condition tried for each variant (``result.tuning``) and the held-out
    PSNR each reached: the evidence for the rate every variant then trained with."""
    if not result.tuning:
        raise OptionError(
            f"{result.study} ({result.condition or 'standard'}) has no tuning record: its rates were not tuned"
        )
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    scores = [s for record in result.tuning.values() for s in record["grid"].values() if s is not None]
    floor = min(scores) - 0.15
    for i, (name, record) in enumerate(result.tuning.items()):
        grid = {float(lr): score for lr, score in record["grid"].items()}
        finite = {lr: score for lr, score in grid.items() if score is not None}
        ax.plot(
            list(finite),
            list(finite.values()),
            color=f"C{i}",
            marker="o",
            label=f"{name} (chosen {record['chosen_lr']:g})",
        )
        ax.scatter(
            record["chosen_lr"],
            finite[record["chosen_lr"]],
            s=160,
            facecolors="none",
            edgecolors=f"C{i}",
            lw=1.5,
            zorder=3,
        )
        diverged = [lr for lr, score in grid.items() if score is None]
        ax.scatter(diverged, [floor] * len(diverged), color=f"C{i}", marker="x", s=60, zorder=3)
    ax.set_xscale("log")
    ax.set_ylim(floor - 0.1, None)
    ax.set_xlabel("learning rate (x at the bottom: diverged)")
    record = next(iter(result.tuning.values()))
    ax.set_ylabel(f"PSNR on {record['held_out_images']} held-out images (dB)")
    ax.set_title(
        f"{result.study}, condition {result.condition}: each variant's rate, chosen after "
        f"{record['iterations']:,} iterations",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
