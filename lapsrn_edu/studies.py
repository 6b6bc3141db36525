"""The paper's four studies (PAPER.md section 7) as experiments: variants x one budget -> results.

A *study* is a list of :class:`Variant` s (the model and training switches that differ) trained
under one identical :class:`~lapsrn_edu.train.TrainConfig` (the *budget*: same data, patches,
seed, optimiser and number of iterations) with the package's training loop. The result keeps each
variant's curves (loss and validation PSNR per epoch, against iterations and seconds) and its
final PSNR, and is saved as JSON, so a notebook only chooses the budget and plots.

Studies: ``residual`` (residual learning on or off), ``loss`` (Charbonnier or L2), ``pyramid``
(LapSRN or a one-shot upsampler of the same depth), ``depth`` (convs per level).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .evaluate import evaluate
from .models import LapSRN, LapSRNConfig, OneShotSR, count_parameters
from .train import TrainConfig, recipe, train, validation_images, with_overrides


@dataclass(frozen=True)
class Variant:
    """One arm of a study: ``arch`` ("LapSRN" or "OneShotSR"), model switches (e.g.
    ``residual=False``) and training overrides (e.g. ``loss="l2"``, ``depth=2``)."""

    name: str
    arch: str = "LapSRN"
    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)

    def build(self, config: TrainConfig) -> nn.Module:
        """The variant's network, sized by the budget (scale, depth, channels) and its overrides."""
        if self.arch == "OneShotSR":
            return OneShotSR(scale=config.scale, depth=config.depth, channels=config.channels)
        if self.arch == "LapSRN":
            return LapSRN(LapSRNConfig(scale=config.scale, depth=config.depth, channels=config.channels, upsampler=config.upsampler, **self.model))
        raise ValueError(f"unknown architecture {self.arch!r}; use LapSRN or OneShotSR")


STUDIES: dict[str, tuple[str, list[Variant]]] = {
    "residual": (
        "Does predicting residuals (Laplacian bands) train faster and better than predicting images?",
        [Variant("residual learning"), Variant("no residual", model={"residual": False})],
    ),
    "loss": (
        "Does the Charbonnier loss beat L2?",
        [Variant("Charbonnier", train={"loss": "charbonnier"}), Variant("L2", train={"loss": "l2"})],
    ),
    "pyramid": (
        "Does upsampling x2 per level beat one-shot upsampling with the same convolutions?",
        [Variant("pyramid (LapSRN)"), Variant("one-shot", arch="OneShotSR")],
    ),
    "depth": (
        "How do quality and cost grow with the depth per level?",
        [Variant("depth 1", train={"depth": 1}), Variant("depth 3", train={"depth": 3}), Variant("depth 5", train={"depth": 5})],
    ),
}


def budget(quick: bool, out: str | Path = "build/studies", **overrides: Any) -> TrainConfig:
    """The shared training budget: the package's quick recipe at x4 with a small network (depth 3,
    32 channels, batches of 8), for 100 iterations in quick mode (about half a minute per variant
    on a 2-core CPU) or 400 by default (about two minutes). Pass ``epochs`` and
    ``iterations_per_epoch`` (or any other field) to spend more."""
    iterations = 25 if quick else 50
    epochs = 4 if quick else 8
    base = recipe("quick", scale=4, depth=3, channels=32, batch_size=8, epochs=epochs, iterations_per_epoch=iterations)
    return with_overrides(base, out=str(out), **overrides)


@dataclass
class VariantResult:
    """A variant's curves (one entry per epoch) and final validation PSNR."""

    name: str
    parameters: int
    iterations: list[int]
    seconds: list[float]
    loss: list[float]
    val_psnr: list[float]
    final_psnr: float


@dataclass
class StudyResult:
    """Everything a study's notebook plots and concludes from; saved as JSON."""

    study: str
    question: str
    budget: dict[str, Any]
    val_dataset: str
    bicubic_psnr: float
    variants: list[VariantResult]

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> StudyResult:
        data = json.loads(Path(path).read_text())
        return cls(**{**data, "variants": [VariantResult(**v) for v in data["variants"]]})

    def summary(self) -> str:
        """A plain-text table: parameters, final PSNR, gain over bicubic, training time."""
        lines = [f"{'variant':<20}{'parameters':>12}{'final PSNR':>12}{'vs bicubic':>12}{'train time':>12}"]
        for v in self.variants:
            lines.append(f"{v.name:<20}{v.parameters:>12,}{v.final_psnr:>10.2f} dB{v.final_psnr - self.bicubic_psnr:>+9.2f} dB{v.seconds[-1]:>10.0f} s")
        return "\n".join(lines)


def run_study(name: str, config: TrainConfig, progress: bool = True, reuse: bool = True) -> StudyResult:
    """Train every variant of study ``name`` under ``config`` and return (and save) the result.

    Results go to ``<config.out>/<name>.json``; with ``reuse`` a saved result of the same budget is
    returned without training again.
    """
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; choose one of {', '.join(STUDIES)}")
    question, variants = STUDIES[name]
    path = Path(config.out) / f"{name}.json"
    if reuse and path.is_file():
        saved = StudyResult.load(path)
        if saved.budget == json.loads(json.dumps(asdict(config))):
            return saved
    val_name, val_images = validation_images(config)
    bicubic = evaluate(None, val_images, config.scale, progress=False).psnr
    results = []
    for variant in variants:
        variant_config = with_overrides(config, out=str(Path(config.out) / name / variant.name.replace(" ", "_")), **variant.train)
        torch.manual_seed(variant_config.seed)
        model = variant.build(variant_config)
        history = train(variant_config, progress, model=model)
        epochs = history.epochs
        results.append(
            VariantResult(
                name=variant.name,
                parameters=count_parameters(model),
                iterations=[e.iteration for e in epochs],
                seconds=[e.train_seconds for e in epochs],
                loss=[e.loss for e in epochs],
                val_psnr=[e.val_psnr for e in epochs],
                final_psnr=epochs[-1].val_psnr,
            )
        )
    result = StudyResult(name, question, asdict(config), val_name, bicubic, results)
    result.save(path)
    return result
