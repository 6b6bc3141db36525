"""The paper's studies as experiments with a verdict, in four parts read in this order:

- :mod:`.specs`: what a study is (budgets, variants, predictions, conditions) and the five studies;
- :mod:`.verdict`: the one rule that reads a margin, its 95% interval and the floor as one of four readings;
- :mod:`.results`: a saved result, and how to read it in plain words;
- :mod:`.runner`: training every variant and seed (resumable), scoring and deciding;
- :mod:`.figures`: the figures a verdict rests on.

``from lapsrn_edu import studies`` gives the names a notebook needs, listed below.

Imports: errors, device, models, data, evaluation, training; outside the package: matplotlib, numpy,
scipy, torch.
"""

from .results import (
    COMMITTED,
    StudyResult,
    VariantResult,
    committed_results,
    every_seed_above,
    load_result,
    read,
    reading,
)
from .runner import resolve_variants, result_path, run_id, run_study, study_command
from .specs import BUDGETS, LAPSRN, STUDIES, Comparison, Condition, Study, Variant, budget
from .verdict import MEANING, READINGS, Decision, SeedNoise, decide, overall, pooled_noise

__all__ = [
    "BUDGETS",
    "COMMITTED",
    "LAPSRN",
    "MEANING",
    "READINGS",
    "STUDIES",
    "Comparison",
    "Condition",
    "Decision",
    "SeedNoise",
    "Study",
    "StudyResult",
    "Variant",
    "VariantResult",
    "budget",
    "committed_results",
    "decide",
    "every_seed_above",
    "load_result",
    "overall",
    "pooled_noise",
    "read",
    "reading",
    "resolve_variants",
    "result_path",
    "run_id",
    "run_study",
    "study_command",
]
