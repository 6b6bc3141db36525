"""Fetch the benchmark images, training images and official weights, verified, with pooch.

Every file comes from a public GitHub repository at a pinned commit, as
``{base}/{owner}/{repo}/{commit}/{path}`` with ``base = https://raw.githubusercontent.com``
(overridable: the ``mirror`` argument or ``$LAPSRN_EDU_MIRROR``). The manifest ``sources.json``,
shipped in the package, is pooch's registry: for each file, where it goes under the data root, its
URL, and the SHA-256 of the file as the repository holds it. A commit never changes, so neither
does that hash.

Most files are stored as they come (Set5, Set14, Urban100, Manga109, BSDS200, the .mat weights);
pooch downloads each to a temporary file, checks its SHA-256 and only then moves it into place.
Files marked ``"convert": "png"`` (BSD100's JPEGs, T91's BMPs) are verified the same way, kept as
``downloads/<path>.<ext>`` under the data root, and re-encoded losslessly as PNG by a pooch
processor that writes the PNG atomically, so a PNG under its real name always comes from a
verified original. Files already present (and, for stored files, with the right SHA-256) are
skipped without a request.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

from ..errors import OptionError, UserError
from .datasets import data_root

MIRROR_ENV = "LAPSRN_EDU_MIRROR"
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
MANIFEST_FORMAT = 2
RAW_DIR = "downloads"  # under the data root: the verified originals of converted files
TIMEOUT_S = 60
RETRIES = 2
SHA256 = re.compile(r"[0-9a-f]{64}")


class DownloadError(UserError, OSError):
    """A file that could not be fetched (network, server, or a broken transfer)."""


class ChecksumError(DownloadError):
    """A fetched file whose bytes are not the ones in the manifest; it was deleted."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of the manifest: where it goes, where it comes from, the SHA-256 of its bytes there."""

    path: str  # under the data root
    url: str  # under the base URL: owner/repo/commit/path
    sha256: str  # of the file as the repository holds it
    size: int  # bytes of that file
    convert: str | None = None  # "png": stored re-encoded as PNG

    @property
    def fetched(self) -> str:
        """Where pooch keeps the downloaded file, relative to the data root."""
        if self.convert is None:
            return self.path
        return str(PurePosixPath(RAW_DIR, self.path).with_suffix(PurePosixPath(self.url).suffix))


def safe_relative(text: str, what: str, inside: str) -> str:
    """``text`` if it is a plain relative path that stays below its root, else a ValueError: a
    manifest must never make the download write (or fetch) outside the data root (or the base URL)."""
    if "\\" in text or ":" in text or text.startswith("~") or any(part in ("", ".", "..") for part in text.split("/")):
        raise OptionError(f"{what} {text!r} is not a relative path inside {inside}; refusing this manifest")
    return text


def parse_entry(entry: dict, where: str) -> RemoteFile:
    try:
        item = RemoteFile(
            path=safe_relative(entry["path"], f"{where}: path", "the data root"),
            url=safe_relative(entry["url"], f"{where}: url", "the base URL"),
            sha256=entry["sha256"],
            size=int(entry["size"]),
            convert=entry.get("convert"),
        )
    except (KeyError, TypeError) as exc:
        raise OptionError(f"{where}: each file needs path, url, sha256 and size ({exc!r} is missing or wrong)") from exc
    if not SHA256.fullmatch(item.sha256):
        raise OptionError(f"{where}: {item.path}: sha256 must be 64 lower-case hex digits")
    if item.convert not in (None, "png"):
        raise OptionError(f'{where}: {item.path}: convert must be "png" or absent, not {item.convert!r}')
    return item


def load_manifest(manifest: str | Path | None = None) -> dict[str, list[RemoteFile]]:
    """Groups of files (``weights``, ``set5``, ``set14``, ``bsd100``, ``urban100``, ``manga109``,
    ``train``) from the package's ``sources.json`` or another manifest file, every path checked."""
    if manifest is None:
        name, text = "sources.json", resources.files("lapsrn_edu").joinpath("sources.json").read_text(encoding="utf-8")
    else:
        name, text = str(manifest), Path(manifest).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OptionError(f"{name}: not valid JSON ({exc})") from exc
    groups = data.get("groups") if isinstance(data, dict) else None
    if (
        not isinstance(groups, dict)
        or data.get("format") != MANIFEST_FORMAT
        or not all(isinstance(g, list) for g in groups.values())
    ):
        raise OptionError(
            f'{name}: not a download manifest of format {MANIFEST_FORMAT} (a "groups" object of file lists)'
        )
    return {group: [parse_entry(entry, f"{name} [{group}]") for entry in entries] for group, entries in groups.items()}


