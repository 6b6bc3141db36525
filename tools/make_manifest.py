"""Build ``lapsrn_edu/sources.json``, the download manifest, from a verified copy of the data.

Usage: python tools/make_manifest.py [DATA_DIR] [OUT_JSON]   (defaults: /work/shared/data, the package's sources.json)

Each file listed in DATA_DIR/SHA256SUMS gets its source URL (repository, pinned commit and path, as
DATA_DIR/PROVENANCE.md records them) and its check: the file's SHA-256 for files copied byte for
byte, or the SHA-256 of the decoded pixels for files converted to PNG (BSD100, T91). Only hashes
and URLs go into the manifest, never the data. The OpenCV .pb models are left out: they are not
the official weights and nothing in the package loads them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from lapsrn_edu.download import decode_pixels, pixels_sha256  # noqa: E402

# folder under the data root -> (group, repository, commit, source path with {stem}, converted)
SOURCES = {
    "benchmarks/Set5": ("set5", "majedelhelou/denoising_datasets", "58234876fef6f1b56306705c78dfd40cdb837b86", "CSet5/{stem}.png", False),
    "benchmarks/Set14": ("set14", "majedelhelou/denoising_datasets", "58234876fef6f1b56306705c78dfd40cdb837b86", "CSet14/{stem}.png", False),
    "benchmarks/BSD100": ("bsd100", "Sisso16/ssn_pytorch", "c4f9ac8c43397cbacbf2e2ba1505efafa769435d", "BSR/BSDS500/data/images/val/{stem}.jpg", True),
    "train/T91": ("train", "jiny2001/dcscn-super-resolution", "d382bc30d41c94ac72f8cb148d61cc4864b3b380", "data/yang91/{stem}.bmp", True),
    "train/BSDS200": ("train", "jiny2001/dcscn-super-resolution", "d382bc30d41c94ac72f8cb148d61cc4864b3b380", "data/bsd200/{stem}.png", False),
    "pretrained/matconvnet": ("weights", "phoenix104104/LapSRN", "95154bba82a3aab9bdaec8e0eedd4187babc5ed2", "pretrained_models/{stem}.mat", False),
}
GROUP_ORDER = ("weights", "set5", "set14", "bsd100", "train")


def check_against_provenance(provenance: str) -> None:
    """Every repository and commit used here must be the one PROVENANCE.md names."""
    for repo, commit in {(s[1], s[2]) for s in SOURCES.values()}:
        if f"`{repo}` @ `{commit}`" not in provenance:
            raise SystemExit(f"PROVENANCE.md does not name `{repo}` @ `{commit}`; update SOURCES")


def entry(data_dir: Path, relative: str, sha256: str) -> tuple[str, dict] | None:
    folder, _, name = relative.rpartition("/")
    if folder not in SOURCES:
        return None
    group, repo, commit, pattern, converted = SOURCES[folder]
    path = data_dir / relative
    item = {"path": relative, "url": f"{repo}/{commit}/{pattern.format(stem=Path(name).stem)}"}
    if converted:
        from PIL import Image

        with Image.open(path) as im:
            mode = im.mode
        pixels = decode_pixels(path, mode)
        item.update(pixels_sha256=pixels_sha256(pixels), shape=list(pixels.shape), mode=mode)
    else:
        item.update(sha256=sha256, size=path.stat().st_size)
    return group, item


def build(data_dir: Path) -> dict[str, list[dict]]:
    check_against_provenance((data_dir / "PROVENANCE.md").read_text(encoding="utf-8"))
    groups: dict[str, list[dict]] = {g: [] for g in GROUP_ORDER}
    for line in (data_dir / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        sha256, relative = line.split(maxsplit=1)
        found = entry(data_dir, relative.strip(), sha256)
        if found:
            groups[found[0]].append(found[1])
    for items in groups.values():
        items.sort(key=lambda item: item["path"])
    return groups


def to_json(groups: dict[str, list[dict]]) -> str:
    """One file per line: readable diffs when a file changes."""
    blocks = [
        f'  "{group}": [\n' + ",\n".join("   " + json.dumps(item) for item in items) + "\n  ]"
        for group, items in groups.items()
    ]
    return '{\n "format": 1,\n "groups": {\n' + ",\n".join(blocks) + "\n }\n}\n"


def main() -> None:
    data_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data")
    out = Path(sys.argv[2] if len(sys.argv) > 2 else REPO_ROOT / "lapsrn_edu" / "sources.json")
    groups = build(data_dir)
    out.write_text(to_json(groups), encoding="utf-8")
    print(f"{out}: " + ", ".join(f"{g} {len(items)} files" for g, items in groups.items()))


if __name__ == "__main__":
    main()
