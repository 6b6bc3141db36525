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
checkpoint picked on a test set. :func:`.results.read` reads each prediction by the package's one
rule (:mod:`.verdict`: a margin, its 95% interval on the seed noise pooled over every run of the
same recipe, and one of four readings).
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import statistics
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data.datasets import has_dataset
from ..device import cpu_threads
from ..errors import OptionError
from ..evaluation.evaluate import evaluate
from ..evaluation.flops import flops_per_megapixel
from ..evaluation.timing import ms_per_megapixel
from ..models import count_parameters, registry
from ..models.checkpoint import load_model
from ..training.config import TrainConfig, with_overrides
from ..training.history import EpochRecord, History
from ..training.loop import one_batch, training_network
from ..training.schedule import make_optimizer
from ..training.trainer import EMBEDDED_SPLIT, TrainingDivergedError, train, validation_images
from .results import StudyResult, VariantResult, committed_results, read
from .specs import NOT_IDENTITY, STUDIES, Condition, Study, Variant

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
    networks = {
        name: training_network(
            m.to(memory_format=torch.channels_last),  # type: ignore[call-overload]  # torch's stubs of Module.to omit memory_format
            config,
            cpu,
        )
        for name, m in models.items()
    }
    optimizers = {name: make_optimizer(m, config) for name, m in models.items()}
    times: dict[str, list[float]] = {name: [] for name in models}
    for round_ in range(repeats + 1):
        for name in models:
            start = time.perf_counter()
            one_batch(networks[name], optimizers[name], hr, config)
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def equal_time_iterations(per_iteration: dict[str, float], reference: str, iterations: int) -> dict[str, int]:
    """The iterations each model trains in the time ``reference`` takes for ``iterations``, from
    each one's seconds per iteration (at least 10: a model too slow for that still gets a curve)."""
    seconds = per_iteration[reference] * iterations
    return {name: max(10, round(seconds / t)) for name, t in per_iteration.items()}


def equal_time_overrides(
    study: Study, config: TrainConfig, variants: list[tuple[Variant, dict[str, Any]]], cache: Path
) -> tuple[dict[str, dict[str, int]], dict[str, float]]:
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
    counts = equal_time_iterations(
        calibration, reference.name, reference.training_config(config, config.seed).total_iterations
    )
    overrides: dict[str, dict[str, int]] = {reference.name: {}}
    for v, _ in variants[1:]:
        iterations = counts[v.name]
        per_epoch = max(1, round(iterations / 10))
        overrides[v.name] = {"epochs": max(1, round(iterations / per_epoch)), "iterations_per_epoch": per_epoch}
    return overrides, calibration


def train_variant(
    variant: Variant, model_config: dict[str, Any], config: TrainConfig, runs: Path, progress: bool
) -> tuple[Path, History]:
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
    for a longer run); those that change what is learnt are written into the result's command.
    An ``lr`` override trains every variant at that one rate, without a condition's tuning."""
    if name not in STUDIES:
        raise OptionError(f"unknown study {name!r}; choose one of {', '.join(STUDIES)}")
    study = STUDIES[name]
    chosen = study.condition(condition) if condition else None
    config = resolved_data(study.budget(budget_name, condition, **overrides))
    if variants is None and chosen and chosen.variants:
        variants = list(chosen.variants)
    seeds = seeds or (chosen.seeds if chosen else study.seeds)
    with cpu_threads(config.threads):
        return _run_study(
            study,
            config,
            budget_name,
            seeds,
            Path(out),
            Path(runs),
            progress,
            reuse,
            variants,
            chosen,
            {k: v for k, v in overrides.items() if k not in MACHINE_FIELDS},
        )


def resolved_data(config: TrainConfig) -> TrainConfig:
    """``config`` with ``auto`` training and monitor data made explicit where they fall back to the
    embedded images (no 291 training images, no Set5 in the data root): a run on the embedded
    images then has another name and another result than one on the real data, so neither is ever
    reused for the other. Where the real data are present, ``auto`` stays, as in the committed runs."""
    changes = {}
    if config.train_data == "auto" and not has_dataset("train", config.data_root):
        changes["train_data"] = "embedded"
    if config.val_data == "auto" and not has_dataset("set5", config.data_root):
        changes["val_data"] = EMBEDDED_SPLIT
    return with_overrides(config, **changes)


def result_path(study: Study, out: str | Path, variants: list[str] | None = None, condition: str | None = None) -> Path:
    """Where a result is saved: ``<out>/<study>[-<condition>].json``, with ``-subset`` for fewer
    variants than the study (or its condition) trains."""
    full = study.condition(condition).variants if condition else None
    partial = variants is not None and set(variants) != set(full or (v.name for v in study.variants))
    return Path(out) / f"{study.name}{f'-{condition}' if condition else ''}{'-subset' if partial else ''}.json"


