"""Every EXIF orientation is honoured: an image comes out the way a viewer shows it."""

import numpy as np
import pytest
from PIL import Image as PILImage

from lapsrn_edu.data.datasets import read_image

# What a viewer does to the stored pixels for each EXIF orientation value (the EXIF 2.3 table).
DISPLAYED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],  # mirrored left-right
    3: lambda a: a[::-1, ::-1],  # turned 180 degrees
    4: lambda a: a[::-1],  # mirrored top-bottom
    5: lambda a: a.transpose(1, 0, 2),  # mirrored across the main diagonal
    6: lambda a: np.rot90(a, k=-1),  # turned 90 degrees clockwise (a phone held upright)
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),  # mirrored across the other diagonal
    8: lambda a: np.rot90(a, k=1),  # turned 90 degrees counter-clockwise
}


@pytest.mark.parametrize("orientation", DISPLAYED)
def test_read_image_turns_the_pixels_as_the_exif_orientation_says(orientation, tmp_path):
    stored = np.random.default_rng(orientation).integers(0, 256, (5, 8, 3), dtype=np.uint8)  # wide: turns show
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "photo.png"
    PILImage.fromarray(stored).save(path, exif=exif)
    got = read_image(path).pixels
    expected = DISPLAYED[orientation](stored) / 255.0
    assert got.shape == expected.shape and np.array_equal(got, expected)


def test_an_upscaled_phone_photo_comes_out_upright(tmp_path):
    from lapsrn_edu.cli import main

    stored = np.zeros((6, 10, 3), dtype=np.uint8)
    stored[:, :5] = 255  # the left half white as stored: the top half once turned clockwise
    exif = PILImage.Exif()
    exif[0x0112] = 6
    PILImage.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif, quality=100)
    assert main(["upscale", str(tmp_path / "phone.jpg"), str(tmp_path / "out.png"), "--scale", "2"]) == 0
    out = np.asarray(PILImage.open(tmp_path / "out.png"))
    assert out.shape[:2] == (20, 12)  # upright: taller than wide
    assert out[:6].mean() > 200 and out[-6:].mean() < 50
