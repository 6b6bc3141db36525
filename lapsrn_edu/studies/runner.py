"""The paper's studies as experiments with a verdict: variants x seeds under one named budget.

A :class:`Study` is the paper's claim (with where the paper makes it, see ``docs/paper.md``), the
variants that test it, and the comparisons the claim predicts ("residual learning beats no
residual"). Every variant is trained by the package's own training loop under one *budget* (the
same data, patches, optimiser, schedule and number of iterations, see :func:`budget`); the
``baselines`` study instead gives every method the same *training time*, converted to iterations
by timing them side by side. A variant's run is stored under ``runs/studies/<arch>-<hash>/``,
named by everything that determines its result, so a run shared by two studies (the standard
LapSRN is in all five) trains once, and an interrupted run resumes from its last checkpoint.

Each variant is scored by its **last** checkpoint on Set5 (and Set14) at the budget's scale (x4
unless a condition changes it), never by a
checkpoint picked on a test set. :func:`decide` turns the margin between two variants and their
seed-to-seed spread into one of three verdicts: ``reproduced``, ``not reproduced`` or
``within noise``.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data.datasets import REPO_DATA, has_dataset
from ..errors import OptionError
from ..evaluation.evaluate import evaluate
from ..evaluation.flops import flops_per_megapixel
from ..evaluation.timing import ms_per_megapixel
from ..models import count_parameters, registry
from ..models.checkpoint import load_model
from ..training.config import TrainConfig, recipe, with_overrides
from ..training.history import History
from ..training.loop import one_batch, training_network
from ..training.schedule import make_optimizer
from ..training.trainer import TrainingDivergedError, train, validation_images

COMMITTED = REPO_DATA / "studies"  # the standard-budget results committed with the project

# --- budgets --------------------------------------------------------------------------------------

BUDGETS = ("smoke", "course", "standard", "paper")
# Fields that do not change what a run learns: left out of its identity, so moving a run folder,
# changing threads or where patches are cut does not retrain it. A field added to TrainConfig that
# does change learning must keep the identity of existing runs at its default (tests pin one).
# (arch: the run's name carries the architecture the study builds.)
NOT_IDENTITY = ("out", "resume", "threads", "device", "workers", "data_root", "recipe", "patches_on", "engine", "arch")


def budget(name: str, **overrides: Any) -> TrainConfig:
    """The shared training budget of every variant, by name (all at x4, on the 291 images when present):

    - ``smoke``: 8 iterations of 4 patches; proves the code runs (CI, quick mode). Decides nothing.
    - ``course``: the ``quick`` recipe (depth 5, 64 channels, 64 px patches, batches of 16, Adam,
      cosine schedule) cut to 600 iterations: minutes per variant on a laptop CPU, enough for
      LapSRN to pass bicubic clearly and to see which variant learns faster. A study whose
      slowest variant needs longer sets its own length (``Study.course_epochs``).
    - ``standard``: the ``quick`` recipe at its full length (3,000 iterations, 30 epochs). The
      committed results in ``data/studies/`` use it; their files hold what each variant reached
      and how long it took.
      A :class:`Condition` changes a budget for one study (``epochs_factor=4``: four times as long).
    - ``paper``: the paper's recipe (SGD, lr 1e-5, 128 px patches, batches of 64, depth 10): for a GPU.
    """
    if name not in BUDGETS:
        raise OptionError(f"unknown budget {name!r}; choose one of {', '.join(BUDGETS)}")
    base = {
        "smoke": recipe("quick", scale=4, epochs=2, iterations_per_epoch=4, batch_size=4, patch_size=32),
        "course": recipe("quick", scale=4, epochs=6, iterations_per_epoch=100),
        "standard": recipe("quick", scale=4),
        "paper": recipe("paper", scale=4),
    }[name]
    return with_overrides(base, recipe=f"study-{name}", **overrides)


# --- what a study is ------------------------------------------------------------------------------

INHERITED = ("scale", "depth", "channels", "upsampler")  # model fields taken from the budget


@dataclass(frozen=True)
class Variant:
    """One arm of a study: an architecture of :mod:`lapsrn_edu.models.registry`, its config
    fields that differ from the budget (``model``), training fields that differ (``train``).

    A model takes ``scale``, ``depth``, ``channels`` and ``upsampler`` from the budget when its
    config has such a field and ``model`` does not set it. ``same_parameters_as`` names another
    variant whose parameter count this one matches by choosing its ``channels``."""

    name: str
    arch: str = "LapSRN"
    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    same_parameters_as: str | None = None

    def training_config(self, config: TrainConfig, seed: int) -> TrainConfig:
        return with_overrides(config, seed=seed, **self.train)

    def model_config(self, config: TrainConfig) -> dict[str, Any]:
        accepted = {f.name for f in fields(registry.architecture(self.arch).config_class)}
        inherited = {k: getattr(config, k) for k in INHERITED if k in accepted}
        return {**inherited, **self.model}


@dataclass(frozen=True)
class Comparison:
    """What the paper's claim predicts: variant ``better`` ends above variant ``worse``."""

    better: str
    worse: str


