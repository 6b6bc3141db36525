"""Model names -> ready models: ``bicubic``, the official releases, our trained models, or a file.

Names (the command line's ``--model``):
    bicubic                                   no network (MATLAB bicubic)
    official-x2, official-x4, official-x8     LapSRN_x{2,4,8}.mat under the data root
    official-ms-d5r2, -d5r5, -d5r8            MSLapSRN_D5R{2,5,8}.mat under the data root
    ours-x2, ours-x4, ours-x8                 this project's trained models in data/models/
    ours-x4-gpu                               the paper-size x4 model trained by the `gpu` recipe
    PATH                                      a .mat release file or a lapsrn-edu checkpoint (.pt)
"""

from __future__ import annotations

import json
from pathlib import Path

from torch import nn

from ..data.datasets import REPO_DATA, DataNotFoundError, data_root, weights_path
from ..errors import OptionError
from ..models.checkpoint import load_model
from ..models.official import load_official

OFFICIAL_FILES = {
    "official-x2": "LapSRN_x2.mat",
    "official-x4": "LapSRN_x4.mat",
    "official-x8": "LapSRN_x8.mat",
    "official-ms-d5r2": "MSLapSRN_D5R2.mat",
    "official-ms-d5r5": "MSLapSRN_D5R5.mat",
    "official-ms-d5r8": "MSLapSRN_D5R8.mat",
}
OURS = ("ours-x2", "ours-x4", "ours-x8", "ours-x4-cpu", "ours-x4-gpu")
MODEL_NAMES = ("bicubic", *OFFICIAL_FILES, *OURS)


# Where an installed wheel keeps data/models (pyproject.toml maps it to lapsrn_edu.trained_models).
SHIPPED_MODELS = Path(__file__).resolve().parents[1] / "trained_models"


def ours_path(name: str, root: str | Path | None = None) -> Path:
    """Our model ``name`` (``ours-x4``): ``models/`` under the data root, else the repository's
    ``data/models``, else the copy an installed package ships."""
    bases = (Path(root) / "models" if root else data_root() / "models", REPO_DATA / "models", SHIPPED_MODELS)
    for base in bases:
        path = base / f"{name}.pt"
        if path.is_file():
            return path
    raise DataNotFoundError(
        f"{REPO_DATA / 'models' / (name + '.pt')}: model {name!r} not found; train it with `lapsrn-edu train`"
    )


def training_curve(name: str, root: str | Path | None = None) -> dict | None:
    """The monitor curve that ``lapsrn-edu export`` wrote beside our model ``name``
    (``NAME.curve.json``: PSNR after each epoch against hours), or None where there is none."""
    try:
        path = ours_path(name, root).with_suffix(".curve.json")
    except DataNotFoundError:
        return None
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def load(name_or_path: str | Path, root: str | Path | None = None) -> nn.Module | None:
    """The model for a name or file (``None`` for ``bicubic``), in eval mode on the CPU."""
    key = str(name_or_path)
    if key == "bicubic":
        return None
    if key in OFFICIAL_FILES:
        return load_official(weights_path(OFFICIAL_FILES[key], root))
    if key in OURS:
        return load_model(ours_path(key, root))
    path = Path(key)
    if path.suffix == ".mat":
        return load_official(path)
    if path.suffix in (".pt", ".pth") or path.exists():
        return load_model(path)
    if not path.suffix and path.name == key:  # a model exported under its own name (export --name mine-x8)
        try:
            return load_model(ours_path(key, root))
        except DataNotFoundError:
            pass
    raise OptionError(f"unknown model {key!r}; use one of {', '.join(MODEL_NAMES)} or a .mat/.pt file")


def available(root: str | Path | None = None) -> list[str]:
    """The model names whose files are present."""
    found = ["bicubic"]
    for name in (*OFFICIAL_FILES, *OURS):
        try:
            weights_path(OFFICIAL_FILES[name], root) if name in OFFICIAL_FILES else ours_path(name, root)
        except DataNotFoundError:
            continue
        found.append(name)
    return found


def best_for_scale(scale: int, root: str | Path | None = None) -> str:
    """The strongest model present for ``scale``: official-xS, then ours-xS, else ``bicubic``."""
    present = available(root)
    return next((name for name in (f"official-x{scale}", f"ours-x{scale}") if name in present), "bicubic")
