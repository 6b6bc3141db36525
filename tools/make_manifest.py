"""Build ``lapsrn_edu/sources.json``, the download manifest (pooch's registry), from a verified copy of the data.

Usage: python tools/make_manifest.py DATA_DIR [--raw DIR_OR_URL] [--out FILE]

DATA_DIR is a data root holding every folder of ``SOURCES`` below, checked by hand once (see its
PROVENANCE.md). For each of its files the tool reads the original from the pinned repository
(``--raw``: a base URL, by default raw.githubusercontent.com, or a folder laid out the same way,
``owner/repo/commit/path``), records that original's SHA-256 and size, and proves that the
original gives DATA_DIR's file: the same bytes, or for a converted file (``"convert": "png"``) the
same decoded pixels. Only URLs and hashes go into the manifest, never the data. The OpenCV .pb
models are left out: they are not the official weights and nothing in the package loads them.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
DENOISING = ("majedelhelou/denoising_datasets", "58234876fef6f1b56306705c78dfd40cdb837b86")
SSN = ("Sisso16/ssn_pytorch", "c4f9ac8c43397cbacbf2e2ba1505efafa769435d")
DCSCN = ("jiny2001/dcscn-super-resolution", "d382bc30d41c94ac72f8cb148d61cc4864b3b380")
LAPSRN = ("phoenix104104/LapSRN", "95154bba82a3aab9bdaec8e0eedd4187babc5ed2")

# folder under the data root -> (group, (repository, commit), source path with {stem}, converted to PNG)
SOURCES = {
    "pretrained/matconvnet": ("weights", LAPSRN, "pretrained_models/{stem}.mat", False),
    "benchmarks/Set5": ("set5", DENOISING, "CSet5/{stem}.png", False),
    "benchmarks/Set14": ("set14", DENOISING, "CSet14/{stem}.png", False),
    "benchmarks/BSD100": ("bsd100", SSN, "BSR/BSDS500/data/images/val/{stem}.jpg", True),
    "benchmarks/Urban100": ("urban100", DENOISING, "CUrban100/{stem}.png", False),
    "benchmarks/Manga109": ("manga109", DENOISING, "CManga109/{stem}.png", False),
    "train/T91": ("train", DCSCN, "data/yang91/{stem}.bmp", True),
    "train/BSDS200": ("train", DCSCN, "data/bsd200/{stem}.png", False),
}


def check_against_provenance(provenance: str) -> None:
    """Every repository and commit used here must be the one PROVENANCE.md names."""
    for repo, commit in {source[1] for source in SOURCES.values()}:
        if f"`{repo}` @ `{commit}`" not in provenance:
            raise SystemExit(f"PROVENANCE.md does not name `{repo}` @ `{commit}`; update SOURCES")


def read_original(raw: str, url: str) -> bytes:
    """The file as the pinned repository holds it: from a local mirror folder or over HTTP."""
    if Path(raw).is_dir():
        return (Path(raw) / url).read_bytes()
    with urllib.request.urlopen(f"{raw.rstrip('/')}/{url}", timeout=60) as response:
        return response.read()


def pixels(data: bytes | Path) -> np.ndarray:
    with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as im:
        return np.asarray(im)


def entry(data_dir: Path, path: Path, raw: str) -> tuple[str, dict]:
    folder = path.parent.relative_to(data_dir).as_posix()
    group, (repo, commit), pattern, converted = SOURCES[folder]
    url = f"{repo}/{commit}/{pattern.format(stem=path.stem)}"
    original = read_original(raw, url)
    same = np.array_equal(pixels(original), pixels(path)) if converted else original == path.read_bytes()
    if not same:
        raise SystemExit(
            f"{path}: the original {url} does not give this file ({'pixels' if converted else 'bytes'} differ)"
        )
    item = {
        "path": path.relative_to(data_dir).as_posix(),
        "url": url,
        "sha256": hashlib.sha256(original).hexdigest(),
        "size": len(original),
    }
    if converted:
        item["convert"] = "png"
    return group, item


def build(data_dir: Path, raw: str) -> dict[str, list[dict]]:
    check_against_provenance((data_dir / "PROVENANCE.md").read_text(encoding="utf-8"))
    groups: dict[str, list[dict]] = {}
    for folder in SOURCES:
        if not (data_dir / folder).is_dir():
            raise SystemExit(f"{data_dir / folder}: missing; DATA_DIR must hold every folder of SOURCES")
        for path in sorted(p for p in (data_dir / folder).iterdir() if p.is_file() and not p.name.startswith(".")):
            group, item = entry(data_dir, path, raw)
            groups.setdefault(group, []).append(item)
    for items in groups.values():
        items.sort(key=lambda item: item["path"])
    return groups


def to_json(groups: dict[str, list[dict]]) -> str:
    """One file per line: readable diffs when a file changes."""
    blocks = [
        f'  "{group}": [\n' + ",\n".join("   " + json.dumps(item) for item in items) + "\n  ]"
        for group, items in groups.items()
    ]
    return '{\n "format": 2,\n "groups": {\n' + ",\n".join(blocks) + "\n }\n}\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="a verified data root holding every folder of SOURCES")
    parser.add_argument(
        "--raw", default="https://raw.githubusercontent.com", help="base URL or folder of the originals"
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "lapsrn_edu" / "sources.json")
    args = parser.parse_args(argv)
    groups = build(args.data_dir, args.raw)
    args.out.write_text(to_json(groups), encoding="utf-8")
    print(f"{args.out}: " + ", ".join(f"{g} {len(items)} files" for g, items in groups.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
