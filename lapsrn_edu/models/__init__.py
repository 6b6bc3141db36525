"""The networks: LapSRN, MS-LapSRN, and the one-shot baseline of the pyramid ablation."""

from .lapsrn import SCALES, LapSRN, LapSRNConfig, levels_for_scale
from .layers import bilinear_kernel, count_parameters
from .mslapsrn import MSLapSRN, MSLapSRNConfig
from .oneshot import OneShotSR

__all__ = [
    "SCALES",
    "LapSRN",
    "LapSRNConfig",
    "MSLapSRN",
    "MSLapSRNConfig",
    "OneShotSR",
    "bilinear_kernel",
    "count_parameters",
    "levels_for_scale",
]
