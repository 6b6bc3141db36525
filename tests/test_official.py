"""Loading the released MatConvNet weights, and clear errors for files that are not networks."""

import numpy as np
import pytest
import scipy.io
from helpers import level_of

from lapsrn_edu.models import LapSRN, MSLapSRN, count_parameters
from lapsrn_edu.models.official import EXPECTED_PARAMETERS, WeightsError, load_official

RELEASES = {
    "LapSRN_x2": (LapSRN, {"scale": 2, "depth": 10}),
    "LapSRN_x4": (LapSRN, {"scale": 4, "depth": 10}),
    "LapSRN_x8": (LapSRN, {"scale": 8, "depth": 5}),
    "MSLapSRN_D5R2": (MSLapSRN, {"depth": 5, "recursions": 2}),
    "MSLapSRN_D5R5": (MSLapSRN, {"depth": 5, "recursions": 5}),
    "MSLapSRN_D5R8": (MSLapSRN, {"depth": 5, "recursions": 8}),
}


@pytest.mark.data
@pytest.mark.parametrize("stem", RELEASES)
def test_release_loads_with_its_architecture(data_root, stem):
    cls, config = RELEASES[stem]
    model = load_official(data_root / "pretrained" / "matconvnet" / f"{stem}.mat")
    assert type(model) is cls and not model.training
    assert {k: getattr(model.config, k) for k in config} == config
    assert count_parameters(model) == EXPECTED_PARAMETERS[stem]
    image_upsample = level_of(model).image_upsample if isinstance(model, LapSRN) else model.image_upsample
    image_upsampler = image_upsample.deconv.weight
    assert not np.allclose(
        image_upsampler.detach().numpy()[0, 0], np.outer([0.25, 0.75, 0.75, 0.25], [0.25, 0.75, 0.75, 0.25])
    )


def test_garbage_file_names_the_file(tmp_path):
    path = tmp_path / "LapSRN_x4.mat"
    path.write_bytes(b"this is not a MATLAB file" * 10)
    with pytest.raises(WeightsError, match="LapSRN_x4.mat"):
        load_official(path)


def test_mat_file_without_a_network(tmp_path):
    path = tmp_path / "other.mat"
    scipy.io.savemat(path, {"something": np.zeros(3)})
    with pytest.raises(WeightsError, match="other.mat"):
        load_official(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.mat"):
        load_official(tmp_path / "missing.mat")
