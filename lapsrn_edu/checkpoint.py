"""Atomic checkpoints: plain state_dicts plus what is needed to rebuild the model.

A checkpoint is a dict saved with ``torch.save``::

    {"format": "lapsrn-edu/1", "version": <package version>, "arch": "LapSRN" | "MSLapSRN" | "OneShotSR",
     "model_config": {...}, "model": state_dict, ...anything else the caller adds (optimiser, history)}

Writes go to a temporary file in the same folder, are flushed to disk, then renamed over the
target: an interruption leaves either the old checkpoint or the new one, never half a file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .models import LapSRN, LapSRNConfig, MSLapSRN, MSLapSRNConfig, OneShotSR

FORMAT = "lapsrn-edu/1"


class CheckpointError(ValueError):
    """A checkpoint that is corrupt, of another format, or does not fit the model."""


def package_version() -> str:
    from . import __version__

    return __version__


def model_spec(model: nn.Module) -> tuple[str, dict[str, Any]]:
    """(architecture name, constructor arguments) that rebuild ``model``."""
    if isinstance(model, (LapSRN, MSLapSRN)):
        return type(model).__name__, asdict(model.config)
    if isinstance(model, OneShotSR):
        return "OneShotSR", dict(model.hparams)
    raise TypeError(f"cannot describe a {type(model).__name__} in a checkpoint")


def build_model(arch: str, config: dict[str, Any]) -> nn.Module:
    """Rebuild a model from :func:`model_spec`'s output."""
    if arch == "LapSRN":
        return LapSRN(LapSRNConfig(**config))
    if arch == "MSLapSRN":
        return MSLapSRN(MSLapSRNConfig(**config))
    if arch == "OneShotSR":
        return OneShotSR(**config)
    raise CheckpointError(f"unknown architecture {arch!r} in checkpoint")


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, fsync, then rename over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: str | Path, model: nn.Module, **extra: Any) -> None:
    """Save ``model`` (and any extra entries, e.g. optimiser state or history) atomically."""
    arch, config = model_spec(model)
    payload = {"format": FORMAT, "version": package_version(), "arch": arch, "model_config": config}
    payload["model"] = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload.update({k: (asdict(v) if is_dataclass(v) else v) for k, v in extra.items()})
    atomic_save(payload, path)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint dict on the CPU, with a clear error for a missing, corrupt or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # pickle, zip and torch errors alike mean "corrupt"
        raise CheckpointError(f"{path}: corrupt or unreadable checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a lapsrn-edu checkpoint (expected format {FORMAT!r})")
    return payload


def load_model(path: str | Path) -> nn.Module:
    """The model stored in a checkpoint, in eval mode and float32."""
    payload = read_checkpoint(path)
    model = build_model(payload["arch"], payload["model_config"])
    try:
        state = {k: v.float() for k, v in payload["model"].items()}
        model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError) as exc:
        raise CheckpointError(f"{path}: weights do not fit {payload['arch']} {payload['model_config']} ({exc})") from exc
    return model.eval()
