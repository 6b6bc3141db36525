"""The studies train every variant under one budget with the package's training loop."""

import math

from lapsrn_edu import studies
from lapsrn_edu.models import OneShotSR
from lapsrn_edu.train import recipe, train


def tiny_budget(tmp_path, **overrides):
    return studies.budget(
        True, out=str(tmp_path), epochs=1, iterations_per_epoch=3, train_data="embedded", val_data="embedded", threads=1, **overrides
    )


def test_a_one_shot_network_trains_on_the_finest_level(tmp_path):
    config = recipe("quick", scale=4, depth=2, channels=8, batch_size=2, patch_size=32, epochs=2,
                    iterations_per_epoch=4, train_data="embedded", val_data="embedded", out=str(tmp_path), threads=1)
    model = OneShotSR(scale=4, depth=2, channels=8)
    before = [p.detach().clone() for p in model.parameters()]
    history = train(config, progress=False, model=model)
    assert len(history.epochs) == 2 and all(math.isfinite(e.loss) for e in history.epochs)
    assert any(not (a == b).all() for a, b in zip(before, model.parameters()))
    assert (tmp_path / "last.pt").is_file()


def test_run_study_trains_every_variant_and_reuses_its_result(tmp_path):
    config = tiny_budget(tmp_path)
    result = studies.run_study("pyramid", config, progress=False, reuse=True)
    assert [v.name for v in result.variants] == [v.name for v in studies.STUDIES["pyramid"][1]]
    assert all(math.isfinite(v.final_psnr) and v.parameters > 0 for v in result.variants)
    saved = tmp_path / "pyramid.json"
    assert saved.is_file()
    mtime = saved.stat().st_mtime_ns
    again = studies.run_study("pyramid", config, progress=False, reuse=True)
    assert saved.stat().st_mtime_ns == mtime and again.variants[0].final_psnr == result.variants[0].final_psnr
