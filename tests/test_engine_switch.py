"""The engine switch: the readable model is what runs. An edited layer (its class's forward
replaced, a subclass, an instance forward, an added module, a hook, another slope) changes what
upscaling, evaluation, the level viewer and a training step compute; ``engine="fast"`` refuses an
edited model in one line; an untouched model still takes the engines."""

import numpy as np
import pytest
import torch
from helpers import level_of
from torch import nn

from lapsrn_edu.course import widgets
from lapsrn_edu.data.datasets import Image
from lapsrn_edu.engine import inference, switch
from lapsrn_edu.engine.switch import EngineRefused, difference, use_engine
from lapsrn_edu.evaluation.evaluate import evaluate
from lapsrn_edu.evaluation.upscale import upscale_pixels
from lapsrn_edu.models import SRCNN, LapSRN, MSLapSRN
from lapsrn_edu.models.layers import FeatureUpsampler
from lapsrn_edu.training.config import TrainConfig, recipe
from lapsrn_edu.training.loop import one_batch
from lapsrn_edu.training.trainer import Trainer

PIXELS = np.random.default_rng(0).random((12, 14, 3))


def small(seed: int = 0) -> LapSRN:
    torch.manual_seed(seed)
    return LapSRN(scale=4, depth=1, channels=4).eval()


def shifted_forward(original):
    def forward(self, x):
        return original(self, x) + 0.05

    return forward


@pytest.fixture
def edited_class(monkeypatch):
    """A lesson's edit: FeatureUpsampler.forward replaced on the class."""
    monkeypatch.setattr(FeatureUpsampler, "forward", shifted_forward(FeatureUpsampler.forward))
    monkeypatch.setattr(switch, "_told", set())


def test_untouched_models_take_the_engines():
    assert difference(small()) is None and use_engine(small())
    assert difference(MSLapSRN(depth=1, recursions=1, channels=4)) is None
    assert (
        difference(SRCNN(scale=2, filters=(4, 2)), "training") is None
    )  # the training engine serves every architecture
    assert "covers LapSRN and MS-LapSRN, not SRCNN" in (difference(SRCNN(scale=2, filters=(4, 2))) or "")
    assert "float32" in (difference(small().double()) or "")
    assert not use_engine(small(), "reference")


def test_upscale_streams_an_untouched_model_through_the_engine(monkeypatch):
    calls = []
    bands = inference.FastPyramid.bands

    def counted(self, *a, **k):
        calls.append(1)
        return bands(self, *a, **k)

    monkeypatch.setattr(inference.FastPyramid, "bands", counted)
    upscale_pixels(PIXELS, 4, small())
    assert calls


def edits():
    """(name, a function that edits a model in place) for every kind of edit the switch must see."""

    def subclass(model):
        class MyUpsampler(FeatureUpsampler):
            def forward(self, x):
                return super().forward(x) + 0.5

        old = model.levels[0].upsample
        new = MyUpsampler(4, old.kind)
        new.load_state_dict(old.state_dict())
        model.levels[0].upsample = new

    def instance(model):
        conv = model.levels[0].upsample
        conv.forward = lambda x: FeatureUpsampler.forward(conv, x) + 0.05

    def added(model):
        model.levels[0].convs.append(nn.Hardtanh(-0.01, 0.01))

    def hook(model):
        model.levels[0].upsample.register_forward_hook(lambda module, args, out: out + 0.05)

    def slope(model):
        next(m for m in model.modules() if isinstance(m, nn.LeakyReLU)).negative_slope = 0.1

    return {"subclass": subclass, "instance forward": instance, "added module": added, "hook": hook, "slope": slope}


@pytest.mark.parametrize("kind", edits())
def test_every_kind_of_edit_is_seen_and_runs_as_its_own_code(kind, monkeypatch, capsys):
    monkeypatch.setattr(switch, "_told", set())
    model = small()
    before = upscale_pixels(PIXELS, 4, model)
    edits()[kind](model)
    reason = difference(model)
    assert reason
    after = upscale_pixels(PIXELS, 4, model)
    reference = upscale_pixels(PIXELS, 4, model, engine="reference")
    assert np.array_equal(after, reference) and not np.array_equal(after, before)
    note = capsys.readouterr().err
    assert note.count("lapsrn-edu: note: running the model's own code") == 1 and reason in note  # once, for two calls


