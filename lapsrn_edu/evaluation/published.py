"""The paper's published scores, transcribed once: every lesson, study, card and test that compares
with the paper reads them here (CVPR 2017, Table 4; docs/paper.md#results shows the same table).

The transcription is checked twice: ``tests/test_published.py`` compares it with the table of
docs/paper.md, and the released weights scored by :mod:`lapsrn_edu.evaluation.evaluate` reproduce
every LapSRN cell at the precision the paper prints (``data/results/official_benchmark.csv``).
"""

from __future__ import annotations

from ..errors import OptionError

# LapSRN's rows of Table 4: (dataset, scale) -> (PSNR dB, SSIM), each scale by its own model.
LAPSRN: dict[tuple[str, int], tuple[float, float]] = {
    ("set5", 2): (37.52, 0.959),
    ("set14", 2): (33.08, 0.913),
    ("bsd100", 2): (31.80, 0.895),
    ("urban100", 2): (30.41, 0.910),
    ("manga109", 2): (37.27, 0.974),
    ("set5", 4): (31.54, 0.885),
    ("set14", 4): (28.19, 0.772),
    ("bsd100", 4): (27.32, 0.728),
    ("urban100", 4): (25.21, 0.756),
    ("manga109", 4): (29.09, 0.890),
    ("set5", 8): (26.14, 0.738),
    ("set14", 8): (24.44, 0.623),
    ("bsd100", 8): (24.54, 0.586),
    ("urban100", 8): (21.81, 0.581),
    ("manga109", 8): (23.39, 0.735),
}

# Set5 x4 PSNR (dB) of the methods the course compares with, as the same table lists them.
SET5_X4: dict[str, float] = {"bicubic": 28.42, "SRCNN": 30.49, "VDSR": 31.35, "DRCN": 31.53, "LapSRN": 31.54}


def lapsrn_psnr(dataset: str, scale: int) -> float:
    """LapSRN's published PSNR on ``dataset`` at ``scale``; a clear error where Table 4 has none."""
    if (dataset, scale) not in LAPSRN:
        known = ", ".join(sorted({d for d, _ in LAPSRN}))
        raise OptionError(f"the paper publishes no LapSRN score for {dataset} x{scale}; it has {known} at x2, x4, x8")
    return LAPSRN[(dataset, scale)][0]
