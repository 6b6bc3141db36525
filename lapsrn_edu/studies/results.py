"""A study's saved result (``<study>.json``): every run's curve and scores, the decisions, and how
to read them in plain words."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..data.datasets import REPO_DATA
from ..errors import OptionError
from ..training.config import TrainConfig
from .specs import NOT_IDENTITY, STUDIES
from .verdict import MEANING, Decision, SeedNoise, decide, overall, pooled_noise

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
    made_with: list[dict[str, Any]] = field(
        default_factory=list
    )  # the run's code record (History.made_with); empty in files made before it


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
    # the seeds decided before the first look at the result, when more were added after it, and why
    planned_seeds: int | None = None
    seeds_note: str = ""

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

    @property
    def file_name(self) -> str:
        """``<study>[-<condition>][-subset].json``: the name the runner saves it under."""
        study = STUDIES[self.study]
        full = study.condition(self.condition).variants if self.condition else None
        subset = set(self.variant_names()) != set(full or (v.name for v in study.variants))
        return f"{self.study}{f'-{self.condition}' if self.condition else ''}{'-subset' if subset else ''}.json"

    def recipe(self) -> str:
        """The budget's fields that change what a run learns, as text: results with equal recipes
        measure the same seed-to-seed noise."""
        config = {**asdict(TrainConfig()), **self.budget["config"]}
        return json.dumps({k: v for k, v in config.items() if k not in NOT_IDENTITY}, sort_keys=True, default=list)

    def runs_of(self, name: str) -> list[VariantResult]:
        return [v for v in self.variants if v.name == name]

    def variant_names(self) -> list[str]:
        return list(dict.fromkeys(v.name for v in self.variants))

    def summary(self) -> str:
        """A plain-text table (mean over seeds, with the spread) and the verdict, one line per prediction."""
        lines = [
            f"{self.study}: {self.claim}",
            f"budget {self.budget['name']}{f', condition {self.condition}' if self.condition else ''}, "
            f"{self.val_dataset} x{self.scale} bicubic {self.bicubic_psnr:.2f} dB",
            "",
        ]
        lines.append(
            f"{'variant':<30}{'seeds':>6}{f'PSNR x{self.scale}':>10}{'spread':>8}{'vs bicubic':>12}{'params':>11}"
            f"{'ms/MP':>9}{'train':>8}"
        )
        for name in self.variant_names():
            runs = self.runs_of(name)
            psnrs = [r.final_psnr for r in runs]
            lines.append(
                f"{name:<30}{len(runs):>6}{statistics.fmean(psnrs):>10.2f}{max(psnrs) - min(psnrs):>8.2f}"
                f"{statistics.fmean(psnrs) - self.bicubic_psnr:>+12.2f}{runs[0].parameters:>11,}"
                f"{runs[0].ms_per_mp:>9.0f}"
                f"{statistics.fmean(r.train_seconds for r in runs) / 60:>6.1f} m"
            )
        lines.append("")
        for d in self.decisions:
            interval = f", 95% interval {d.low:+.2f} to {d.high:+.2f}" if d.dof else ""
            lines.append(
                f"{d.better} vs {d.worse}: {d.margin:+.2f} dB{interval} (spread {d.spread:.2f}, {d.seeds} seed(s)) -> "
                f"{d.verdict}"
            )
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


def recipe_groups(result: StudyResult, others: Sequence[StudyResult] = ()) -> tuple[list[list[float]], list[str]]:
    """The final Set5 PSNRs of every run of ``result``'s recipe, one group per variant (same
    network, loss, optimiser, rate and length), from ``result`` and the ``others`` trained with the
    same recipe, each run counted once however many files hold it; and the files they come from.
    What :func:`recipe_noise` pools (and what lesson 05's exercise pools by hand)."""
    groups: dict[str, dict[str, float]] = {}
    seen: set[str] = set()
    files = []
    for r in [result, *(o for o in others if o.recipe() == result.recipe() and o.file_name != result.file_name)]:
        files.append(r.file_name)
        for v in r.variants:
            if v.run in seen:
                continue
            seen.add(v.run)
            lr = (
                v.lr if v.lr is not None else r.budget["config"]["lr"]
            )  # files made before lr was recorded trained at the budget's
            key = json.dumps(
                [v.arch, v.model_config, v.loss_function, v.optimizer, lr, v.iterations[-1]], sort_keys=True
            )
            groups.setdefault(key, {})[v.run] = v.final_psnr
    return [list(g.values()) for g in groups.values()], files


def recipe_noise(result: StudyResult, others: Sequence[StudyResult] = ()) -> SeedNoise:
    """The seed-to-seed noise of ``result``'s recipe, pooled over its runs and those of ``others``
    trained with the same recipe (:func:`recipe_groups`)."""
    groups, files = recipe_groups(result, others)
    noise = pooled_noise(groups, "")
    return SeedNoise(noise.sd, noise.dof, noise.runs, f"{noise.runs} runs of this recipe in {', '.join(files)}")


def read(result: StudyResult, others: Sequence[StudyResult] = ()) -> StudyResult:
    """``result`` with its decisions and verdict made by the package's rule (:mod:`.verdict`), the
    noise pooled with ``others`` of the same recipe; the per-seed scores are all it needs."""
    study = STUDIES[result.study]
    result.claim, result.where, result.note = study.claim, study.where, study.note
    if result.condition:
        result.condition_why = study.condition(result.condition).why
    noise = recipe_noise(result, others)
    names = set(result.variant_names())
    decisions = []
    for c in study.comparisons:
        if not {c.better, c.worse} <= names:
            continue
        better, worse = result.runs_of(c.better), result.runs_of(c.worse)
        paper = c.paper_margin if result.scale == c.paper_scale else None
        decisions.append(
            decide(
                [r.final_psnr for r in better],
                [r.final_psnr for r in worse],
                noise,
                c.better,
                c.worse,
                set14=([r.set14_psnr for r in better], [r.set14_psnr for r in worse]),
                paper_margin=paper,
                paper_where=c.paper_where if paper is not None else "",
                scored_on=scored_on(result),
            )
        )
    result.decisions, result.verdict = decisions, overall(decisions)
    return result


def scored_on(result: StudyResult) -> str:
    """The monitor set in words: Set5, or the embedded image(s) used when the data root has no Set5."""
    name = result.val_dataset
    if name.startswith("embedded:"):
        images = name.split(":", 1)[1].split(",")
        return f"the embedded image{'s' if len(images) > 1 else ''} {', '.join(images)}"
    return {"set5": "Set5", "set14": "Set14"}.get(name.lower(), name)


def committed_results(folder: str | Path = COMMITTED) -> list[StudyResult]:
    """Every full result saved in ``folder`` (``-subset`` files left out)."""
    return [StudyResult.load(p) for p in sorted(Path(folder).glob("*.json")) if not p.stem.endswith("-subset")]


def load_result(study: str, folder: str | Path = COMMITTED) -> StudyResult | None:
    """The saved result of ``study`` in ``folder`` (default: the committed ``data/studies``), or None."""
    path = Path(folder) / f"{study}.json"
    return StudyResult.load(path) if path.is_file() else None


def reading(result: StudyResult) -> str:
    """What a result can and cannot say, in plain words: where each variant passes bicubic, which
    one leads after the first epoch and at the end, and the verdict with the reason for it."""
    first_iteration = result.variants[0].iterations[0]
    lines = [
        f"Budget {result.budget['name']}: {result.variants[0].iterations[-1]:,} iterations for "
        f"{result.variants[0].name}, {result.seeds} seed(s) per variant; scored on {result.val_dataset} "
        f"x{result.scale}, "
        f"where bicubic gives {result.bicubic_psnr:.2f} dB."
    ]
    for name in result.variant_names():
        runs = result.runs_of(name)
        passes = [r.passes_bicubic_at for r in runs if r.passes_bicubic_at is not None]
        when = (
            f"passes bicubic after {statistics.fmean(passes):,.0f} iterations"
            if len(passes) == len(runs)
            else "does not pass bicubic in every seed within this budget"
        )
        lines.append(
            f"- {name}: {when}; {statistics.fmean(r.val_psnr[0] for r in runs):.2f} dB after the first "
            f"{first_iteration} iterations, {statistics.fmean(r.final_psnr for r in runs):.2f} dB at the end."
        )
    for d in result.decisions:
        early = statistics.fmean(r.val_psnr[0] for r in result.runs_of(d.better)) - statistics.fmean(
            r.val_psnr[0] for r in result.runs_of(d.worse)
        )
        faster = d.better if early > 0 else d.worse
        lines.append(
            f"After the first epoch {d.better} is {early:+.2f} dB against {d.worse} ({faster} learns faster "
            f"at first). At the end, {d.sentence()}"
        )
    if result.decisions and result.decisions[0].noise_source:
        lines.append(f"Noise: the seed-to-seed standard deviation pooled over {result.decisions[0].noise_source}.")
    if result.val_dataset.lower() != "set5":
        lines.append(
            f"Scored on {scored_on(result)}, not on Set5 (the data root has no Set5): the readings are about "
            f"{'that image' if result.val_dataset.count(',') == 0 else 'those images'} only, and cannot decide the "
            f"paper's claim, which is about Set5; `lapsrn-edu download` fetches Set5 and Set14."
        )
    about = (
        "the paper's claim"
        if result.val_dataset.lower() == "set5"
        else f"this run on {scored_on(result)} (not the paper's claim)"
    )
    lines.append(f"Reading of {about} at this budget: {result.verdict} ({MEANING[result.verdict]}).")
    return "\n".join(lines)
