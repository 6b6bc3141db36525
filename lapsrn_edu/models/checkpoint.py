"""Atomic checkpoints: plain state_dicts plus what is needed to rebuild the model.

A checkpoint is a dict saved with ``torch.save``::

    {"format": "lapsrn-edu/1", "version": <package version>, "arch": a name of models.registry,
     "model_config": {...}, "model": state_dict, ...anything else the caller adds (optimiser, history)}

Writes go to a temporary file in the same folder, are flushed to disk, then renamed over the
target: an interruption leaves either the old checkpoint or the new one, never half a file.

Reads load with ``torch.load(weights_only=True)``, so a file can only give tensors and plain
Python data (dicts, lists, numbers, strings): nothing in it runs. :func:`check_checkpoint` then
checks that the data is one of our checkpoints: the required keys with their types, an
architecture we know with a config it accepts, every weight with exactly the shape that
architecture builds, and finite numbers; in a training checkpoint also the shape of the optimiser
state and of the history. Each problem is one :class:`CheckpointError` line that names the file
and what is wrong. What resuming needs of the training config and the history (their fields and
types) is checked by the trainer's own types when it rebuilds them.
"""

from __future__ import annotations

import functools
import math
import os
import pickle
import re
import tempfile
import warnings
import zipfile
from dataclasses import asdict, is_dataclass
from pathlib import Path
from types import UnionType
from typing import Any, NoReturn, Union, get_args, get_origin

import numpy as np
import torch
from torch import nn

from ..errors import MissingFileError, UserError
from . import registry

FORMAT = "lapsrn-edu/1"


class CheckpointError(UserError, ValueError):
    """A checkpoint that is corrupt, of another format, or does not fit the model."""


def package_version() -> str:
    from .. import __version__

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
    payload.update({k: (asdict(v) if is_dataclass(v) and not isinstance(v, type) else v) for k, v in extra.items()})
    atomic_save(payload, path)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint dict on the CPU, safely, and check it (:func:`check_checkpoint`).

    ``weights_only=True`` lets the file hold tensors and plain data only: a file that asks to
    build any other Python object (the way a malicious pickle runs code) is refused before any
    of it runs. Our checkpoints, optimiser state and history included, need nothing else.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such checkpoint file")
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


# --- what a checkpoint must hold ----------------------------------------------------------------

REQUIRED = {"format": str, "arch": str, "model_config": dict, "model": dict}
# What save_checkpoint, the trainer and the exporter add: optional, but of these types when present.
OPTIONAL = {
    "version": str,
    "config": dict,
    "optimizer": dict,
    "iteration": int,
    "history": dict,
    "best_psnr": float,
    "selected_on": str,
    "trained_from": str,
}
# No architecture here has a depth, width or kernel near this; refused before a model is built,
# so a file cannot make the check itself allocate or loop without bound.
LARGEST_SIZE = 1024
TRAINING = ("config", "iteration", "history")  # what resuming needs beside 'optimizer'
PLAIN = (str, int, float, bool, type(None))
NUMBER = (int, float, bool, type(None))  # what an optimiser keeps beside tensors (None: no momentum yet)


class _Invalid(Exception):
    """What is wrong, without the file name (check_checkpoint adds it)."""


def check_checkpoint(payload: Any, path: str | Path) -> None:
    """Raise :class:`CheckpointError` unless ``payload`` (as loaded from ``path``) is a checkpoint
    whose model can be rebuilt and filled exactly, with finite weights."""
    try:
        _check(payload)
    except _Invalid as exc:
        raise CheckpointError(f"{path}: {exc}") from None


def _fail(what: str) -> NoReturn:
    raise _Invalid(what)


