"""The package's one rule: a margin between two variants against their seed-to-seed spread gives
``reproduced``, ``not reproduced`` or ``within noise``."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from ..errors import OptionError

# --- the verdict ------------------------------------------------------------------------------------

NOISE_FLOOR_DB = 0.1  # with two or more seeds, a smaller gap is never called real
ONE_SEED_DB = 0.3  # with one seed per variant, a smaller gap is left undecided
VERDICTS = ("reproduced", "not reproduced", "within noise")


@dataclass
class Decision:
    """One prediction checked: the mean margin of ``better`` over ``worse`` and the noise it must beat."""

    better: str
    worse: str
    margin: float  # mean PSNR of better minus mean PSNR of worse, dB
    spread: float  # the larger seed-to-seed range (max - min) of the two variants, dB
    seeds: int  # the fewer seeds of the two variants
    verdict: str

    @property
    def noise(self) -> float:
        """The gap the margin must exceed (see :func:`noise`)."""
        return noise(self.spread, self.seeds)


def noise(spread: float, seeds: int) -> float:
    """The seed spread, but at least :data:`NOISE_FLOOR_DB` with two seeds or more and
    :data:`ONE_SEED_DB` with a single seed (one run says nothing about its own spread)."""
    return max(spread, NOISE_FLOOR_DB if seeds >= 2 else ONE_SEED_DB)


def decide(better: list[float], worse: list[float], better_name: str = "better", worse_name: str = "worse") -> Decision:
    """The package's one rule. The noise is the larger seed-to-seed range of the two variants,
    but at least 0.1 dB with two seeds or more, and 0.3 dB with a single seed (one run says
    nothing about its own spread). A margin above the noise is ``reproduced``, one below minus the
    noise ``not reproduced``, anything between ``within noise``."""
    if not better or not worse:
        raise OptionError("each variant needs at least one result")
    spread = max(max(better) - min(better), max(worse) - min(worse))
    seeds = min(len(better), len(worse))
    gap = noise(spread, seeds)
    margin = statistics.fmean(better) - statistics.fmean(worse)
    verdict = "reproduced" if margin > gap else "not reproduced" if margin < -gap else "within noise"
    return Decision(better_name, worse_name, margin, spread, seeds, verdict)


def overall(decisions: list[Decision]) -> str:
    """A study's verdict: reproduced when every prediction is, not reproduced when any is contradicted."""
    verdicts = {d.verdict for d in decisions}
    if verdicts == {"reproduced"}:
        return "reproduced"
    return "not reproduced" if "not reproduced" in verdicts else "within noise"
