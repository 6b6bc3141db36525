"""What a training run depends on: :class:`TrainConfig`, its named recipes, and reading values.

A run is fully described by one frozen :class:`TrainConfig`; ``recipe(name, **overrides)`` gives a
named starting point (``quick`` for a laptop, ``overnight`` for a laptop's night, ``paper`` as
published, ``gpu`` for one GPU), and
every field is also a ``lapsrn-edu train`` flag (made from the fields and their explanations).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, cast, get_type_hints

from torch import nn

from ..data.patches import Augmentation, check_patch_size
from ..engine.switch import ENGINES
from ..errors import OptionError
from ..models import registry
from ..models.checkpoint import fits, type_name

MODEL_FIELDS = ("scale", "depth", "channels", "upsampler")


def option(default: Any, help: str) -> Any:
    """A TrainConfig field with its one-line explanation (shown by ``lapsrn-edu train --help``)."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on. Every field can be overridden: ``recipe(name, **kw)``
    in Python, ``--field-name VALUE`` on the command line (the flags are made from these fields)."""

    recipe: str = option("custom", "the recipe this configuration started from (quick, paper, ...)")
    # model
    arch: str = option(
        "LapSRN",
        "architecture (LapSRN, MSLapSRN, OneShotSR, SRCNN, FSRCNN, VDSR); it takes the four model options below where "
        "it has them",
    )
    scale: int = option(4, "upsampling factor: 2, 4 or 8 (log2(scale) pyramid levels)")
    depth: int = option(10, "3x3 convolutions per pyramid level")
    channels: int = option(64, "feature maps per convolution")
    upsampler: str = option("released", "feature upsampler: released (3x3, as the official weights) or paper (4x4)")
    # data
    train_data: str = option(
        "auto", "auto (T91 + BSDS200 when present, else embedded), a dataset name, a folder, or embedded"
    )
    data_root: str | None = option(None, "data folder (default: $LAPSRN_EDU_DATA, else the repo's data/)")
    patch_size: int = option(128, "side of a high-resolution training patch, in pixels")
    batch_size: int = option(64, "patches per iteration (global: split across processes)")
    scale_range: tuple[float, float] = option((0.5, 1.0), "augmentation: random down-scaling of the image, min,max")
    rotate: bool = option(True, "augmentation: random rotation by 90, 180 or 270 degrees")
    flip: bool = option(True, "augmentation: random horizontal flip")
    workers: int = option(1, "DataLoader worker processes that cut patches (0 = in the training process)")
    patches_on: str = option(
        "auto",
        "where patches are cut: auto (device on a CUDA GPU, else cpu), cpu (by the workers) or device (on the "
        "training device, from images kept there; the workers only draw where each patch comes from)",
    )
    # loss
    loss: str = option("charbonnier", "charbonnier, l1 or l2, at every pyramid level")
    reduction: str = option("paper", "paper (sum over pixels, mean over the batch), mean or sum")
    # optimiser
    optimizer: str = option("sgd", "sgd (momentum) or adam")
    lr: float = option(1e-5, "base learning rate")
    momentum: float = option(0.9, "SGD momentum")
    weight_decay: float = option(1e-4, "L2 weight decay")
    bias_lr_mult: float = option(0.1, "biases learn at lr times this")
    grad_clip: float = option(0.0, "largest gradient norm allowed (0 = no clipping)")
    # schedule
    epochs: int = option(200, "number of epochs; validation and a checkpoint after each")
    iterations_per_epoch: int = option(1000, "weight updates per epoch")
    lr_schedule: str = option("step", "step (x lr_gamma every lr_step_epochs), cosine (to lr_min) or constant")
    lr_step_epochs: int = option(50, "step schedule: epochs between two decays")
    lr_gamma: float = option(0.5, "step schedule: factor of each decay")
    lr_min: float = option(1e-6, "the learning rate never goes below this (the end of the cosine)")
    # validation
    val_data: str = option(
        "auto",
        "monitor set scored after each epoch: auto (Set5 when present, else an embedded image), none, a name or a "
        "folder",
    )
    holdout: int = option(0, "training images set aside to select best.pt fairly (0 = none)")
    # run
    seed: int = option(0, "seed of the initial weights and of every patch")
    device: str = option("auto", "auto, cpu, cuda or mps")
    amp: str = option(
        "auto",
        "auto (bf16 autocast on CUDA), native (bf16 wherever the hardware computes it: CUDA, or a CPU with "
        "AVX512-BF16 or AMX; float32 elsewhere), bf16 or off",
    )
    engine: str = option(
        "auto",
        "auto (the training engine on the CPU for an unedited model, else the model's own code), reference or fast",
    )
    threads: int = option(0, "CPU threads for torch (0 = torch's default)")
    out: str = option("runs/train", "run folder: last.pt, best.pt, history.json")
    resume: str | None = option(None, "a checkpoint to continue from exactly")

    def __post_init__(self) -> None:
        registry.make_config(self.arch, self.model_options())  # the architecture checks its own options
        check_patch_size(self.scale, self.patch_size)
        Augmentation(cast("tuple[float, float]", tuple(self.scale_range)), self.rotate, self.flip)
        choices = {
            "optimizer": ("sgd", "adam"),
            "lr_schedule": ("step", "cosine", "constant"),
            "amp": ("auto", "native", "bf16", "off"),
            "reduction": ("paper", "mean", "sum"),
            "loss": ("charbonnier", "l1", "l2"),
            "patches_on": ("auto", "cpu", "device"),
            "engine": ENGINES,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise OptionError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("batch_size", "epochs", "iterations_per_epoch", "lr_step_epochs"):
            if getattr(self, name) < 1:
                raise OptionError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.workers < 0 or self.holdout < 0 or self.threads < 0:
            raise OptionError("lr must be positive; workers, holdout and threads must not be negative")

    @property
    def total_iterations(self) -> int:
        return self.epochs * self.iterations_per_epoch

    def model_options(self) -> dict[str, Any]:
        """The model options (:data:`MODEL_FIELDS`) that ``arch``'s config has, e.g. all four for LapSRN."""
        accepted = {f.name for f in fields(registry.architecture(self.arch).config_class)}
        return {name: getattr(self, name) for name in MODEL_FIELDS if name in accepted}

    def build_model(self) -> nn.Module:
        """A fresh, randomly initialised model of ``arch`` with this config's model options."""
        return registry.build(self.arch, self.model_options())