@dataclass(frozen=True)
class Condition:
    """A study run again under one changed condition that the paper's reasoning says should matter
    (a larger scale, the paper's optimiser, a longer training), saved as ``<study>-<name>.json``.

    ``overrides`` change budget fields; ``epochs_factor`` lengthens the budget; ``variants`` keeps
    some of the study's variants (None: all). With ``lr_grid``, every variant first trains once
    per learning rate of the grid (seed 0, ``tune_epochs`` epochs of the budget, ``tune_holdout``
    training images held out and never trained on) and then uses the rate whose run scores best on
    those held-out images: each variant gets its own best rate, never one chosen on a test set."""

    name: str
    why: str
    overrides: dict[str, Any] = field(default_factory=dict)
    epochs_factor: int = 1
    variants: tuple[str, ...] | None = None
    seeds: int = 2
    lr_grid: tuple[float, ...] = ()
    tune_epochs: int = 10
    tune_holdout: int = 30

    def budget_overrides(self, config: TrainConfig) -> dict[str, Any]:
        """The fields this condition changes in ``config`` (a budget)."""
        return {**self.overrides, **({"epochs": config.epochs * self.epochs_factor} if self.epochs_factor != 1 else {})}


@dataclass(frozen=True)
class Study:
    """A claim of the paper, where it is made, the variants that test it, and the predictions."""

    name: str
    claim: str
    where: str
    variants: tuple[Variant, ...]
    comparisons: tuple[Comparison, ...]
    seeds: int = 1
    equal_time: bool = False  # train every variant for the first variant's time, not its iterations
    note: str = ""
    # The course budget's epochs for this study, where its slowest variant needs more than the
    # course's 600 iterations to pass bicubic by 1 dB on Set5 x4 (None: the course budget as is).
    course_epochs: int | None = None
    conditions: tuple[Condition, ...] = ()

    def budget(self, name: str, condition: str | None = None, **overrides: Any) -> TrainConfig:
        """The named budget as this study trains it (the course budget lengthened by ``course_epochs``),
        under ``condition`` if one is named; ``overrides`` come last."""
        config = budget(name, **({"epochs": self.course_epochs} if name == "course" and self.course_epochs else {}))
        if condition:
            config = with_overrides(config, **self.condition(condition).budget_overrides(config))
        return with_overrides(config, **overrides)

    def condition(self, name: str) -> Condition:
        for c in self.conditions:
            if c.name == name:
                return c
        known = ", ".join(c.name for c in self.conditions) or "none"
        raise OptionError(f"study {self.name!r} has no condition {name!r}; its conditions: {known}")

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise OptionError(f"study {self.name!r} has no variant {name!r}")


LAPSRN = Variant("LapSRN")

