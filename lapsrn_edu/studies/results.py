"""A study's saved result (``<study>.json``): every run's curve and scores, the decisions, and how
to read them in plain words."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..data.datasets import REPO_DATA
from ..errors import OptionError
from .verdict import Decision

COMMITTED = REPO_DATA / "studies"  # the standard-budget results committed with the project


# --- results ----------------------------------------------------------------------------------------


@dataclass
class VariantResult:
    """One trained run of a variant: its curve (one point per epoch) and its last checkpoint's scores."""

    name: str
    seed: int
    arch: str
    model_config: dict[str, Any]
    run: str  # the run folder's name under the runs folder
    iterations: list[int]
    seconds: list[float]  # cumulative training seconds (data and compute) at each epoch
    loss: list[float]
    val_psnr: list[float]  # Set5 x4 (the monitor set) after each epoch
    final_psnr: float  # Set5 x4 of the last checkpoint
    set14_psnr: float | None
    passes_bicubic_at: int | None  # first iteration whose validation PSNR is above bicubic
    parameters: int
    gflops_per_mp: float
    ms_per_mp: float
    train_seconds: float
    optimizer: str
    loss_function: str
    lr: float | None = None  # the base learning rate it trained with (a tuned condition chooses it per variant)


@dataclass
class StudyResult:
    """Everything a study's notebook shows; saved as ``<out>/<study>.json``."""

    study: str
    claim: str
    where: str
    note: str
    budget: dict[str, Any]  # {"name": ..., "config": TrainConfig as a dict}
    seeds: int
    variants_spec: list[dict[str, Any]]
    val_dataset: str
    bicubic_psnr: float  # Set5 x4
    bicubic_set14: float | None
    decisions: list[Decision]
    verdict: str
    variants: list[VariantResult]
    calibration: dict[str, float] = field(default_factory=dict)  # equal-time studies: seconds per iteration
    command: str = ""
    machine: str = ""
    created: str = ""
    condition: str = ""  # the Condition's name ("" for the study as the paper set it up)
    condition_why: str = ""
    # a tuned condition: per variant, the held-out PSNR of each learning rate tried (None: diverged) and the one chosen
    tuning: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> StudyResult:
        data = json.loads(Path(path).read_text())
        data["variants"] = [VariantResult(**v) for v in data["variants"]]
        data["decisions"] = [Decision(**d) for d in data["decisions"]]
        return cls(**data)

    @property
    def scale(self) -> int:
        return int(self.budget["config"]["scale"])

    def runs_of(self, name: str) -> list[VariantResult]:
        return [v for v in self.variants if v.name == name]

    def variant_names(self) -> list[str]:
        return list(dict.fromkeys(v.name for v in self.variants))

    def summary(self) -> str:
        """A plain-text table (mean over seeds, with the spread) and the verdict, one line per prediction."""
        lines = [f"{self.study}: {self.claim}", f"budget {self.budget['name']}{f', condition {self.condition}' if self.condition else ''}, "
                 f"{self.val_dataset} x{self.scale} bicubic {self.bicubic_psnr:.2f} dB", ""]
        lines.append(f"{'variant':<30}{'seeds':>6}{f'PSNR x{self.scale}':>10}{'spread':>8}{'vs bicubic':>12}{'params':>11}{'ms/MP':>9}{'train':>8}")
        for name in self.variant_names():
            runs = self.runs_of(name)
            psnrs = [r.final_psnr for r in runs]
            lines.append(
                f"{name:<30}{len(runs):>6}{statistics.fmean(psnrs):>10.2f}{max(psnrs) - min(psnrs):>8.2f}"
                f"{statistics.fmean(psnrs) - self.bicubic_psnr:>+12.2f}{runs[0].parameters:>11,}{runs[0].ms_per_mp:>9.0f}"
                f"{statistics.fmean(r.train_seconds for r in runs) / 60:>6.1f} m"
            )
        lines.append("")
        for d in self.decisions:
            lines.append(f"{d.better} vs {d.worse}: {d.margin:+.2f} dB (spread {d.spread:.2f}, {d.seeds} seed(s)) -> {d.verdict}")
        lines.append(f"verdict: {self.verdict}")
        return "\n".join(lines)


def every_seed_above(result: StudyResult, better: str, worse: str, field: str = "final_psnr") -> bool:
    """Whether every seed of ``better`` ends above every seed of ``worse`` (``field``: ``final_psnr``
    on Set5 or ``set14_psnr``): a direction that holds seed by seed even when the gap is small."""
    winners = [getattr(r, field) for r in result.runs_of(better)]
    losers = [getattr(r, field) for r in result.runs_of(worse)]
    if not winners or not losers or None in winners or None in losers:
        raise OptionError(f"{field} is not measured for every run of {better!r} and {worse!r}")
    return min(winners) > max(losers)


def load_result(study: str, folder: str | Path = COMMITTED) -> StudyResult | None:
    """The saved result of ``study`` in ``folder`` (default: the committed ``data/studies``), or None."""
    path = Path(folder) / f"{study}.json"
    return StudyResult.load(path) if path.is_file() else None


def reading(result: StudyResult) -> str:
    """What a result can and cannot say, in plain words: where each variant passes bicubic, which
    one leads after the first epoch and at the end, and the verdict with the reason for it."""
    first_iteration = result.variants[0].iterations[0]
    lines = [f"Budget {result.budget['name']}: {result.variants[0].iterations[-1]:,} iterations for "
             f"{result.variants[0].name}, {result.seeds} seed(s) per variant; scored on {result.val_dataset} x{result.scale}, "
             f"where bicubic gives {result.bicubic_psnr:.2f} dB."]
    for name in result.variant_names():
        runs = result.runs_of(name)
        passes = [r.passes_bicubic_at for r in runs]
        when = (f"passes bicubic after {statistics.fmean(passes):,.0f} iterations" if None not in passes
                else "does not pass bicubic in every seed within this budget")
        lines.append(f"- {name}: {when}; {statistics.fmean(r.val_psnr[0] for r in runs):.2f} dB after the first "
                     f"{first_iteration} iterations, {statistics.fmean(r.final_psnr for r in runs):.2f} dB at the end.")
    for d in result.decisions:
        early = (statistics.fmean(r.val_psnr[0] for r in result.runs_of(d.better))
                 - statistics.fmean(r.val_psnr[0] for r in result.runs_of(d.worse)))
        faster = d.better if early > 0 else d.worse
        line = (f"{d.better} against {d.worse}: {early:+.2f} dB after the first epoch ({faster} learns faster at "
                f"first), {d.margin:+.2f} dB at the end with a seed spread of {d.spread:.2f} dB: {d.verdict}.")
        if d.verdict == "within noise":
            line += (" One seed per variant cannot separate gaps under 0.3 dB; more seeds or a longer budget may."
                     if d.seeds < 2 else " The gap is not larger than what a change of seed alone does.")
        lines.append(line)
    lines.append(f"Verdict on the paper's claim at this budget: {result.verdict}.")
    return "\n".join(lines)
