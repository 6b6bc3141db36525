"""Where images and weights live, and how an image file becomes a float array.

Everything is found under one *data root*, laid out like the project's ``data/`` folder::

    benchmarks/Set5  benchmarks/Set14  benchmarks/BSD100       (test images, never trained on)
    benchmarks/Urban100  benchmarks/Manga109                   (the paper's two larger test sets)
    train/T91        train/BSDS200                             (the 291 training images)
    pretrained/matconvnet/LapSRN_x{2,4,8}.mat, MSLapSRN_D5R{2,5,8}.mat

The root is ``$LAPSRN_EDU_DATA`` when set, else ``data/`` at the top of the repository (for a
package installed from its wheel, with no repository around it: ``~/lapsrn-edu-data``).
``lapsrn-edu download`` fills it. Without any of it the toolkit still runs on the *embedded*
images that ship inside scikit-image (astronaut, chelsea, coffee, ...), which need no download.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from ..errors import MissingFileError, OptionError, UserError

DATA_ROOT_ENV = "LAPSRN_EDU_DATA"
REPO_DATA = Path(__file__).resolve().parents[2] / "data"
INSTALLED_DATA = Path("~/lapsrn-edu-data")  # an installed package's root: not inside site-packages
IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")

DATASET_FOLDERS: dict[str, tuple[str, ...]] = {
    "set5": ("benchmarks/Set5",),
    "set14": ("benchmarks/Set14",),
    "bsd100": ("benchmarks/BSD100",),
    "urban100": ("benchmarks/Urban100",),
    "manga109": ("benchmarks/Manga109",),
    "t91": ("train/T91",),
    "bsds200": ("train/BSDS200",),
    "train": ("train/T91", "train/BSDS200"),
}
TEST_SETS = ("set5", "set14", "bsd100", "urban100", "manga109")  # the paper's five: never trained on
EMBEDDED_IMAGES = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "camera")


class DataNotFoundError(MissingFileError):
    """A dataset or weights file that is not under the data root; the message says how to get it."""


class ImageReadError(UserError, ValueError):
    """An image file that cannot be decoded."""


def data_root() -> Path:
    """The data root: ``$LAPSRN_EDU_DATA`` if set, else the repository's ``data/`` folder, or
    ``~/lapsrn-edu-data`` when the package runs outside a repository (installed from its wheel)."""
    env = os.environ.get(DATA_ROOT_ENV)
    if env:
        return Path(env).expanduser()
    return REPO_DATA if (REPO_DATA.parent / "pyproject.toml").is_file() else INSTALLED_DATA.expanduser()


def _resolve_root(root: str | Path | None) -> Path:
    return Path(root).expanduser() if root is not None else data_root()


@dataclass(frozen=True)
class Image:
    """A decoded image: ``pixels`` float64 in [0, 1], (H, W) gray or (H, W, 3) RGB; ``alpha`` (H, W) or None."""

    name: str
    pixels: np.ndarray
    alpha: np.ndarray | None = None


def read_image(path: str | Path) -> Image:
    """Decode any common image file (gray, RGB, RGBA, palette, 16-bit) to floats in [0, 1], the
    way an image viewer shows it: a photo whose EXIF orientation says "rotate" (a phone held
    upright) comes out turned as it was taken, not as its pixels are stored."""
    return read_image_and_depth(path)[0]


def read_image_and_depth(path: str | Path) -> tuple[Image, int]:
    """:func:`read_image` and the file's :func:`bit_depth`, from one opening of the file (what
    upscaling needs to write its result with the input's depth)."""
    from PIL import Image as PILImage
    from PIL import ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no such image file")
    try:
        with PILImage.open(path) as im:
            im.load()
            depth = 16 if im.mode.startswith("I;16") else 8
            return _from_pil(ImageOps.exif_transpose(im), path.stem), depth
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{path}: not a readable image ({exc})") from exc


