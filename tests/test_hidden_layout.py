"""Hidden populations side by side, each with its own start (issue #15, temporal XOR):
``NetworkLayout.layered(parallel=True)``, ``Population.start``, ``TrainJob(parallel=...,
hidden_taus=...)``; the same in JAX and torch, carried to the chip and through a saved network."""

import numpy as np
import pytest

from rockpool_dynapse2.app.task_base import Task
from rockpool_dynapse2.app.train_pipeline import TrainJob, build_model, size_network
from rockpool_dynapse2.errors import ParameterValueError, UnknownParameterError
from rockpool_dynapse2.parameters.convert import tau_from_itau
from rockpool_dynapse2.training import (
    ChipModel,
    NetworkLayout,
    Population,
    TrainResult,
    TrainSettings,
    load_parameters,
    save_parameters,
)

STARTS = ({"tau_ampa": 0.01, "tau_gaba": 0.01}, {"tau_ampa": 0.15, "tau_gaba": 0.15, "tau_nmda": 0.2})
"""A fast and a slow hidden population; ``tau_nmda`` is not trained: it is held per core."""


def _layout(parallel=True, starts=STARTS, C=6):
    return NetworkLayout.layered(C, hidden=(6, 6), n_classes=2, per_class=2, parallel=parallel, starts=starts)


def _task(n=8, T=40, C=6, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.random((n, T, C)) < 0.15).astype(np.float32)
    y = np.arange(n) % 2
    return Task(x, y, x.copy(), y.copy(), 2, 1e-3, "t", ("0", "1"))


def _pairs(layout):
    return [(p.source, p.target) for p in layout.projections]


def test_parallel_populations_each_get_the_input_reach_the_output_and_each_other():
    pairs = _pairs(_layout())
    assert [t for s, t in pairs if s == "input"] == ["hidden0", "hidden1"]
    assert [s for s, t in pairs if t == "output"] == ["hidden0", "hidden1"]
    assert {("hidden0", "hidden1"), ("hidden1", "hidden0"), ("hidden0", "hidden0"), ("hidden1", "hidden1")} <= set(pairs)
    assert not {p for p in pairs if p[1] == "output" and p[0] == "input"}


def test_the_chain_is_unchanged():
    """The default layout lists the projections in the order it did before (the synapses
    drawn from a seed depend on it)."""
    assert _pairs(_layout(parallel=False, starts=None)) == [
        ("input", "hidden0"), ("hidden0", "hidden0"), ("hidden0", "hidden1"), ("hidden1", "hidden1"), ("hidden1", "output")]
    assert all(p.start == () for p in _layout(parallel=False, starts=None).populations)


def test_each_core_starts_from_its_population_values():
    model = ChipModel(_layout(), TrainSettings(fixed={"tau_mem": 0.03}, trainable=("tau_ampa", "tau_gaba", "Ispkthr")))
    core = model.initial_parameters()["core"]
    np.testing.assert_allclose(np.exp(core["tau_ampa"]), [0.01, 0.15, 0.01], rtol=1e-6)  # output: the default 10 ms
    np.testing.assert_allclose(np.exp(core["tau_gaba"]), [0.01, 0.15, 0.01], rtol=1e-6)
    np.testing.assert_allclose(model.core_start["tau_nmda"], [0.01, 0.2, 0.01])  # untrained: held per core
    np.testing.assert_allclose(model.core_start["tau_mem"], [0.03, 0.03, 0.03])  # the settings' fixed value elsewhere


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_chip_view_holds_each_cores_time_constants(backend):
    from rockpool_dynapse2.training.constraints import ops_for

    model = ChipModel(_layout(), TrainSettings())
    params = model.initial_parameters()
    if backend == "torch":
        import torch

        params = {"w_in": torch.as_tensor(params["w_in"]), "w_rec": torch.as_tensor(params["w_rec"]),
                  "core": {k: torch.as_tensor(v) for k, v in params["core"].items()}}
    view = model.chip_view(ops_for(backend), params)
    first = [0, 6, 12]  # a neuron of each core
    taus = {k: tau_from_itau(np.asarray(view.currents[f"Itau_{k}"], np.float64)[first], k) for k in ("ampa", "nmda")}
    np.testing.assert_allclose(taus["ampa"], [0.01, 0.15, 0.01], rtol=0.02)  # snapped to a bias code
    np.testing.assert_allclose(taus["nmda"], [0.01, 0.2, 0.01], rtol=0.02)


