"""``train --extend E`` (session 29): after the scheduled epochs, E more from the kept one
at the whole injected deviation with the margin, at a share of the learning rate
(``benchmarks/extend_run.py`` measured it on saved runs)."""

import numpy as np
import pytest

from rockpool_dynapse2.errors import ParameterValueError
from rockpool_dynapse2.training import ChipModel, EpochRecord, NetworkLayout, TrainResult, TrainSettings


def test_the_continuation_trains_at_the_whole_deviation_with_the_margin_at_a_share_of_the_rate():
    from rockpool_dynapse2.app.train_pipeline import CONTINUE_LR_SHARE, continued_settings

    run = TrainSettings(epochs=40, inject_ramp=13, learning_rate=0.01, margin_ratio=2.0, margin_accuracy=0.5, seed=3)
    more = continued_settings(run, 20)
    assert (more.epochs, more.inject_ramp, more.margin_from, more.keep_from, more.margin_accuracy) == (20, 0, 0, 0, 0.0)
    assert more.learning_rate == pytest.approx(0.01 * CONTINUE_LR_SHARE) and CONTINUE_LR_SHARE == 0.3
    assert (more.margin_ratio, more.seed, more.deviation, more.quantize) == (2.0, 3, run.deviation, run.quantize)
    assert continued_settings(run, 5, learnt=False).margin_accuracy == 0.5  # not yet learnt: the margin still waits
    for bad in (0, -1, 2.5, "3", None):
        with pytest.raises(ParameterValueError, match="epochs"):
            continued_settings(run, bad)
    with pytest.raises(ParameterValueError, match="learnt"):
        continued_settings(run, 5, learnt="yes")
    assert continued_settings(run, 5, lr_share=0.5).learning_rate == pytest.approx(0.005)
    for bad in (0.0, 1.5, float("nan"), "0.3"):
        with pytest.raises(ParameterValueError, match="lr_share"):
            continued_settings(run, 5, lr_share=bad)


def _result(model, n, seconds, best, params):
    out = TrainResult(model=model, params=params, backend="jax", best_epoch=best, seconds=seconds)
    out.history = [EpochRecord(e, 1.0, 0.5, 1.0, 1.0, 0, 0.01, seconds * (e + 1) / n) for e in range(n)]
    return out


def test_a_run_continued_counts_the_continuations_epochs_and_seconds_on_and_keeps_its_parameters():
    model = ChipModel(NetworkLayout.layered(4, hidden=(6,), n_classes=2, per_class=2))
    first, more = _result(model, 3, 30.0, 1, {"a": 1}), _result(None, 2, 10.0, 1, {"a": 2})
    joined = first.continued_by(more)
    assert [r.epoch for r in joined.history] == [0, 1, 2, 3, 4]
    assert [r.seconds for r in joined.history][3:] == [35.0, 40.0] and joined.seconds == 40.0
    assert (joined.best_epoch, joined.params, joined.model) == (4, {"a": 2}, model)
    assert [r.epoch for r in more.history] == [0, 1]  # the continuation's own result is left as it was
    with pytest.raises(ParameterValueError, match="more"):
        first.continued_by({"a": 2})


def test_train_continues_from_the_kept_parameters_and_logs_the_epochs_counted_on(monkeypatch):
    from rockpool_dynapse2.app import train_pipeline as tp
    from rockpool_dynapse2.app.task_base import Task
    from rockpool_dynapse2.training import jax_trainer

    rng = np.random.default_rng(0)
    x, y = rng.poisson(0.3, (16, 30, 4)).astype(np.float32), np.arange(16) % 2
    task = Task(x, y, x, y, 2, 1e-3, "t", ("a", "b"))
    job = tp.TrainJob(epochs=3, extend=2, inject_ramp=2, batch_size=4, chips_per_step=2, hidden=(6,))
    calls, returns, logged = [], [], []
    real = jax_trainer.train_jax

    def spy(model, *args, params=None, **kwargs):
        calls.append((model.settings, params))
        returns.append(real(model, *args, params=params, **kwargs))
        return returns[-1]

    monkeypatch.setattr(jax_trainer, "train_jax", spy)
    model = tp.build_model(task, job)
    result = tp.train_model(model, task, job, logged.append)
    (first, start), (more, resumed) = calls
    assert start is None and first.epochs == 3 and (more.epochs, more.inject_ramp) == (2, 0)
    assert [r.epoch for r in result.history] == [r.epoch for r in logged] == [0, 1, 2, 3, 4]
    assert [r.seconds for r in result.history] == [r.seconds for r in logged]  # counted on, as in the history
    assert result.best_epoch >= 3 and result.model is model
    assert "then 2 epochs more from the kept one" in tp.schedule(job, model)
    assert job.resolved()["extend"] == 2 and tp.TrainJob().resolved()["extend"] == 0
    assert resumed is returns[0].params  # the first run's kept parameters
    assert result.params is returns[1].params


def test_train_takes_extend_and_refuses_a_bad_count_by_name(train_argv, train_jobs, capsys):
    from rockpool_dynapse2.app.cli import main
    from rockpool_dynapse2.app.train_pipeline import TrainJob

    assert main(train_argv + ["--extend", "5"]) == 0 and main(train_argv) == 0
    assert [job.extend for _, job in train_jobs] == [5, None]
    for bad in (-1, 1.5, "x"):
        with pytest.raises(ParameterValueError, match="--extend"):
            TrainJob(extend=bad)
    assert main(train_argv + ["--extend", "-2"]) != 0
    assert "--extend" in capsys.readouterr().err
