"""Atomic checkpoints: plain state_dicts plus what is needed to rebuild the model.

A checkpoint is a dict saved with ``torch.save``::

    {"format": "lapsrn-edu/1", "version": <package version>, "arch": a name of models.registry,
     "model_config": {...}, "model": state_dict, ...anything else the caller adds (optimiser, history)}

Writes go to a temporary file in the same folder, are flushed to disk, then renamed over the
target: an interruption leaves either the old checkpoint or the new one, never half a file.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
import warnings
import zipfile
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .models import registry

FORMAT = "lapsrn-edu/1"


class CheckpointError(ValueError):
    """A checkpoint that is corrupt, of another format, or does not fit the model."""


def package_version() -> str:
    from . import __version__

    return __version__


def model_spec(model: nn.Module) -> tuple[str, dict[str, Any]]:
    """(architecture name, config as a dict) that rebuild ``model`` (see :mod:`.models.registry`)."""
    try:
        return registry.describe(model)
    except registry.UnknownArchitectureError as exc:
        raise TypeError(f"cannot describe a {type(model).__name__} in a checkpoint ({exc})") from None


def build_model(arch: str, config: dict[str, Any]) -> nn.Module:
    """Rebuild a model from :func:`model_spec`'s output; a config that does not fit is a CheckpointError."""
    try:
        return registry.build(arch, config)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"cannot build {arch!r} from {config!r}: {exc}") from None


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
    """Load a checkpoint dict on the CPU, safely, and check it (:mod:`.checkpoint_schema`).

    ``weights_only=True`` lets the file hold tensors and plain data only: a file that asks to
    build any other Python object (the way a malicious pickle runs code) is refused before any
    of it runs. Our checkpoints, optimiser state and history included, need nothing else.
    """
    from .checkpoint_schema import check_checkpoint  # it builds models through this module

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: empty file, not a checkpoint")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols on stderr: one line only
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # from None: torch's own message advises weights_only=False, the one thing not to do here
        raise CheckpointError(f"{path}: refused: {_refusal(str(exc))}; nothing in the file was run") from None
    except Exception as exc:  # zip, pickle and torch errors alike mean "corrupt"
        raise CheckpointError(f"{path}: corrupt or unreadable checkpoint, {_what_went_wrong(path, exc)}") from exc
    check_checkpoint(payload, path)
    return payload


def _refusal(message: str) -> str:
    """What the weights-only unpickler refused, in words (its own message suggests weights_only=False)."""
    if found := re.search(r"GLOBAL ([\w.]+)", message):
        return f"it asks to load the Python object {found.group(1)}, and a checkpoint holds only tensors and plain data"
    if found := re.search(r"Unsupported operand (\d+)", message):
        return f"pickle instruction {found.group(1)} is not allowed in a checkpoint (only tensors and plain data are)"
    return "it holds more than tensors and plain data"


def _what_went_wrong(path: Path, exc: BaseException) -> str:
    """torch's loading errors are long and technical: a short reason, with a zip of other files named as such."""
    try:
        with zipfile.ZipFile(path) as archive:
            if not any(name.endswith("/data.pkl") for name in archive.namelist()):
                return "a zip archive that torch.save did not write (no data.pkl inside)"
    except (zipfile.BadZipFile, OSError):  # not a zip, or a broken one: torch's reason says more
        pass
    text = re.sub(r"\[enforce fail at [^\]]*\][\s.]*", "", " ".join(str(exc).split())).split(". ")[0]
    return f"truncated or not written by torch.save ({type(exc).__name__}{': ' + text if text else ''})"


def load_model(path: str | Path) -> nn.Module:
    """The model stored in a checkpoint, in eval mode and float32 (weights checked by :func:`read_checkpoint`)."""
    payload = read_checkpoint(path)
    model = build_model(payload["arch"], payload["model_config"])
    model.load_state_dict({k: v.float() for k, v in payload["model"].items()}, strict=True)
    return model.eval()
