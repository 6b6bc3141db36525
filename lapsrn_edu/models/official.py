"""Load the official MatConvNet weights (``LapSRN_x{2,4,8}.mat``, ``MSLapSRN_D5R{2,5,8}.mat``).

The .mat files are MATLAB v5 DagNN networks; ``net.params`` is a list of (name, value) pairs.
MatConvNet stores conv filters as H x W x in x out and transposed-conv filters as
H x W x out x in; ``permute(3, 2, 0, 1)`` gives PyTorch's layout for both, with no spatial flip.
LapSRN numbers its levels from fine to coarse (x8: ``level3`` runs first); our modules are listed
in the order they run, so our level ``i`` is the file's ``level{L - i}``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from ..errors import MissingFileError, UserError
from . import LapSRN, LapSRNConfig, MSLapSRN, MSLapSRNConfig, count_parameters

EXPECTED_PARAMETERS = {
    "LapSRN_x2": 407_441,
    "LapSRN_x4": 814_242,
    "LapSRN_x8": 667_123,
    "MSLapSRN_D5R2": 222_801,
    "MSLapSRN_D5R5": 222_801,
    "MSLapSRN_D5R8": 222_801,
}


class WeightsError(UserError, ValueError):
    """A weights file that cannot be read or does not fit the model."""


def read_mat_params(path: str | Path) -> dict[str, np.ndarray]:
    """The named parameter arrays of a MatConvNet DagNN .mat file."""
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such weights file")
    try:
        net = scipy.io.loadmat(str(path), squeeze_me=True, struct_as_record=False)["net"]
        params = {p.name: np.asarray(p.value, dtype=np.float32) for p in np.atleast_1d(net.params)}
    except Exception as exc:  # scipy raises many kinds for a truncated or foreign file
        raise WeightsError(f"{path}: not a readable MatConvNet network ({type(exc).__name__}: {exc})") from exc
    return params


def _to_torch(path: Path, name: str, value: np.ndarray, shape: torch.Size) -> torch.Tensor:
    """The file's array ``name`` as a tensor of ``shape``, or a WeightsError naming the layer.

    loadmat's squeeze_me drops singleton axes (a 1-channel filter loses one), so the MATLAB shape
    is rebuilt from the target and compared without its singleton axes: (H, W, in, out) for a conv
    whose torch shape is (out, in, H, W), and (H, W, out, in) for a transposed conv whose torch
    shape is (in, out, H, W): the same rule, ``permute(3, 2, 0, 1)``, for both."""
    matlab = (shape[2], shape[3], shape[1], shape[0]) if len(shape) == 4 else tuple(shape)
    if [n for n in value.shape if n != 1] != [n for n in matlab if n != 1]:
        raise WeightsError(
            f"{path}: layer {name} has shape {_shape(value.shape)}, expected {_shape(matlab)} to fit the other layers"
        )
    if not np.isfinite(value).all():
        raise WeightsError(f"{path}: layer {name} holds NaN or infinite values")
    value = value.reshape(matlab)
    if len(shape) == 4:
        value = value.transpose(3, 2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(value))


def _shape(shape: tuple[int, ...]) -> str:
    return " x ".join(map(str, shape)) or "a scalar"


def _lapsrn_names(num_levels: int, depth: int) -> dict[str, str]:
    """Our state_dict keys -> the .mat parameter names that fill them (every level ``depth`` convs)."""
    names = {"input_conv.weight": "input_conv_f", "input_conv.bias": "input_conv_b"}
    for i in range(num_levels):
        s = num_levels - i
        for k in range(depth):
            names[f"levels.{i}.convs.{2 * k}.weight"] = f"level{s}_conv{k + 1}_f"
            names[f"levels.{i}.convs.{2 * k}.bias"] = f"level{s}_conv{k + 1}_b"
        names[f"levels.{i}.upsample.deconv.weight"] = f"level{s}_upconv_f"
        names[f"levels.{i}.upsample.deconv.bias"] = f"level{s}_upconv_b"
        names[f"levels.{i}.to_residual.weight"] = f"level{s}_residual_conv_f"
        names[f"levels.{i}.to_residual.bias"] = f"level{s}_residual_conv_b"
        names[f"levels.{i}.image_upsample.deconv.weight"] = f"level{s}_img_up_f"
    return names


def _mslapsrn_names(depth: int) -> dict[str, str]:
    names = {
        "input_conv.weight": "input_conv_f",
        "input_conv.bias": "input_conv_b",
        "upsample.deconv.weight": "upconv_f",
        "upsample.deconv.bias": "upconv_b",
        "to_residual.weight": "residual_conv_f",
        "to_residual.bias": "residual_conv_b",
        "image_upsample.deconv.weight": "img_up_f",
    }
    for k in range(depth):
        names[f"block.{k}.weight"] = f"conv{k + 1}_f"
        names[f"block.{k}.bias"] = f"conv{k + 1}_b"
    return names


def _listed(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _check_layers(path: Path, params: dict[str, np.ndarray], names: dict[str, str]) -> None:
    """Every layer the network needs is in the file, and the file has no other."""
    missing = [name for name in names.values() if name not in params]
    if missing:
        raise WeightsError(f"{path}: no layer {_listed(missing)} in the file; not a complete LapSRN/MS-LapSRN network")
    extra = sorted(set(params) - set(names.values()))
    if extra:
        raise WeightsError(
            f"{path}: unexpected layer(s) {_listed(extra)}: not part of the network the other layers describe"
        )


def _described_model(path: Path, params: dict[str, np.ndarray]) -> tuple[LapSRN | MSLapSRN, dict[str, str]]:
    """The (randomly initialised) model the file's layer names describe, and the key -> name map."""
    if "conv1_f" in params:  # MS-LapSRN: one shared block
        match = re.search(r"D(\d+)R(\d+)", path.stem)
        if not match:
            raise WeightsError(f"{path}: an MS-LapSRN file must be named like MSLapSRN_D5R8.mat")
        depth = len([k for k in params if re.fullmatch(r"conv\d+_f", k)])
        names = _mslapsrn_names(depth)
        _check_layers(path, params, names)
        return MSLapSRN(MSLapSRNConfig(depth=depth, recursions=int(match.group(2)))), names
    num_levels = len({m.group(1) for k in params if (m := re.match(r"level(\d+)_", k))})
    if num_levels not in (1, 2, 3):
        raise WeightsError(f"{path}: found {num_levels} pyramid levels (layers named levelN_...), expected 1 to 3")
    depth = len([k for k in params if re.fullmatch(r"level1_conv\d+_f", k)])
    names = _lapsrn_names(num_levels, depth)
    _check_layers(path, params, names)
    channels = int(params["input_conv_f"].shape[-1]) if params["input_conv_f"].ndim else 0
    return LapSRN(LapSRNConfig(scale=2**num_levels, depth=depth, channels=channels)), names


def load_official(path: str | Path) -> LapSRN | MSLapSRN:
    """Build the model a released .mat file describes and load its weights (eval mode, float32).

    The architecture is read from the file's parameter names; MS-LapSRN's recursion count R comes
    from the file name (``..._D5R8.mat``), since shared weights do not reveal it. Every layer the
    model needs must be in the file, with the shape the other layers imply and finite values, and
    no other layer may be: anything else is a one-line WeightsError naming the file and the layer.
    """
    path = Path(path)
    params = read_mat_params(path)
    try:
        model, names = _described_model(path, params)
    except WeightsError:
        raise
    except ValueError as exc:  # the config the layers imply is impossible (e.g. no conv layers)
        raise WeightsError(f"{path}: the layers describe no LapSRN/MS-LapSRN ({exc})") from None
    target = model.state_dict()
    model.load_state_dict(
        {k: _to_torch(path, names[k], params[names[k]], target[k].shape) for k in target}, strict=True
    )
    expected = EXPECTED_PARAMETERS.get(path.stem)
    if expected is not None and count_parameters(model) != expected:
        raise WeightsError(f"{path}: {count_parameters(model):,} parameters, the release has {expected:,}")
    return model.eval()
