"""The overnight recipe's record: every pilot figure data/overnight/README.md prints comes from
pilots.json, the recipe it describes is the one the package runs, and what the pages say of the
published run (``ours-x4-cpu``) is what its card and curve file say."""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers import assert_quoted, model_card

from lapsrn_edu.evaluation import published
from lapsrn_edu.models.checkpoint import read_checkpoint
from lapsrn_edu.training.config import RECIPES

ROOT = Path(__file__).resolve().parent.parent
README = "data/overnight/README.md"
MODELS = ROOT / "data" / "models"
RUN = "ours-x4-cpu"
PAGES = (README, "docs/models.md", "tools/notebooks/04_training.md")


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


def test_the_published_run_is_the_recipe_run_to_its_end():
    state = read_checkpoint(MODELS / f"{RUN}.pt")
    night = RECIPES["overnight"]
    assert state["config"]["recipe"] == "overnight"
    assert state["iteration"] == night.total_iterations, "published before the run ended"
    assert state["selected_on"] == "last checkpoint of the run"
    curve = json.loads((MODELS / f"{RUN}.curve.json").read_text(encoding="utf-8"))
    assert [e["epoch"] for e in curve["epochs"]] == list(range(1, night.epochs + 1))


def test_the_pages_quote_the_published_run():
    rows = model_card(RUN)
    wall = re.search(r"([\d.]+) h wall clock", rows["training time"])
    core = re.match(r"([\d.]+) core-hours", rows["CPU time"])
    assert wall and core, (rows["training time"], rows["CPU time"])
    assert "bfloat16 autocast" in rows["computed"] and "float32" not in rows["computed"]
    psnr = {name: rows[name].split(" | ")[0] for name in ("set5", "set14", "bsd100")}
    paper = [f"{published.lapsrn_psnr(name, 4):.2f}" for name in ("set5", "set14", "bsd100")]
    night = RECIPES["overnight"]
    quoted = (
        f"{night.total_iterations:,} iterations in {wall.group(1)} hours of wall clock",
        f"{core.group(1)} core-hours",
        f"{psnr['set5']} dB on Set5 x4, {psnr['set14']} on Set14 and {psnr['bsd100']} on BSD100",
        f"against the paper's {paper[0]}, {paper[1]} and {paper[2]}",
    )
    for page in PAGES:
        assert_quoted(page, *quoted)
