"""The GPU path: the same numbers on CUDA as on the CPU, training steps under bf16 autocast,
checkpoints that move between devices, the ``gpu`` recipe and its model's name.

Tests marked ``gpu`` need a CUDA GPU and skip without one (``pytest -m gpu`` selects them;
``tools/gpu_check.py`` runs them on a GPU machine). Where a test has a CPU side, the same test
also runs on the CPU, so every machine exercises the code paths the GPU takes.
"""

import copy
import math
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from helpers import level_of

from lapsrn_edu.data.datasets import DataNotFoundError, has_dataset, weights_path
from lapsrn_edu.data.patches import make_batch
from lapsrn_edu.evaluation import zoo
from lapsrn_edu.evaluation.published import lapsrn_psnr
from lapsrn_edu.models import LapSRN, LapSRNConfig, MSLapSRN, MSLapSRNConfig
from lapsrn_edu.models.checkpoint import load_model, read_checkpoint
from lapsrn_edu.training.config import RECIPES, recipe
from lapsrn_edu.training.losses import multiscale_loss
from lapsrn_edu.training.trainer import Trainer, config_from_checkpoint, train

CUDA = torch.cuda.is_available()
GPU = (pytest.mark.gpu, pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU"))
ON_CUDA = pytest.param("cuda", marks=GPU)


@contextmanager
def full_float32():
    """No TF32 in convolutions or matrix products (cuDNN allows it by default): float32 proper."""
    matmul = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True, allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul


@pytest.fixture
def one_cpu_thread():
    """Two OpenMP threads spinning on a busy 2-core machine make these small models 20x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_gpu_recipe(folders: tuple[Path, Path], out: Path, **overrides):
    """The ``gpu`` recipe shrunk to seconds on a CPU: its optimiser, schedule and device patches."""
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
        threads=1,
        out=str(out),
    )
    return recipe("gpu", **{**settings, **overrides})


# --- the same numbers on both devices --------------------------------------------------------------

MODELS = {
    "LapSRN": lambda: LapSRN(LapSRNConfig(scale=4, depth=3, channels=16)),
    "MS-LapSRN": lambda: MSLapSRN(MSLapSRNConfig(depth=2, recursions=2, channels=16, scale=4)),
}


def forward_backward(model: torch.nn.Module, hr: torch.Tensor, device: str, dtype: torch.dtype) -> list[torch.Tensor]:
    """Every level's output, the loss, and every gradient (weights and input), as float64 on the CPU."""
    model = copy.deepcopy(model).to(device, dtype)
    lr, targets = make_batch(hr.to(device, dtype), 4)
    lr.requires_grad_(True)
    outputs = model(lr)
    loss = multiscale_loss(outputs, targets)
    loss.backward()
    tensors = [*outputs, loss, lr.grad, *(p.grad for p in model.parameters())]
    return [t.detach().double().cpu() for t in tensors]


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("device", ["cpu", ON_CUDA])
def test_forward_and_backward_agree_with_float64_and_across_devices(name: str, device: str, one_cpu_thread) -> None:
    torch.manual_seed(0)
    model, hr = MODELS[name](), torch.rand(2, 1, 32, 32)
    reference = forward_backward(model, hr, "cpu", torch.float64)
    with full_float32():
        on_device = forward_backward(model, hr, device, torch.float32)
        on_cpu = forward_backward(model, hr, "cpu", torch.float32)
    assert len(on_device) == len(reference) > 10
    assert max(relative_error(a, b) for a, b in zip(on_device, reference, strict=True)) < 1e-4
    assert max(relative_error(a, b) for a, b in zip(on_device, on_cpu, strict=True)) < 1e-4


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_the_official_x4_weights_give_the_papers_set5_score_on_cuda() -> None:
    """Set5 x4 31.54 dB / 0.8852 (CVPR 2017, Table 4) on CUDA with the defaults a student gets;
    tests/test_evaluate.py checks the same on the CPU."""
    from lapsrn_edu.evaluation.evaluate import evaluate

    try:
        weights_path("LapSRN_x4.mat")
    except DataNotFoundError:
        pytest.skip(
            "official x4 weights not under the data root; run `lapsrn-edu download weights` or set LAPSRN_EDU_DATA"
        )
    if not has_dataset("set5"):
        pytest.skip("Set5 not under the data root; run `lapsrn-edu download set5` or set LAPSRN_EDU_DATA")
    model = zoo.load("official-x4")
    on_cuda = evaluate(model, "set5", 4, device="cuda", progress=False)
    on_cpu = evaluate(model, "set5", 4, device="cpu", progress=False)
    assert on_cuda.psnr == pytest.approx(lapsrn_psnr("set5", 4), abs=0.01)
    assert on_cuda.ssim == pytest.approx(0.8852, abs=5e-4)
    assert max(abs(a.psnr - b.psnr) for a, b in zip(on_cuda.images, on_cpu.images, strict=True)) < 0.01


# --- training on the GPU ----------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["cpu", ON_CUDA])
def test_a_training_step_under_bf16_autocast(device: str, image_folders, tmp_path: Path, one_cpu_thread) -> None:
    """Convolutions run in bf16 (``amp=auto`` chooses it on CUDA, ``bf16`` asks for it on the CPU),
    weights and loss stay float32, and the loss falls."""
    amp = "auto" if device == "cuda" else "bf16"
    config = tiny_gpu_recipe(image_folders, tmp_path, device=device, amp=amp, epochs=3, iterations_per_epoch=4, lr=3e-3)
    trainer = Trainer(config, progress=False)
    seen: set[torch.dtype] = set()

    def record(module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if module.training:  # validation runs without autocast, as evaluation does
            seen.add(output.dtype)

    level_of(trainer.model).convs[0].register_forward_hook(record)
    history = trainer.run()
    assert seen == {torch.bfloat16}
    assert all(p.dtype == torch.float32 and p.device.type == device for p in trainer.model.parameters())
    losses = [e.loss for e in history.epochs]
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]

    torch.manual_seed(1)  # a bf16 forward stays within bf16's rounding of the float32 one
    lr = torch.rand(2, 1, 12, 12, device=device)
    model = trainer.model.eval()
    with torch.no_grad():
        full = model(lr)[-1]
        with torch.autocast(device, dtype=torch.bfloat16):
            half = model(lr)[-1]
    assert half.dtype == torch.bfloat16 and relative_error(half.float(), full) < 2e-2


@pytest.mark.parametrize(
    "first, second",
    [("cpu", "cpu"), pytest.param("cuda", "cpu", marks=GPU), pytest.param("cpu", "cuda", marks=GPU)],
)
def test_a_checkpoint_written_on_one_device_resumes_on_the_other(
    first: str, second: str, image_folders, tmp_path: Path, monkeypatch
) -> None:
    """Stopped after one epoch on ``first``, resumed on ``second``: the weights and Adam's moments
    come back as saved and move to ``second``, and the run ends where one straight run ends (exactly
    on one device; across devices within float32 rounding, far closer than a resume that lost
    the optimiser state)."""
    end_epoch = Trainer._end_epoch

    def stop_after_one(self, record, *args):
        end_epoch(self, record, *args)
        if record.epoch == 1:
            raise KeyboardInterrupt

    with full_float32():
        train(tiny_gpu_recipe(image_folders, tmp_path / "straight", device=first, amp="off"), progress=False)
        with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
            patch.setattr(Trainer, "_end_epoch", stop_after_one)
            train(tiny_gpu_recipe(image_folders, tmp_path / "resumed", device=first, amp="off"), progress=False)
        last = tmp_path / "resumed" / "last.pt"
        saved = read_checkpoint(last)
        trainer = Trainer(config_from_checkpoint(last, device=second), progress=False)
        restored = trainer.model.state_dict()
        assert all(torch.equal(restored[k], saved["model"][k]) for k in saved["model"])
        moments = [s["exp_avg"] for s in trainer.optimizer.state_dict()["state"].values()]
        assert moments and all(
            torch.equal(m.cpu(), s["exp_avg"])
            for m, s in zip(moments, saved["optimizer"]["state"].values(), strict=True)
        )
        history = trainer.run()
    assert [e.epoch for e in history.epochs] == [1, 2] and history.epochs[-1].iteration == 6
    assert all(p.device.type == second for p in trainer.model.parameters())
    assert all(s["exp_avg"].device.type == second for s in trainer.optimizer.state.values())
    a = read_checkpoint(tmp_path / "straight" / "last.pt")["model"]
    b = read_checkpoint(last)["model"]
    if first == second:
        assert all(torch.equal(a[k], b[k]) for k in a)
    else:
        assert max(float((a[k] - b[k]).abs().max()) for k in a) < 2e-5
    assert load_model(last).scale == 4  # a checkpoint from either device loads on the CPU


# --- the gpu recipe and its model ------------------------------------------------------------------


def test_the_gpu_recipe_is_the_papers_network_and_data_with_a_faster_optimiser() -> None:
    gpu, paper = RECIPES["gpu"], RECIPES["paper"]
    same = (
        "scale",
        "depth",
        "channels",
        "upsampler",
        "train_data",
        "patch_size",
        "scale_range",
        "rotate",
        "flip",
        "loss",
        "reduction",
    )
    assert all(getattr(gpu, name) == getattr(paper, name) for name in same)
    assert (gpu.depth, gpu.patch_size, gpu.scale) == (10, 128, 4)
    assert (gpu.optimizer, gpu.lr_schedule, gpu.amp, gpu.patches_on) == ("adam", "cosine", "auto", "device")


def test_the_gpu_recipe_trains_at_a_tiny_size_from_the_command_line(image_folders, tmp_path: Path, capsys) -> None:
    from lapsrn_edu.cli import main

    train_dir, val_dir = image_folders
    flags = [
        "--train-data",
        str(train_dir),
        "--val-data",
        str(val_dir),
        "--depth",
        "1",
        "--channels",
        "8",
        "--patch-size",
        "16",
        "--batch-size",
        "4",
        "--epochs",
        "1",
        "--iterations-per-epoch",
        "3",
        "--workers",
        "0",
        "--threads",
        "1",
        "--device",
        "cpu",
    ]
    assert main(["train", "--config", "gpu", "--out", str(tmp_path / "run"), *flags]) == 0
    state = read_checkpoint(tmp_path / "run" / "last.pt")
    assert state["iteration"] == 3 and state["config"]["recipe"] == "gpu" and state["config"]["patches_on"] == "device"
    assert "1 epochs, 3 iterations" in capsys.readouterr().out


def test_export_names_the_model_and_the_machine_it_trained_on(image_folders, tmp_path: Path) -> None:
    from lapsrn_edu.training.export import export_run

    train(tiny_gpu_recipe(image_folders, tmp_path / "run", epochs=1), progress=False)
    weights, card = export_run(
        tmp_path / "run",
        tmp_path / "models",
        datasets=(),
        progress=False,
        name="ours-x4-gpu",
        trained_on="NVIDIA H100 80GB HBM3, 16 CPU cores",
    )
    assert (weights.name, card.name) == ("ours-x4-gpu.pt", "ours-x4-gpu.md")
    text = card.read_text()
    assert text.startswith("# ours-x4-gpu") and 'zoo.load("ours-x4-gpu")' in text and "--config gpu" in text
    assert "trained on NVIDIA H100 80GB HBM3, 16 CPU cores; scored on" in text
    with pytest.raises(ValueError, match="letters, digits"):
        export_run(tmp_path / "run", tmp_path / "models", datasets=(), progress=False, name="../ours")


def test_ours_x4_gpu_is_published_as_the_paper_size_model_and_a_missing_file_is_one_line(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    from lapsrn_edu.cli import main

    assert "ours-x4-gpu" in zoo.available()
    model = zoo.load("ours-x4-gpu")
    assert isinstance(model, LapSRN) and (model.scale, model.config.depth) == (4, 10)
    monkeypatch.setattr(
        zoo,
        "ours_path",
        lambda name, root=None: (_ for _ in ()).throw(
            zoo.DataNotFoundError(
                f"{tmp_path / (name + '.pt')}: model {name!r} not found; train it with `lapsrn-edu train`"
            )
        ),
    )
    assert main(["evaluate", "--model", "ours-x4-gpu", "--dataset", "embedded", "--scale", "4"]) == 2
    error = capsys.readouterr().err
    assert (
        "ours-x4-gpu" in error
        and "not found" in error
        and "Traceback" not in error
        and len(error.strip().splitlines()) == 1
    )
