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

from .models import LapSRN, LapSRNConfig, MSLapSRN, MSLapSRNConfig, count_parameters

EXPECTED_PARAMETERS = {
    "LapSRN_x2": 407_441,
    "LapSRN_x4": 814_242,
    "LapSRN_x8": 667_123,
    "MSLapSRN_D5R2": 222_801,
    "MSLapSRN_D5R5": 222_801,
    "MSLapSRN_D5R8": 222_801,
}


class WeightsError(ValueError):
    """A weights file that cannot be read or does not fit the model."""


def read_mat_params(path: str | Path) -> dict[str, np.ndarray]:
    """The named parameter arrays of a MatConvNet DagNN .mat file."""
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such weights file")
    try:
        net = scipy.io.loadmat(str(path), squeeze_me=True, struct_as_record=False)["net"]
        params = {p.name: np.asarray(p.value, dtype=np.float32) for p in np.atleast_1d(net.params)}
    except Exception as exc:  # scipy raises many kinds for a truncated or foreign file
        raise WeightsError(f"{path}: not a readable MatConvNet network ({type(exc).__name__}: {exc})") from exc
    return params


def _to_torch(value: np.ndarray, shape: torch.Size) -> torch.Tensor:
    """MatConvNet array -> tensor of ``shape``. loadmat's squeeze_me drops singleton axes (a 1-channel
    filter loses one), so the MATLAB shape is rebuilt from the target: (H, W, in, out) for a conv
    whose torch shape is (out, in, H, W), and (H, W, out, in) for a transposed conv whose torch
    shape is (in, out, H, W): the same rule, ``permute(3, 2, 0, 1)``, for both."""
    if len(shape) == 4:
        value = value.reshape(shape[2], shape[3], shape[1], shape[0]).transpose(3, 2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(value.reshape(tuple(shape))))


def _lapsrn_state(params: dict[str, np.ndarray], num_levels: int) -> dict[str, np.ndarray]:
    state = {
        "input_conv.weight": params["input_conv_f"],
        "input_conv.bias": params["input_conv_b"],
    }
    for i in range(num_levels):
        s = num_levels - i
        depth = len([k for k in params if re.fullmatch(rf"level{s}_conv\d+_f", k)])
        for k in range(depth):
            state[f"levels.{i}.convs.{2 * k}.weight"] = params[f"level{s}_conv{k + 1}_f"]
            state[f"levels.{i}.convs.{2 * k}.bias"] = params[f"level{s}_conv{k + 1}_b"]
        state[f"levels.{i}.upsample.deconv.weight"] = params[f"level{s}_upconv_f"]
        state[f"levels.{i}.upsample.deconv.bias"] = params[f"level{s}_upconv_b"]
        state[f"levels.{i}.to_residual.weight"] = params[f"level{s}_residual_conv_f"]
        state[f"levels.{i}.to_residual.bias"] = params[f"level{s}_residual_conv_b"]
        state[f"levels.{i}.image_upsample.deconv.weight"] = params[f"level{s}_img_up_f"]
    return state


def _mslapsrn_state(params: dict[str, np.ndarray], depth: int) -> dict[str, np.ndarray]:
    state = {
        "input_conv.weight": params["input_conv_f"],
        "input_conv.bias": params["input_conv_b"],
        "upsample.deconv.weight": params["upconv_f"],
        "upsample.deconv.bias": params["upconv_b"],
        "to_residual.weight": params["residual_conv_f"],
        "to_residual.bias": params["residual_conv_b"],
        "image_upsample.deconv.weight": params["img_up_f"],
    }
    for k in range(depth):
        state[f"block.{k}.weight"] = params[f"conv{k + 1}_f"]
        state[f"block.{k}.bias"] = params[f"conv{k + 1}_b"]
    return state


def load_official(path: str | Path) -> LapSRN | MSLapSRN:
    """Build the model a released .mat file describes and load its weights (eval mode, float32).

    The architecture is read from the file's parameter names; MS-LapSRN's recursion count R comes
    from the file name (``..._D5R8.mat``), since shared weights do not reveal it.
    """
    path = Path(path)
    params = read_mat_params(path)
    try:
        if "conv1_f" in params:  # MS-LapSRN: one shared block
            match = re.search(r"D(\d+)R(\d+)", path.stem)
            if not match:
                raise WeightsError(f"{path}: an MS-LapSRN file must be named like MSLapSRN_D5R8.mat")
            depth = len([k for k in params if re.fullmatch(r"conv\d+_f", k)])
            model = MSLapSRN(MSLapSRNConfig(depth=depth, recursions=int(match.group(2))))
            state = _mslapsrn_state(params, depth)
        else:
            num_levels = len({m.group(1) for k in params if (m := re.match(r"level(\d+)_", k))})
            if num_levels not in (1, 2, 3):
                raise WeightsError(f"{path}: found {num_levels} pyramid levels, expected 1 to 3")
            depth = len([k for k in params if re.fullmatch(r"level1_conv\d+_f", k)])
            channels = params["input_conv_f"].shape[-1]
            model = LapSRN(LapSRNConfig(scale=2**num_levels, depth=depth, channels=channels))
            state = _lapsrn_state(params, num_levels)
        target = model.state_dict()
        missing = sorted(set(target) - set(state))
        if missing:
            raise KeyError(f"no weights for {missing[:3]}")
        model.load_state_dict({k: _to_torch(v, target[k].shape) for k, v in state.items()}, strict=True)
    except WeightsError:
        raise
    except (KeyError, RuntimeError, IndexError, ValueError) as exc:
        raise WeightsError(f"{path}: weights do not fit a LapSRN/MS-LapSRN ({exc})") from exc
    expected = EXPECTED_PARAMETERS.get(path.stem)
    if expected is not None and count_parameters(model) != expected:
        raise WeightsError(f"{path}: {count_parameters(model):,} parameters, the release has {expected:,}")
    return model.eval()
