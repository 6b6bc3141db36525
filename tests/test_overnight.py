"""The overnight recipe's record: every pilot figure data/overnight/README.md prints comes from
pilots.json, and the recipe it describes is the one the package runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers import assert_quoted

from lapsrn_edu.training.config import RECIPES

ROOT = Path(__file__).resolve().parent.parent
README = "data/overnight/README.md"


def pilots() -> dict[str, dict]:
    data = json.loads((ROOT / "data/overnight/pilots.json").read_text(encoding="utf-8"))
    return {p["name"]: p for p in data["pilots"]}


def test_the_pilot_table_prints_the_committed_scores():
    committed = pilots()
    text = (ROOT / README).read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| ([\w-]+) \| [^|]+ \| ([\d.]+) \|$", text, re.M))
    assert set(rows) == set(committed), "the README's pilot table and pilots.json list different pilots"
    assert all(rows[name] == f"{p['holdout_psnr']:.2f}" for name, p in committed.items())


def test_the_conclusions_follow_from_the_pilots():
    p = {name: pilot["holdout_psnr"] for name, pilot in pilots().items()}
    seed0, seed1 = p["base-bf16"] - p["base-fp32"], p["base-bf16-seed1"] - p["base-fp32-seed1"]
    assert_quoted(
        README,
        f"{abs(seed0):.2f} dB below float32 with seed 0 and {seed1:.2f} dB above it",
        f"moves a pilot by {p['base-bf16'] - p['base-bf16-seed1']:.1f} dB",
    )
    assert seed0 < 0 < seed1
    assert p["base-6k"] > max(p["patch96"], p["batch32"])
    gaps = sorted([p["base-6k"] - p["patch96"], p["base-6k"] - p["batch32"]])
    assert_quoted(README, f"The gaps are small ({gaps[0]:.2f} and {gaps[1]:.2f} dB)")
    assert p["base-bf16"] >= max(p["lr5e-4"], p["lr2e-3"])


def test_the_readme_describes_the_recipe_the_package_runs():
    night = RECIPES["overnight"]
    assert (night.depth, night.patch_size, night.batch_size, night.lr) == (10, 64, 16, 1e-3)
    assert_quoted(README, f"{night.epochs} epochs of {night.iterations_per_epoch:,} iterations")
