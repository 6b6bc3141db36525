"""A run's record, one entry per epoch, saved beside its checkpoints (``history.json``)."""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from ..errors import OptionError
from ..models.checkpoint import fits, type_name


@dataclass
class EpochRecord:
    """One epoch's numbers. Seconds are cumulative over the run (resumes included): ``train_seconds``
    counts data loading and compute only, ``elapsed_seconds`` validation and checkpoints too, and
    ``cpu_seconds`` is the CPU time the training process used over that same span, all its threads
    together (its core-seconds: unlike wall time, other programs on the machine do not inflate it;
    DataLoader workers are other processes and are not in it). ``None`` in histories written before
    it was recorded."""

    epoch: int
    iteration: int
    loss: float
    lr: float
    patches_per_second: float
    data_seconds: float
    compute_seconds: float
    train_seconds: float
    elapsed_seconds: float
    val_psnr: float | None = None
    holdout_psnr: float | None = None
    cpu_seconds: float | None = None


@dataclass
class History:
    """A run's record, saved as ``history.json`` in the run folder after every epoch."""

    config: dict[str, Any]
    val_dataset: str = ""
    epochs: list[EpochRecord] = field(default_factory=list)
    status: str = "running"
    # What computed each stretch of the run (one entry per start or resume): the run's name says
    # what it learns, but the code path, torch and thread count change float sums in the last digits.
    made_with: list[dict[str, Any]] = field(default_factory=list)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """A history from plain data (a checkpoint's, or history.json), each epoch record checked
        against :class:`EpochRecord`'s fields and types (a ValueError says which is wrong)."""
        hints = get_type_hints(EpochRecord)
        required = [f.name for f in fields(EpochRecord) if f.default is MISSING]
        for record in data["epochs"]:
            unknown, lacking = [k for k in record if k not in hints], [k for k in required if k not in record]
            if unknown or lacking:
                raise OptionError(f"'history' has an epoch record with unknown {unknown} and without {lacking}")
            for name, value in record.items():
                if not fits(value, hints[name]):
                    raise OptionError(f"'history' epoch {name} is {value!r}, expected {type_name(hints[name])}")
        return cls(
            data["config"],
            data.get("val_dataset", ""),
            [EpochRecord(**e) for e in data["epochs"]],
            data["status"],
            list(data.get("made_with", [])),
        )

    @classmethod
    def load(cls, path: str | Path) -> History:
        return cls.from_dict(json.loads(Path(path).read_text()))
