"""Small helpers shared by test modules (pytest puts this folder on the import path)."""

from typing import TypeVar, cast

import torch

from lapsrn_edu.models.lapsrn import PyramidLevel

M = TypeVar("M", bound=torch.nn.Module)


def level_of(model: torch.nn.Module, k: int = 0) -> PyramidLevel:
    """Level ``k`` of a LapSRN (or of its training copy), typed: an nn.ModuleList yields plain Modules."""
    return cast(PyramidLevel, model.get_submodule(f"levels.{k}"))


def lively(model: M, seed: int = 0) -> M:
    """Random weights large enough that every layer matters (the released init's first conv,
    std 1e-3, would leave the output nearly bilinear and a wrong layer unnoticed)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.1 if p.shape[0] <= 16 else 0.05)
    return model.eval()


def prose(path) -> str:
    """A text file of the repository with its whitespace collapsed, so that a quoted figure is found
    however the prose around it is wrapped."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    return re.sub(r"\s+", " ", (root / path).read_text(encoding="utf-8"))


def model_card(name: str) -> dict[str, str]:
    """A model card's (data/models/NAME.md) table rows, item -> value, and its scores, dataset ->
    "PSNR | SSIM" (newer cards add " | the paper's PSNR")."""
    import re
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "data" / "models" / f"{name}.md"
    rows = dict(re.findall(r"^\| ([\w ]+) \| (.+) \|$", path.read_text(encoding="utf-8"), flags=re.M))
    return {k: v for k, v in rows.items() if k not in ("item", "dataset")}


def assert_quoted(path, *needles: str) -> None:
    """Every needle (a figure formatted from the committed file it comes from, with the words
    around it) stands in ``path``: when the file's number changes, the test fails until the prose follows."""
    text = prose(path)
    missing = [n for n in needles if n not in text]
    assert not missing, f"{path} no longer quotes {missing} (the committed figure changed, or the prose did)"


def committed_result(name: str):
    """data/studies/<name>.json, which must be committed."""
    from lapsrn_edu import studies

    found = studies.load_result(name)
    assert found is not None, f"data/studies/{name}.json is not committed"
    return found


def decision_of(result, better: str, worse: str):
    """The decision of ``result`` that compares ``better`` with ``worse``."""
    return next(d for d in result.decisions if (d.better, d.worse) == (better, worse))


def variant_mean(result, name: str, field: str = "final_psnr") -> float:
    """The mean over seeds of one variant's ``field``."""
    import statistics

    return statistics.fmean(getattr(v, field) for v in result.runs_of(name))