STUDIES: dict[str, Study] = {
    s.name: s
    for s in (
        Study(
            "residual",
            "Predicting each level's residual (a Laplacian band) trains faster and ends better than "
            "predicting each level's image directly.",
            "CVPR 2017, section 4.1 (Model analysis), residual learning and its convergence plot; docs/paper.md#residual-learning",
            (LAPSRN, Variant("no residual", model={"residual": False})),
            (Comparison("LapSRN", "no residual"),),
            seeds=2,
            course_epochs=15,  # direct prediction passes bicubic later than LapSRN (residual.json's curves)
        ),
        Study(
            "loss",
            "The Charbonnier loss trains to better results than L2 (and L2 needs more iterations).",
            "CVPR 2017, section 4.1 (Model analysis), loss function; docs/paper.md#loss-function",
            (Variant("Charbonnier"), Variant("L2", train={"loss": "l2"}), Variant("L1", train={"loss": "l1"})),
            (Comparison("Charbonnier", "L2"),),
            seeds=3,
            note="Every run uses Adam (the paper used SGD). Adam divides each weight's step by the "
            "running size of its gradient, so the loss's overall scale (sum or mean, L2's small "
            "gradients near zero) no longer sets the step size; what is left is how each loss "
            "weighs large errors against small ones. L1 is the Charbonnier loss's limit for a "
            "small eps and is shown for reference.",
            conditions=(
                Condition(
                    "sgd",
                    "The paper trained with SGD, where the step is the learning rate times the gradient: "
                    "L2's gradient shrinks with the error, the Charbonnier loss's does not, so under SGD "
                    "L2 should slow down near the end of training. SGD with momentum 0.9, weight decay "
                    "1e-4, biases at a tenth of the rate and the paper's loss (summed over pixels), for "
                    "the long budget, since SGD starts slowly. Each loss gets its best rate from one grid "
                    "around the paper's rate: 1e-5 on 128 px patches is about 4e-5 on our 64 px patches "
                    "(the summed loss, and so its gradient, is four times smaller), and the grid runs from "
                    "1e-5 up to 3e-4, where SGD starts to diverge (1e-3 diverged within ten iterations "
                    "for both L2 and the Charbonnier loss).",
                    overrides={"optimizer": "sgd", "momentum": 0.9, "weight_decay": 1e-4, "bias_lr_mult": 0.1,
                               "reduction": "paper", "lr_min": 1e-7},
                    epochs_factor=4,
                    lr_grid=(1e-5, 3e-5, 1e-4, 3e-4),
                ),
            ),
        ),
        Study(
            "pyramid",
            "Upsampling x2 per pyramid level beats one-shot upsampling by the whole scale with the "
            "same convolutions (the paper: about 0.7 dB on Set5 and 0.4 dB on Set14 at x4).",
            "CVPR 2017, section 4.1 (Model analysis), pyramid structure and its ablation table; docs/paper.md#pyramid-structure",
            (
                LAPSRN,
                Variant("one-shot, same convolutions", arch="OneShotSR"),
                Variant("one-shot, same parameters", arch="OneShotSR", same_parameters_as="LapSRN"),
            ),
            (Comparison("LapSRN", "one-shot, same convolutions"), Comparison("LapSRN", "one-shot, same parameters")),
            seeds=3,
            course_epochs=10,  # one-shot with LapSRN's parameters passes bicubic later (pyramid.json's curves)
            conditions=(
                Condition(
                    "x8",
                    "The paper argues that one-shot upsampling is hard to train at large scales; at x4 the "
                    "one-shot network learns one 4x step, at x8 one 8x step, against three x2 levels. "
                    "Trained as the published ours-x8 was: the budget's recipe with 96 px patches "
                    "(12 px low-resolution inputs).",
                    overrides={"scale": 8, "patch_size": 96},
                ),
            ),
        ),
        Study(
            "depth",
            "Deeper levels are more accurate and slower: PSNR and runtime both grow with the number "
            "of convolutions per level d (the paper chooses d = 10 at x2 and x4).",
            "CVPR 2017, section 4.1 (Model analysis), network depth and its table; docs/paper.md#network-depth",
            tuple(Variant(f"depth {d}", train={"depth": d}) for d in (3, 5, 10, 15)),
            (Comparison("depth 5", "depth 3"), Comparison("depth 10", "depth 5"), Comparison("depth 15", "depth 10")),
            seeds=2,
            note="Every depth trains for the same number of iterations, so a deeper network also "
            "takes longer to train.",
            conditions=(
                Condition(
                    "long",
                    "A deeper network has more weights to fit and may need more iterations than a shallow "
                    "one: at the same 3,000 iterations depth 10 may be starved rather than no better. "
                    "Depths 3, 5 and 10 at four times the budget (depth 15 is left out: it costs as much "
                    "as the other three together).",
                    epochs_factor=4,
                    variants=("depth 3", "depth 5", "depth 10"),
                ),
            ),
        ),
        Study(
            "baselines",
            "Given the same training time, LapSRN is more accurate than SRCNN, FSRCNN and VDSR, and "
            "faster at test time than the networks that work on a bicubic-upsampled image.",
            "CVPR 2017, section 4.2 (Table 4) and section 4.3 (execution time); docs/paper.md#results",
            (
                LAPSRN,
                Variant("SRCNN", arch="SRCNN"),
                Variant("FSRCNN", arch="FSRCNN"),
                Variant("VDSR", arch="VDSR", model={"depth": 20, "channels": 64}),
            ),
            (Comparison("LapSRN", "SRCNN"), Comparison("LapSRN", "FSRCNN"), Comparison("LapSRN", "VDSR")),
            equal_time=True,
            note="Every method trains with the budget's data, loss and optimiser for the time LapSRN "
            "takes; each method's iterations are that time divided by its own time per iteration, "
            "measured side by side before training.",
        ),
    )
}

