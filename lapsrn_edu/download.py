"""Fetch the benchmark images, training images and official weights, and prove they are the right ones.

Every file comes from a public GitHub repository at a pinned commit (see the data's PROVENANCE.md),
as ``{base}/{owner}/{repo}/{commit}/{path}`` with ``base = https://raw.githubusercontent.com``
(overridable: the ``mirror`` argument or ``$LAPSRN_EDU_MIRROR``). The manifest ``sources.json``,
shipped in the package, says where each file goes and how to check it:

- files stored byte for byte (Set5, Set14, BSDS200, the .mat weights): the file's SHA-256;
- files converted to PNG (BSD100 from JPEG, T91 from BMP): the fetched bytes cannot match our PNG,
  so the *decoded pixels* are checked (SHA-256 of the uint8 array, plus its shape and mode) and
  only then written as PNG.

A transfer goes to ``NAME.part``; an interrupted one resumes with an HTTP Range request (or starts
again if the server ignores it); the file is verified, then renamed into place, so a file under its
real name is always a verified one. Files already present and correct are skipped.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .datasets import data_root

MIRROR_ENV = "LAPSRN_EDU_MIRROR"
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
CHUNK = 1 << 16
TIMEOUT_S = 60


class DownloadError(OSError):
    """A file that could not be fetched (network, server, or a broken transfer); a ``.part`` may remain."""


class ChecksumError(DownloadError):
    """A fetched file whose bytes or pixels are not the ones in the manifest; it was deleted."""


@dataclass(frozen=True)
class Source:
    """One file of the manifest: where it goes, where it comes from, and how to check it."""

    path: str  # relative to the data root
    url: str  # relative to the base URL: owner/repo/commit/path
    sha256: str | None = None  # of the file's bytes (files stored byte for byte)
    pixels_sha256: str | None = None  # of the decoded uint8 pixels (files converted to PNG)
    shape: tuple[int, ...] | None = None
    mode: str | None = None
    size: int | None = None


def load_manifest(manifest: str | Path | None = None) -> dict[str, list[Source]]:
    """Groups of files (``weights``, ``set5``, ``set14``, ``bsd100``, ``train``) from the package's
    ``sources.json`` or another manifest file."""
    if manifest is None:
        text = resources.files("lapsrn_edu").joinpath("sources.json").read_text(encoding="utf-8")
    else:
        text = Path(manifest).read_text(encoding="utf-8")
    data = json.loads(text)
    return {
        group: [Source(**{**entry, "shape": tuple(entry["shape"]) if entry.get("shape") else None}) for entry in entries]
        for group, entries in data["groups"].items()
    }


def groups_for(what: str, manifest: dict[str, list[Source]]) -> list[str]:
    """The manifest groups that ``what`` names (``all`` is every group)."""
    if what == "all":
        return list(manifest)
    if what not in manifest:
        raise ValueError(f"unknown download {what!r}; choose from {', '.join([*manifest, 'all'])}")
    return [what]


def base_url(mirror: str | None = None) -> str:
    """The argument, else ``$LAPSRN_EDU_MIRROR``, else raw.githubusercontent.com; no trailing slash."""
    return (mirror or os.environ.get(MIRROR_ENV) or DEFAULT_BASE_URL).rstrip("/")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def decode_pixels(data: bytes | Path, mode: str) -> np.ndarray:
    """Decode an image (bytes or a file) to a C-ordered uint8 array in ``mode`` (e.g. "RGB")."""
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(data) if isinstance(data, bytes) else data) as im:
        im.load()
        if im.mode != mode:
            im = im.convert(mode)
        return np.ascontiguousarray(np.asarray(im, dtype=np.uint8))


def pixels_sha256(pixels: np.ndarray) -> str:
    """The manifest's pixel hash: SHA-256 of the raw uint8 array bytes in C order."""
    return hashlib.sha256(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()).hexdigest()


def is_valid(source: Source, path: Path) -> bool:
    """Whether ``path`` already holds the right file (bytes, or pixels for a converted one)."""
    if not path.is_file():
        return False
    if source.sha256 is not None:
        return sha256_file(path) == source.sha256
    try:
        pixels = decode_pixels(path, source.mode or "RGB")
    except (OSError, ValueError, SyntaxError):
        return False
    return pixels.shape == source.shape and pixels_sha256(pixels) == source.pixels_sha256


def fetch(url: str, part: Path) -> None:
    """Download ``url`` into ``part``, resuming from its current length when the server honours Range."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the .part already holds the whole file
            return
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(f"{url}: cannot connect ({getattr(exc, 'reason', exc)})") from exc
    with response:
        resumed = response.status == 206 and response.headers.get("Content-Range", "").startswith(f"bytes {offset}-")
        expected = response.headers.get("Content-Length")
        received = 0
        try:
            with open(part, "ab" if resumed else "wb") as f:
                for block in iter(lambda: response.read(CHUNK), b""):
                    f.write(block)
                    received += len(block)
        except (http.client.HTTPException, OSError) as exc:
            raise DownloadError(f"{url}: transfer broken after {received} bytes ({exc!r}); run again to resume") from exc
    if expected is not None and received < int(expected):
        raise DownloadError(f"{url}: transfer broken after {received} of {expected} bytes; run again to resume")


def install(source: Source, part: Path, target: Path) -> None:
    """Verify a fetched ``part`` and move it to ``target`` (decoding and re-encoding as PNG for a
    converted file); a wrong file is deleted and reported."""
    if source.sha256 is not None:
        actual = sha256_file(part)
        if actual != source.sha256:
            part.unlink()
            raise ChecksumError(
                f"{target}: SHA-256 mismatch (expected {source.sha256}, got {actual}); the download was deleted"
            )
        os.replace(part, target)
        return
    try:
        pixels = decode_pixels(part.read_bytes(), source.mode or "RGB")
    except (OSError, ValueError, SyntaxError) as exc:
        part.unlink()
        raise ChecksumError(f"{target}: the download is not a readable image ({exc}); it was deleted") from exc
    actual = pixels_sha256(pixels)
    if pixels.shape != source.shape or actual != source.pixels_sha256:
        part.unlink()
        raise ChecksumError(
            f"{target}: pixel SHA-256 mismatch (expected {source.pixels_sha256} for shape {list(source.shape or ())}, "
            f"got {actual} for shape {list(pixels.shape)}); the download was deleted"
        )
    write_png_atomically(pixels, target)
    part.unlink()


def write_png_atomically(pixels: np.ndarray, target: Path) -> None:
    from PIL import Image as PILImage

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            PILImage.fromarray(pixels).save(f, format="PNG")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def download(
    what: str,
    root: str | Path | None = None,
    mirror: str | None = None,
    manifest: str | Path | None = None,
    progress: bool = True,
) -> dict[str, int]:
    """Fetch group ``what`` (``weights``, ``set5``, ``set14``, ``bsd100``, ``train`` or ``all``) into
    the data root. Returns counts: ``{"downloaded": n, "skipped": m}``. Stops at the first failure."""
    sources = load_manifest(manifest)
    base = base_url(mirror)
    root = Path(root).expanduser() if root is not None else data_root()
    counts = {"downloaded": 0, "skipped": 0}
    for group in groups_for(what, sources):
        for source in tqdm(sources[group], desc=f"download {group}", unit="file", disable=not progress, file=sys.stderr):
            target = root / source.path
            if is_valid(source, target):
                counts["skipped"] += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            part = target.with_name(target.name + ".part")
            fetch(f"{base}/{source.url}", part)
            install(source, part, target)
            counts["downloaded"] += 1
    return counts