def _from_pil(im, name: str) -> Image:
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("1", "CMYK", "YCbCr", "LAB", "HSV"):
        im = im.convert("RGB" if im.mode != "1" else "L")
    array = np.asarray(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N") or array.dtype == np.uint16:
        pixels = array.astype(np.float64) / 65535.0
    elif im.mode in ("I", "F"):
        pixels = np.clip(array.astype(np.float64) / (65535.0 if array.max() > 255 else 255.0), 0, 1)
    else:
        pixels = array.astype(np.float64) / 255.0
    alpha = None
    if pixels.ndim == 3 and pixels.shape[-1] in (2, 4):  # LA or RGBA
        pixels, alpha = pixels[..., :-1], pixels[..., -1]
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    return Image(name, pixels, alpha)


def embedded_images(names: tuple[str, ...] = EMBEDDED_IMAGES) -> list[Image]:
    """Images bundled with scikit-image: the default data when nothing was downloaded."""
    from skimage import data as skdata

    images = []
    for name in names:
        array = getattr(skdata, name)()
        pixels = array.astype(np.float64) / 255.0
        if pixels.ndim == 3 and pixels.shape[-1] == 4:
            pixels = pixels[..., :3]
        images.append(Image(name, pixels))
    return images


def dataset_dirs(name: str, root: str | Path | None = None) -> list[Path]:
    """The folders of a named dataset under the data root (raises with a download hint if absent)."""
    key = name.lower()
    if key not in DATASET_FOLDERS:
        known = ", ".join([*DATASET_FOLDERS, "embedded"])
        raise OptionError(f"unknown dataset {name!r}; known: {known}, or a folder of images")
    base = _resolve_root(root)
    dirs = [base / folder for folder in DATASET_FOLDERS[key]]
    missing = [d for d in dirs if not d.is_dir()]
    if missing:
        what = "train" if key in ("t91", "bsds200", "train") else key
        raise DataNotFoundError(
            f"{missing[0]}: dataset {name!r} not found under the data root {base}; "
            f"run `lapsrn-edu download {what}` or set {DATA_ROOT_ENV}"
        )
    return dirs


def has_dataset(name: str, root: str | Path | None = None) -> bool:
    """Whether a named dataset is present under the data root."""
    try:
        dataset_dirs(name, root)
    except DataNotFoundError:
        return False
    return True


def image_paths(name_or_folder: str | Path, root: str | Path | None = None) -> list[Path]:
    """Image files of a named dataset, or of any folder, sorted by name."""
    folder = Path(name_or_folder)
    dirs = [folder] if folder.is_dir() else dataset_dirs(str(name_or_folder), root)
    paths = sorted(p for d in dirs for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise DataNotFoundError(f"{dirs[0]}: no image files ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    return paths


class ImageFiles(Sequence[Image]):
    """Image files decoded when an item is asked for, not before: a loop over a whole test set
    holds one image at a time (Urban100 decoded at once is 1.9 GB of float64 pixels)."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    @overload
    def __getitem__(self, index: int) -> Image: ...
    @overload
    def __getitem__(self, index: slice) -> ImageFiles: ...
    def __getitem__(self, index: int | slice) -> Image | ImageFiles:
        if isinstance(index, slice):
            return ImageFiles(self.paths[index])
        return read_image(self.paths[index])


def dataset_images(name_or_folder: str | Path, root: str | Path | None = None) -> Sequence[Image]:
    """The images of a dataset as :func:`load_dataset` names them, each read only when used."""
    if str(name_or_folder).lower() == "embedded":
        return embedded_images()
    return ImageFiles(image_paths(name_or_folder, root))


def load_dataset(name_or_folder: str | Path, root: str | Path | None = None) -> list[Image]:
    """All images of a named dataset (``set5``, ``set14``, ``bsd100``, ``urban100``, ``manga109``, ``t91``,
    ``bsds200``, ``train``), a folder, or ``embedded`` (the scikit-image images)."""
    return list(dataset_images(name_or_folder, root))


def weights_path(file_name: str, root: str | Path | None = None) -> Path:
    """Path of an official weights file under ``pretrained/matconvnet`` (raises with a download hint)."""
    base = _resolve_root(root)
    path = base / "pretrained" / "matconvnet" / file_name
    if not path.is_file():
        raise DataNotFoundError(
            f"{path}: official weights not found under the data root {base}; "
            f"run `lapsrn-edu download weights` or set {DATA_ROOT_ENV}"
        )
    return path


SIXTEEN_BIT_SUFFIXES = (".png", ".tif", ".tiff")
ALPHA_SUFFIXES = (".png", ".tif", ".tiff", ".bmp", ".webp")


def bit_depth(path: str | Path) -> int:
    """16 for a 16-bit gray image file (what Pillow decodes at full precision), else 8."""
    from PIL import Image as PILImage

    with PILImage.open(path) as im:
        return 16 if im.mode.startswith("I;16") else 8


def _quantised(pixels: np.ndarray, dtype: type) -> np.ndarray:
    """Clip to [0, 1] and round to ``dtype``'s full range, 256 rows at a time: a 4096 x 4096 RGB
    image is 400 MB in float64, and each whole-image temporary would be another 400 MB."""
    top = np.iinfo(dtype).max
    out: np.ndarray = np.empty(pixels.shape, dtype=dtype)
    for start in range(0, pixels.shape[0], 256):
        band = np.clip(pixels[start : start + 256], 0.0, 1.0) * top
        out[start : start + 256] = np.round(band, out=band)
    return out


def write_image(path: str | Path, image: Image, bit_depth: int = 8) -> int:
    """Save ``image`` keeping its kind: gray stays gray, alpha is kept. Returns the bit depth written.

    16 bits are written for a gray image without alpha in PNG or TIFF (what Pillow can encode);
    anything else is written with 8 bits.
    """
    from PIL import Image as PILImage

    path = Path(path)
    if bit_depth not in (8, 16):
        raise OptionError(f"{path}: bit depth must be 8 or 16, got {bit_depth}")
    suffix = path.suffix.lower()
    if image.alpha is not None and suffix not in ALPHA_SUFFIXES:
        raise OptionError(f"{path}: this format cannot store the alpha channel; write a .png or .tif")
    pixels = image.pixels
    if bit_depth == 16 and pixels.ndim == 2 and image.alpha is None and suffix in SIXTEEN_BIT_SUFFIXES:
        out = PILImage.fromarray(_quantised(pixels, np.uint16))
        written = 16
    else:
        channels = pixels if image.alpha is None else np.dstack([pixels, image.alpha])
        out = PILImage.fromarray(_quantised(channels, np.uint8))
        written = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        out.save(path)
    except (KeyError, ValueError) as exc:  # Pillow: unknown extension, or a mode the format lacks
        raise OptionError(f"{path}: cannot write this image format ({exc})") from exc
    return written
