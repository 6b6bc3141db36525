"""The package's one rule for reading a study: a margin, its 95% interval, and one of four readings.

A decision compares two variants on Set5 (the mean over seeds of each, last checkpoints). Its
noise is the seed-to-seed standard deviation *pooled over every run of the same recipe* (each
run's distance from its own variant's mean; :func:`pooled_noise`): with two seeds a variant's own
spread is one number with one degree of freedom, and a t-interval built on it is about twelve
times that spread wide; pooling over the study's variants (and, at the standard budget, the other
studies that train the same recipe) gives a usable estimate, assuming a change of seed moves every
variant of one recipe about equally (the committed files bear that out). The interval is unpaired:
the variants of a pair share the seed's patch order but not, in general, their initial weights
(they are different networks), so a seed is not the same experiment for both.

The readings, defined once here (:data:`MEANING`) and quoted by lesson 05, the glossary and the
lecturer's guide:
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import OptionError

FLOOR_DB = 0.1  # a smaller margin is not called the paper's effect, however sure its sign
CONFIDENCE = 0.95
READINGS = ("reproduced", "same direction, smaller", "inconclusive", "reversed")
MEANING = {
    "reproduced": "the 95% interval of the margin lies above zero, the margin is at least 0.1 dB (and at least "
    "half the paper's effect where the paper reports one), and Set14 agrees in sign",
    "same direction, smaller": "the 95% interval lies above zero, so the sign is unlikely to be a seed's luck, but the "
    "margin is under 0.1 dB, under half the paper's effect, or Set14 does not agree in sign "
    "(or was not scored)",
    "inconclusive": "the 95% interval includes zero: these seeds cannot tell which variant ends higher",
    "reversed": "the 95% interval lies below zero: the variant the paper calls worse ends higher",
}
WHY = {
    "interval": "a margin whose interval excludes zero would arise by a change of seed alone less than one "
    "time in twenty",
    "floor": "0.1 dB is about the smallest difference the paper's tables (two decimals) and a viewer would notice",
    "paper": "a gap far smaller than the paper's is the same direction, not the paper's effect",
    "set14": "a real effect of the method should not change sign on a second test set",
}
__doc__ += "".join(f"\n- *{name}*: {meaning}." for name, meaning in MEANING.items())


@dataclass(frozen=True)
class SeedNoise:
    """The seed-to-seed standard deviation of one recipe's final PSNR and its degrees of freedom."""

    sd: float
    dof: int
    runs: int  # runs that entered the estimate
    source: str  # where they come from, in words


def pooled_noise(groups: list[list[float]], source: str) -> SeedNoise:
    """The pooled standard deviation of ``groups`` (each: the final PSNRs of one variant's seeds):
    the sum of squared distances from each group's own mean, over the runs minus the groups."""
    dof = sum(len(g) - 1 for g in groups)
    squares = sum(sum((x - statistics.fmean(g)) ** 2 for x in g) for g in groups if g)
    return SeedNoise(math.sqrt(squares / dof) if dof else math.nan, dof, sum(len(g) for g in groups), source)


def t_quantile(dof: int, confidence: float = CONFIDENCE) -> float:
    """Student's t quantile for a two-sided interval."""
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2, dof))


