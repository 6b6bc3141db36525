"""What the course notebooks load, with a plain note and a fallback when something is missing.

A notebook never stops with a traceback because data or weights were not downloaded: it says
what is missing and the command that fetches it, then goes on with what is there (the images
that ship with scikit-image, or a model that is present).
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from ..data.datasets import DataNotFoundError, Image, data_root, embedded_images, has_dataset, load_dataset
from ..evaluation import zoo

DOWNLOAD_GROUP = {
    "set5": "set5",
    "set14": "set14",
    "bsd100": "bsd100",
    "urban100": "urban100",
    "manga109": "manga109",
    "t91": "train",
    "bsds200": "train",
    "train": "train",
}


def missing(what: str, command: str, root: str | Path | None = None) -> None:
    """Say what is missing under the data root ``root`` (default: :func:`data_root`) and how to
    get it, in one line a student can act on."""
    where = Path(root).expanduser() if root is not None else data_root()
    print(
        f"Note: {what} not found under the data root {where}. Get it with `{command}` "
        "(or set LAPSRN_EDU_DATA); carrying on with what is available."
    )


def images_or_embedded(
    dataset: str, limit: int | None = None, root: str | Path | None = None
) -> tuple[list[Image], str]:
    """The images of ``dataset`` (the first ``limit``), or the embedded scikit-image images, and
    the name of what was loaded."""
    if has_dataset(dataset, root):
        images = load_dataset(dataset, root)
        return images[:limit] if limit else images, dataset
    missing(f"the {dataset} images", f"lapsrn-edu download {DOWNLOAD_GROUP.get(dataset, dataset)}", root)
    images = embedded_images()
    return images[:limit] if limit else images, "embedded"


def first_model(names: list[str], root: str | Path | None = None) -> tuple[nn.Module | None, str]:
    """The first of ``names`` whose weights are present (with a note for each one skipped), or
    ``(None, "bicubic")`` when none is."""
    for name in names:
        try:
            return zoo.load(name, root), name
        except DataNotFoundError:
            command = (
                "lapsrn-edu download weights"
                if name.startswith("official")
                else "lapsrn-edu train`, then `lapsrn-edu export RUN"
            )
            missing(f"the weights of {name}", command, root)
    return None, "bicubic"