def paper_recipe() -> TrainConfig:
    """The paper's recipe (CVPR 2017 section 3.3; docs/paper.md#training): SGD with momentum 0.9 and
    weight decay 1e-4, lr 1e-5 halved every 50 epochs of 1,000 iterations (floor 1e-6, as in the
    released code), biases at lr x0.1, 64 patches of 128 px per batch, Charbonnier summed over
    pixels and averaged over the batch, depth 10 (the released x2/x4 models; pass ``depth=5`` for
    x8 as released). The paper trains until the learning rate reaches 1e-6 (section 4.2), which
    the halving reaches at epoch 200: 200 epochs here."""
    return TrainConfig(recipe="paper")


def quick_recipe() -> TrainConfig:
    """A laptop recipe, tuned to reach a good x4 Set5 score in minutes on a 2-core CPU.

    - depth 5 per level, 64 channels: half the convolutions of the paper's model; on a CPU the
      number of weight updates per minute matters more than capacity in the first hour.
    - 64 px patches, batch 16: at x4 a 64 px patch is a 16 px LR input, about the receptive field
      of a depth-5 level, at a quarter of the cost of a 128 px patch; small batches give more
      updates per minute (the data pipeline is a small part of a step at this size).
    - Adam, lr 1e-3, no weight decay, biases at the full lr: SGD at the paper's 1e-5 needs
      hundreds of thousands of iterations; Adam's per-weight step sizes move within hundreds.
    - cosine decay to 1e-5 over the run: the last epochs fine-tune at a small learning rate.
    - 30 epochs of 100 iterations (48,000 patches): validation about every minute on a CPU gives
      the PSNR-versus-time curve; pass ``epochs`` to fit the time you have.
    What it reaches, and how fast, is measured in docs/models.md (the recipes' table).
    """
    return TrainConfig(
        recipe="quick",
        depth=5,
        channels=64,
        patch_size=64,
        batch_size=16,
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        bias_lr_mult=1.0,
        epochs=30,
        iterations_per_epoch=100,
        lr_schedule="cosine",
        lr_min=1e-5,
    )


def gpu_recipe() -> TrainConfig:
    """The paper's network and data, trained in minutes on one current GPU (H100/H200 class).

    - the paper's model and data: depth 10 per level, 64 channels, 128 px patches of the 291
      images, the paper's augmentation (zoom-out 0.5-1, turns, flips) and its Charbonnier loss;
      what changes is only how the weights are optimised.
    - Adam, lr 5e-4, no weight decay, biases at the full lr, cosine decay to 1e-6: as ``quick``,
      Adam's per-weight steps converge in thousands of iterations where the paper's SGD at 1e-5
      takes hundreds of thousands; 5e-4 rather than ``quick``'s 1e-3 for a network twice as deep.
    - batch 256: the trainer waits for every step's loss (to stop on NaN), so the GPU idles for
      the launch of the next step; a large batch makes that pause a small part of a step. It is
      the paper's batch times four: fewer, less noisy steps.
    - bf16 autocast and channels_last (``amp=auto`` on CUDA): the convolutions run on the tensor
      cores in bf16, the loss and the weights stay float32.
    - patches cut on the GPU (``patches_on=device``; ``auto`` does the same on any CUDA run,
      :mod:`lapsrn_edu.engine.gpu_patches`): the same
      patches as the CPU path, but the two workers only draw where each patch comes from, so the
      GPU does not wait for the CPU however few cores the machine has.
    - 15 epochs of 1,000 iterations (3.84 M patches, 30% of the paper's 12.8 M): minutes on an
      H100/H200-class GPU (docs/models.md gives the measured time and Set5); ``tools/gpu_check.py``
      measures the rate and sets the epochs to fit the minutes it has. Validation on Set5 after
      each epoch gives the PSNR-against-minutes curve.
    """
    return TrainConfig(
        recipe="gpu",
        depth=10,
        channels=64,
        patch_size=128,
        batch_size=256,
        optimizer="adam",
        lr=5e-4,
        weight_decay=0.0,
        bias_lr_mult=1.0,
        epochs=15,
        iterations_per_epoch=1000,
        lr_schedule="cosine",
        lr_min=1e-6,
        workers=2,
        patches_on="device",
    )