# Published Set5 x4 PSNR of the baselines, as the LapSRN paper lists them (CVPR 2017, Table 4).
PUBLISHED_SET5_X4 = {"SRCNN": 30.49, "VDSR": 31.35, "LapSRN": 31.54}


# --- the verdict ------------------------------------------------------------------------------------

NOISE_FLOOR_DB = 0.1  # with two or more seeds, a smaller gap is never called real
ONE_SEED_DB = 0.3  # with one seed per variant, a smaller gap is left undecided
VERDICTS = ("reproduced", "not reproduced", "within noise")


@dataclass
class Decision:
    """One prediction checked: the mean margin of ``better`` over ``worse`` and the noise it must beat."""

    better: str
    worse: str
    margin: float  # mean PSNR of better minus mean PSNR of worse, dB
    spread: float  # the larger seed-to-seed range (max - min) of the two variants, dB
    seeds: int  # the fewer seeds of the two variants
    verdict: str


def decide(better: list[float], worse: list[float], better_name: str = "better", worse_name: str = "worse") -> Decision:
    """The package's one rule. The noise is the larger seed-to-seed range of the two variants,
    but at least 0.1 dB with two seeds or more, and 0.3 dB with a single seed (one run says
    nothing about its own spread). A margin above the noise is ``reproduced``, one below minus the
    noise ``not reproduced``, anything between ``within noise``."""
    if not better or not worse:
        raise OptionError("each variant needs at least one result")
    spread = max(max(better) - min(better), max(worse) - min(worse))
    seeds = min(len(better), len(worse))
    noise = max(spread, NOISE_FLOOR_DB if seeds >= 2 else ONE_SEED_DB)
    margin = statistics.fmean(better) - statistics.fmean(worse)
    verdict = "reproduced" if margin > noise else "not reproduced" if margin < -noise else "within noise"
    return Decision(better_name, worse_name, margin, spread, seeds, verdict)


def overall(decisions: list[Decision]) -> str:
    """A study's verdict: reproduced when every prediction is, not reproduced when any is contradicted."""
    verdicts = {d.verdict for d in decisions}
    if verdicts == {"reproduced"}:
        return "reproduced"
    return "not reproduced" if "not reproduced" in verdicts else "within noise"


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


