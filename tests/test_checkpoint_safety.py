"""Loading a model file never runs code from it, and every malformed model file is one clear line.

Each bad file goes through the command line (``info``, ``evaluate --model``, ``train --resume``):
exit 2, one line on stderr naming the file and what is wrong, no traceback.
"""

from __future__ import annotations

import copy
import math
import os
import pickle
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

from lapsrn_edu import cli
from lapsrn_edu.models import LapSRN, LapSRNConfig, registry
from lapsrn_edu.models.checkpoint import CheckpointError, load_model, read_checkpoint, save_checkpoint
from lapsrn_edu.models.official import load_official
from lapsrn_edu.training.config import recipe
from lapsrn_edu.training.trainer import Trainer, config_from_checkpoint, train

REPO = Path(__file__).resolve().parent.parent


class RunsCode:
    """What an attacker pickles: unpickling it calls ``exec``, which here creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return exec, (f"open({str(self.marker)!r}, 'w').close()",)


def one_line_error(capsys, argv: list[str]) -> str:
    """Run a command that must refuse its input; its single stderr line."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[-1].startswith("lapsrn-edu: error: ")
    return lines[-1]


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(folder / "a.png")
    return folder


def commands(path: Path, images: Path, out: Path) -> dict[str, list[str]]:
    """The three ways a user hands the package a model file."""
    return {
        "info": ["info", str(path)],
        "evaluate": ["evaluate", "--model", str(path), "--dataset", str(images), "--scale", "2"],
        "train --resume": ["train", "--resume", str(path), "--out", str(out)],
    }


# --- the malicious pickle -------------------------------------------------------------------------


def write_attack(path: Path, marker: Path, kind: str) -> Path:
    """Our checkpoint's keys plus one object that runs code: in torch's zip format, or as a bare pickle."""
    payload = {"format": "lapsrn-edu/1", "arch": "LapSRN", "model_config": {}, "model": {}, "x": RunsCode(marker)}
    if kind == "zip":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=4))
    return path


@pytest.mark.parametrize("kind", ["zip", "pickle"])
def test_the_attack_is_live_when_loaded_unsafely(tmp_path, kind):
    """Control: the same file does run its code through an unsafe load, so the next test can fail."""
    marker = tmp_path / "ran"
    evil = write_attack(tmp_path / "evil.pt", marker, kind)
    if kind == "zip":
        torch.load(evil, weights_only=False)
    else:
        pickle.loads(evil.read_bytes())
    assert marker.exists()


@pytest.mark.parametrize("kind", ["zip", "pickle"])
def test_a_malicious_pickle_is_refused_and_never_runs(tmp_path, images, capsys, kind):
    marker = tmp_path / "ran"
    evil = write_attack(tmp_path / "evil.pt", marker, kind)
    for command, argv in commands(evil, images, tmp_path / "run").items():
        line = one_line_error(capsys, argv)
        assert "evil.pt: refused" in line and "nothing in the file was run" in line, command
        assert not marker.exists(), f"{command} ran the file's code"
    with pytest.raises(CheckpointError, match="refused"):
        read_checkpoint(evil)
    assert not marker.exists()


def test_a_malicious_pickle_in_a_real_process_is_one_line(tmp_path):
    """A real process: torch's warning about the pickle protocol must not reach stderr either."""
    marker = tmp_path / "ran"
    evil = write_attack(tmp_path / "evil.pt", marker, "pickle")
    result = subprocess.run(
        [sys.executable, "-m", "lapsrn_edu", "info", str(evil)], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"lapsrn-edu: error: {evil}: refused: pickle instruction 149 is not allowed in a checkpoint "
        "(only tensors and plain data are); nothing in the file was run"
    ]
    assert not marker.exists()


# --- malformed checkpoints ------------------------------------------------------------------------


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, LapSRN(LapSRNConfig(scale=2, depth=1, channels=4)))
    return path


def altered(source: Path, target: Path, change: Callable[[dict], Any]) -> Path:
    payload = copy.deepcopy(torch.load(source, weights_only=True))
    change(payload)
    torch.save(payload, target)
    return target


def set_weight(name: str, value: object) -> Callable[[dict], None]:
    return lambda p: p["model"].__setitem__(name, value)


def poison(name: str, value: float) -> Callable[[dict], None]:
    return lambda p: p["model"][name].view(-1)[0].fill_(value)


