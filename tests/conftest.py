"""Shared fixture: the data root, or a skip with the download hint when the data is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from lapsrn_edu import datasets
from lapsrn_edu.zoo import OFFICIAL_FILES

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