@dataclass
class Decision:
    """One prediction read: the mean margin of ``better`` over ``worse`` on Set5, its interval, and the reading."""

    better: str
    worse: str
    margin: float  # mean Set5 PSNR of better minus that of worse, dB
    spread: float  # the larger seed-to-seed range (max - min) of the two variants, dB
    seeds: int  # the fewer seeds of the two variants
    verdict: str  # one of READINGS
    low: float = math.nan  # the 95% interval of the margin (nan: no estimate of the noise)
    high: float = math.nan
    sd: float = math.nan  # the pooled seed-to-seed standard deviation it rests on
    dof: int = 0
    noise_source: str = ""
    set14_margin: float | None = None
    paper_margin: float | None = None  # the paper's own effect at this scale, where it reports one
    paper_where: str = ""
    scored_on: str = "Set5"

    def reasons(self) -> list[str]:
        """Why the reading is not ``reproduced`` although the interval is above zero (empty otherwise)."""
        if not self.low > 0:
            return []
        out = []
        if self.margin < FLOOR_DB:
            out.append(f"the margin is under the {FLOOR_DB} dB floor")
        if self.paper_margin is not None and self.margin < self.paper_margin / 2:
            out.append(f"it is under half the paper's {self.paper_margin:.1f} dB ({self.paper_where})")
        if self.set14_margin is None:
            out.append("Set14 was not scored, so no second test set confirms the sign")
        elif self.set14_margin <= 0:
            out.append(f"Set14 has the other sign ({self.set14_margin:+.2f} dB)")
        return out

    def sentence(self) -> str:
        """The reading in one true sentence about these numbers."""
        head = f"{self.better} against {self.worse}: {self.margin:+.2f} dB on {self.scored_on}"
        if self.set14_margin is not None:
            head += f" ({self.set14_margin:+.2f} on Set14)"
        if self.dof == 0:
            return (
                f"{head}: {self.verdict}. One seed per variant and no other run of this recipe: there is no "
                f"estimate of the seed-to-seed noise, so no interval and no reading beyond the sign."
            )
        head += (
            f", 95% interval {self.low:+.2f} to {self.high:+.2f} (pooled seed SD {self.sd:.3f} dB, "
            f"{self.dof} degrees of freedom): {self.verdict}."
        )
        if self.verdict == "reproduced":
            tail = f"The interval is above zero, the margin above the {FLOOR_DB} dB floor"
            if self.paper_margin is not None:
                tail += f" and at least half the paper's {self.paper_margin:.1f} dB"
            return f"{head} {tail}, and Set14 agrees."
        if self.verdict == "same direction, smaller":
            return (
                f"{head} The interval is above zero, so the sign is unlikely to be a seed's luck, but "
                f"{' and '.join(self.reasons())}."
            )
        if self.verdict == "inconclusive":
            return f"{head} The interval includes zero: these seeds cannot tell which variant ends higher."
        return f"{head} The interval is below zero: {self.worse} ends higher."


def decide(
    better: list[float],
    worse: list[float],
    noise: SeedNoise,
    better_name: str = "better",
    worse_name: str = "worse",
    set14: tuple[Sequence[float | None], Sequence[float | None]] | None = None,
    paper_margin: float | None = None,
    paper_where: str = "",
    scored_on: str = "Set5",
) -> Decision:
    """The package's one rule (see the module's docstring and :data:`MEANING`)."""
    if not better or not worse:
        raise OptionError("each variant needs at least one result")
    margin = statistics.fmean(better) - statistics.fmean(worse)
    spread = max(max(better) - min(better), max(worse) - min(worse))
    set14_margin = None
    if set14 and all(set14):
        better14, worse14 = ([s for s in scores if s is not None] for scores in set14)
        if len(better14) == len(set14[0]) and len(worse14) == len(set14[1]):  # every run was scored on Set14
            set14_margin = statistics.fmean(better14) - statistics.fmean(worse14)
    decision = Decision(
        better_name,
        worse_name,
        margin,
        spread,
        min(len(better), len(worse)),
        "inconclusive",
        sd=noise.sd,
        dof=noise.dof,
        noise_source=noise.source,
        set14_margin=set14_margin,
        paper_margin=paper_margin,
        paper_where=paper_where,
        scored_on=scored_on,
    )
    if noise.dof:
        half = t_quantile(noise.dof) * noise.sd * math.sqrt(1 / len(better) + 1 / len(worse))
        decision.low, decision.high = margin - half, margin + half
        if decision.high < 0:
            decision.verdict = "reversed"
        elif decision.low > 0:
            decision.verdict = "same direction, smaller" if decision.reasons() else "reproduced"
    return decision


def overall(decisions: list[Decision]) -> str:
    """A study's reading: the weakest of its decisions' (reversed, then inconclusive, then smaller)."""
    if not decisions:
        raise OptionError("no decisions to read")
    return min(
        (d.verdict for d in decisions),
        key=lambda v: {"reversed": 0, "inconclusive": 1, "same direction, smaller": 2}.get(v, 3),
    )