def zip_of_text(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes/readme.txt", "not a model")


CHANGES: dict[str, tuple[Callable[[dict], Any], str]] = {
    "no model": (lambda p: p.pop("model"), "no 'model' entry"),
    "no arch": (lambda p: p.pop("arch"), "no 'arch' entry"),
    "arch not a string": (lambda p: p.update(arch=3), "'arch' is an int, expected str"),
    "unknown arch": (lambda p: p.update(arch="SRGAN"), "unknown architecture 'SRGAN'"),
    "model is a list": (lambda p: p.update(model=[1, 2]), "'model' is a list, expected dict"),
    "weight is a list": (
        set_weight("input_conv.bias", [0.0] * 4),
        "'model' entry 'input_conv.bias' is a list, expected a tensor",
    ),
    "integer weights": (
        set_weight("input_conv.bias", torch.zeros(4, dtype=torch.int64)),
        "holds int64 numbers, expected floating point",
    ),
    "config field missing": (lambda p: p["model_config"].pop("residual"), "'model_config' lacks residual for LapSRN"),
    "config field unknown": (
        lambda p: p["model_config"].update(evil=1),
        "'model_config' has unknown 'evil' for LapSRN",
    ),
    "config depth a string": (
        lambda p: p["model_config"].update(depth="1"),
        "'model_config' depth is a str, expected int",
    ),
    "config depth a float": (
        lambda p: p["model_config"].update(depth=1.0),
        "'model_config' depth is a float, expected int",
    ),
    "config scale impossible": (
        lambda p: p["model_config"].update(scale=3),
        "'model_config' does not fit LapSRN: unsupported scale 3",
    ),
    "config huge": (lambda p: p["model_config"].update(depth=10**9), "depth=1000000000 is beyond any model"),
    "config deeper than weights": (
        lambda p: p["model_config"].update(depth=2),
        "no weights for 'levels.0.convs.2.weight'",
    ),
    "wrong shape": (
        set_weight("input_conv.weight", torch.zeros(5, 1, 3, 3)),
        "'input_conv.weight' has shape (5, 1, 3, 3), LapSRN with this 'model_config' needs (4, 1, 3, 3)",
    ),
    "extra weight": (set_weight("backdoor", torch.zeros(1)), "unexpected weights 'backdoor'"),
    "NaN weight": (
        poison("levels.0.to_residual.bias", math.nan),
        "weight 'levels.0.to_residual.bias' holds NaN or infinite values",
    ),
    "infinite weight": (
        poison("input_conv.weight", math.inf),
        "weight 'input_conv.weight' holds NaN or infinite values",
    ),
    "negative iteration": (lambda p: p.update(iteration=-1), "'iteration' is -1"),
    "other format": (
        lambda p: p.update(format="other/2"),
        "not a lapsrn-edu checkpoint: expected a dict with format 'lapsrn-edu/1', found format 'other/2'",
    ),
}


def write_bad_file(case: str, good: Path, target: Path) -> Path:
    """The malformed files that are not one changed entry of a good checkpoint."""
    data = good.read_bytes()
    if case == "truncated":
        target.write_bytes(data[: len(data) // 2])
    elif case == "empty":
        target.write_bytes(b"")
    elif case == "zip, not a checkpoint":
        zip_of_text(target)
    elif case == "bare state_dict":
        torch.save(LapSRN(LapSRNConfig(scale=2, depth=1, channels=4)).state_dict(), target)
    elif case == "a list":
        torch.save([1, 2, 3], target)
    else:
        change, _ = CHANGES[case]
        altered(good, target, change)
    return target


FILES = {
    "truncated": "corrupt or unreadable checkpoint, truncated or not written by torch.save",
    "empty": "empty file, not a checkpoint",
    "zip, not a checkpoint": "a zip archive that torch.save did not write (no data.pkl inside)",
    "bare state_dict": "found a bare state_dict",
    "a list": "expected a dict with format 'lapsrn-edu/1', found a list",
    **{case: message for case, (_, message) in CHANGES.items()},
}


@pytest.mark.parametrize("case", FILES)
def test_a_malformed_checkpoint_is_one_line_through_each_command(case, tiny, images, tmp_path, capsys):
    bad = write_bad_file(case, tiny, tmp_path / "bad.pt")
    for command, argv in commands(bad, images, tmp_path / "run").items():
        line = one_line_error(capsys, argv)
        assert "bad.pt: " in line and FILES[case] in line, f"{command}: {line}"
    assert not (tmp_path / "run").exists()


def test_the_size_check_refuses_before_building_anything(tiny, tmp_path):
    bad = altered(tiny, tmp_path / "huge.pt", lambda p: p["model_config"].update(channels=10**6, depth=10**6))
    with pytest.raises(CheckpointError, match="beyond any model"):
        read_checkpoint(bad)


# --- what we write loads safely -------------------------------------------------------------------


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_our_committed_models_pass_the_checks(scale):
    path = REPO / "data" / "models" / f"ours-x{scale}.pt"
    assert all(v.dtype == torch.float16 for v in read_checkpoint(path)["model"].values())
    model = load_model(path)
    assert model.scale == scale and all(p.dtype == torch.float32 for p in model.parameters())


@pytest.mark.parametrize("arch", registry.ARCHITECTURES)
def test_every_architecture_round_trips_through_the_checks(arch, tmp_path):
    torch.manual_seed(0)
    model = registry.build(arch)
    save_checkpoint(tmp_path / "m.pt", model)
    loaded = load_model(tmp_path / "m.pt")
    assert type(loaded) is type(model)
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())


@pytest.fixture(scope="module")
def training_runs(tmp_path_factory) -> dict[str, Path]:
    """A real two-iteration run per optimiser: its last.pt holds optimiser state, history and config."""
    runs = {}
    for optimizer in ("adam", "sgd"):
        out = tmp_path_factory.mktemp(optimizer)
        config = recipe(
            "quick",
            train_data="embedded",
            val_data="none",
            depth=1,
            channels=4,
            patch_size=16,
            batch_size=2,
            epochs=1,
            iterations_per_epoch=2,
            workers=0,
            device="cpu",
            threads=1,
            out=str(out),
            optimizer=optimizer,
        )
        train(config, progress=False)
        runs[optimizer] = out / "last.pt"
    return runs


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_training_checkpoints_need_nothing_but_tensors_and_plain_data(training_runs, optimizer):
    path = training_runs[optimizer]
    raw = torch.load(path, weights_only=True)  # what the trainer writes needs no allow-listed class
    assert {"config", "optimizer", "history", "iteration", "best_psnr"} <= set(raw)
    assert read_checkpoint(path)["iteration"] == 2
    trainer = Trainer(config_from_checkpoint(path, epochs=2), progress=False)
    assert trainer.iteration == 2 and len(trainer.optimizer.state_dict()["state"]) == len(raw["optimizer"]["state"])


TRAINING_CHANGES: dict[str, tuple[Callable[[dict], Any], str]] = {
    "no history": (lambda p: p.pop("history"), "a training checkpoint (it has 'optimizer') also needs 'history'"),
    "history not a record": (lambda p: p["history"].update(config=3), "'history' needs a 'config' dict"),
    "optimizer without state": (
        lambda p: p.update(optimizer={"param_groups": []}),
        "'optimizer' is not an optimiser state_dict",
    ),
    "optimizer state a string": (
        lambda p: p["optimizer"]["state"][0].update(exp_avg="x"),
        "'optimizer' state 'exp_avg' of parameter 0 is a str",
    ),
    "optimizer state NaN": (
        lambda p: p["optimizer"]["state"][0]["exp_avg"].fill_(math.nan),
        "'exp_avg' of parameter 0 is not finite",
    ),
    "optimizer of another model": (
        lambda p: p["optimizer"]["param_groups"].append(dict(p["optimizer"]["param_groups"][0])),
        "optimiser state do not fit this model",
    ),
    "best_psnr a string": (lambda p: p.update(best_psnr="high"), "'best_psnr' is a str, expected float"),
    "config holds a dict": (lambda p: p["config"].update(scale={"x": 1}), "'config' entry 'scale' is a dict"),
    "config field of the wrong type": (
        lambda p: p["config"].update(batch_size="16"),
        "'config' batch_size is '16', expected int",
    ),
    "config tuple missing": (
        lambda p: p["config"].update(scale_range=None),
        "'config' scale_range is None, expected tuple[float, float]",
    ),
    "epoch record unknown": (
        lambda p: p["history"]["epochs"].append({"bogus": 1}),
        "'history' has an epoch record with unknown ['bogus']",
    ),
    "epoch value of the wrong type": (
        lambda p: p["history"]["epochs"][0].update(loss="low"),
        "'history' epoch loss is 'low', expected float",
    ),
}


@pytest.mark.parametrize("case", TRAINING_CHANGES)
def test_a_malformed_training_checkpoint_is_one_line_on_resume(case, training_runs, tmp_path, capsys):
    change, message = TRAINING_CHANGES[case]
    bad = altered(training_runs["adam"], tmp_path / "bad.pt", change)
    line = one_line_error(capsys, ["train", "--resume", str(bad), "--out", str(tmp_path / "run"), "--workers", "0"])
    assert "bad.pt: " in line and message in line, line


# --- the official .mat files ----------------------------------------------------------------------


def matconvnet_params(model: LapSRN) -> dict[str, np.ndarray]:
    """A LapSRN's weights under the release's names and MATLAB layout (the inverse of official.py's)."""
    state, levels = model.state_dict(), len(model.levels)

    def matlab(key: str) -> np.ndarray:
        value = state[key].numpy()
        return value.transpose(2, 3, 1, 0) if value.ndim == 4 else value

    params = {"input_conv_f": matlab("input_conv.weight"), "input_conv_b": matlab("input_conv.bias")}
    for i in range(levels):
        s = levels - i
        for k in range(model.config.depth):
            params[f"level{s}_conv{k + 1}_f"] = matlab(f"levels.{i}.convs.{2 * k}.weight")
            params[f"level{s}_conv{k + 1}_b"] = matlab(f"levels.{i}.convs.{2 * k}.bias")
        params[f"level{s}_upconv_f"] = matlab(f"levels.{i}.upsample.deconv.weight")
        params[f"level{s}_upconv_b"] = matlab(f"levels.{i}.upsample.deconv.bias")
        params[f"level{s}_residual_conv_f"] = matlab(f"levels.{i}.to_residual.weight")
        params[f"level{s}_residual_conv_b"] = matlab(f"levels.{i}.to_residual.bias")
        params[f"level{s}_img_up_f"] = matlab(f"levels.{i}.image_upsample.deconv.weight")
    return params


def write_matconvnet(path: Path, params: dict[str, np.ndarray]) -> Path:
    """A DagNN-style .mat file: ``net.params`` is a struct array of (name, value)."""
    records = np.empty(len(params), dtype=[("name", object), ("value", object)])
    for i, (name, value) in enumerate(params.items()):
        records[i] = (name, value)
    scipy.io.savemat(path, {"net": {"params": records}})
    return path


@pytest.fixture
def small_release() -> tuple[LapSRN, dict[str, np.ndarray]]:
    torch.manual_seed(0)
    model = LapSRN(LapSRNConfig(scale=4, depth=2, channels=4))
    return model, matconvnet_params(model)


def test_a_written_mat_file_loads_back_exactly(small_release, tmp_path):
    """Control for the cases below: the writer makes files the loader accepts, weight for weight."""
    model, params = small_release
    loaded = load_official(write_matconvnet(tmp_path / "small_x4.mat", params)).state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in model.state_dict().items())


def drop(name: str) -> Callable[[dict], None]:
    return lambda p: p.pop(name)


def replace(name: str, value: Any) -> Callable[[dict], None]:
    return lambda p: p.__setitem__(name, value)


MAT_CHANGES: dict[str, tuple[Callable[[dict], Any], str]] = {
    "missing layer": (
        drop("level2_upconv_f"),
        "no layer level2_upconv_f in the file; not a complete LapSRN/MS-LapSRN network",
    ),
    "missing level conv": (drop("level1_conv2_b"), "no layer level1_conv2_b in the file"),
    "wrong shape": (
        replace("level1_conv1_f", np.zeros((3, 3, 4, 5), np.float32)),
        "layer level1_conv1_f has shape 3 x 3 x 4 x 5, expected 3 x 3 x 4 x 4",
    ),
    "same size, wrong shape": (
        replace("level2_upconv_f", np.zeros((4, 4, 3, 3), np.float32)),
        "layer level2_upconv_f has shape 4 x 4 x 3 x 3, expected 3 x 3 x 4 x 4",
    ),
    "extra layer": (
        replace("level1_bonus_f", np.zeros((3, 3, 4, 4), np.float32)),
        "unexpected layer(s) level1_bonus_f: not part of the network",
    ),
    "a level deeper than the first": (
        replace("level2_conv3_f", np.zeros((3, 3, 4, 4), np.float32)),
        "unexpected layer(s) level2_conv3_f",
    ),
    "NaN values": (
        lambda p: p["level1_residual_conv_f"].fill(np.nan),
        "layer level1_residual_conv_f holds NaN or infinite values",
    ),
    "no pyramid level": (lambda p: [p.pop(k) for k in list(p) if k.startswith("level")], "found 0 pyramid levels"),
}


@pytest.mark.parametrize("case", MAT_CHANGES)
def test_a_malformed_mat_file_is_one_line(case, small_release, images, capsys, tmp_path):
    change, message = MAT_CHANGES[case]
    params = copy.deepcopy(small_release[1])
    change(params)
    bad = write_matconvnet(tmp_path / "bad_x4.mat", params)
    for argv in (["info", str(bad)], ["evaluate", "--model", str(bad), "--dataset", str(images), "--scale", "2"]):
        line = one_line_error(capsys, argv)
        assert f"bad_x4.mat: {message}" in line, line


def test_a_mat_file_that_is_not_matlab_is_one_line(tmp_path, capsys):
    bad = tmp_path / "LapSRN_x2.mat"
    bad.write_bytes(os.urandom(500))
    assert "LapSRN_x2.mat: not a readable MatConvNet network" in one_line_error(capsys, ["info", str(bad)])