def test_both_backends_see_the_same_loss_from_a_parallel_start():
    from rockpool_dynapse2.training.constraints import jax_ops, torch_ops
    from rockpool_dynapse2.training.jax_trainer import counts_jax
    from rockpool_dynapse2.training.torch_trainer import counts_torch

    task = _task(n=6, T=60, C=8)
    model = build_model(task, TrainJob(inject=False, hidden=(8, 8), parallel=True, hidden_taus=(0.01, 0.15)))
    params = model.initial_parameters()
    onehot = np.eye(2, dtype=np.float32)[task.y_train]
    losses = []
    for counts, ops in ((counts_jax(model, params, task.x_train), jax_ops()),
                        (counts_torch(model, params, task.x_train), torch_ops())):
        losses.append([float(t) for t in model.loss_terms(ops.asarray(counts), ops.asarray(onehot), ops)])
    assert np.sum(counts_jax(model, params, task.x_train)) > 0
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-3)


def test_slow_synapses_change_what_the_network_does():
    """The start is not cosmetic: the same synapses and weights with a slow second
    population give other spike counts."""
    from rockpool_dynapse2.training.jax_trainer import counts_jax

    task = _task(n=6, T=60, C=8)
    fast, slow = (build_model(task, TrainJob(inject=False, hidden=(8, 8), parallel=True, hidden_taus=taus))
                  for taus in ((0.01, 0.01), (0.01, 0.3)))
    assert np.array_equal(fast.connections.recurrent, slow.connections.recurrent)
    a, b = (counts_jax(m, m.initial_parameters(), task.x_train) for m in (fast, slow))
    assert not np.array_equal(a[:, 8:16], b[:, 8:16])


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_a_parallel_network_trains_and_keeps_its_per_core_values(backend):
    from rockpool_dynapse2.training.jax_trainer import train_jax
    from rockpool_dynapse2.training.torch_trainer import train_torch

    task = _task(n=16, T=40, C=6)
    model = build_model(task, TrainJob(inject=False, hidden=(6, 6), parallel=True, hidden_taus=(0.01, 0.15), epochs=1, batch_size=8))
    result = (train_jax if backend == "jax" else train_torch)(model, task.x_train, task.y_train)
    tau = np.exp(np.asarray(result.params["core"]["tau_ampa"], np.float64))
    assert np.isfinite(result.curve("loss")).all()
    assert tau[1] > 5 * tau[0]  # one epoch moves each core a little, from its own start


def test_the_chip_and_a_saved_network_hold_the_per_core_values(tmp_path):
    from rockpool_dynapse2.mapping.trained import spec_from_training
    from rockpool_dynapse2.training.jax_trainer import counts_jax

    task = _task(n=6, T=60, C=8)
    model = build_model(task, TrainJob(inject=False, hidden=(8, 8), parallel=True, hidden_taus=(0.01, 0.15)))
    result = TrainResult(model=model, params=model.initial_parameters(), backend="jax")
    spec = spec_from_training(result)
    taus = [tau_from_itau(core.Itau_ampa, "ampa") for core in spec.cores]
    np.testing.assert_allclose(taus, [0.01, 0.15, 0.01], rtol=0.02)
    back = load_parameters(save_parameters(tmp_path / "net.npz", result))
    assert [p.start for p in back.model.layout.populations] == [p.start for p in model.layout.populations]
    np.testing.assert_array_equal(back.model.core_start["tau_ampa"], model.core_start["tau_ampa"])
    assert np.array_equal(counts_jax(back.model, back.params, task.x_train), counts_jax(model, result.params, task.x_train))


