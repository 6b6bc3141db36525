"""The training loop on tiny configs: the loss falls, resume is exact, guard rails give clear errors."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from lapsrn_edu.models.checkpoint import CheckpointError, load_model, read_checkpoint
from lapsrn_edu.training import loop
from lapsrn_edu.training.config import RECIPES, TrainConfig, parse_value, recipe
from lapsrn_edu.training.history import History
from lapsrn_edu.training.schedule import learning_rate
from lapsrn_edu.training.trainer import Trainer, TrainingDivergedError, config_from_checkpoint, train


def tiny(folders: tuple[Path, Path], out: Path, **overrides) -> TrainConfig:
    train_dir, val_dir = folders
    settings = dict(
        train_data=str(train_dir),
        val_data=str(val_dir),
        depth=1,
        channels=8,
        patch_size=16,
        batch_size=4,
        epochs=2,
        iterations_per_epoch=3,
        workers=0,
        device="cpu",
        threads=1,  # two spinning OpenMP threads on a busy 2-core machine are 20x slower
        out=str(out),
    )
    return recipe("quick", **{**settings, **overrides})


def weights(path: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)["model"]


def test_recipes_follow_the_paper_and_take_overrides() -> None:
    paper = RECIPES["paper"]
    assert (paper.optimizer, paper.lr, paper.momentum, paper.weight_decay, paper.bias_lr_mult) == (
        "sgd",
        1e-5,
        0.9,
        1e-4,
        0.1,
    )
    assert (paper.patch_size, paper.batch_size, paper.iterations_per_epoch, paper.reduction) == (128, 64, 1000, "paper")
    assert recipe("quick", scale=2, epochs=3).scale == 2
    with pytest.raises(ValueError, match="unknown training option"):
        recipe("quick", learning_rate=1)
    with pytest.raises(ValueError, match="unknown recipe"):
        recipe("fast")
    with pytest.raises(ValueError, match="multiple of the scale"):
        recipe("paper", scale=8, patch_size=100)


def test_the_overnight_recipe_is_the_papers_network_in_native_bfloat16() -> None:
    night = RECIPES["overnight"]
    assert (night.depth, night.channels, night.scale, night.batch_size) == (10, 64, 4, 16)
    assert (night.optimizer, night.lr_schedule, night.amp, night.workers) == ("adam", "cosine", "native", 0)
    assert night.val_data == "auto" and night.holdout == 0  # reported from its last checkpoint, Set5 only watched


def test_native_bfloat16_follows_the_hardware(monkeypatch) -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    for has_bf16 in (True, False):
        monkeypatch.setattr(loop, "native_bf16", lambda device, answer=has_bf16: answer)
        for device in (cpu, cuda):
            native = loop.autocast_for(recipe("quick", amp="native"), device)
            auto = loop.autocast_for(recipe("quick", amp="auto"), device)
            assert isinstance(native, torch.autocast) == has_bf16
            assert isinstance(auto, torch.autocast) == (has_bf16 and device.type == "cuda")
        assert isinstance(loop.autocast_for(recipe("quick", amp="bf16"), cpu), torch.autocast)
        assert not isinstance(loop.autocast_for(recipe("quick", amp="off"), cpu), torch.autocast)
    from lapsrn_edu.device import native_bf16

    assert native_bf16(torch.device("meta")) is False
    assert isinstance(native_bf16(cpu), bool)


def test_values_from_strings_take_the_field_types() -> None:
    assert parse_value("lr", "2e-4") == 2e-4
    assert parse_value("batch_size", "8") == 8
    assert parse_value("flip", "false") is False
    assert parse_value("scale_range", "0.6,1") == (0.6, 1.0)
    assert parse_value("resume", "none") is None
    with pytest.raises(ValueError, match="cannot read"):
        parse_value("epochs", "many")
    with pytest.raises(ValueError, match="unknown training option"):
        parse_value("colour", "red")


def test_paper_schedule_halves_every_50_epochs_down_to_the_floor() -> None:
    paper = RECIPES["paper"]
    assert learning_rate(paper, 0) == 1e-5
    assert learning_rate(paper, 49_999) == 1e-5
    assert learning_rate(paper, 50_000) == 5e-6
    assert learning_rate(paper, 10**7) == 1e-6
    quick = RECIPES["quick"]
    assert learning_rate(quick, 0) == quick.lr
    assert math.isclose(learning_rate(quick, quick.total_iterations), quick.lr_min)


def test_training_lowers_the_loss_and_writes_history_and_checkpoints(image_folders, tmp_path: Path) -> None:
    config = tiny(image_folders, tmp_path, epochs=4, iterations_per_epoch=10, batch_size=8, lr=3e-3)
    history = train(config, progress=False)
    losses = [e.loss for e in history.epochs]
    assert len(losses) == 4 and losses[-1] < 0.8 * losses[0]
    assert history.status == "completed"
    assert all(e.val_psnr is not None and e.patches_per_second > 0 for e in history.epochs)
    saved = History.load(tmp_path / "history.json")
    assert saved.epochs[-1].loss == losses[-1] and saved.config["lr"] == 3e-3
    last = read_checkpoint(tmp_path / "last.pt")
    assert last["iteration"] == 40 and last["config"]["depth"] == 1 and last["version"]
    assert "monitor only" in read_checkpoint(tmp_path / "best.pt")["selected_on"]
    assert load_model(tmp_path / "last.pt").scale == 4


def test_holdout_selects_best_on_training_images(image_folders, tmp_path: Path) -> None:
    history = train(tiny(image_folders, tmp_path, holdout=1, epochs=1), progress=False)
    assert history.epochs[0].holdout_psnr is not None
    assert "held out of the training set" in read_checkpoint(tmp_path / "best.pt")["selected_on"]


def test_a_stopped_and_resumed_run_ends_with_the_same_weights(image_folders, tmp_path: Path, monkeypatch) -> None:
    straight = tiny(image_folders, tmp_path / "straight", epochs=4)
    train(straight, progress=False)

    end_epoch = Trainer._end_epoch

    def stop_after_two(self, record, *args):
        end_epoch(self, record, *args)
        if record.epoch == 2:
            raise KeyboardInterrupt

    interrupted = tiny(image_folders, tmp_path / "resumed", epochs=4)
    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "_end_epoch", stop_after_two)
        with pytest.raises(KeyboardInterrupt):
            train(interrupted, progress=False)
    resumed = train(config_from_checkpoint(tmp_path / "resumed" / "last.pt"), progress=False)

    a, b = weights(tmp_path / "straight" / "last.pt"), weights(tmp_path / "resumed" / "last.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [e.epoch for e in resumed.epochs] == [1, 2, 3, 4]
    # CPU time adds up across the resume (restarted from 0, epoch 3 would fall below epoch 2)
    recorded = [e.cpu_seconds for e in resumed.epochs]
    cpu = [c for c in recorded if c is not None and c > 0]
    assert len(cpu) == len(recorded) and cpu == sorted(cpu)
    # the code record has one entry per stretch: the start and the resume at epoch 2's end
    assert [m["from_iteration"] for m in resumed.made_with] == [0, 2 * interrupted.iterations_per_epoch]
    assert {m["network"] for m in resumed.made_with} == {"training engine"} and resumed.made_with[0][
        "torch"
    ] == torch.__version__


def test_corrupt_or_mismatched_checkpoints_are_clear_errors(image_folders, tmp_path: Path) -> None:
    train(tiny(image_folders, tmp_path / "run", epochs=1), progress=False)
    last = tmp_path / "run" / "last.pt"
    with pytest.raises(CheckpointError, match="depth=1 in the checkpoint but 2 now"):
        Trainer(tiny(image_folders, tmp_path / "other", depth=2, resume=str(last)), progress=False)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(last.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="corrupt"):
        Trainer(tiny(image_folders, tmp_path / "other", resume=str(corrupt)), progress=False)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(
    image_folders, tmp_path: Path, monkeypatch
) -> None:
    calls = []
    real_loss = loop.multiscale_loss

    def poisoned(*args, **kwargs):
        calls.append(1)
        loss = real_loss(*args, **kwargs)
        return loss * float("nan") if len(calls) == 5 else loss

    monkeypatch.setattr(loop, "multiscale_loss", poisoned)
    with pytest.raises(TrainingDivergedError, match=r"became nan at iteration 5.*last good checkpoint"):
        train(tiny(image_folders, tmp_path, epochs=3), progress=False)
    assert read_checkpoint(tmp_path / "last.pt")["iteration"] == 3
    assert History.load(tmp_path / "history.json").status.startswith("diverged")


def test_bad_data_is_reported_clearly(image_folders, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no image files"):
        train(tiny(image_folders, tmp_path / "a", train_data=str(empty)), progress=False)
    with (
        pytest.warns(UserWarning, match="smaller than the 64 px patch"),
        pytest.raises(FileNotFoundError, match="smaller patch_size"),
    ):
        train(tiny(image_folders, tmp_path / "b", patch_size=64), progress=False)
    with pytest.raises(ValueError, match="test set"):
        train(tiny(image_folders, tmp_path / "c", train_data="set14"), progress=False)


def test_embedded_images_are_the_default_without_data(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAPSRN_EDU_DATA", str(tmp_path / "nothing"))
    config = recipe(
        "quick",
        depth=1,
        channels=4,
        patch_size=16,
        batch_size=2,
        epochs=1,
        iterations_per_epoch=2,
        workers=2,
        threads=1,
        out=str(tmp_path / "run"),
    )
    history = train(config, progress=False)
    first = history.epochs[0].val_psnr
    assert history.val_dataset == "embedded:camera" and first is not None and first > 20
    np.testing.assert_array_equal(len(history.epochs), 1)


def test_export_publishes_the_last_checkpoint_in_float16_with_a_card(image_folders, tmp_path: Path, capsys) -> None:
    from lapsrn_edu.cli import main
    from lapsrn_edu.errors import OptionError
    from lapsrn_edu.training.export import export_run

    train(tiny(image_folders, tmp_path / "run", epochs=1), progress=False)
    weights_file, card = export_run(tmp_path / "run", tmp_path / "models", datasets=(), progress=False)
    assert weights_file.name == "ours-x4.pt"
    assert all(v.dtype == torch.float16 for v in read_checkpoint(weights_file)["model"].values())
    model = load_model(weights_file)
    assert next(model.parameters()).dtype == torch.float32
    text = card.read_text()
    assert "lapsrn-edu train --config quick --scale 4" in text and "--depth 1" in text and "LAST checkpoint" in text
    assert "core-hours" in text and "from iteration 0: cpu, 1 threads, float32, training engine" in text
    curve = json.loads((tmp_path / "models" / "ours-x4.curve.json").read_text())
    assert [e["iteration"] for e in curve["epochs"]] == [3] and curve["epochs"][0]["cpu_hours"] > 0
    assert curve["epochs"][0]["val_psnr"] is not None
    from lapsrn_edu.course.plots import night_curve_figure
    from lapsrn_edu.evaluation import zoo

    assert zoo.training_curve("ours-x4", root=tmp_path) == curve and zoo.training_curve("nobody", tmp_path) is None
    figure = night_curve_figure(curve, paper_psnr=31.54)
    wall, cpu = figure.axes  # PSNR against wall-clock hours and against core-hours
    assert np.asarray(wall.lines[0].get_ydata()).tolist() == [curve["epochs"][0]["val_psnr"]]
    assert np.asarray(cpu.lines[0].get_xdata()).tolist() == [curve["epochs"][0]["cpu_hours"]]
    with pytest.raises(CheckpointError, match="not best.pt"):
        export_run(tmp_path / "run" / "best.pt", tmp_path / "models", datasets=(), progress=False)
    # An existing model is never replaced silently: refused (one line, exit 2) unless asked for.
    published = weights_file.read_bytes()
    with pytest.raises(OptionError, match="exists; export under a name of your own"):
        export_run(tmp_path / "run", tmp_path / "models", datasets=(), progress=False)
    capsys.readouterr()
    command = ["export", str(tmp_path / "run"), "--out-dir", str(tmp_path / "models"), "--datasets", "set5"]
    assert main(command) == 2
    error = capsys.readouterr().err
    assert "ours-x4.pt exists" in error and "--overwrite" in error and "Traceback" not in error
    assert len(error.strip().splitlines()) == 1 and weights_file.read_bytes() == published
    weights_again, _ = export_run(tmp_path / "run", tmp_path / "models", datasets=(), progress=False, overwrite=True)
    assert weights_again == weights_file
    mine, _ = export_run(tmp_path / "run", tmp_path / "models", datasets=(), progress=False, name="mine-x4")
    assert mine.name == "mine-x4.pt" and weights_file.is_file()


def test_command_line_trains_resumes_and_reports_errors_in_one_line(image_folders, tmp_path: Path, capsys) -> None:
    from lapsrn_edu.cli import main

    train_dir, val_dir = image_folders
    out = tmp_path / "run"
    tiny_flags = [
        "--train-data",
        str(train_dir),
        "--val-data",
        str(val_dir),
        "--channels",
        "8",
        "--depth",
        "1",
        "--patch-size",
        "16",
        "--batch-size",
        "4",
        "--iterations-per-epoch",
        "2",
        "--threads",
        "1",
    ]
    assert (
        main(
            [
                "train",
                "--config",
                "quick",
                "--scale",
                "4",
                "--epochs",
                "1",
                "--workers",
                "0",
                "--out",
                str(out),
                *tiny_flags,
            ]
        )
        == 0
    )
    assert main(["train", "--resume", str(out / "last.pt"), "--epochs", "2"]) == 0
    assert read_checkpoint(out / "last.pt")["iteration"] == 4
    assert main(["train", "--resume", str(out / "last.pt"), "--depth", "2"]) == 2
    errors = capsys.readouterr().err
    assert "depth=1 in the checkpoint but 2 now" in errors and "Traceback" not in errors
    with pytest.raises(SystemExit) as stop:
        main(["train", "--lr", "fast"])
    assert stop.value.code == 2 and "lr: cannot read 'fast'" in capsys.readouterr().err


def test_every_training_option_is_a_flag_with_its_explanation(capsys) -> None:
    from dataclasses import fields

    from lapsrn_edu.cli import main
    from lapsrn_edu.training.config import TrainConfig

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for f in fields(TrainConfig):
        if f.name not in ("recipe",):
            assert "--" + f.name.replace("_", "-") in text, f.name
        assert " ".join(f.metadata["help"].split()) in text or f.name in (
            "recipe",
            "resume",
            "data_root",
            "device",
            "engine",
        ), f.name


def test_patches_are_cut_on_a_cuda_gpu_unless_the_config_says_cpu() -> None:
    from lapsrn_edu.training.config import with_overrides
    from lapsrn_edu.training.trainer import patches_on_device

    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    auto = recipe("paper")
    assert auto.patches_on == "auto" and patches_on_device(auto, cuda) and not patches_on_device(auto, cpu)
    assert not patches_on_device(with_overrides(auto, patches_on="cpu"), cuda)
    assert patches_on_device(with_overrides(auto, patches_on="device"), cpu)
