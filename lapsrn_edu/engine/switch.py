"""The one switch between the readable model and the engines: ``engine="auto" | "reference" | "fast"``.

The engines compute what the readable networks of :mod:`lapsrn_edu.models` compute, faster; they
read the model's weights but not its code. So an engine may stand in for a model only when the
model's code is the package's own, as its class builds it. :func:`difference` checks that at run
time, module by module:

- every module is of the class, with the settings (``extra_repr``) and the plain instance
  attributes (``FeatureUpsampler.kind``, a convolution's ``padding``, an activation's slope) that
  building the architecture from the model's own config gives: no swapped, added or removed layer,
  no attribute changed after building;
- every module's ``forward`` is the one its class defines in this package or in torch: not
  replaced on the class (a lesson that edits ``FeatureUpsampler.forward``) or on the instance;
- no hooks of a module's own or global ones, forward or backward (a hook on a parameter tensor is
  honoured by both paths: the engines share the parameters);
- the device and number format the engine is written for: inference on the CPU with every
  parameter and buffer float32; training on the CPU (on a GPU cuDNN runs the model's own layers).

``reference`` always runs the model's own ``forward``; ``fast`` runs the engine and refuses, in one
line, a model or device it cannot serve; ``auto`` (the default) runs the engine when it may and the
model's own code otherwise, and says once, in one line, why when the model is an edited LapSRN
(an architecture or device the engine does not cover runs its own code without a word). The
decision is made here only: :func:`inference_network` and :func:`training_network` are what the
callers (upscaling, evaluation, the level viewer, the trainer) ask for. The glibc allocator
setting (:mod:`.allocator`) and GPU patch cutting (:mod:`.gpu_patches`) do not change what a model
computes, so they are not behind this switch: the trainer's own options choose them.
"""

from __future__ import annotations

import sys
from typing import cast

import torch
from torch import nn
from torch.nn.modules import module as torch_module

from ..errors import OptionError, UserError
from ..models import LapSRN, MSLapSRN, registry
from ..models.layers import LEAKY_SLOPE
from .inference import FastPyramid

ENGINES = ("auto", "reference", "fast")
INFERENCE_MODELS = (LapSRN, MSLapSRN)  # what engine.inference reproduces; training serves every architecture
OWN_CODE = ("lapsrn_edu.models", "torch.nn.modules")  # where a forward may be defined for an engine to stand in
MODULE_HOOKS = ("forward", "forward_pre", "backward", "backward_pre")  # nn.Module's _<kind>_hooks
GLOBAL_HOOKS = (
    "_global_forward_hooks",
    "_global_forward_pre_hooks",
    "_global_backward_hooks",
    "_global_backward_pre_hooks",
)
_told: set[str] = set()


class EngineRefused(UserError):
    """``engine="fast"`` for a model that the engine cannot prove it computes exactly."""


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise OptionError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")


def difference(model: nn.Module, purpose: str = "inference", device: torch.device | str = "cpu") -> str | None:
    """Why an engine cannot stand in for ``model`` on ``device`` (None: it can): what the engine
    covers, then :func:`edits`."""
    return uncovered(model, purpose, device) or edits(model)


def uncovered(model: nn.Module, purpose: str, device: torch.device | str = "cpu") -> str | None:
    """Why the engine for ``purpose`` does not serve ``model`` on ``device`` at all (None: it
    does): both engines run on the CPU; the training engine covers every architecture, the
    inference engine LapSRN and MS-LapSRN with every parameter and buffer float32."""
    where = torch.device(device).type
    if where != "cpu":
        return f"the {purpose} engine runs on the CPU, not on {where}"
    if purpose != "inference":
        return None
    if not isinstance(model, INFERENCE_MODELS):
        return f"the inference engine covers LapSRN and MS-LapSRN, not {type(model).__name__}"
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if tensor.dtype != torch.float32 or tensor.device.type != "cpu":
            return (
                f"the inference engine runs float32 weights on the CPU, not {name} in {tensor.dtype} on "
                f"{tensor.device.type}"
            )
    return None


def edits(model: nn.Module) -> str | None:
    """How ``model`` differs from its architecture as the package builds it (None: not at all)."""
    built = _as_built(model)
    if isinstance(built, str):
        return built
    if any(getattr(torch_module, name, None) for name in GLOBAL_HOOKS):
        return "a global module hook is registered"
    for name, module in model.named_modules():
        where = name or type(model).__name__
        edit = _edited_forward(module)
        if edit:
            return f"{where}: {edit}"
        hooks = [kind for kind in MODULE_HOOKS if getattr(module, f"_{kind}_hooks", None)]
        if hooks:
            return f"{where}: it has a {hooks[0].replace('_', ' ')} hook"
        if isinstance(module, nn.LeakyReLU) and module.negative_slope != LEAKY_SLOPE:
            return f"{where}: LeakyReLU slope {module.negative_slope}, the engine's is {LEAKY_SLOPE}"
    return None


