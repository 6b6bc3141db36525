"""Patches cut on the training device: the same patches as the CPU path, batch by batch, and a
training run that uses them resumes exactly. Each test runs on the CPU here and on CUDA (marker
``gpu``) where there is a GPU."""

import numpy as np
import pytest
import torch

from lapsrn_edu.data.patches import Augmentation, BatchIndices, LumaImage, PatchDataset
from lapsrn_edu.engine.gpu_patches import DevicePatchCutter, Placements, device_batches, largest_window

ON_CUDA = pytest.param(
    "cuda", marks=(pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"))
)
DEVICES = ["cpu", ON_CUDA]


def lumas() -> list[LumaImage]:
    """Images of several shapes: wider, taller, and one narrower than the widest zoom-out window."""
    rng = np.random.default_rng(7)
    return [
        LumaImage(name, rng.random(shape).astype(np.float32))
        for name, shape in (("wide", (40, 90)), ("tall", (75, 36)), ("small", (30, 33)))
    ]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "augmentation",
    [
        Augmentation(),
        Augmentation((1.0, 1.0)),
        Augmentation((0.6, 0.8), rotate=False),
        Augmentation((0.5, 1.0), flip=False),
    ],
    ids=["paper", "no-zoom", "zoom-no-turns", "no-flip"],
)
def test_device_patches_equal_the_cpu_patches(device: str, augmentation: Augmentation) -> None:
    patches = PatchDataset(lumas(), 24, augmentation, seed=3)
    placements = torch.stack([Placements(patches)[i] for i in range(96)])
    cut = DevicePatchCutter.for_dataset(patches, device)(placements)
    expected = torch.stack([patches[i] for i in range(96)])
    assert cut.shape == (96, 1, 24, 24) and cut.dtype == torch.float32 and cut.device.type == device
    assert float((cut.cpu() - expected).abs().max()) < 1e-5
    assert len({int(w) for w in placements[:, 3]}) > 1 or augmentation.scale_range == (
        1.0,
        1.0,
    )  # several windows were cut


def test_the_largest_window_is_the_widest_zoom_out_an_image_allows() -> None:
    images = lumas()
    assert largest_window(images, 24, 0.5) == 40  # a 48 px window fits no image: the widest is "wide"'s 40 px side
    assert largest_window(images, 16, 0.5) == 32
    with pytest.raises(ValueError, match="smaller than the patch"):
        DevicePatchCutter(images, 24, 20, "cpu")


@pytest.mark.parametrize("device", DEVICES)
def test_device_batches_follow_the_sampler_from_any_iteration(device: str) -> None:
    patches = PatchDataset(lumas(), 16, seed=1)
    batches = device_batches(patches, BatchIndices(3, 5, 6), workers=0, device=device)
    for iteration, batch in zip((3, 4), batches, strict=True):
        expected = torch.stack([patches[i] for i in range(iteration * 6, iteration * 6 + 6)])
        assert float((batch.cpu() - expected).abs().max()) < 1e-5
    assert next(batches, None) is None


def test_workers_draw_the_same_placements_as_the_training_process() -> None:
    patches = PatchDataset(lumas(), 16, seed=2)
    alone = [b.clone() for b in device_batches(patches, BatchIndices(0, 3, 4), workers=0, device="cpu")]
    helped = list(device_batches(patches, BatchIndices(0, 3, 4), workers=1, device="cpu"))
    assert all(torch.equal(a, b) for a, b in zip(alone, helped, strict=True))