def test_size_network_and_the_job_take_the_layout():
    task = _task()
    layout = size_network(task, hidden=(4, 4), parallel=True, hidden_taus=(0.02, 0.2))
    assert [p.start_values for p in layout.populations] == [
        {"tau_ampa": 0.02, "tau_gaba": 0.02}, {"tau_ampa": 0.2, "tau_gaba": 0.2}, {}]
    assert [t for s, t in _pairs(layout) if s == "input"] == ["hidden0", "hidden1"]
    single = size_network(task, parallel=False, hidden_taus=(0.1,))  # the single hidden population of session 9
    assert single.populations[0].start_values == {"tau_ampa": 0.1, "tau_gaba": 0.1}
    assert _pairs(size_network(task, hidden=(4, 4))) == _pairs(NetworkLayout.layered(
        6, hidden=(4, 4), n_classes=2, per_class=8, input_probability=1.0))


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(hidden=(4, 4), hidden_taus=(0.01,)), ParameterValueError, "--hidden-taus"),
    (dict(hidden_taus=(0.01, 0.1)), ParameterValueError, "--hidden-taus"),  # three default hidden populations
    (dict(parallel=False, hidden_taus=(0.01, 0.1)), ParameterValueError, "--hidden-taus"),  # one
    (dict(hidden_taus=(-0.01,)), ParameterValueError, "--hidden-taus"),
    (dict(hidden_taus=(float("nan"),)), ParameterValueError, "--hidden-taus"),
    (dict(hidden_taus=0.1), ParameterValueError, "--hidden-taus"),
    (dict(parallel="yes"), ParameterValueError, "--parallel"),
])
def test_a_bad_hidden_layout_is_refused_by_name(kwargs, error, name):
    with pytest.raises(error, match=name):
        TrainJob(**kwargs)


def test_bad_start_values_are_refused_by_name():
    with pytest.raises(UnknownParameterError, match="start"):
        Population("a", 2, {"tau_slow": 0.1})
    with pytest.raises(ParameterValueError, match=r"start\['tau_ampa'\]"):
        Population("a", 2, {"tau_ampa": 0.0})
    with pytest.raises(ParameterValueError, match="starts"):
        _layout(starts=({"tau_ampa": 0.1},))


def test_the_train_command_refuses_a_bad_hidden_layout_before_any_work(tmp_path, capsys):
    from rockpool_dynapse2.app.cli import main

    code = main(["train", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "out"), "--hidden", "4", "4",
                 "--parallel", "--hidden-taus", "0.01"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--hidden-taus" in err[0]
    assert not (tmp_path / "out").exists()


def _jobs_of_train(task, tmp_path, monkeypatch):
    """Write ``task`` as ``tmp_path / "d.npz"`` and replace the train pipeline by a stub that
    keeps each :class:`TrainJob` the command builds: the list it appends them to."""
    from rockpool_dynapse2.app import train_pipeline

    np.savez(tmp_path / "d.npz", x_train=task.x_train, y_train=task.y_train, x_test=task.x_test, y_test=task.y_test)
    jobs = []

    def run_training(task, job, out_dir, **kwargs):
        jobs.append(job)
        acc = {"float": 1.0, "unrounded": 1.0, "quantized": 1.0, "mismatch": {}, "board": 1.0}
        return {"accuracy": acc, "board_samples": 0, "files": {}}

    monkeypatch.setattr(train_pipeline, "run_training", run_training)
    return jobs


def test_the_train_command_passes_the_hidden_layout_to_the_job(tmp_path, monkeypatch):
    """The options reach the job (the pipeline itself, build_model and a saved network, is
    tested above; a whole train run costs minutes on a shared machine)."""
    from rockpool_dynapse2.app import train_pipeline
    from rockpool_dynapse2.app.cli import main

    task = _task(n=16, T=40, C=6)
    jobs = _jobs_of_train(task, tmp_path, monkeypatch)
    argv = ["train", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "out"), "--quiet", "--hidden", "4", "4"]
    assert main(argv + ["--parallel", "--hidden-taus", "0.01", "0.2", "--initial-drive", "0.05", "--inject-ramp", "7"]) == 0
    assert main(argv) == 0
    assert [(j.hidden, j.parallel, j.hidden_taus, j.drive, j.ramp_epochs) for j in jobs] == [
        ((4, 4), True, (0.01, 0.2), 0.05, 7), ((4, 4), None, None, train_pipeline.INITIAL_DRIVE, 20)]
    layout = size_network(task, jobs[0].hidden, jobs[0].per_class, jobs[0].parallel, jobs[0].hidden_taus)
    assert [p.start_values.get("tau_ampa") for p in layout.populations] == [0.01, 0.2, None]