def study_command(
    study: Study,
    budget_name: str,
    seeds: int,
    out: str | Path,
    names: list[str] | None,
    condition: Condition | None,
    overrides: dict[str, Any],
) -> str:
    """The command line that remakes a result (written into it)."""
    parts = [f"lapsrn-edu study {study.name} --budget {budget_name}"]
    if condition:
        parts.append(f"--condition {condition.name}")
    parts.append(f"--seeds {seeds} --out {out}")
    if names and (not condition or tuple(names) != condition.variants):
        parts.append(f'--variants "{",".join(names)}"')
    parts += [
        f"--set {k}={','.join(map(str, v)) if isinstance(v, (tuple, list)) else v}"
        for k, v in sorted(overrides.items())
    ]
    return " ".join(parts)


def tune_learning_rates(
    condition: Condition,
    config: TrainConfig,
    variants: list[tuple[Variant, dict[str, Any]]],
    runs: Path,
    progress: bool,
) -> tuple[list[tuple[Variant, dict[str, Any]]], dict[str, Any]]:
    """Each variant with the learning rate of ``condition.lr_grid`` whose run (seed 0, held-out
    training images, no test set in sight) ends best on the held-out images, and the grid's scores."""
    tuned, record = [], {}
    epochs = min(condition.tune_epochs, config.epochs)
    for variant, model_config in variants:
        scores: dict[float, float | None] = {}
        for lr in condition.lr_grid:
            run_config = with_overrides(
                variant.training_config(config, 0),
                lr=lr,
                holdout=condition.tune_holdout,
                val_data="none",
                epochs=epochs,
            )
            scores[lr] = tuning_score(variant, model_config, run_config, runs, progress)
        finite = {lr: score for lr, score in scores.items() if score is not None}
        if not finite:
            raise TrainingDivergedError(
                f"{variant.name}: every learning rate of {condition.lr_grid} diverged; try a smaller grid"
            )
        best = max(finite, key=finite.__getitem__)
        record[variant.name] = {
            "grid": {f"{lr:g}": score for lr, score in scores.items()},
            "chosen_lr": best,
            "iterations": epochs * config.iterations_per_epoch,
            "held_out_images": condition.tune_holdout,
        }
        tuned.append((replace(variant, train={**variant.train, "lr": best}), model_config))
    return tuned, record


def tuning_score(
    variant: Variant, model_config: dict[str, Any], config: TrainConfig, runs: Path, progress: bool
) -> float | None:
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


def chosen_variants(
    study: Study, resolved: list[tuple[Variant, dict[str, Any]]], names: list[str] | None
) -> list[tuple[Variant, dict[str, Any]]]:
    """The resolved variants named in ``names`` (all when None), in the study's order."""
    if names is None:
        return resolved
    known = [v.name for v in study.variants]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise OptionError(
            f"study {study.name!r} has no variant {', '.join(map(repr, unknown)) or 'named'}; its variants: "
            f"{', '.join(known)}"
        )
    if study.equal_time and known[0] not in names:
        raise OptionError(f"study {study.name!r} times every variant against {known[0]!r}; include it")
    if not any({c.better, c.worse} <= set(names) for c in study.comparisons):
        pairs = "; ".join(f"{c.better!r} and {c.worse!r}" for c in study.comparisons)
        raise OptionError(f"the variants chosen leave nothing to compare; choose at least one pair: {pairs}")
    return [(v, mc) for v, mc in resolved if v.name in names]


