"""Publish a training run as one of our models: ``data/models/ours-x{S}.pt`` plus a model card
(another name, such as ``ours-x4-gpu``, with ``name``). An existing model of that name is never
replaced unless asked (``overwrite``): the committed models are what the lessons and the model cards
quote, and one export with the default name would silently replace them.

What gets published is the run's LAST checkpoint, never one chosen for its score on Set5, Set14
or BSD100 (that would be selecting on the test set). The weights are stored in float16, which
halves the file (a depth-10 x4 model is about 1.6 MB) and changes PSNR by far less than 0.01 dB;
:func:`lapsrn_edu.models.checkpoint.load_model` turns them back into float32. The card records how the
model was made (command, data, iterations, time, CPU time, number format, machine) and what it
scores, measured on the published file with the paper's protocol, beside the paper's own score;
``NAME.curve.json`` keeps the run's monitor curve (PSNR against hours), which the card cannot show.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch

from ..data.datasets import REPO_DATA, has_dataset
from ..errors import OptionError
from ..evaluation.evaluate import EvaluationResult, evaluate
from ..evaluation.published import LAPSRN
from ..models.checkpoint import CheckpointError, load_model, read_checkpoint, save_checkpoint
from .config import RECIPES, TrainConfig

MAX_BYTES = 4 * 1024 * 1024


def last_checkpoint(run: str | Path) -> Path:
    """``RUN/last.pt`` for a run folder, or the file itself."""
    run = Path(run)
    path = run / "last.pt" if run.is_dir() else run
    if path.name == "best.pt":
        raise CheckpointError(
            f"{path}: publish the last checkpoint of a run, not best.pt (it may be selected on a test set)"
        )
    return path


def train_command(config: dict[str, Any]) -> str:
    """The ``lapsrn-edu train`` command that reproduces a run's configuration."""
    name: str = config["recipe"] if config.get("recipe") in RECIPES else "paper"
    base = asdict(RECIPES[name])
    parts = ["lapsrn-edu train", f"--config {name}", f"--scale {config['scale']}"]
    for f in fields(TrainConfig):
        value = config.get(f.name, base[f.name])  # a field added after the run was saved: its default
        if f.name in ("recipe", "scale", "out", "resume", "data_root") or _plain(value) == _plain(base[f.name]):
            continue
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag if value else f"--no-{flag[2:]}")
        else:
            parts.append(f"{flag} {','.join(map(str, value)) if isinstance(value, (list, tuple)) else value}")
    return " ".join(parts)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def machine() -> str:
    """CPU model, core count, system and torch version, for the card."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{cpu}, {os.cpu_count()} CPU cores{gpu}, {platform.system()}, torch {torch.__version__}"


def export_run(
    run: str | Path,
    out_dir: str | Path = REPO_DATA / "models",
    datasets: tuple[str, ...] = ("set5", "set14", "bsd100", "urban100"),
    root: str | Path | None = None,
    progress: bool = True,
    name: str | None = None,
    trained_on: str | None = None,
    overwrite: bool = False,
) -> tuple[Path, Path]:
    """Write ``NAME.pt`` (float16), ``NAME.md`` and ``NAME.curve.json`` from a run's last checkpoint;
    returns the weights and the card. Datasets absent from the data root are left out of the card.
    ``name`` defaults to ``ours-x{S}``; it is also the zoo name the card tells to load.
    ``trained_on`` describes the machine the run trained on when it is not this one (a run
    trained on a GPU machine and published, and scored, here). An existing ``NAME.pt`` is an
    :class:`OptionError` unless ``overwrite``."""
    source = last_checkpoint(run)
    state = read_checkpoint(source)
    config, history = state.get("config"), state.get("history")
    if not isinstance(config, dict) or not isinstance(history, dict):
        raise CheckpointError(f"{source}: not a training checkpoint (no config or history to describe it)")
    model = load_model(source).half()
    scale = int(config["scale"])
    out_dir = Path(out_dir)
    name = name or f"ours-x{scale}"
    if not name.replace("-", "").replace("_", "").isalnum():
        raise OptionError(f"model name {name!r}: use letters, digits, '-' and '_' only (it becomes a file name)")
    weights = out_dir / f"{name}.pt"
    if weights.exists() and not overwrite:
        raise OptionError(
            f"{weights} exists; export under a name of your own (--name mine-x{scale}), "
            "or pass --overwrite to replace it"
        )
    record = history["epochs"][-1] if history["epochs"] else {}
    save_checkpoint(
        weights,
        model,
        config=config,
        iteration=state["iteration"],
        trained_from=str(source),
        selected_on="last checkpoint of the run",
    )
    size = weights.stat().st_size
    if size > MAX_BYTES:
        raise OptionError(f"{weights}: {size / 2**20:.1f} MB, over the 4 MB budget for committed models")
    present = [dataset for dataset in datasets if has_dataset(dataset, root)]
    results = [evaluate(load_model(weights), dataset, scale, root=root, progress=progress) for dataset in present]
    card = out_dir / f"{name}.md"
    made_with = history.get("made_with", [])
    card.write_text(model_card(scale, config, state["iteration"], record, results, size, name, trained_on, made_with))
    (out_dir / f"{name}.curve.json").write_text(json.dumps(curve(history), indent=1) + "\n")
    return weights, card


def curve(history: dict[str, Any]) -> dict[str, Any]:
    """The monitor's PSNR after each epoch against hours of wall clock and of CPU time: what a
    lesson plots as "what a night of training gives" (the monitor selects nothing)."""
    return {
        "val_dataset": history.get("val_dataset", ""),
        "epochs": [
            {
                "epoch": e["epoch"],
                "iteration": e["iteration"],
                "hours": e["elapsed_seconds"] / 3600,
                "cpu_hours": None if e.get("cpu_seconds") is None else e["cpu_seconds"] / 3600,
                "val_psnr": e["val_psnr"],
            }
            for e in history["epochs"]
        ],
    }


def duration(seconds: float) -> str:
    """Hours for a long run, minutes for one that took less than an hour (a GPU run)."""
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def model_card(
    scale: int,
    config: dict[str, Any],
    iteration: int,
    record: dict[str, Any],
    results: list[EvaluationResult],
    size: int,
    name: str | None = None,
    trained_on: str | None = None,
    made_with: list[dict[str, Any]] | None = None,
) -> str:
    name = name or f"ours-x{scale}"
    rows = (
        "\n".join(f"| {r.dataset} | {r.psnr:.2f} | {r.ssim:.4f} | {paper_cell(r.dataset, scale)} |" for r in results)
        or "| (no test set under the data root) | | | |"
    )
    train_time, wall = duration(record.get("train_seconds", 0.0)), duration(record.get("elapsed_seconds", 0.0))
    data = "T91 + BSDS200 (291 images)" if config.get("train_data") in ("auto", "train") else config.get("train_data")
    if trained_on:
        where = f"trained on {trained_on}; scored on {machine()}"
    else:
        where = machine() + ("" if torch.cuda.is_available() else " (shared with other jobs, so times are inflated)")
    optimiser = (
        f"{config['optimizer']}, lr {config['lr']:g} ({config['lr_schedule']}), "
        f"{config['loss']} loss ({config['reduction']} reduction)"
    )
    iterations = (
        f"{iteration} ({iteration * config['batch_size']} patches), "
        f"{record.get('epoch', 0)} epochs of {config['iterations_per_epoch']}"
    )
    evaluate_command = f"lapsrn-edu evaluate --model {name} --dataset set5 --scale {scale}"
    extra_rows = cpu_row(record) + format_row(made_with)
    return f"""# {name}

