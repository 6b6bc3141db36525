"""What a study is: the shared budgets, the variants of a claim, the predictions, the conditions,
and the five studies of the paper (:data:`STUDIES`)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..errors import OptionError
from ..models import registry
from ..training.config import TrainConfig, recipe, with_overrides

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
    """What the paper's claim predicts: variant ``better`` ends above variant ``worse``; where the
    paper reports the size of the gap, ``paper_margin`` dB on Set5 at ``paper_scale`` (``paper_where``
    names its table or section)."""

    better: str
    worse: str
    paper_margin: float | None = None
    paper_scale: int = 4
    paper_where: str = ""


@dataclass(frozen=True)
class Condition:
    """A study run again under one changed condition that the paper's reasoning says should matter
    (a larger scale, the paper's optimiser, a longer training), saved as ``<study>-<name>.json``.

    ``overrides`` change budget fields; ``epochs_factor`` lengthens the budget; ``variants`` keeps
    some of the study's variants (None: all). With ``lr_grid``, every variant first trains once
    per learning rate of the grid (seed 0, ``tune_epochs`` epochs of the budget, ``tune_holdout``
    training images held out of these tuning runs) and then uses the rate whose run scores best on
    those held-out images: each variant gets its own best rate, never one chosen on a test set.
    The final runs then train on all the training images, the held-out ones included (the
    usual practice: the split only serves the choice)."""

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
    # The course budget's epochs for this study, where its slowest variant starts later than the
    # others on Set5 x4 (its committed curves), so 600 iterations would read mostly its slow start
    # (None: the course budget as is).
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
            "CVPR 2017, section 4.1 (Model analysis), residual learning and its convergence plot; "
            "docs/paper.md#residual-learning",
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
            note="At the standard budget every run uses Adam (the paper used SGD; the sgd condition trains "
            "with SGD). Adam divides each weight's step by the "
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
                    "eight times the standard length, since SGD starts slowly (at four times, 12,000 "
                    "iterations, both losses stood only 1.8 dB over bicubic, where Adam is 2.4 dB over "
                    "it after 3,000). Each loss gets its best rate from one grid "
                    "around the paper's rate: 1e-5 on 128 px patches is about 4e-5 on our 64 px patches "
                    "(the summed loss, and so its gradient, is four times smaller), and the grid runs from "
                    "1e-5 up to 3e-4, where SGD starts to diverge (1e-3 diverged within ten iterations "
                    "for both L2 and the Charbonnier loss). L1 is left out: wherever a pixel's error is well "
                    "above eps = 0.001 (a quarter of a grey level) its gradient is nearly the Charbonnier "
                    "loss's, and under Adam the two ended level; leaving it out saves a third of the cost.",
                    overrides={
                        "optimizer": "sgd",
                        "momentum": 0.9,
                        "weight_decay": 1e-4,
                        "bias_lr_mult": 0.1,
                        "reduction": "paper",
                        "lr_min": 1e-7,
                    },
                    epochs_factor=8,
                    variants=("Charbonnier", "L2"),
                    lr_grid=(1e-5, 3e-5, 1e-4, 3e-4),
                ),
            ),
        ),
        Study(
            "pyramid",
            "Upsampling x2 per pyramid level beats one-shot upsampling by the whole scale with the "
            "same convolutions (the paper: about 0.7 dB on Set5 and 0.4 dB on Set14 at x4).",
            "CVPR 2017, section 4.1 (Model analysis), pyramid structure and its ablation table; "
            "docs/paper.md#pyramid-structure",
            (
                LAPSRN,
                Variant("one-shot, same convolutions", arch="OneShotSR"),
                Variant("one-shot, same parameters", arch="OneShotSR", same_parameters_as="LapSRN"),
            ),
            (
                Comparison(
                    "LapSRN",
                    "one-shot, same convolutions",
                    paper_margin=0.7,
                    paper_where="CVPR 2017 section 4.1, ablation table",
                ),
                Comparison("LapSRN", "one-shot, same parameters"),
            ),
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
                    "Depths 3, 5 and 10 at four times the budget (depth 15 is left out: at the standard budget "
                    "its training took about 60% as long as the other three together, and it ended below depth 10).",
                    epochs_factor=4,
                    variants=("depth 3", "depth 5", "depth 10"),
                ),
            ),
        ),
        Study(
            "baselines",
            "LapSRN is more accurate than SRCNN, FSRCNN and VDSR. (The paper compares the methods as "
            "each was published, fully trained, in Table 4; here, a race the paper did not run, every "
            "method trains for the time LapSRN takes. Speed at test time is measured too, but not "
            "decided: on a GPU the paper finds LapSRN faster than every compared method but FSRCNN; "
            "each file's ms_per_mp gives the CPU figures.)",
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