def test_an_edited_class_changes_upscale_evaluate_and_the_level_viewer(edited_class, capsys):
    model = small()
    assert "FeatureUpsampler.forward was replaced" in (difference(model) or "")
    edited = upscale_pixels(PIXELS, 4, model)
    assert np.array_equal(edited, upscale_pixels(PIXELS, 4, model, engine="reference"))
    images = [Image("a", PIXELS[:12, :12])]
    assert (
        evaluate(model, images, 4, progress=False).psnr
        == evaluate(model, images, 4, progress=False, engine="reference").psnr
    )
    levels = widgets.level_images(model, PIXELS[..., 0], 4)
    with torch.no_grad():
        expected = model(torch.from_numpy(PIXELS[..., 0]).float()[None, None])
    assert all(
        np.allclose(level["output"], out[0, 0].numpy(), atol=1e-6) for level, out in zip(levels, expected, strict=True)
    )
    assert "FeatureUpsampler.forward was replaced" in capsys.readouterr().err


def test_the_edit_really_changes_the_numbers(monkeypatch):
    model = small()
    untouched = (upscale_pixels(PIXELS, 4, model), widgets.level_images(model, PIXELS[..., 0], 4)[-1]["output"])
    monkeypatch.setattr(FeatureUpsampler, "forward", shifted_forward(FeatureUpsampler.forward))
    monkeypatch.setattr(switch, "_told", set())
    edited = (upscale_pixels(PIXELS, 4, model), widgets.level_images(model, PIXELS[..., 0], 4)[-1]["output"])
    assert not np.allclose(untouched[0], edited[0], atol=1e-3) and not np.allclose(untouched[1], edited[1], atol=1e-3)


def tiny_run(tmp_path, engine: str, **overrides) -> TrainConfig:
    """A one-thread CPU run of a depth-1, 4-channel x4 model on the embedded images: seconds."""
    settings = dict(scale=4, depth=1, channels=4, patch_size=16, batch_size=2, train_data="embedded")
    settings |= dict(val_data="none", threads=1, workers=0, device="cpu", engine=engine, out=str(tmp_path))
    return recipe("quick", **{**settings, **overrides})


def one_step_loss(tmp_path, model: nn.Module, engine: str = "auto") -> tuple[float, bool]:
    config = tiny_run(tmp_path, engine)
    trainer = Trainer(config, progress=False, model=model)
    trainer._place()
    hr = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    return float(
        one_batch(trainer.network, trainer.optimizer, hr, config, trainer.autocast)
    ), trainer.network is not model


def test_a_training_step_runs_the_edited_model(tmp_path, monkeypatch):
    untouched, engine_used = one_step_loss(tmp_path, small())
    assert engine_used
    monkeypatch.setattr(FeatureUpsampler, "forward", shifted_forward(FeatureUpsampler.forward))
    monkeypatch.setattr(switch, "_told", set())
    edited, engine_used = one_step_loss(tmp_path, small())
    assert not engine_used and abs(edited - untouched) > 1e-3
    with pytest.raises(EngineRefused):
        one_step_loss(tmp_path, small(), engine="fast")


def test_engine_fast_refuses_an_edited_model_in_one_line(edited_class):
    with pytest.raises(EngineRefused) as refused:
        upscale_pixels(PIXELS, 4, small(), engine="fast")
    message = str(refused.value)
    assert "\n" not in message and "FeatureUpsampler.forward was replaced" in message and "engine='auto'" in message
    with pytest.raises(EngineRefused):
        widgets.level_images(small(), PIXELS[..., 0], 4, engine="fast")
    with pytest.raises(EngineRefused):
        evaluate(small(), [Image("a", PIXELS)], 4, progress=False, engine="fast")