# --- running a study ----------------------------------------------------------------------------------


def run_id(arch: str, model_config: dict[str, Any], config: TrainConfig) -> str:
    """A run folder's name: the architecture and a hash of everything that decides what it learns."""
    identity = {k: v for k, v in asdict(config).items() if k not in NOT_IDENTITY}
    text = json.dumps({"arch": arch, "model": model_config, "train": identity}, sort_keys=True, default=list)
    return f"{arch}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def matching_channels(arch: str, model_config: dict[str, Any], target: int) -> int:
    """The ``channels`` that bring ``arch``'s parameter count closest to ``target``."""
    def size(c: int) -> int:
        return count_parameters(registry.build(arch, {**model_config, "channels": c}))

    return min(range(4, 257), key=lambda c: abs(size(c) - target))


def resolve_variants(study: Study, config: TrainConfig) -> list[tuple[Variant, dict[str, Any]]]:
    """Each variant with its final model config (``same_parameters_as`` resolved)."""
    resolved: dict[str, dict[str, Any]] = {}
    for v in study.variants:
        model_config = v.model_config(v.training_config(config, config.seed))
        if v.same_parameters_as:
            ref = study.variant(v.same_parameters_as)
            target = count_parameters(registry.build(ref.arch, resolved[ref.name]))
            model_config = {**model_config, "channels": matching_channels(v.arch, model_config, target)}
        resolved[v.name] = model_config
    return [(v, resolved[v.name]) for v in study.variants]


def seconds_per_iteration(models: dict[str, nn.Module], config: TrainConfig, repeats: int = 5) -> dict[str, float]:
    """Median seconds of one training iteration (:func:`one_batch`: batch, forward, loss, backward,
    step) of each model, through the network its run trains (the training engine's copy on the
    CPU, channels-last, as the Trainer places it), side by side, round by round, on random
    patches of the budget's size."""
    generator = torch.Generator().manual_seed(0)
    hr = torch.rand(config.batch_size, 1, config.patch_size, config.patch_size, generator=generator)
    cpu = torch.device("cpu")
    networks = {name: training_network(m.to(memory_format=torch.channels_last), config, cpu) for name, m in models.items()}
    optimizers = {name: make_optimizer(m, config) for name, m in models.items()}
    times: dict[str, list[float]] = {name: [] for name in models}
    for round_ in range(repeats + 1):
        for name in models:
            start = time.perf_counter()
            one_batch(networks[name], optimizers[name], hr, config)
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def equal_time_overrides(study: Study, config: TrainConfig, variants: list[tuple[Variant, dict[str, Any]]],
                         cache: Path) -> tuple[dict[str, dict[str, int]], dict[str, float]]:
    """Each variant's (epochs, iterations_per_epoch) so that it trains as long as the first variant.

    The timing is stored in ``cache`` and reused, so a resumed study keeps its iteration counts."""
    if cache.is_file():
        calibration = json.loads(cache.read_text())
    else:
        torch.manual_seed(0)
        models = {v.name: registry.build(v.arch, mc) for v, mc in variants}
        calibration = seconds_per_iteration(models, config)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(calibration, indent=1))
    reference = variants[0][0]
    seconds = calibration[reference.name] * reference.training_config(config, config.seed).total_iterations
    overrides = {reference.name: {}}
    for v, _ in variants[1:]:
        iterations = max(10, round(seconds / calibration[v.name]))
        per_epoch = max(1, round(iterations / 10))
        overrides[v.name] = {"epochs": max(1, round(iterations / per_epoch)), "iterations_per_epoch": per_epoch}
    return overrides, calibration


def train_variant(variant: Variant, model_config: dict[str, Any], config: TrainConfig, runs: Path, progress: bool) -> tuple[Path, History]:
    """Train one variant's run, or resume it, or reuse it when it is complete; its folder and history."""
    run_dir = runs / run_id(variant.arch, model_config, config)
    config = with_overrides(config, out=str(run_dir), resume=None)
    history_file, last = run_dir / "history.json", run_dir / "last.pt"
    if history_file.is_file():
        history = History.load(history_file)
        if history.status == "completed" and len(history.epochs) == config.epochs:
            return run_dir, history
    if last.is_file():
        config = with_overrides(config, resume=str(last))
    torch.manual_seed(config.seed)
    model = registry.build(variant.arch, model_config)
    return run_dir, train(config, progress, model=model)


