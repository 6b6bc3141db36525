"""The command line: outputs, file kinds kept by upscale, and one-line errors (exit 2, no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lapsrn_edu import cli
from lapsrn_edu.evaluation import zoo
from lapsrn_edu.evaluation.published import lapsrn_psnr
from lapsrn_edu.models import LapSRN, LapSRNConfig, count_parameters
from lapsrn_edu.models.checkpoint import save_checkpoint

REPO = Path(__file__).resolve().parent.parent
COMMANDS = ("evaluate", "benchmark", "upscale", "info", "download", "demo")


def save_png(path: Path, shape: tuple[int, ...], dtype=np.uint8, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    high = 65536 if dtype == np.uint16 else 256
    Image.fromarray(rng.integers(0, high, shape).astype(dtype)).save(path)
    return path


@pytest.fixture
def images(tmp_path: Path) -> Path:
    """A folder dataset of two small RGB images and one gray image."""
    folder = tmp_path / "images"
    folder.mkdir()
    save_png(folder / "a.png", (24, 32, 3), seed=1)
    save_png(folder / "b.png", (20, 20, 3), seed=2)
    save_png(folder / "g.png", (16, 24), seed=3)
    return folder


@pytest.fixture
def tiny_x2(tmp_path: Path) -> Path:
    """A random-init x2 LapSRN checkpoint, small enough to run in milliseconds."""
    path = tmp_path / "tiny_x2.pt"
    save_checkpoint(path, LapSRN(LapSRNConfig(scale=2, depth=1, channels=4)))
    return path


@pytest.fixture
def empty_root(tmp_path: Path) -> Path:
    root = tmp_path / "no-data"
    root.mkdir()
    return root


def run_error(capsys, argv: list[str]) -> str:
    """Run a command that must fail as a user error; returns its single stderr line."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("lapsrn-edu: error: ") and "Traceback" not in err
    return lines[0]


# --- help and entry points ------------------------------------------------------------------------