def test_an_unknown_engine_is_one_clear_error():
    with pytest.raises(ValueError, match="engine must be one of auto, reference, fast"):
        upscale_pixels(PIXELS, 4, small(), engine="turbo")


def test_a_backward_hook_sends_a_training_step_to_the_models_own_code(tmp_path, monkeypatch):
    """A no-op full backward hook on one convolution: the training engine's in-place layers would
    stop with PyTorch's 'BackwardHookFunction is a view' error; the switch sees the hook, so the
    step runs the model's own code and gives the reference's loss, and 'fast' refuses."""
    monkeypatch.setattr(switch, "_told", set())
    hooked = small()
    level_of(hooked).convs[0].register_full_backward_hook(lambda module, grad_in, grad_out: None)
    assert "backward hook" in (difference(hooked, "training") or "")
    loss, engine_used = one_step_loss(tmp_path / "auto", hooked)
    reference, _ = one_step_loss(tmp_path / "ref", small(), engine="reference")
    assert not engine_used and loss == pytest.approx(reference, rel=1e-5)
    with pytest.raises(EngineRefused, match="backward hook"):
        one_step_loss(tmp_path / "fast", small_hooked(), engine="fast")


def small_hooked() -> LapSRN:
    model = small()
    level_of(model).convs[0].register_full_backward_hook(lambda module, grad_in, grad_out: None)
    return model


def test_a_changed_upsampler_kind_is_seen_everywhere(tmp_path, monkeypatch):
    """``kind`` is instance state without an extra_repr: changing it after building changes what
    the upsampler computes (no crop), so no engine may stand in and 'fast' refuses in one line."""
    monkeypatch.setattr(switch, "_told", set())
    model = small()
    level_of(model).upsample.kind = "paper"
    assert "differs from the one LapSRN builds" in (difference(model) or "")
    assert not use_engine(model) and not use_engine(model, purpose="training")
    with pytest.raises(RuntimeError) as own, torch.no_grad():
        model(torch.rand(1, 1, 6, 6), levels=2)
    with pytest.raises(type(own.value)):
        upscale_pixels(PIXELS, 4, model)  # auto runs the model's own code, and fails as it does
    for run in (
        lambda: upscale_pixels(PIXELS, 4, model, engine="fast"),
        lambda: evaluate(model, [Image("a", PIXELS)], 4, progress=False, engine="fast"),
        lambda: widgets.level_images(model, PIXELS[..., 0], 4, engine="fast"),
        lambda: one_step_loss(tmp_path, model, engine="fast"),
    ):
        with pytest.raises(EngineRefused, match="differs from the one LapSRN builds"):
            run()


def test_every_parameter_and_buffer_is_checked_not_only_the_first():
    model = small()
    last = list(model.parameters())[-1]
    last.data = last.data.double()
    reason = difference(model)
    assert reason and "float64" in reason and "float32" in reason
    assert not use_engine(model)
    with pytest.raises(EngineRefused, match="float64"):
        upscale_pixels(PIXELS, 4, model, engine="fast")


def test_fast_means_the_same_on_every_path_the_device_rule_included():
    """Both engines run on the CPU: on another device 'auto' runs the model's own code without a
    note (nothing was edited) and 'fast' refuses, for training as for inference."""
    model = small()
    for purpose in ("inference", "training"):
        assert difference(model, purpose, "cuda") == f"the {purpose} engine runs on the CPU, not on cuda"
        assert not use_engine(model, "auto", purpose, "cuda")
        with pytest.raises(EngineRefused, match="runs on the CPU"):
            use_engine(model, "fast", purpose, "cuda")


def test_validation_during_training_honours_the_engine_option(tmp_path, monkeypatch):
    seen = []
    real = evaluate

    def spy(*args, **kwargs):
        seen.append(kwargs.get("engine"))
        return real(*args, **kwargs)

    monkeypatch.setattr("lapsrn_edu.training.trainer.evaluate", spy)
    config = tiny_run(tmp_path, "reference", val_data="embedded", epochs=1, iterations_per_epoch=1)
    Trainer(config, progress=False, model=small()).run()
    assert seen and set(seen) == {"reference"}