LapSRN x{scale} trained by this project (`lapsrn-edu`), published from the LAST checkpoint of its run
(not selected on any test set). Weights in float16 ({size / 2**20:.2f} MB); load with
`lapsrn_edu.evaluation.zoo.load("{name}")` or use `--model {name}`.

| item | value |
|---|---|
| command | `{train_command(config)}` |
| model | depth {config["depth"]} per level, {config["channels"]} channels, {config["upsampler"]} upsampler |
| data | {data}, {config["patch_size"]} px patches, batch {config["batch_size"]}, Y channel, on-the-fly augmentation |
| optimiser | {optimiser} |
| iterations | {iterations} |
| training time | {train_time} of data + compute, {wall} wall clock including validation |{extra_rows}
| machine | {where} |

Scores: the paper's protocol (`{evaluate_command}`, and the other sets), PSNR/SSIM on Y, beside
LapSRN's published PSNR (CVPR 2017, Table 4).

| dataset | PSNR (dB) | SSIM | the paper's LapSRN (dB) |
|---|---|---|---|
{rows}
"""


def paper_cell(dataset: str, scale: int) -> str:
    return f"{LAPSRN[(dataset, scale)][0]:.2f}" if (dataset, scale) in LAPSRN else "(not in Table 4)"


def cpu_row(record: dict[str, Any]) -> str:
    """The run's core-hours, where its history recorded CPU time (runs before it did not)."""
    cpu = record.get("cpu_seconds")
    if cpu is None:
        return ""
    return (
        f"\n| CPU time | {cpu / 3600:.2f} core-hours (the training process's CPU time, all its threads, "
        "validation included; other programs on the machine do not inflate it) |"
    )


def format_row(made_with: list[dict[str, Any]] | None) -> str:
    """How each stretch of the run computed: threads and number format (bf16 autocast or float32)."""
    if not made_with:
        return ""
    stretches = [
        f"from iteration {m['from_iteration']}: {m['device']}, {m['threads']} threads, "
        f"{'bfloat16 autocast' if m.get('autocast') == 'bf16' else 'float32'}, {m['network']}"
        for m in made_with
    ]
    return f"\n| computed | {'; '.join(stretches)} |"