def test_python_dash_m_help():
    result = subprocess.run([sys.executable, "-m", "lapsrn_edu", "--help"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0
    assert all(command in result.stdout for command in COMMANDS)


def test_console_script_help():
    script = Path(sys.executable).with_name("lapsrn-edu")
    if not script.exists():
        pytest.skip(f"{script} not installed (pip install -e . creates it)")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "evaluate" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: lapsrn-edu {command}" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["evaluate", "--model", "bicubic", "--dataset", "set5"])  # no --scale
    assert info.value.code == 2
    assert "--scale" in capsys.readouterr().err


def test_a_study_with_an_unknown_variant_is_one_line(tmp_path, capsys):
    code = cli.main(["study", "depth", "--budget", "smoke", "--variants", "depth 3,depth 4", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "has no variant 'depth 4'; its variants: depth 3, depth 5, depth 10, depth 15" in err


# --- evaluate and benchmark -----------------------------------------------------------------------


def test_evaluate_json_on_a_folder(images, capsys):
    assert cli.main(["evaluate", "--model", "bicubic", "--dataset", str(images), "--scale", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"model", "dataset", "scale", "psnr", "ssim", "seconds", "images"} <= set(result)
    assert [image["name"] for image in result["images"]] == ["a", "b", "g"]
    assert result["psnr"] == pytest.approx(np.mean([image["psnr"] for image in result["images"]]))
    assert 0 < result["ssim"] < 1


def test_gray_as_gray_changes_only_the_gray_image(images, capsys):
    argv = ["evaluate", "--model", "bicubic", "--dataset", str(images), "--scale", "2", "--json"]
    cli.main(argv)
    as_rgb = {i["name"]: i["psnr"] for i in json.loads(capsys.readouterr().out)["images"]}
    cli.main([*argv, "--gray-as-gray"])
    as_gray = {i["name"]: i["psnr"] for i in json.loads(capsys.readouterr().out)["images"]}
    assert as_rgb["a"] == as_gray["a"] and as_rgb["g"] != as_gray["g"]


def test_evaluate_table(images, tiny_x2, capsys):
    assert cli.main(["evaluate", "--model", str(tiny_x2), "--dataset", str(images), "--scale", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split()[0] == "a" and lines[5].split()[0] == "mean"


def test_benchmark_skips_scales_a_model_cannot_give(images, tiny_x2, tmp_path, capsys):
    csv_path, md_path = tmp_path / "out" / "r.csv", tmp_path / "out" / "r.md"
    argv = ["benchmark", "--models", f"bicubic,{tiny_x2}", "--datasets", str(images), "--scales", "2,4"]
    assert cli.main([*argv, "--csv", str(csv_path), "--markdown", str(md_path)]) == 0
    captured = capsys.readouterr()
    assert "cannot give x4; skipped" in captured.err
    rows = csv_path.read_text().strip().splitlines()[1:]
    assert sorted((r.split(",")[0], r.split(",")[2]) for r in rows) == sorted(
        [("bicubic", "2"), ("bicubic", "4"), (str(tiny_x2), "2")]
    )
    assert md_path.read_text().strip() == captured.out.strip()


@pytest.mark.data
def test_evaluate_official_x4_reproduces_the_paper(data_root, capsys):
    argv = [
        "evaluate",
        "--model",
        "official-x4",
        "--dataset",
        "set5",
        "--scale",
        "4",
        "--json",
        "--data-root",
        str(data_root),
    ]
    assert cli.main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["psnr"] == pytest.approx(lapsrn_psnr("set5", 4), abs=0.01)
    assert result["ssim"] == pytest.approx(0.8852, abs=0.0005)


# --- upscale --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "dtype", "mode"),
    [
        ((10, 12), np.uint8, "L"),
        ((10, 12, 3), np.uint8, "RGB"),
        ((10, 12, 4), np.uint8, "RGBA"),
        ((10, 12), np.uint16, "I;16"),
    ],
)
def test_upscale_keeps_the_kind_of_image(shape, dtype, mode, tmp_path, tiny_x2, capsys):
    source = save_png(tmp_path / "in.png", shape, dtype)
    assert cli.main(["upscale", str(source), str(tmp_path / "out.png"), "--scale", "2", "--model", str(tiny_x2)]) == 0
    with Image.open(tmp_path / "out.png") as out:
        assert out.mode == mode and out.size == (24, 20)
    assert "24x20" in capsys.readouterr().out


def test_upscale_tiled_equals_untiled(tmp_path, tiny_x2):
    source = save_png(tmp_path / "in.png", (40, 36, 3))
    for name, tile in (("whole.png", []), ("tiled.png", ["--tile", "16"])):
        cli.main(["upscale", str(source), str(tmp_path / name), "--scale", "2", "--model", str(tiny_x2), *tile])
    np.testing.assert_array_equal(
        np.asarray(Image.open(tmp_path / "whole.png")), np.asarray(Image.open(tmp_path / "tiled.png"))
    )


def test_sixteen_bit_falls_back_to_8_bits_with_a_note_where_the_format_cannot(tmp_path, capsys):
    source = save_png(tmp_path / "in.png", (8, 8), np.uint16)
    assert cli.main(["upscale", str(source), str(tmp_path / "out.bmp"), "--scale", "2", "--model", "bicubic"]) == 0
    assert "written with 8 bits" in capsys.readouterr().err
    with Image.open(tmp_path / "out.bmp") as out:
        assert out.mode == "L"


def test_default_model_prefers_official_then_ours_then_bicubic(monkeypatch, capsys):
    present = ["bicubic", "official-x4", "ours-x4", "ours-x2"]
    monkeypatch.setattr(zoo, "available", lambda root=None: present)
    assert cli.default_model(4, None) == "official-x4"
    assert cli.default_model(2, None) == "ours-x2"
    assert capsys.readouterr().err == ""
    assert cli.default_model(8, None) == "bicubic"
    assert "using bicubic" in capsys.readouterr().err


# --- info -----------------------------------------------------------------------------------------


def test_info_of_a_checkpoint(tiny_x2, capsys):
    assert cli.main(["info", str(tiny_x2), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["scales"] == [2] and info["parameters"] == count_parameters(
        LapSRN(LapSRNConfig(scale=2, depth=1, channels=4))
    )
    assert info["kind"].startswith("LapSRN") and set(info["gflops_per_output_megapixel"]) == {"2"}


def test_info_of_bicubic_has_no_network(capsys):
    assert cli.main(["info", "bicubic"]) == 0
    out = capsys.readouterr().out
    assert "no network" in out and "parameters:  0" in out


@pytest.mark.data
def test_info_of_official_x8_lists_three_scales(data_root, capsys):
    assert cli.main(["info", "official-x8", "--json", "--data-root", str(data_root)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["scales"] == [2, 4, 8] and info["parameters"] == 667_123 and info["config"]["depth"] == 5


# --- one-line errors ------------------------------------------------------------------------------


def test_missing_input_file(tmp_path, capsys):
    line = run_error(
        capsys, ["upscale", str(tmp_path / "nope.png"), str(tmp_path / "out.png"), "--scale", "2", "--model", "bicubic"]
    )
    assert "nope.png" in line and "no such" in line


def test_unreadable_image(tmp_path, capsys):
    (tmp_path / "garbage.png").write_bytes(b"\x89PNG not really an image" * 10)
    line = run_error(
        capsys,
        ["upscale", str(tmp_path / "garbage.png"), str(tmp_path / "out.png"), "--scale", "2", "--model", "bicubic"],
    )
    assert "garbage.png" in line and "not a readable image" in line


def test_unreadable_image_inside_a_dataset_folder(images, capsys):
    (images / "broken.png").write_bytes(b"garbage")
    line = run_error(capsys, ["evaluate", "--model", "bicubic", "--dataset", str(images), "--scale", "2"])
    assert "broken.png" in line


def test_unsupported_scale(tmp_path, capsys):
    source = save_png(tmp_path / "in.png", (8, 8, 3))
    line = run_error(capsys, ["upscale", str(source), str(tmp_path / "out.png"), "--scale", "3", "--model", "bicubic"])
    assert "unsupported scale 3" in line


def test_scale_beyond_the_model(images, tiny_x2, capsys):
    line = run_error(capsys, ["evaluate", "--model", str(tiny_x2), "--dataset", str(images), "--scale", "4"])
    assert "at most x2" in line


def test_corrupt_mat_weights(tmp_path, capsys):
    (tmp_path / "LapSRN_x4.mat").write_bytes(np.random.default_rng(0).bytes(2000))
    line = run_error(capsys, ["info", str(tmp_path / "LapSRN_x4.mat")])
    assert "LapSRN_x4.mat" in line and "MatConvNet" in line


def test_truncated_checkpoint(tiny_x2, capsys):
    data = tiny_x2.read_bytes()
    tiny_x2.write_bytes(data[: len(data) // 2])
    line = run_error(capsys, ["info", str(tiny_x2)])
    assert "tiny_x2.pt" in line and "corrupt" in line


def test_unknown_model(images, capsys):
    line = run_error(capsys, ["evaluate", "--model", "srgan-x4", "--dataset", str(images), "--scale", "4"])
    assert "srgan-x4" in line and "unknown model" in line


def test_unknown_dataset(capsys):
    line = run_error(capsys, ["evaluate", "--model", "bicubic", "--dataset", "urban100", "--scale", "4"])
    assert "urban100" in line


def test_missing_data(empty_root, capsys):
    line = run_error(
        capsys, ["evaluate", "--model", "bicubic", "--dataset", "set5", "--scale", "4", "--data-root", str(empty_root)]
    )
    assert str(empty_root) in line and "lapsrn-edu download set5" in line


def test_missing_official_weights(empty_root, capsys):
    line = run_error(capsys, ["info", "official-x4", "--data-root", str(empty_root)])
    assert "LapSRN_x4.mat" in line and "download weights" in line


def test_unwritable_output_format(tmp_path, capsys):
    source = save_png(tmp_path / "in.png", (8, 8, 4))
    line = run_error(capsys, ["upscale", str(source), str(tmp_path / "out.jpg"), "--scale", "2", "--model", "bicubic"])
    assert "out.jpg" in line and "alpha" in line


def test_errors_in_a_real_process_have_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "lapsrn_edu", "info", str(tmp_path / "missing.pt")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"lapsrn-edu: error: {tmp_path / 'missing.pt'}: no such checkpoint file"
    ]


# --- demo -----------------------------------------------------------------------------------------


def test_demo_writes_the_figure(tmp_path, empty_root, capsys):
    plots = pytest.importorskip("lapsrn_edu.course.plots")
    if not hasattr(plots, "sample_comparison"):
        pytest.skip("lapsrn_edu.course.plots.sample_comparison is not written yet")
    out = tmp_path / "demo.png"
    assert cli.main(["demo", "--out", str(out), "--scales", "2", "--data-root", str(empty_root)]) == 0
    with Image.open(out) as figure:
        assert figure.size[0] > 100


def test_train_trains_any_registered_architecture_and_resume_keeps_it(tmp_path, capsys):
    from lapsrn_edu.models import SRCNN
    from lapsrn_edu.models.checkpoint import load_model

    run = [
        "train",
        "--arch",
        "SRCNN",
        "--scale",
        "2",
        "--epochs",
        "1",
        "--iterations-per-epoch",
        "2",
        "--batch-size",
        "2",
        "--patch-size",
        "32",
        "--train-data",
        "embedded",
        "--val-data",
        "none",
        "--workers",
        "0",
        "--out",
        str(tmp_path),
    ]
    assert cli.main(run) == 0
    assert type(load_model(tmp_path / "last.pt")) is SRCNN
    assert "training SRCNN" in capsys.readouterr().err
    assert cli.main(["train", "--resume", str(tmp_path / "last.pt"), "--arch", "LapSRN", "--workers", "0"]) == 2
    assert "arch='SRCNN' in the checkpoint but 'LapSRN' now" in capsys.readouterr().err
    assert cli.main(["train", "--arch", "Nope", "--out", str(tmp_path / "x")]) == 2
    assert "unknown architecture 'Nope'" in capsys.readouterr().err


def test_a_bug_shows_its_traceback_and_asks_for_a_report_while_a_user_error_is_one_line(monkeypatch, capsys):
    def broken(args):
        return 1 / 0

    monkeypatch.setattr(cli, "run_info", broken)
    assert cli.main(["info", "bicubic"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError" in err and "this is a bug in lapsrn-edu" in err
    assert cli.main(["upscale", "no-such-file.png", "out.png", "--scale", "4"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_packages_errors_are_a_closed_set_of_user_errors():
    """Every exception type the package defines is a UserError, apart from the two that never
    reach a user as such: a failed exercise check (a notebook's AssertionError) and the loop's
    NaN signal (the Trainer turns it into TrainingDivergedError)."""
    import importlib
    import inspect
    import pkgutil

    import lapsrn_edu
    from lapsrn_edu.errors import UserError

    internal = {"ExerciseFailed", "NonFiniteLoss", "_Invalid"}
    found = {}
    for info in pkgutil.walk_packages(lapsrn_edu.__path__, "lapsrn_edu."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == info.name:
                found[name] = obj
    assert {"CheckpointError", "DataNotFoundError", "EngineRefused", "TrainingDivergedError"} <= set(found)
    outside = sorted(name for name, cls in found.items() if not issubclass(cls, UserError) and name not in internal)
    assert not outside, f"exception types that are not UserErrors: {outside}"


@pytest.mark.parametrize(
    "argv, absent",
    [
        (["--help"], ("torch", "lapsrn_edu.models", "lapsrn_edu.training", "lapsrn_edu.studies")),
        (
            ["upscale", "--help"],
            ("lapsrn_edu.training", "lapsrn_edu.studies", "lapsrn_edu.engine.training", "lapsrn_edu.course"),
        ),
    ],
)
def test_a_command_imports_only_what_it_needs(argv, absent):
    """`lapsrn-edu --help` lists every command without importing torch; `upscale` loads no training or studies."""
    code = (
        f"import sys\nfrom lapsrn_edu import cli\ntry:\n    cli.main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(done.stderr.split())
    assert not [m for m in absent if m in loaded]
    if argv == ["--help"]:
        assert all(name in done.stdout for name in cli.COMMANDS)


def test_a_model_exported_under_its_own_name_loads_by_that_name(tmp_path: Path, capsys) -> None:
    """`export --name mine-x8` writes models/mine-x8.pt; its card says `--model mine-x8`, which must work."""
    root = tmp_path / "root"
    save_checkpoint(root / "models" / "mine-x2.pt", LapSRN(LapSRNConfig(scale=2, depth=1, channels=4)))
    assert isinstance(zoo.load("mine-x2", root), LapSRN)
    assert cli.main(["info", "mine-x2", "--data-root", str(root), "--json"]) == 0
    assert cli.main(["info", "no-such-model", "--data-root", str(root)]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err