def final_scores(run_dir: Path, scale: int, root: str | None) -> tuple[nn.Module, float | None]:
    """The last checkpoint's model and its Set14 PSNR (cached in the run folder; None without Set14)."""
    model = load_model(run_dir / "last.pt")
    cache = run_dir / "set14.json"
    if cache.is_file():
        return model, json.loads(cache.read_text())["psnr"]
    if not has_dataset("set14", root):
        return model, None
    psnr = evaluate(model, "set14", scale, root=root, progress=False).psnr
    cache.write_text(json.dumps({"psnr": psnr}))
    return model, psnr


# Budget fields that a command line may set without changing what the study is (not recorded in its command).
MACHINE_FIELDS = ("threads", "data_root", "workers", "device")


def run_study(
    name: str,
    budget_name: str = "course",
    seeds: int | None = None,
    out: str | Path = "build/studies",
    runs: str | Path = "runs/studies",
    progress: bool = True,
    reuse: bool = True,
    variants: list[str] | None = None,
    condition: str | None = None,
    **overrides: Any,
) -> StudyResult:
    """Train every variant of study ``name`` for every seed under the named budget and decide.

    The result is saved as ``<out>/<name>.json`` (``<name>-<condition>.json`` under a condition).
    With ``reuse``, a saved result whose budget, variants and seeds are the same is returned
    without training. ``variants`` trains only the variants named (a cheaper live run; only the
    comparisons among them are decided), saved as ``...-subset.json``. ``condition`` names one of
    the study's conditions (:class:`Condition`: its budget changes, its variants, its seeds, a learning
    rate tuned per variant). ``overrides`` change budget fields (e.g. ``threads=1``; ``epochs``
    for a longer run); those that change what is learnt are written into the result's command."""
    if name not in STUDIES:
        raise OptionError(f"unknown study {name!r}; choose one of {', '.join(STUDIES)}")
    study = STUDIES[name]
    chosen = study.condition(condition) if condition else None
    config = study.budget(budget_name, condition, **overrides)
    if variants is None and chosen and chosen.variants:
        variants = list(chosen.variants)
    seeds = seeds or (chosen.seeds if chosen else study.seeds)
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        return _run_study(study, config, budget_name, seeds, Path(out), Path(runs), progress, reuse, variants, chosen,
                          {k: v for k, v in overrides.items() if k not in MACHINE_FIELDS})
    finally:
        torch.set_num_threads(threads)


def result_path(study: Study, out: str | Path, variants: list[str] | None = None, condition: str | None = None) -> Path:
    """Where a result is saved: ``<out>/<study>[-<condition>].json``, with ``-subset`` for fewer
    variants than the study (or its condition) trains."""
    full = study.condition(condition).variants if condition else None
    partial = variants is not None and set(variants) != set(full or (v.name for v in study.variants))
    return Path(out) / f"{study.name}{f'-{condition}' if condition else ''}{'-subset' if partial else ''}.json"


def study_command(study: Study, budget_name: str, seeds: int, out: Path, names: list[str] | None,
                  condition: Condition | None, overrides: dict[str, Any]) -> str:
    """The command line that remakes a result (written into it)."""
    parts = [f"lapsrn-edu study {study.name} --budget {budget_name}"]
    if condition:
        parts.append(f"--condition {condition.name}")
    parts.append(f"--seeds {seeds} --out {out}")
    if names and (not condition or tuple(names) != condition.variants):
        parts.append(f'--variants "{",".join(names)}"')
    parts += [f"--set {k}={','.join(map(str, v)) if isinstance(v, (tuple, list)) else v}" for k, v in sorted(overrides.items())]
    return " ".join(parts)


