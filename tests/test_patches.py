"""On-the-fly training patches: shapes, targets equal to MATLAB imresize, augmentation, repeatability."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from lapsrn_edu.data.datasets import DataNotFoundError, Image, ImageReadError
from lapsrn_edu.data.patches import (
    Augmentation,
    BatchIndices,
    LumaImage,
    PatchDataset,
    keep_large_enough,
    load_luma_images,
    make_batch,
    to_luma,
    training_items,
)
from lapsrn_edu.imaging.resize import imresize

RNG = np.random.default_rng(0)


def luma(name: str, h: int, w: int) -> LumaImage:
    return LumaImage(name, RNG.random((h, w)).astype(np.float32))


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_lr_and_level_targets_are_matlab_imresize_of_the_hr_patch(scale: int) -> None:
    hr = torch.from_numpy(RNG.random((3, 1, 32, 32)))
    lr, targets = make_batch(hr, scale)
    assert lr.shape == (3, 1, 32 // scale, 32 // scale)
    np.testing.assert_allclose(lr[1, 0].numpy(), imresize(hr[1, 0].numpy(), 1 / scale), atol=1e-12)
    assert len(targets) == int(np.log2(scale))
    assert [t.shape[-1] for t in targets] == [32 // scale * 2 ** (k + 1) for k in range(len(targets))]
    assert torch.equal(targets[-1], hr)
    if scale > 2:
        np.testing.assert_allclose(targets[0][2, 0].numpy(), imresize(hr[2, 0].numpy(), 2 / scale), atol=1e-12)


def test_patch_not_a_multiple_of_the_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="multiple of the scale"):
        make_batch(torch.zeros(1, 1, 30, 30), 4)


def test_samples_have_the_patch_shape_and_are_repeatable() -> None:
    images = [luma("a", 50, 70), luma("b", 64, 40)]
    dataset = PatchDataset(images, 32, seed=3)
    for index in range(20):
        patch = dataset[index]
        assert patch.shape == (1, 32, 32) and patch.dtype == torch.float32
        assert torch.equal(patch, PatchDataset(images, 32, seed=3)[index])
    assert not torch.equal(dataset[0], dataset[1])
    assert not torch.equal(dataset[0], PatchDataset(images, 32, seed=4)[0])


def test_without_augmentation_a_patch_is_a_crop_of_the_image() -> None:
    image = luma("a", 20, 24)
    dataset = PatchDataset([image], 8, Augmentation((1.0, 1.0), rotate=False, flip=False))
    patch = dataset[5][0].numpy()
    windows = np.lib.stride_tricks.sliding_window_view(image.y, (8, 8))
    assert (windows == patch).all(axis=(-1, -2)).any()


def test_augmentation_rotates_and_flips_crops_of_the_image() -> None:
    image = luma("a", 16, 16)
    dataset = PatchDataset([image], 16, Augmentation((1.0, 1.0)))
    variants = {tuple(dataset[i][0].numpy().ravel()) for i in range(64)}
    expected = {tuple(np.rot90(f, k).ravel()) for k in range(4) for f in (image.y, image.y[:, ::-1])}
    assert variants <= expected and len(variants) > 4


def test_zoomed_out_patches_stay_in_the_value_range() -> None:
    image = LumaImage("smooth", np.tile(np.linspace(0.2, 0.8, 64, dtype=np.float32), (64, 1)))
    patch = PatchDataset([image], 32, Augmentation((0.5, 0.5)))[0]
    assert patch.shape == (1, 32, 32)
    assert 0.15 < float(patch.min()) and float(patch.max()) < 0.85


def test_images_smaller_than_a_patch_are_skipped_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="tiny"):
        kept = keep_large_enough([luma("tiny", 10, 50), luma("big", 40, 40)], 32)
    assert [im.name for im in kept] == ["big"]
    with pytest.raises(DataNotFoundError, match="smaller patch_size"), pytest.warns(UserWarning):
        keep_large_enough([luma("tiny", 10, 50)], 32)


def test_batches_split_the_global_batch_across_ranks() -> None:
    whole = list(BatchIndices(2, 4, 8))
    assert whole == [list(range(16, 24)), list(range(24, 32))]
    halves = [list(BatchIndices(2, 4, 8, rank, 2)) for rank in (0, 1)]
    assert [a + b for a, b in zip(*halves, strict=True)] == whole
    with pytest.raises(ValueError, match="divisible"):
        BatchIndices(0, 1, 7, 0, 2)


def test_luma_of_gray_and_rgb_images() -> None:
    gray = to_luma(Image("g", np.full((4, 4), 1.0)))
    rgb = to_luma(Image("c", np.ones((4, 4, 3))))
    np.testing.assert_allclose(gray.y, 235 / 255, rtol=1e-6)
    np.testing.assert_allclose(rgb.y, gray.y)


def test_empty_folder_unreadable_image_and_test_sets_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="no image files"):
        training_items(tmp_path)
    PILImage.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "fine.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ImageReadError, match="broken.png"):
        load_luma_images(training_items(tmp_path))
    with pytest.raises(ValueError, match="test set"):
        training_items("set5")