def test_the_initial_drive_scales_the_input_weights_and_is_checked():
    from rockpool_dynapse2.app.train_pipeline import INITIAL_DRIVE

    task = _task(n=16, T=60, C=8)
    base = build_model(task, TrainJob(inject=False, parallel=False))
    small = build_model(task, TrainJob(inject=False, parallel=False, initial_drive=INITIAL_DRIVE / 4))
    assert TrainJob(parallel=False).drive == INITIAL_DRIVE
    assert 0.05 < small.settings.input_scale < base.settings.input_scale < 1.0  # inside the clip: proportional
    assert small.settings.input_scale == pytest.approx(base.settings.input_scale / 4)
    for bad in (0.0, -1.0, float("nan"), "0.1"):
        with pytest.raises(ParameterValueError, match="--initial-drive"):
            TrainJob(initial_drive=bad)


def test_the_injection_ramp_reaches_the_model_and_is_checked():
    task = _task(n=16, T=60, C=8)
    assert build_model(task, TrainJob(inject_ramp=5)).settings.inject_ramp == 5
    assert build_model(task, TrainJob(inject_ramp=0)).settings.inject_ramp == 0
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ParameterValueError, match="--inject-ramp"):
            TrainJob(inject_ramp=bad)


def test_train_ramps_the_injection_over_a_third_of_the_epochs_by_default_and_says_its_schedule():
    from rockpool_dynapse2.app.train_pipeline import INJECT_RAMP_SHARE, READOUT_START, schedule

    task = _task(n=16, T=60, C=8)
    cases = {TrainJob(): (20, 0.0), TrainJob(quick=True): (13, 0.0), TrainJob(epochs=10): (3, 0.0),
             TrainJob(inject=False): (0, 0.0), TrainJob(inject_ramp=0, readout_start=0.5): (0, 0.5),
             TrainJob(epochs=9, readout_start=0.25): (3, 0.25)}
    for job, (ramp, start) in cases.items():
        assert (job.ramp_epochs, job.readout_fraction) == (ramp, start)
        model = build_model(task, job)
        assert (model.settings.inject_ramp, model.settings.readout_start) == (ramp, start)
        assert (job.resolved()["inject_ramp"], job.resolved()["readout_start"]) == (ramp, start)  # results.json's "job"
    assert (INJECT_RAMP_SHARE, READOUT_START) == (1 / 3, 0.0)
    model = build_model(task, TrainJob())
    assert schedule(TrainJob(), model) == ("with mismatch injection (30%, growing from 0 over the first 20 epochs); "
                                          "a margin: the right output group's 1 + s at least 2 times any other's from "
                                          "epoch 20 once the validation accuracy reaches 75%; classes read from the output "
                                          "spikes of the whole sample")  # 2 classes: half the way from 50 % to 100 %
    unramped = TrainJob(inject_ramp=0, margin_ratio=3, margin_accuracy=0)
    assert "at least 3 times any other's; classes" in schedule(unramped, build_model(task, unramped))
    plain = TrainJob(inject=False, readout_start=0.5)
    assert schedule(plain, build_model(task, plain)) == (
        "without mismatch injection; classes read from the output spikes after 50% of each sample")
    assert "from the first step" in schedule(TrainJob(inject_ramp=0), model)


