"""The networks: LapSRN, MS-LapSRN, the one-shot baseline of the pyramid ablation, and the earlier
methods LapSRN is compared with (SRCNN, FSRCNN, VDSR); :mod:`.registry` builds any of them by name.

Imports: errors, imaging; outside the package: numpy, scipy, torch.
"""

from .baselines import FSRCNN, SRCNN, VDSR, FSRCNNConfig, SRCNNConfig, VDSRConfig
from .lapsrn import SCALES, LapSRN, LapSRNConfig, levels_for_scale
from .layers import bilinear_kernel, count_parameters
from .mslapsrn import MSLapSRN, MSLapSRNConfig
from .oneshot import OneShotConfig, OneShotSR
from .registry import (
    ARCHITECTURES,
    Architecture,
    UnknownArchitectureError,
    architecture,
    architecture_of,
    build,
    describe,
)

__all__ = [
    "ARCHITECTURES",
    "FSRCNN",
    "SCALES",
    "SRCNN",
    "VDSR",
    "Architecture",
    "FSRCNNConfig",
    "LapSRN",
    "LapSRNConfig",
    "MSLapSRN",
    "MSLapSRNConfig",
    "OneShotConfig",
    "OneShotSR",
    "SRCNNConfig",
    "UnknownArchitectureError",
    "VDSRConfig",
    "architecture",
    "architecture_of",
    "bilinear_kernel",
    "build",
    "count_parameters",
    "describe",
    "levels_for_scale",
]
