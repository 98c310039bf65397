"""``keep_tolerance`` (issue #15, session 22): validation losses within a tolerance of the
lowest count as ties and the later epoch is kept. The tracker's rule is tested in
``test_training.py``; here the ``train`` command's option, its checks and the saved network."""

import json

import numpy as np
import pytest

from rockpool_dynapse2.errors import ParameterValueError


def test_train_takes_a_keep_tolerance_that_reaches_the_model_and_results(train_argv, train_jobs):
    from rockpool_dynapse2.app.cli import main
    from rockpool_dynapse2.app.train_pipeline import KEEP_TOLERANCE, TrainJob, build_model

    for extra in ([], ["--keep-tolerance", "0"], ["--keep-tolerance", "0.05"]):
        assert main(train_argv + extra) == 0
    assert KEEP_TOLERANCE == 0.01  # train's default; the library's (TrainSettings) is 0, the lowest
    assert [build_model(task, job).settings.keep_tolerance for task, job in train_jobs] == [0.01, 0.0, 0.05]
    assert [j.resolved()["keep_tolerance"] for _, j in train_jobs] == [0.01, 0.0, 0.05]  # results.json's "job"
    for bad in (-0.01, float("nan"), float("inf"), "0.1", True):
        with pytest.raises(ParameterValueError, match="--keep-tolerance"):
            TrainJob(keep_tolerance=bad)


def test_a_network_saved_before_the_option_reloads_with_strictly_the_lowest(tmp_path):
    from rockpool_dynapse2.training import ChipModel, NetworkLayout, TrainResult, TrainSettings, load_parameters, save_parameters

    model = ChipModel(NetworkLayout.layered(4, [4], 2, per_class=1), TrainSettings(keep_tolerance=0.02))
    path = save_parameters(tmp_path / "n.npz", TrainResult(model, model.initial_parameters(), "jax"))
    assert load_parameters(path).model.settings.keep_tolerance == 0.02
    data = dict(np.load(path))
    meta = json.loads(str(data.pop("meta")))
    del meta["settings"]["keep_tolerance"]
    np.savez(tmp_path / "old.npz", meta=np.array(json.dumps(meta)), **data)
    assert load_parameters(tmp_path / "old.npz").model.settings.keep_tolerance == 0.0