def variants_spec(variants: list[tuple[Variant, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The variants as saved in a result (JSON types)."""
    return json.loads(json.dumps([{**asdict(v), "model": mc} for v, mc in variants]))


def comparable_spec(spec: list[dict[str, Any]], tuned: bool) -> list[dict[str, Any]]:
    """A saved spec for comparison: without the learning rate a tuned condition chose."""
    return [{**v, "train": {k: x for k, x in v["train"].items() if not (tuned and k == "lr")}} for v in spec]


@dataclass
class TrainedRun:
    """One variant's run for one seed, trained (or reused) and scored."""

    variant: Variant
    model_config: dict[str, Any]
    seed: int
    config: TrainConfig  # the run's own configuration (its seed, an equal-time length, a tuned rate)
    folder: Path
    history: History
    model: nn.Module
    set14: float | None


def saved_if_same(
    path: Path,
    budget_record: dict[str, Any],
    variants: list[tuple[Variant, dict[str, Any]]],
    seeds: int,
    condition: Condition | None,
    tuned: bool,
) -> StudyResult | None:
    """The result saved at ``path`` when it was made with the same budget, variants, seeds and condition."""
    if not path.is_file():
        return None
    saved = StudyResult.load(path)
    same = (
        saved.budget == budget_record
        and saved.seeds == seeds
        and saved.condition == (condition.name if condition else "")
        and comparable_spec(saved.variants_spec, tuned) == comparable_spec(variants_spec(variants), tuned)
    )
    return saved if same else None


def train_all(
    variants: list[tuple[Variant, dict[str, Any]]],
    config: TrainConfig,
    seeds: int,
    lengths: dict[str, dict[str, int]],
    runs: Path,
    progress: bool,
) -> list[TrainedRun]:
    """Every variant for every seed (``lengths``: an equal-time study's iterations per variant)."""
    trained = []
    for variant, model_config in variants:
        for seed in range(seeds):
            run_config = with_overrides(variant.training_config(config, seed), **lengths.get(variant.name, {}))
            folder, history = train_variant(variant, model_config, run_config, runs, progress)
            model, set14 = final_scores(folder, config.scale, config.data_root)
            trained.append(TrainedRun(variant, model_config, seed, run_config, folder, history, model, set14))
    return trained


def scored(epoch: EpochRecord) -> float:
    """An epoch's validation PSNR: a study's runs are scored after every epoch."""
    if epoch.val_psnr is None:
        raise ValueError(f"epoch {epoch.epoch} of a study's run has no validation score")
    return epoch.val_psnr


def variant_result(run: TrainedRun, bicubic: float, ms_per_mp: float, scale: int) -> VariantResult:
    """What a result file keeps of one run: its curve, its last checkpoint's scores, its costs."""
    epochs = run.history.epochs
    val_psnr = [scored(e) for e in epochs]
    return VariantResult(
        name=run.variant.name,
        seed=run.seed,
        arch=run.variant.arch,
        model_config=run.model_config,
        run=run.folder.name,
        iterations=[e.iteration for e in epochs],
        seconds=[e.train_seconds for e in epochs],
        loss=[e.loss for e in epochs],
        val_psnr=val_psnr,
        final_psnr=val_psnr[-1],
        set14_psnr=run.set14,
        passes_bicubic_at=next((e.iteration for e, psnr in zip(epochs, val_psnr, strict=True) if psnr > bicubic), None),
        parameters=count_parameters(run.model),
        gflops_per_mp=flops_per_megapixel(run.model, scale) / 1e9,
        ms_per_mp=ms_per_mp,
        train_seconds=epochs[-1].train_seconds,
        optimizer=run.config.optimizer,
        loss_function=run.config.loss,
        lr=run.config.lr,
        made_with=run.history.made_with,
    )


def _run_study(
    study: Study,
    config: TrainConfig,
    budget_name: str,
    seeds: int,
    out: Path,
    runs: Path,
    progress: bool,
    reuse: bool,
    names: list[str] | None = None,
    condition: Condition | None = None,
    overrides: dict[str, Any] | None = None,
) -> StudyResult:
    name = study.name
    variants = chosen_variants(study, resolve_variants(study, config), names)
    budget_record = {"name": budget_name, "config": json.loads(json.dumps(asdict(config)))}
    path = result_path(study, out, names, condition.name if condition else None)
    tuned = bool(condition and condition.lr_grid) and "lr" not in (overrides or {})  # a rate set by hand is not tuned
    saved = saved_if_same(path, budget_record, variants, seeds, condition, tuned) if reuse else None
    if saved is not None:
        return saved
    tuning: dict[str, Any] = {}
    if tuned and condition is not None:  # tuned implies a condition
        variants, tuning = tune_learning_rates(condition, config, variants, runs, progress)
    spec = variants_spec(variants)

    lengths: dict[str, dict[str, int]] = {}
    calibration: dict[str, float] = {}
    if study.equal_time:
        cache = runs / f"calibration-{name}-{run_id('study', {}, config)}.json"
        lengths, calibration = equal_time_overrides(study, config, variants, cache)

    val_name, val_images = validation_images(config)
    bicubic = evaluate(None, val_images, config.scale, progress=False).psnr
    bicubic_set14 = (
        evaluate(None, "set14", config.scale, root=config.data_root, progress=False).psnr
        if has_dataset("set14", config.data_root)
        else None
    )
    trained = train_all(variants, config, seeds, lengths, runs, progress)
    timing = ms_per_megapixel({run.variant.name: run.model for run in trained if run.seed == 0}, config.scale)
    results = [variant_result(run, bicubic, timing[run.variant.name], config.scale) for run in trained]
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
        decisions=[],
        verdict="",
        variants=results,
        calibration=calibration,
        command=study_command(study, budget_name, seeds, out, names, condition, overrides or {}),
        machine=f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}",
        created=time.strftime("%Y-%m-%d"),
        condition=condition.name if condition else "",
        condition_why=condition.why if condition else "",
        tuning=tuning,
    )
    read(result, [r for r in committed_results(out) if r.file_name != path.name])
    result.save(path)
    return result
