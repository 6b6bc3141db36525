"""Widget builders: driven from code as a student would drive them with the mouse."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from lapsrn_edu.course import plots, widgets
from lapsrn_edu.engine import inference as fast
from lapsrn_edu.imaging.pyramid import laplacian_pyramid
from lapsrn_edu.models import LapSRN, registry


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def control(widget, description):
    return next(c for c in widget.children if getattr(c, "description", None) == description)


def as_explorer(widget: widgets.Explorer | Figure) -> widgets.Explorer:
    """The widget itself (a builder returns a plain figure only in static mode)."""
    assert isinstance(widget, widgets.Explorer)
    return widget


def drawn(widget: widgets.Explorer | Figure) -> Figure:
    """The figure the widget shows now."""
    figure = as_explorer(widget).result
    assert figure is not None
    return figure


def test_pyramid_explorer_follows_its_sliders():
    rng = np.random.default_rng(0)
    images = {"noise": rng.random((64, 48)), "ramp": np.tile(np.linspace(0, 1, 40), (40, 1))}
    explorer = widgets.pyramid_explorer(images, levels=3)
    fig = drawn(explorer)
    assert len(fig.axes) == 3 + 2  # three levels on top, the chosen one and its spectrum below
    control(explorer, "levels").value = 5
    assert control(explorer, "level shown").max == 4
    control(explorer, "level shown").value = 2
    fig = drawn(explorer)
    assert len(fig.axes) == 5 + 2
    expected = laplacian_pyramid(images["noise"], 5)[2]
    shown = np.asarray(fig.axes[5].images[0].get_array())
    np.testing.assert_allclose(shown, plots.band_display(expected, 4.0))
    control(explorer, "image").value = "ramp"
    control(explorer, "kind").value = "bicubic"
    assert "ramp: bicubic" in drawn(explorer).texts[0].get_text()


def test_level_images_add_up_to_the_outputs():
    torch.manual_seed(0)
    model = LapSRN(scale=4, depth=2, channels=8).eval()
    lr = np.random.default_rng(1).random((12, 10))
    levels = widgets.level_images(model, lr, 4)
    assert [lv["output"].shape for lv in levels] == [(24, 20), (48, 40)]
    with torch.no_grad():
        outputs = model(torch.from_numpy(lr).float()[None, None])
    for level, output in zip(levels, outputs, strict=True):
        np.testing.assert_allclose(level["upsampled"] + level["residual"], level["output"], atol=1e-6)
        np.testing.assert_allclose(level["output"], output[0, 0].double().numpy(), atol=1e-6)


def test_level_viewer_shows_one_row_per_level():
    model = LapSRN(scale=8, depth=1, channels=4).eval()
    lr = np.random.default_rng(2).random((8, 8))
    viewer = widgets.level_viewer(model, lr, hr_y=np.zeros((64, 64)))
    assert len(drawn(viewer).axes) == 3 * 4  # x8: three levels, with the ground truth column
    control(viewer, "scale").value = 2
    assert len(drawn(viewer).axes) == 3  # x2: one level, no ground truth at this scale


def test_charbonnier_explorer_redraws_for_eps():
    explorer = widgets.charbonnier_explorer()
    control(explorer, "eps").value = 1e-2
    legend = drawn(explorer).axes[0].get_legend()
    assert legend is not None
    labels = [t.get_text() for t in legend.get_texts()]
    assert any("eps=0.01" in label for label in labels)


def test_static_mode_draws_the_default_figure_instead_of_a_widget(monkeypatch):
    """Executed copies (the course runner sets the variable) get the figure of the default values."""
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    figure = widgets.charbonnier_explorer()
    assert isinstance(figure, Figure)
    monkeypatch.delenv(widgets.STATIC_ENV)
    live = widgets.charbonnier_explorer()
    assert not isinstance(live, Figure) and len(drawn(live).axes) == len(figure.axes)


def png_of(figure) -> bytes:
    return widgets.png_bytes(figure)


def test_a_new_contrast_repaints_the_level_figure_as_drawing_it_anew_would():
    torch.manual_seed(0)
    model = LapSRN(scale=4, depth=1, channels=4).eval()
    lr = np.random.default_rng(3).random((10, 10))
    viewer = widgets.level_viewer(model, lr, hr_y=np.zeros((40, 40)))
    control(viewer, "contrast").value = 9.0
    fresh = plots.level_figure(widgets.level_images(model, lr, 4), np.zeros((40, 40)), 9.0, title="LapSRN run to x4")
    assert png_of(drawn(viewer)) == png_of(fresh)


def test_level_viewer_runs_the_model_once_and_smaller_scales_are_its_first_levels(monkeypatch):
    torch.manual_seed(0)
    model = LapSRN(scale=8, depth=1, channels=4).eval()
    lr = np.random.default_rng(4).random((8, 8))
    calls = []
    run_levels = widgets.level_outputs

    def counted(*args):
        calls.append(1)
        return run_levels(*args)

    monkeypatch.setattr(widgets, "level_outputs", counted)
    viewer = widgets.level_viewer(model, lr)
    for scale in (4, 2, 8, 4):
        control(viewer, "scale").value = scale
    assert len(calls) == 1
    for scale, levels in ((2, 1), (4, 2)):
        expected = widgets.level_images(model, lr, scale)
        control(viewer, "scale").value = scale
        shown = [np.asarray(ax.images[0].get_array()) for ax in drawn(viewer).axes[2::3]]  # the output column
        assert len(shown) == levels
        for level, picture in zip(expected, shown, strict=True):
            np.testing.assert_allclose(picture, np.clip(level["output"], 0, 1), atol=1e-6)


def test_a_redraw_changes_the_png_and_a_clamped_control_draws_once():
    rng = np.random.default_rng(5)
    explorer = as_explorer(widgets.pyramid_explorer({"noise": rng.random((64, 64))}, levels=4))
    draws = []
    original = explorer.draw

    def counted(**values):
        draws.append(values)
        return original(**values)

    explorer.draw = counted
    before = explorer.figure_view.value
    control(explorer, "level shown").value = 3
    assert explorer.figure_view.value != before and len(draws) == 1
    control(explorer, "levels").value = 3  # clamps "level shown" to 2: one move, one figure
    assert len(draws) == 2 and control(explorer, "level shown").value == 2


def test_charbonnier_x_range_starts_at_its_code_default():
    explorer = widgets.charbonnier_explorer(span=0.05)
    assert control(explorer, "x range").value == 0.05
    assert drawn(explorer).axes[0].get_xlim()[1] >= 0.05
    odd = widgets.charbonnier_explorer(span=0.03)
    assert control(odd, "x range").value == 0.03


def test_a_failing_redraw_raises_when_driven_from_code():
    def draw(value: int):
        if value:
            raise RuntimeError("broken")
        return plt.figure()

    import ipywidgets

    explorer = widgets.Explorer(draw, value=ipywidgets.IntSlider(value=0, description="value"))
    with pytest.raises(RuntimeError):
        control(explorer, "value").value = 1


@pytest.mark.parametrize("arch", ["LapSRN", "MSLapSRN"])
def test_level_images_stream_in_bands_and_equal_the_whole_network(arch, monkeypatch):
    """The fast path gives every level in bands of rows; the plain model run whole gives the same."""
    torch.manual_seed(0)
    model = registry.build(arch, {"scale": 8, "depth": 2, "channels": 8}).eval()
    lr = np.random.default_rng(6).random((37, 29))
    calls = []
    bands = fast.FastPyramid.bands

    def in_bands_of_8_rows(self, x, levels, band=None):
        calls.append(levels)
        return bands(self, x, levels, band=8)

    monkeypatch.setattr(fast.FastPyramid, "bands", in_bands_of_8_rows)
    streamed = widgets.level_images(model, lr, 8)
    assert calls == [3], "the fast path was not taken"
    with torch.no_grad():
        whole = [o[0, 0].double().numpy() for o in model(torch.from_numpy(lr).float()[None, None], levels=3)]
    assert [level["output"].shape for level in streamed] == [(74, 58), (148, 116), (296, 232)]
    for level, expected in zip(streamed, whole, strict=True):
        np.testing.assert_allclose(level["output"], expected, atol=1e-5)
        np.testing.assert_allclose(level["upsampled"] + level["residual"], level["output"], atol=1e-6)