def _check(payload: Any) -> None:
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        _fail(f"not a lapsrn-edu checkpoint: expected a dict with format {FORMAT!r}, found {_what_it_is(payload)}")
    for key in REQUIRED:
        if key not in payload:
            _fail(f"no {key!r} entry (a checkpoint holds {', '.join(REQUIRED)})")
    for key, kind in (*REQUIRED.items(), *OPTIONAL.items()):
        if key in payload and not fits(payload[key], kind):
            _fail(f"{key!r} is {_kind(payload[key])}, expected {kind.__name__}")
    if payload.get("iteration", 0) < 0:
        _fail(f"'iteration' is {payload['iteration']}, expected a count from 0")
    if math.isnan(payload.get("best_psnr", 0.0)):
        _fail("'best_psnr' is NaN")
    if "config" in payload:
        _check_plain_dict("config", payload["config"])
    shapes = _expected_shapes(payload["arch"], payload["model_config"])
    _check_weights(payload["model"], shapes, payload["arch"])
    if "optimizer" in payload:
        _check_training(payload)


def fits(value: Any, hint: Any) -> bool:
    """The one type check for loaded files (checkpoints, configs, histories): ``value`` is of the
    declared type: int, float (an int is one, a bool is not), str, bool, None, ``X | None``,
    ``tuple[...]`` (a list from JSON too), or a plain class (a dict, a list)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, UnionType):
        return any(fits(value, arg) for arg in args)
    if origin is tuple:
        return isinstance(value, (list, tuple)) and len(value) == len(args) and all(map(fits, value, args))
    if hint is type(None):
        return value is None
    if hint in (int, float) and isinstance(value, bool):
        return False
    return isinstance(value, (int, float) if hint is float else hint)


def type_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint)


def _kind(value: Any) -> str:
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _what_it_is(payload: Any) -> str:
    if not isinstance(payload, dict):
        return _kind(payload)
    if "format" in payload:
        return f"format {payload['format']!r}"
    if payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
        return "a bare state_dict (save models with lapsrn_edu.models.checkpoint.save_checkpoint)"
    return "a dict without 'format'"


def _expected_shapes(arch: str, config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Every weight's shape in ``arch`` built from ``config``, after checking the config's fields
    and types against the architecture's defaults. Models are built on the meta device: shapes
    without memory or random numbers."""
    try:
        defaults = dict(_default_config(arch))
    except (ValueError, TypeError):  # CheckpointError is a ValueError
        _fail(f"unknown architecture {arch!r} in 'arch'")
    missing = [k for k in defaults if k not in config]
    unknown = [k for k in config if k not in defaults]
    if missing or unknown:
        problems = [f"lacks {', '.join(missing)}"] if missing else []
        problems += [f"has unknown {', '.join(map(repr, unknown))}"] if unknown else []
        _fail(f"'model_config' {' and '.join(problems)} for {arch} (fields: {', '.join(defaults)})")
    for name, default in defaults.items():
        _check_config_value(name, config[name], default)
    try:
        with torch.device("meta"):
            model = build_model(arch, config)
    except (ValueError, TypeError, RuntimeError) as exc:  # build_model's message repeats the config: give its cause
        _fail(f"'model_config' does not fit {arch}: {_first_line(exc.__context__ or exc)}")
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@functools.cache  # one entry per known architecture (a failed build is not cached)
def _default_config(arch: str) -> tuple[tuple[str, Any], ...]:
    with torch.device("meta"):
        return tuple(model_spec(build_model(arch, {}))[1].items())


def _check_config_value(name: str, value: Any, default: Any) -> None:
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)) or len(value) != len(default):
            _fail(f"'model_config' {name} is {value!r}, expected {len(default)} values like {default!r}")
        for item, item_default in zip(value, default, strict=True):
            _check_config_value(name, item, item_default)
        return
    if type(value) is not type(default) and not (type(default) is float and fits(value, int)):
        _fail(f"'model_config' {name} is {_kind(value)}, expected {type(default).__name__}")
    if fits(value, float) and abs(value) > LARGEST_SIZE:
        _fail(f"'model_config' {name}={value} is beyond any model this toolkit builds (at most {LARGEST_SIZE})")