def groups_for(what: str, manifest: dict[str, list[RemoteFile]]) -> list[str]:
    """The manifest groups that ``what`` names (``all`` is every group)."""
    if what == "all":
        return list(manifest)
    if what not in manifest:
        raise OptionError(f"unknown download {what!r}; choose from {', '.join([*manifest, 'all'])}")
    return [what]


def base_url(mirror: str | None = None) -> str:
    """The argument, else ``$LAPSRN_EDU_MIRROR``, else raw.githubusercontent.com; no trailing slash."""
    return (mirror or os.environ.get(MIRROR_ENV) or DEFAULT_BASE_URL).rstrip("/")


def is_present(item: RemoteFile, root: Path) -> bool:
    """A stored file with the manifest's SHA-256, or a converted PNG (written only from a verified
    original) whose chunks are intact."""
    target = root / item.path
    if not target.is_file():
        return False
    if item.convert is None:
        import pooch

        return pooch.file_hash(str(target), alg="sha256") == item.sha256
    from PIL import Image as PILImage

    try:
        with PILImage.open(target) as im:
            im.verify()
    except (OSError, ValueError, SyntaxError):
        return False
    return True


class ConvertToPNG:
    """A pooch processor: re-encode the verified original as a lossless PNG at ``target``, atomically."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __call__(self, fname: str, action: str, pup: object) -> str:
        from PIL import Image as PILImage

        try:
            with PILImage.open(fname) as im:
                im.load()
                image = im.copy()
        except (OSError, ValueError, SyntaxError) as exc:
            raise DownloadError(f"{fname}: verified, but not an image Pillow can read ({exc})") from exc
        fd, tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp", dir=self.target.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                image.save(f, format="PNG")
            os.replace(tmp, self.target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return str(self.target)


def one_line(item: RemoteFile, url: str, root: Path, exc: Exception) -> DownloadError:
    """pooch's and requests' errors as the one line the command line prints."""
    import requests

    target = root / item.path
    if isinstance(exc, ValueError) and "hash" in str(exc):
        got = re.search(r"but got ([0-9a-f]{64})", str(exc))
        return ChecksumError(
            f"{target}: SHA-256 mismatch (expected {item.sha256}, got {got.group(1) if got else 'another file'}) "
            f"from {url}; the download was deleted"
        )
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return DownloadError(f"{url}: HTTP {exc.response.status_code} {exc.response.reason}")
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return DownloadError(
            f"{url}: cannot connect ({type(exc).__name__}); check the network, or use --mirror / ${MIRROR_ENV}"
        )
    return DownloadError(f"{url}: transfer failed ({type(exc).__name__}); run again")


def download(
    what: str,
    root: str | Path | None = None,
    mirror: str | None = None,
    manifest: str | Path | None = None,
    progress: bool = True,
    retries: int | None = None,
) -> dict[str, int]:
    """Fetch group ``what`` (a group of the manifest, or ``all``) into the data root, verified; a
    failed transfer is tried ``retries`` more times (default ``RETRIES``). Returns counts:
    ``{"downloaded": n, "skipped": m}``. Stops at the first failure."""
    import pooch
    import requests

    files = load_manifest(manifest)
    base = base_url(mirror)
    root = Path(root).expanduser() if root is not None else data_root()
    downloader = pooch.HTTPDownloader(progressbar=False, chunk_size=1 << 16, timeout=TIMEOUT_S)
    counts = {"downloaded": 0, "skipped": 0}
    pooch.get_logger().setLevel(logging.WARNING)  # it logs every file; our progress bar says enough
    for group in groups_for(what, files):
        items = files[group]
        registry = pooch.create(
            path=root,
            base_url=f"{base}/",
            registry={item.fetched: f"sha256:{item.sha256}" for item in items},
            urls={item.fetched: f"{base}/{item.url}" for item in items},
            retry_if_failed=RETRIES if retries is None else retries,
        )
        total = sum(item.size for item in items)
        with tqdm(
            total=total, desc=f"download {group}", unit="B", unit_scale=True, disable=not progress, file=sys.stderr
        ) as bar:
            for item in items:
                if is_present(item, root):
                    counts["skipped"] += 1
                else:
                    target = root / item.path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    processor = ConvertToPNG(target) if item.convert else None
                    try:
                        registry.fetch(item.fetched, processor=processor, downloader=downloader)
                    except (ValueError, requests.RequestException) as exc:
                        raise one_line(item, f"{base}/{item.url}", root, exc) from exc
                    counts["downloaded"] += 1
                bar.update(item.size)
    return counts
