"""The course's figure helpers: the frameworks drawing, level spectra against the true bands, rows of images."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import torch
from torch import nn

from lapsrn_edu.course import plots
from lapsrn_edu.imaging.pyramid import gaussian_pyramid
from lapsrn_edu.models import LapSRN
from lapsrn_edu.models.layers import ImageUpsampler


def smooth_image(shape, seed=0):
    rng = np.random.default_rng(seed)
    x = np.cumsum(np.cumsum(rng.normal(0, 1, shape), 0), 1)
    return (x - x.min()) / np.ptp(x)


class Oracle(nn.Module):
    """Outputs the true level targets: its residuals are exactly what each level needs."""

    def __init__(self, hr: np.ndarray, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.levels = nn.ModuleList(nn.Module() for _ in range(int(np.log2(scale))))
        for level in self.levels:
            level.image_upsample = ImageUpsampler(1)
        pyramid = gaussian_pyramid(hr, len(self.levels) + 1, kind="bicubic")
        self.targets = [torch.from_numpy(g.astype(np.float32))[None, None] for g in reversed(pyramid[:-1])]

    def forward(self, lr, levels=None):
        return self.targets[: levels or len(self.levels)]


def test_frameworks_figure_draws_three_rows():
    fig = plots.frameworks_figure()
    assert len(fig.axes) == 3
    assert "progressive" in fig.axes[2].get_title(loc="left")


def test_band_spectra_one_entry_per_level_on_the_hr_grid():
    hr = smooth_image((64, 64))
    spectra = plots.residual_band_spectra(LapSRN(scale=4, depth=1, channels=4), [hr, smooth_image((64, 64), 1)], 4)
    assert len(spectra) == 2
    assert spectra[0]["freq"].max() < 0.26 < spectra[1]["freq"].max() < 0.5
    for level in spectra:
        assert set(level) == {"freq", "predicted", "band", "needed"}
        assert all(np.isfinite(level[k]).all() for k in ("predicted", "band", "needed"))
    fig = plots.band_spectra_figure(spectra, "test")
    assert len(fig.axes) == 2


def test_a_model_that_adds_exactly_what_is_needed():
    hr = smooth_image((64, 48), 2)
    for level in plots.residual_band_spectra(Oracle(hr, 4), [hr], 4):
        np.testing.assert_allclose(level["predicted"], level["needed"], atol=1e-4)
        assert np.abs(level["predicted"] - level["band"]).max() > 1e-3  # bilinear image branch, bicubic band


def test_side_by_side_crops_every_panel():
    fig = plots.side_by_side({"a": np.zeros((40, 40)), "b": np.ones((40, 40, 3))}, crop=16, title="t")
    assert [np.asarray(ax.images[0].get_array()).shape[:2] for ax in fig.axes] == [(16, 16), (16, 16)]


def test_history_figure_draws_loss_lr_and_psnr_with_bicubic():
    from lapsrn_edu.training.history import EpochRecord, History

    epochs = [EpochRecord(i, 100 * i, 1.0 / i, 1e-3, 100.0, 1.0, 9.0, 10.0 * i, 11.0 * i, 28.0 + i) for i in (1, 2, 3)]
    history = History(
        {"loss": "charbonnier", "reduction": "paper", "lr_schedule": "cosine", "scale": 4}, "set5", epochs
    )
    fig = plots.history_figure(history, bicubic_psnr=28.43)
    psnr_axis = fig.axes[2]
    assert len(fig.axes) == 3 and list(np.asarray(psnr_axis.lines[0].get_ydata())) == [29.0, 30.0, 31.0]
    assert np.asarray(psnr_axis.lines[1].get_ydata())[0] == 28.43 and "set5" in psnr_axis.get_title()