def _check_weights(state: dict[Any, Any], shapes: dict[str, tuple[int, ...]], arch: str) -> None:
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            _fail(f"'model' entry {key!r} is {_kind(value)}, expected a tensor")
    missing = [k for k in shapes if k not in state]
    if missing:
        _fail(f"no weights for {_some(missing)} of {arch}")
    unknown = [k for k in state if k not in shapes]
    if unknown:
        _fail(f"unexpected weights {_some(unknown)} for {arch} with this 'model_config'")
    for key, value in state.items():
        if value.layout != torch.strided:
            _fail(f"weight {key!r} is a {str(value.layout).removeprefix('torch.')} tensor, expected a dense one")
        if not value.is_floating_point():
            _fail(f"weight {key!r} holds {str(value.dtype).removeprefix('torch.')} numbers, expected floating point")
        if tuple(value.shape) != shapes[key]:
            _fail(f"weight {key!r} has shape {tuple(value.shape)}, {arch} with this 'model_config' needs {shapes[key]}")
        if not _finite(value):
            _fail(f"weight {key!r} holds NaN or infinite values")


def _check_training(payload: dict[str, Any]) -> None:
    """What resuming rebuilds from plain data, in shape: the optimiser state, a config dict and a
    history record (their fields and types are the trainer's to check as it rebuilds them)."""
    lacking = [key for key in TRAINING if key not in payload]
    if lacking:
        _fail(f"a training checkpoint (it has 'optimizer') also needs {', '.join(map(repr, lacking))}")
    _check_optimizer(payload["optimizer"])
    history, epochs = payload["history"], payload["history"].get("epochs")
    if (
        not isinstance(history.get("config"), dict)
        or not isinstance(history.get("status"), str)
        or not isinstance(epochs, list)
    ):
        _fail("'history' needs a 'config' dict, a 'status' string and a list of 'epochs'")
    if not all(isinstance(record, dict) for record in epochs):
        _fail("'history' has an epoch record that is not a dict")


def _check_optimizer(optimizer: dict[Any, Any]) -> None:
    """The shape of an optimiser state_dict (whether it fits the model is load_state_dict's check)."""
    state, groups = optimizer.get("state"), optimizer.get("param_groups")
    if not isinstance(state, dict) or not isinstance(groups, list):
        _fail("'optimizer' is not an optimiser state_dict (it needs a 'state' dict and a 'param_groups' list)")
    for group in groups:
        if (
            not isinstance(group, dict)
            or not isinstance(group.get("params"), list)
            or not all(fits(p, int) for p in group["params"])
        ):
            _fail("'optimizer' has a parameter group without a list of parameter numbers")
    for index, entries in state.items():
        if not fits(index, int) or not isinstance(entries, dict):
            _fail(f"'optimizer' state {index!r} is {_kind(entries)}, expected a dict for a parameter number")
        for name, value in entries.items():
            if isinstance(value, torch.Tensor):
                if not value.is_floating_point() or not _finite(value):
                    _fail(f"'optimizer' state {name!r} of parameter {index} is not finite floating point")
            elif not isinstance(value, NUMBER):
                _fail(f"'optimizer' state {name!r} of parameter {index} is {_kind(value)}")


def _check_plain_dict(key: str, values: dict[Any, Any]) -> None:
    """A config saved as a dict: names -> strings, numbers, None, or short lists of them (tuples)."""
    for name, value in values.items():
        items = value if isinstance(value, (list, tuple)) else [value]
        if not isinstance(name, str) or not all(isinstance(item, PLAIN) for item in items):
            _fail(f"{key!r} entry {name!r} is {_kind(value)}, expected a string, a number or a list of them")


def _finite(value: torch.Tensor) -> bool:
    """No NaN or infinity, checked by numpy: single-threaded, it stays fast on a busy CPU where
    torch's threads wait on each other."""
    value = value.detach()
    return bool(np.isfinite((value.float() if value.dtype == torch.bfloat16 else value).numpy()).all())


def _some(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:3])
    return shown if len(names) <= 3 else f"{shown} and {len(names) - 3} more"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