def _as_built(model: nn.Module) -> list[tuple[str, tuple]] | str:
    """(name, (class, settings)) of each module of the architecture built from ``model.config``,
    or why ``model`` is not one: its class, its modules and their settings must match."""
    try:
        entry = registry.architecture_of(model)
    except registry.UnknownArchitectureError:
        base = next(
            (
                c.__name__
                for c in type(model).__mro__[1:]
                if c in {a.model_class for a in registry.ARCHITECTURES.values()}
            ),
            None,
        )
        return (
            f"{type(model).__name__} is a subclass of {base}"
            if base
            else f"{type(model).__name__} is not a registered architecture"
        )
    ours = [(name, _signature(m)) for name, m in model.named_modules()]
    theirs = _layout_as_built(entry.model_class, model.config)
    if ours == theirs:
        return theirs
    added = [name for name, _ in ours if name not in dict(theirs)]
    removed = [name for name, _ in theirs if name not in dict(ours)]
    # not strict: the lists differ in length when modules were added or removed (listed just above)
    changed = [name for (name, a), (other, b) in zip(ours, theirs, strict=False) if name == other and a != b]
    what = (
        f"module {added[0]} was added"
        if added
        else f"module {removed[0]} was removed"
        if removed
        else f"module {changed[0] or entry.name} differs from the one {entry.name} builds"
        if changed
        else "its modules are in another order"
    )
    return f"{entry.name} as edited ({what})"


_LAYOUTS: dict[tuple[type, str], list[tuple[str, tuple]]] = {}


def _layout_as_built(cls: type, config: object) -> list[tuple[str, tuple]]:
    """(name, signature) of every module of ``cls(config)``, built once per config on the meta
    device (a build takes longer than the network itself on a small image)."""
    key = (cls, repr(config))
    if key not in _LAYOUTS:
        with torch.device("meta"):
            reference = cls(config)
        _LAYOUTS[key] = [(name, _signature(m)) for name, m in reference.named_modules()]
    return _LAYOUTS[key]


def _signature(module: nn.Module) -> tuple:
    """A module's class, its settings as printed, and its plain public attributes (what a lesson
    can change after building without touching the code: ``kind``, ``padding``, ``negative_slope``)."""
    plain = (bool, int, float, str, tuple, type(None))
    state = tuple(
        sorted(
            (k, v)
            for k, v in vars(module).items()
            if not k.startswith("_") and k != "training" and isinstance(v, plain)
        )
    )
    return type(module), module.extra_repr(), state


def _edited_forward(module: nn.Module) -> str | None:
    """Why ``module``'s forward is not its class's own code in this package or torch (None: it is)."""
    if "forward" in vars(module):
        return "its forward was replaced on the instance"
    forward = type(module).forward
    if forward is torch_module._forward_unimplemented:  # a container without a forward (ModuleList)
        return None
    owner = next((c for c in type(module).__mro__ if "forward" in vars(c)), None)
    if owner is None or not owner.__module__.startswith(OWN_CODE):
        return f"{type(module).__name__} is defined outside the package"
    if (
        getattr(forward, "__module__", "") != owner.__module__
        or getattr(forward, "__qualname__", "") != f"{owner.__qualname__}.forward"
    ):
        return f"{owner.__name__}.forward was replaced"
    return None


def use_engine(
    model: nn.Module, engine: str = "auto", purpose: str = "inference", device: torch.device | str | None = None
) -> bool:
    """Whether to run ``model`` through the engine for ``purpose`` on ``device`` (default: where
    its first parameter is); see the module's docstring."""
    check_engine(engine)
    if engine == "reference":
        return False
    if device is None:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    outside = uncovered(model, purpose, device)
    edit = None if outside else edits(model)
    if outside is None and edit is None:
        return True
    if engine == "fast":
        raise EngineRefused(f"engine='fast' cannot run this model: {outside or edit}; use engine='auto' or 'reference'")
    if edit and isinstance(
        model, tuple(a.model_class for a in registry.ARCHITECTURES.values())
    ):  # an edited architecture
        tell_once(f"note: running the model's own code, not the {purpose} engine: {edit}")
    return False


def inference_network(
    model: nn.Module, engine: str = "auto", device: torch.device | str | None = None
) -> FastPyramid | None:
    """The inference engine for ``model`` when it may stand in (None: run the model's own code)."""
    if not use_engine(model, engine, "inference", device):
        return None
    return FastPyramid(cast("LapSRN | MSLapSRN", model))  # use_engine admits only these two


def training_network(model: nn.Module, engine: str = "auto", device: torch.device | str | None = None) -> nn.Module:
    """What a training step runs: the training engine's copy of ``model`` (the same parameters,
    faster CPU layers) when it may stand in, else ``model`` itself."""
    from .training import for_training  # imported here: upscaling and evaluation never load the training engine

    return for_training(model) if use_engine(model, engine, "training", device) else model


def tell_once(message: str) -> None:
    """One line on stderr, the first time it is said in this process."""
    if message not in _told:
        _told.add(message)
        print(f"lapsrn-edu: {message}", file=sys.stderr)
