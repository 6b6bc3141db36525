"""Training through ``for_training`` is training the model: the same outputs and the same gradient
for every parameter, for every architecture, in both memory layouts; and the allocator setting
that keeps freed memory really saves the page faults it is there for."""

import subprocess
import sys
from collections.abc import Callable
from functools import partial
from typing import cast

import pytest
import torch
from helpers import level_of, lively
from torch import nn

from lapsrn_edu.engine import allocator
from lapsrn_edu.engine.training import OneChannelConv, SubPixelUpsampler, for_training
from lapsrn_edu.models import ARCHITECTURES, LapSRN, MSLapSRN, build
from lapsrn_edu.models.layers import FeatureUpsampler
from lapsrn_edu.training.losses import multiscale_loss

# relative to the largest value of each output or gradient: in float64 the two computations agree
# to rounding; in float32, gradients summed over many pixels in another order differ by up to 1e-4
TOLERANCE = {torch.float64: 1e-12, torch.float32: 3e-4}


def outputs_and_gradients(network: nn.Module, parameters: list[nn.Parameter], lr: torch.Tensor):
    outputs = network(lr)
    targets = [torch.rand_like(o, generator=torch.Generator().manual_seed(1)) for o in outputs]
    loss = multiscale_loss(outputs, targets)
    gradients = torch.autograd.grad(
        loss, parameters, allow_unused=True
    )  # without residuals, the image upsamplers are unused
    return [o.detach() for o in outputs], [
        torch.zeros_like(p) if g is None else g for p, g in zip(parameters, gradients, strict=True)
    ]


def assert_close(got: list[torch.Tensor], expected: list[torch.Tensor]) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape and g.dtype == e.dtype
        assert (g - e).abs().max().item() <= TOLERANCE[e.dtype] * max(e.abs().max().item(), 1e-12)


MODELS: dict[str, Callable[[], nn.Module]] = {
    "LapSRN x2": lambda: LapSRN(scale=2, depth=2),
    "LapSRN x4": lambda: LapSRN(scale=4, depth=3),
    "LapSRN x8": lambda: LapSRN(scale=8, depth=2),
    "LapSRN x4 paper upsampler": lambda: LapSRN(scale=4, depth=2, upsampler="paper"),
    "LapSRN x4 no residual": lambda: LapSRN(scale=4, depth=2, residual=False),
    **{name: partial(build, name) for name in ARCHITECTURES if name != "LapSRN"},
}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("channels_last", [False, True], ids=["NCHW", "channels_last"])
@pytest.mark.parametrize("name", list(MODELS))
def test_same_outputs_and_gradients(name: str, channels_last: bool, dtype: torch.dtype) -> None:
    model = lively(MODELS[name]()).to(dtype)
    lr = torch.rand(2, 1, 13, 11, generator=torch.Generator().manual_seed(2)).to(
        dtype
    )  # odd sizes: crops and pads show
    if channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stubs of Module.to omit memory_format
        lr = lr.contiguous(memory_format=torch.channels_last)
    parameters = list(model.parameters())
    expected_out, expected_grad = outputs_and_gradients(model, parameters, lr)
    got_out, got_grad = outputs_and_gradients(for_training(model), parameters, lr)
    assert_close(got_out, expected_out)
    assert_close(list(got_grad), list(expected_grad))


def test_shares_the_models_parameters_and_leaves_it_untouched() -> None:
    model = LapSRN(scale=4, depth=2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    network = for_training(model)
    assert {id(p) for p in network.parameters()} == {id(p) for p in model.parameters()}
    assert all(isinstance(level.upsample, FeatureUpsampler) for level in model.levels)  # the model keeps its layers
    assert all(isinstance(level.upsample, SubPixelUpsampler) for level in cast(nn.ModuleList, network.levels))
    assert all(isinstance(level.to_residual, OneChannelConv) for level in cast(nn.ModuleList, network.levels))
    assert not any(getattr(m, "inplace", False) for m in model.modules())
    assert model.state_dict().keys() == before.keys()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    multiscale_loss(network(torch.rand(1, 1, 8, 8)), [torch.rand(1, 1, 16, 16), torch.rand(1, 1, 32, 32)]).backward()
    optimizer.step()  # stepping the model's optimiser moves the network: they are the same weights
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert "levels.0.upsample.deconv.weight" in changed and "levels.1.to_residual.weight" in changed


def test_in_place_only_where_nothing_else_reads_the_input() -> None:
    network = for_training(LapSRN(scale=2, depth=2))
    assert [m.inplace for m in level_of(network).convs if isinstance(m, nn.LeakyReLU)] == [True, True]
    input_act = cast(nn.LeakyReLU, network.input_act)
    assert not input_act.inplace and not level_of(network).act.inplace  # not after a conv in a Sequential
    ms = for_training(MSLapSRN(scale=4))  # pre-activation: its activation's input is also a skip connection's
    assert not any(getattr(m, "inplace", False) for m in ms.modules())


def test_clear_errors_for_layers_that_do_not_fold() -> None:
    with pytest.raises(ValueError, match="only the released upsampler"):
        SubPixelUpsampler(FeatureUpsampler(8, "paper"))
    with pytest.raises(ValueError, match="3x3, stride-1"):
        OneChannelConv(nn.Conv2d(8, 1, 5, padding=2))


PAGE_FAULTS = """
import os, resource, torch
from lapsrn_edu.engine import allocator

def faults(rounds=20):  # minor page faults while a 64 MB tensor is made, written and freed, 20 times
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        torch.ones(16 * 1024 * 1024).add_(1)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start

def resident_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

outside = faults()
with allocator.reused_memory():
    with allocator.reused_memory():  # nested: the inner exit must not restore the defaults
        pass
    inside = faults()
    kept = resident_mb()  # the freed 64 MB block is still here, ready for the next step
print(outside, inside, kept - resident_mb())
"""


@pytest.mark.skipif(not allocator.reuses_memory(), reason="the allocator setting is for glibc's malloc (Linux)")
def test_reused_memory_saves_the_page_faults_of_big_allocations() -> None:
    # a fresh process: in this one, earlier tests may have left a free 64 MB block in the heap
    result = subprocess.run(
        [sys.executable, "-c", PAGE_FAULTS], capture_output=True, text=True, timeout=120, check=True
    )
    faults_outside, faults_inside, returned_mb = result.stdout.split()
    outside, inside = int(faults_outside), int(faults_inside)
    if outside < 10_000:
        pytest.skip(f"only {outside} page faults without the setting (huge pages?): nothing to save here")
    assert inside < outside / 3, (inside, outside)  # the first round faults its pages in; later rounds reuse them
    assert float(returned_mb) > 48, returned_mb  # on the way out, the kept memory goes back to the system
