"""tools/gpu_check.py on the CPU: the data pack comes back pixel for pixel (and a changed image is
caught), the training plan fits the time it is given, and pytest's results are counted right."""

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def fake_root(base: Path) -> Path:
    """A data root with one RGB training image, one gray Set14 image and a weights file."""
    rng = np.random.default_rng(0)
    root = base / "data"
    for folder in ("train/T91", "benchmarks/Set14", "pretrained/matconvnet"):
        (root / folder).mkdir(parents=True)
    PILImage.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(root / "train/T91/t1.png")
    PILImage.fromarray(rng.integers(0, 256, (24, 18), dtype=np.uint8)).save(root / "benchmarks/Set14/bridge.png")
    (root / "pretrained/matconvnet/LapSRN_x4.mat").write_bytes(b"weights" * 100)
    return root


def pixels(path: Path) -> tuple[str, np.ndarray]:
    with PILImage.open(path) as image:
        return image.mode, np.asarray(image).copy()


def test_the_pack_unpacks_to_the_same_pixels_and_catches_a_changed_image(gpu_check, tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    images, size = gpu_check.pack(root, tmp_path / "pack")
    assert images == 2 and size > 0 and (tmp_path / "pack/train/T91/t1.webp").is_file()
    assert gpu_check.unpack(tmp_path / "pack", tmp_path / "back") == 2
    for name in ("train/T91/t1.png", "benchmarks/Set14/bridge.png"):
        (mode, original), (mode_back, back) = pixels(root / name), pixels(tmp_path / "back" / name)
        assert mode == mode_back and np.array_equal(original, back)
    assert (tmp_path / "back/pretrained/matconvnet/LapSRN_x4.mat").read_bytes() == b"weights" * 100

    PILImage.new("RGB", (30, 20)).save(tmp_path / "pack/train/T91/t1.webp", "WEBP", lossless=True)
    with pytest.raises(gpu_check.CheckFailed, match="not the packed data"):
        gpu_check.unpack(tmp_path / "pack", tmp_path / "again")
    with pytest.raises(gpu_check.CheckFailed, match="run `python tools/gpu_check.py pack`"):
        gpu_check.unpack(tmp_path / "nothing", tmp_path / "again")


@pytest.mark.parametrize("rate, budget", [(8000.0, 580.0), (3000.0, 580.0), (12000.0, 300.0)])
def test_the_training_plan_fits_the_minutes_and_the_deadline(
    gpu_check, tmp_path: Path, rate: float, budget: float
) -> None:
    args = argparse.Namespace(out=str(tmp_path), budget=budget, minutes=8.0, epochs=None, tiny=False)
    plan = gpu_check.Check(args).plan({"recipes": [{"recipe": "gpu", "batch_size": 256, "patches_per_second": rate}]})
    assert plan["seconds"] <= min(8 * 60, budget - 60)
    training = plan["epochs"] * plan["iterations_per_epoch"] * 256 / rate + 2.0 * plan["epochs"]
    assert 0.85 * plan["seconds"] < training <= plan["seconds"]
    assert plan["epochs"] >= 4 and plan["patches"] == plan["epochs"] * plan["iterations_per_epoch"] * 256


def test_pytest_results_are_counted_from_its_junit_report(gpu_check, tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase name="a"/><testcase name="b"><skipped message="needs a CUDA GPU"/></testcase>'
        '<testcase name="c"><failure message="boom"/></testcase><testcase name="d"><error '
        'message="fixture"/></testcase>'
        "</testsuite></testsuites>"
    )
    assert gpu_check.junit_counts(report) == {"passed": 1, "failed": 1, "errors": 1, "skipped": 1}
    assert gpu_check.junit_counts(tmp_path / "missing.xml") == {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