def tune_learning_rates(condition: Condition, config: TrainConfig, variants: list[tuple[Variant, dict[str, Any]]],
                        runs: Path, progress: bool) -> tuple[list[tuple[Variant, dict[str, Any]]], dict[str, Any]]:
    """Each variant with the learning rate of ``condition.lr_grid`` whose run (seed 0, held-out
    training images, no test set in sight) ends best on the held-out images, and the grid's scores."""
    tuned, record = [], {}
    for variant, model_config in variants:
        scores: dict[float, float | None] = {}
        for lr in condition.lr_grid:
            run_config = with_overrides(variant.training_config(config, 0), lr=lr, holdout=condition.tune_holdout,
                                        val_data="none", epochs=min(condition.tune_epochs, config.epochs))
            scores[lr] = tuning_score(variant, model_config, run_config, runs, progress)
        finite = [lr for lr, score in scores.items() if score is not None]
        if not finite:
            raise TrainingDivergedError(f"{variant.name}: every learning rate of {condition.lr_grid} diverged; try a smaller grid")
        best = max(finite, key=lambda lr: scores[lr])
        record[variant.name] = {"grid": {f"{lr:g}": score for lr, score in scores.items()}, "chosen_lr": best,
                                "iterations": min(condition.tune_epochs, config.epochs) * config.iterations_per_epoch,
                                "held_out_images": condition.tune_holdout}
        tuned.append((replace(variant, train={**variant.train, "lr": best}), model_config))
    return tuned, record


def tuning_score(variant: Variant, model_config: dict[str, Any], config: TrainConfig, runs: Path, progress: bool) -> float | None:
    """The held-out PSNR of a tuning run's last epoch, or None if it diverged (remembered in its folder)."""
    history_file = runs / run_id(variant.arch, model_config, config) / "history.json"
    if history_file.is_file() and History.load(history_file).status.startswith("diverged"):
        return None
    try:
        _, history = train_variant(variant, model_config, config, runs, progress)
    except TrainingDivergedError:
        return None
    score = history.epochs[-1].holdout_psnr
    return score if score is not None and math.isfinite(score) else None  # NaN: the weights blew up without a NaN loss


def chosen_variants(study: Study, resolved: list[tuple[Variant, dict[str, Any]]], names: list[str] | None) -> list[tuple[Variant, dict[str, Any]]]:
    """The resolved variants named in ``names`` (all when None), in the study's order."""
    if names is None:
        return resolved
    known = [v.name for v in study.variants]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise OptionError(f"study {study.name!r} has no variant {', '.join(map(repr, unknown)) or 'named'}; its variants: {', '.join(known)}")
    if study.equal_time and known[0] not in names:
        raise OptionError(f"study {study.name!r} times every variant against {known[0]!r}; include it")
    if not any({c.better, c.worse} <= set(names) for c in study.comparisons):
        pairs = "; ".join(f"{c.better!r} and {c.worse!r}" for c in study.comparisons)
        raise OptionError(f"the variants chosen leave nothing to compare; choose at least one pair: {pairs}")
    return [(v, mc) for v, mc in resolved if v.name in names]


