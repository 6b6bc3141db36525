"""Shared fixtures: the data root (or a skip with the download hint when the data is absent), and
small folders of training and validation images."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image as PILImage

from lapsrn_edu.data import datasets
from lapsrn_edu.evaluation.zoo import OFFICIAL_FILES

MISSING_DATA = "benchmark data not found under the data root; run `lapsrn-edu download all` or set LAPSRN_EDU_DATA"


def require_data_root() -> Path:
    """The data root if Set5, Set14, BSD100 and the official weights are there, else skip the test
    (Urban100 and Manga109, 283 MB, are optional: tests that need them check for them)."""
    root = datasets.data_root()
    benchmarks = all(datasets.has_dataset(name, root) for name in ("set5", "set14", "bsd100"))
    weights = all((root / "pretrained" / "matconvnet" / f).is_file() for f in OFFICIAL_FILES.values())
    if not (benchmarks and weights):
        pytest.skip(MISSING_DATA)
    return root


@pytest.fixture(scope="session")
def data_root() -> Path:
    return require_data_root()


@pytest.fixture(scope="module")
def image_folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Small crops of a natural image (scikit-image's astronaut): a training and a validation folder."""
    from skimage import data as skdata

    base = tmp_path_factory.mktemp("images")
    train_dir, val_dir = base / "train", base / "val"
    train_dir.mkdir()
    val_dir.mkdir()
    astronaut = skdata.astronaut()
    for k, (top, left) in enumerate([(0, 0), (100, 200), (200, 100), (300, 300)]):
        PILImage.fromarray(astronaut[top : top + 48, left : left + 48]).save(train_dir / f"crop{k}.png")
    PILImage.fromarray(astronaut[400:432, 50:82]).save(val_dir / "val.png")
    return train_dir, val_dir
