"""The ``train`` command's default network (session 10, issue #15): three hidden cores side
by side, started at 10, 50 and 150 ms, with a tenth of the initial drive; the single hidden
population of session 9 one flag away (``--no-parallel``, or ``--hidden N``); the demo's
start unchanged."""

import numpy as np
import pytest

from rockpool_dynapse2.app import train_pipeline
from rockpool_dynapse2.app.demo import DemoSettings
from rockpool_dynapse2.app.task_base import Task
from rockpool_dynapse2.app.train_pipeline import (
    INITIAL_DRIVE,
    SIDE_BY_SIDE_DRIVE,
    SIDE_BY_SIDE_TAUS,
    TrainJob,
    build_model,
    size_network,
)


def _task(n_classes=2, n=16, T=60, C=8, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.random((n, T, C)) < 0.1).astype(np.float32)
    y = np.arange(n) % n_classes
    return Task(x, y, x.copy(), y.copy(), n_classes, 1e-3, "t", tuple(str(k) for k in range(n_classes)))


def _hidden(layout):
    return [(p.name, p.size, p.start_values.get("tau_ampa")) for p in layout.populations if p.name != layout.output]


def _pairs(layout):
    return [(p.source, p.target) for p in layout.projections]


@pytest.mark.parametrize("classes, size", [(2, 32), (8, 64), (20, 128)])
def test_the_default_network_is_three_hidden_cores_side_by_side(classes, size):
    layout = size_network(_task(classes, n=classes))
    assert _hidden(layout) == [(f"hidden{k}", size, tau) for k, tau in enumerate(SIDE_BY_SIDE_TAUS)]
    assert all(p.start_values["tau_gaba"] == p.start_values["tau_ampa"] for p in layout.populations[:3])
    inputs = [t for s, t in _pairs(layout) if s == "input"]
    assert inputs == ["hidden0", "hidden1", "hidden2"]  # each fed by the input: side by side, not a chain
    assert layout.n_cores == 4  # one chip: three hidden cores and the output's


def test_the_default_job_builds_the_measured_network():
    """``train`` without options trains the network of ``--hidden 32 32 32 --parallel
    --hidden-taus 0.01 0.05 0.15 --initial-drive 0.025`` (the figures in docs/results.md):
    the same synapses and the same initial input scale."""
    task = _task()
    default = build_model(task, TrainJob(inject=False))
    explicit = build_model(task, TrainJob(inject=False, hidden=(32, 32, 32), parallel=True,
                                          hidden_taus=(0.01, 0.05, 0.15), initial_drive=0.025))
    assert TrainJob().side_by_side and TrainJob().drive == SIDE_BY_SIDE_DRIVE == INITIAL_DRIVE / 10
    assert _pairs(default.layout) == _pairs(explicit.layout) and _hidden(default.layout) == _hidden(explicit.layout)
    assert np.array_equal(default.connections.input, explicit.connections.input)
    assert np.array_equal(default.connections.recurrent, explicit.connections.recurrent)
    assert default.settings.input_scale == explicit.settings.input_scale


@pytest.mark.parametrize("job", [TrainJob(parallel=False), TrainJob(hidden=(32,)), TrainJob(hidden=(32,), parallel=True)])
def test_the_single_hidden_population_is_one_flag_away(job):
    task = _task()
    model = build_model(task, job)
    assert _hidden(model.layout) == [("hidden0", 32, None)] and model.layout.n_cores == 2
    assert not job.side_by_side and job.drive == INITIAL_DRIVE
    before = train_pipeline.initial_input_scale(model.connections, task, train_pipeline.DRIVE_SIGN_MIX, INITIAL_DRIVE)
    assert model.settings.input_scale == before


def test_given_hidden_populations_still_form_a_chain():
    layout = size_network(_task(), hidden=(8, 8))
    assert [t for s, t in _pairs(layout) if s == "input"] == ["hidden0"]
    assert not TrainJob(hidden=(8, 8)).side_by_side and TrainJob(hidden=(8, 8)).drive == INITIAL_DRIVE


def test_the_default_hidden_taus_can_be_replaced_one_per_default_core():
    layout = size_network(_task(), hidden_taus=(0.02, 0.1, 0.3))
    assert [tau for _, _, tau in _hidden(layout)] == [0.02, 0.1, 0.3]
    assert TrainJob(hidden_taus=(0.02, 0.1, 0.3)).hidden_taus == (0.02, 0.1, 0.3)


def test_the_train_command_defaults_to_the_side_by_side_start_and_no_parallel_gives_the_old(tmp_path, monkeypatch):
    from rockpool_dynapse2.app.cli import main

    task = _task()
    np.savez(tmp_path / "d.npz", x_train=task.x_train, y_train=task.y_train, x_test=task.x_test, y_test=task.y_test)
    jobs = []

    def run_training(task, job, out_dir, **kwargs):
        jobs.append(job)
        return {"accuracy": {"float": 1.0, "unrounded": 1.0, "quantized": 1.0, "mismatch": {}, "board": 1.0}, "board_samples": 0, "files": {}}

    monkeypatch.setattr(train_pipeline, "run_training", run_training)
    argv = ["train", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "out"), "--quiet"]
    for extra in ([], ["--no-parallel"], ["--hidden", "32"]):
        assert main(argv + extra) == 0
    assert [(j.side_by_side, j.drive) for j in jobs] == [(True, SIDE_BY_SIDE_DRIVE), (False, INITIAL_DRIVE), (False, INITIAL_DRIVE)]
    assert [len(size_network(task, j.hidden, j.per_class, j.parallel, j.hidden_taus).populations) for j in jobs] == [4, 2, 2]


def test_the_demo_keeps_its_start():
    """The demo's documented figures were measured with its own layout and the drive of
    session 9 (:data:`INITIAL_DRIVE`)."""
    job = DemoSettings.preset("smoke").job(inject=False)
    assert not job.side_by_side and job.drive == INITIAL_DRIVE