def variants_spec(variants: list[tuple[Variant, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The variants as saved in a result (JSON types)."""
    return json.loads(json.dumps([{**asdict(v), "model": mc} for v, mc in variants]))


def specs(spec: list[dict[str, Any]], tuned: bool) -> list[dict[str, Any]]:
    """A saved spec for comparison: without the learning rate a tuned condition chose."""
    return [{**v, "train": {k: x for k, x in v["train"].items() if not (tuned and k == "lr")}} for v in spec]


def _run_study(study: Study, config: TrainConfig, budget_name: str, seeds: int, out: Path, runs: Path,
               progress: bool, reuse: bool, names: list[str] | None = None, condition: Condition | None = None,
               overrides: dict[str, Any] | None = None) -> StudyResult:
    name = study.name
    variants = chosen_variants(study, resolve_variants(study, config), names)
    budget_record = {"name": budget_name, "config": json.loads(json.dumps(asdict(config)))}
    path = result_path(study, out, names, condition.name if condition else None)
    if reuse and path.is_file():
        saved = StudyResult.load(path)
        tuned = bool(condition and condition.lr_grid)
        if (saved.budget == budget_record and specs(saved.variants_spec, tuned) == specs(variants_spec(variants), tuned)
                and saved.seeds == seeds and saved.condition == (condition.name if condition else "")):
            return saved
    tuning: dict[str, Any] = {}
    if condition and condition.lr_grid:
        variants, tuning = tune_learning_rates(condition, config, variants, runs, progress)
    spec = variants_spec(variants)

    train_overrides, calibration = {}, {}
    if study.equal_time:
        cache = runs / f"calibration-{name}-{run_id('study', {}, config)}.json"
        train_overrides, calibration = equal_time_overrides(study, config, variants, cache)

    val_name, val_images = validation_images(config)
    bicubic = evaluate(None, val_images, config.scale, progress=False).psnr
    bicubic_set14 = evaluate(None, "set14", config.scale, root=config.data_root, progress=False).psnr if has_dataset("set14", config.data_root) else None
    trained: list[tuple[Variant, dict[str, Any], int, Path, History, nn.Module, float | None]] = []
    for variant, model_config in variants:
        for seed in range(seeds):
            run_config = with_overrides(variant.training_config(config, seed), **train_overrides.get(variant.name, {}))
            run_dir, history = train_variant(variant, model_config, run_config, runs, progress)
            model, set14 = final_scores(run_dir, config.scale, config.data_root)
            trained.append((variant, model_config, seed, run_dir, history, model, set14))

    timing = ms_per_megapixel({v.name: m for v, _, seed, _, _, m, _ in trained if seed == 0}, config.scale)
    results = []
    for variant, model_config, seed, run_dir, history, model, set14 in trained:
        epochs = history.epochs
        run_config = with_overrides(variant.training_config(config, seed), **train_overrides.get(variant.name, {}))
        results.append(
            VariantResult(
                name=variant.name,
                seed=seed,
                arch=variant.arch,
                model_config=model_config,
                run=run_dir.name,
                iterations=[e.iteration for e in epochs],
                seconds=[e.train_seconds for e in epochs],
                loss=[e.loss for e in epochs],
                val_psnr=[e.val_psnr for e in epochs],
                final_psnr=epochs[-1].val_psnr,
                set14_psnr=set14,
                passes_bicubic_at=next((e.iteration for e in epochs if e.val_psnr > bicubic), None),
                parameters=count_parameters(model),
                gflops_per_mp=flops_per_megapixel(model, config.scale) / 1e9,
                ms_per_mp=timing[variant.name],
                train_seconds=epochs[-1].train_seconds,
                optimizer=run_config.optimizer,
                loss_function=run_config.loss,
                lr=run_config.lr,
            )
        )
    decisions = []
    trained_names = {v.name for v, _ in variants}
    for c in (c for c in study.comparisons if {c.better, c.worse} <= trained_names):
        better = [r.final_psnr for r in results if r.name == c.better]
        worse = [r.final_psnr for r in results if r.name == c.worse]
        decisions.append(decide(better, worse, c.better, c.worse))
    result = StudyResult(
        study=name,
        claim=study.claim,
        where=study.where,
        note=study.note,
        budget=budget_record,
        seeds=seeds,
        variants_spec=spec,
        val_dataset=val_name,
        bicubic_psnr=bicubic,
        bicubic_set14=bicubic_set14,
        decisions=decisions,
        verdict=overall(decisions),
        variants=results,
        calibration=calibration,
        command=study_command(study, budget_name, seeds, out, names, condition, overrides or {}),
        machine=f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}",
        created=time.strftime("%Y-%m-%d"),
        condition=condition.name if condition else "",
        condition_why=condition.why if condition else "",
        tuning=tuning,
    )
    result.save(path)
    return result
