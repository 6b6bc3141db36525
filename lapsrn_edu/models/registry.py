"""One table of every architecture the package can build, by name.

A checkpoint stores a model as (architecture name, its config as a dict); ``lapsrn-edu info``,
the studies and the checkpoint loader all go through this table, so a new architecture is one
entry here and nowhere else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, cast

from torch import nn

from ..errors import OptionError
from .baselines import FSRCNN, SRCNN, VDSR, FSRCNNConfig, SRCNNConfig, VDSRConfig
from .lapsrn import LapSRN, LapSRNConfig
from .layers import DataclassInstance
from .mslapsrn import MSLapSRN, MSLapSRNConfig
from .oneshot import OneShotConfig, OneShotSR


@dataclass(frozen=True)
class Architecture:
    """A buildable network: its class, its config dataclass, and one line that says what it is."""

    name: str
    model_class: type[nn.Module]
    config_class: type
    summary: str
    pyramid: bool  # True when the model outputs every x2 level (one model serves smaller scales)


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture(
            "LapSRN", LapSRN, LapSRNConfig, "Laplacian pyramid network: x2 per level, features at low resolution", True
        ),
        Architecture(
            "MSLapSRN",
            MSLapSRN,
            MSLapSRNConfig,
            "MS-LapSRN: LapSRN with weights shared across levels and recursive blocks",
            True,
        ),
        Architecture(
            "OneShotSR",
            OneShotSR,
            OneShotConfig,
            "LapSRN's convolutions, then one x-scale upsampling (no pyramid)",
            False,
        ),
        Architecture("SRCNN", SRCNN, SRCNNConfig, "SRCNN: three convolutions on the bicubic-upsampled image", False),
        Architecture(
            "FSRCNN",
            FSRCNN,
            FSRCNNConfig,
            "FSRCNN: low-resolution features, one transposed convolution at the end",
            False,
        ),
        Architecture(
            "VDSR", VDSR, VDSRConfig, "VDSR: twenty convolutions on the bicubic-upsampled image, residual", False
        ),
    )
}


class UnknownArchitectureError(OptionError):
    """An architecture name that is not in :data:`ARCHITECTURES`."""


def architecture(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise UnknownArchitectureError(f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def architecture_of(model: nn.Module) -> Architecture:
    """The table entry of a model instance (exact class, so a subclass is not mistaken for it)."""
    for entry in ARCHITECTURES.values():
        if type(model) is entry.model_class:
            return entry
    raise UnknownArchitectureError(
        f"{type(model).__name__} is not a registered architecture; known: {', '.join(ARCHITECTURES)}"
    )


def make_config(name: str, values: dict[str, Any]) -> Any:
    """The config dataclass of ``name`` from a plain dict (JSON turns tuples into lists: undone here)."""
    entry = architecture(name)
    known = {f.name for f in fields(entry.config_class)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise OptionError(f"{name} has no option(s) {', '.join(unknown)}; its options: {', '.join(sorted(known))}")
    return entry.config_class(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def build(name: str, config: dict[str, Any] | Any | None = None) -> nn.Module:
    """A fresh model of architecture ``name`` from its config (a dataclass, a dict, or the defaults)."""
    entry = architecture(name)
    if config is None or isinstance(config, dict):
        config = make_config(name, config or {})
    return entry.model_class(config)


def describe(model: nn.Module) -> tuple[str, dict[str, Any]]:
    """(architecture name, config as a plain dict): everything :func:`build` needs to rebuild it."""
    return architecture_of(model).name, asdict(cast(DataclassInstance, model.config))