def test_train_takes_a_batch_size_a_learning_rate_chips_per_step_and_an_average_that_reach_the_model_and_results(tmp_path, monkeypatch):
    from rockpool_dynapse2.app.cli import main

    task = _task(n=16, T=60, C=8)
    jobs = _jobs_of_train(task, tmp_path, monkeypatch)
    argv = ["train", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "out"), "--quiet", "--quick"]
    assert main(argv + ["--batch-size", "12", "--learning-rate", "0.02", "--chips-per-step", "8", "--average", "0.9"]) == 0
    assert main(argv[:-1] + ["--batch-size", "4"]) == 0  # not --quick: its own batch size given
    assert main(argv) == 0
    given, full, default = (build_model(task, job).settings for job in jobs)
    assert (full.batch_size, full.chips_per_step) == (4, 8)
    assert (given.batch_size, given.learning_rate, given.chips_per_step, given.average) == (12, 0.02, 8, 0.9)
    assert (default.batch_size, default.learning_rate, default.chips_per_step, default.average) == (8, 0.01, 4, 0.0)  # --quick's
    assert [(j.resolved()["batch_size"], j.resolved()["learning_rate"], j.resolved()["chips_per_step"], j.resolved()["average"])
            for j in jobs] == [(12, 0.02, 8, 0.9), (4, 0.01, 8, 0.0), (8, 0.01, 4, 0.0)]  # results.json's "job"


def test_the_batch_size_the_learning_rate_and_the_average_are_checked():
    for bad in (0, -8, 2.5, True, "16"):
        with pytest.raises(ParameterValueError, match="--batch-size"):
            TrainJob(batch_size=bad)
        with pytest.raises(ParameterValueError, match="--chips-per-step"):
            TrainJob(chips_per_step=bad)
    for bad in (0.0, -0.01, 1.5, float("nan"), float("inf"), "0.01"):
        with pytest.raises(ParameterValueError, match="--learning-rate"):
            TrainJob(learning_rate=bad)
    assert TrainJob(learning_rate=np.float32(0.5)).learning_rate == 0.5
    for bad in (-0.1, 1.0, float("nan"), "0.9", True):
        with pytest.raises(ParameterValueError, match="--average"):
            TrainJob(average=bad)
    assert (TrainJob().decay, TrainJob(average=0.99).decay) == (0.0, 0.99)


def test_train_takes_workers_that_reach_the_training_loop_and_results(tmp_path, monkeypatch):
    """``--workers N`` reaches ``TrainJob`` and ``results.json``'s job; ``train_model`` hands
    it to ``train_jax``; torch refuses more than one, by name."""
    from rockpool_dynapse2.app import train_pipeline
    from rockpool_dynapse2.app.cli import main
    from rockpool_dynapse2.app.train_pipeline import QUICK_EPOCHS, QUICK_TORCH_EPOCHS, QUICK_WORKERS
    from rockpool_dynapse2.training import jax_trainer

    task = _task(n=16, T=60, C=8)
    jobs = _jobs_of_train(task, tmp_path, monkeypatch)
    argv = ["train", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "out"), "--quiet"]
    assert main(argv + ["--workers", "2"]) == 0 and main(argv) == 0
    assert main(argv + ["--quick"]) == 0 and main(argv + ["--quick", "--workers", "1"]) == 0
    assert main(argv + ["--quick", "--backend", "torch"]) == 0
    assert [j.n_workers for j in jobs] == [2, 1, QUICK_WORKERS, 1, 1]  # --quick: two threads with JAX
    assert [j.resolved()["workers"] for j in jobs] == [2, 1, 2, 1, 1]
    assert (TrainJob(quick=True).n_epochs, TrainJob().n_epochs) == (QUICK_EPOCHS, 60) == (40, 60)
    assert TrainJob(quick=True, backend="torch").n_epochs == QUICK_TORCH_EPOCHS == 25  # no second thread to pay for more
    assert TrainJob(quick=True, backend="torch", epochs=40).n_epochs == 40

    seen = []
    monkeypatch.setattr(jax_trainer, "train_jax", lambda *a, **k: seen.append(k["workers"]))
    train_pipeline.train_model(build_model(task, jobs[0]), task, jobs[0])
    assert seen == [2]

    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ParameterValueError, match="--workers"):
            TrainJob(workers=bad)
    with pytest.raises(ParameterValueError, match="--workers.*torch"):
        TrainJob(backend="torch", workers=2)
    assert TrainJob(backend="torch", workers=1).n_workers == 1