def overnight_recipe() -> TrainConfig:
    """The paper's x4 network trained overnight on a laptop CPU: start it in the evening, have the
    paper's model in the morning (at most 8 hours on 2 cores; data/overnight/README.md has the
    pilots that chose it, on held-out training images, and the run it gave).

    - depth 10 per level, 64 channels: the paper's x4 model (section 3.3), whose published score
      is the target. Depth is the paper's choice, not a tuned one: at 12,000 iterations the depth
      study found depth 10 ahead of depth 5 by too little to read (``depth-long.json``).
    - 64 px patches: at equal cost, twice the iterations of 64 px patches ended a little above
      (0.04 and 0.06 dB, one pilot each) 96 px patches and batches of 32, so nothing argued for
      the slower settings.
    - batch 16, Adam at 1e-3 with a cosine decay to 1e-5, no weight decay: ``quick``'s optimiser;
      the pilots found neither half nor twice the learning rate better, and batch 32 no better
      than twice the iterations of batch 16.
    - ``amp=native``: bfloat16 autocast where the CPU computes it in hardware (AVX512-BF16 or
      AMX): 2.7 times the patches per second of float32 on this project's CPU, and the same
      held-out PSNR in the pilots (two seeds); float32 on a CPU without it.
    - no DataLoader worker: patches are cut in the training process (a few seconds an hour), so
      the run's recorded CPU time (``cpu_seconds``, its core-seconds) is the whole cost.
    - 48 epochs of 2,000 iterations (1.54 M patches, 8 times the 12,000 iterations of the depth
      study's longest runs): about 2 hours on this project's 2-core CPU with nothing else running
      (212 patches a second at 64 px in bfloat16), so a laptop four times slower still finishes
      overnight. A first run of 80 epochs was lost at epoch 18 when its machine was reclaimed; a
      run that fits one working session is one that ends. Validation on Set5 after each epoch
      draws the PSNR-against-hours curve; it selects nothing.
    """
    return replace(  # quick's data and optimiser; the paper's depth, a night's length
        quick_recipe(),
        recipe="overnight",
        depth=10,
        epochs=48,
        iterations_per_epoch=2000,
        amp="native",
        workers=0,
    )


RECIPES: dict[str, TrainConfig] = {
    "quick": quick_recipe(),
    "paper": paper_recipe(),
    "gpu": gpu_recipe(),
    "overnight": overnight_recipe(),
}


def recipe(name: str, **overrides: Any) -> TrainConfig:
    """A named recipe with fields overridden, e.g. ``recipe("quick", scale=2, epochs=10)``."""
    if name not in RECIPES:
        raise OptionError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return with_overrides(RECIPES[name], **overrides)


def with_overrides(config: TrainConfig, **overrides: Any) -> TrainConfig:
    """``config`` with some fields replaced; an unknown field name is a clear error."""
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise OptionError(f"unknown training option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return replace(config, **overrides)


def parse_value(key: str, raw: str) -> Any:
    """A TrainConfig field's value from text (a command-line flag), converted to the field's type."""
    hints = get_type_hints(TrainConfig)
    if key not in hints:
        raise OptionError(f"unknown training option {key!r}; known: {', '.join(sorted(hints))}")
    hint, raw = str(hints[key]), raw.strip()
    try:
        if "None" in hint and raw.lower() in ("none", ""):
            return None
        if hint.startswith("tuple"):
            return tuple(float(v) for v in raw.split(","))
        if "bool" in hint:
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise OptionError(raw)
            return raw.lower() in ("true", "1", "yes")
        if "int" in hint:
            return int(raw)
        if "float" in hint:
            return float(raw)
    except ValueError:
        raise OptionError(f"{key}: cannot read {raw!r} as {hint}") from None
    return raw


def config_from_dict(saved: dict[str, Any]) -> TrainConfig:
    """A TrainConfig from plain data (a checkpoint's ``config``): fields this version no longer has
    are dropped, each value is checked against its field's type, then the config checks itself."""
    hints = get_type_hints(TrainConfig)
    values = {k: v for k, v in saved.items() if k in hints}
    for name, value in values.items():
        if not fits(value, hints[name]):
            raise OptionError(f"'config' {name} is {value!r}, expected {type_name(hints[name])}")
    values["scale_range"] = tuple(values.get("scale_range", (0.5, 1.0)))
    return TrainConfig(**values)
