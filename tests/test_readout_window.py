"""The readout window (``TrainSettings.readout_start``): the class is read from the spikes at
or after a step, the same in both trainers, their count functions, a saved network and on a
board; the default is the whole sample, exactly as before."""

import numpy as np
import pytest

from rockpool_dynapse2.errors import ParameterValueError, ShapeError
from rockpool_dynapse2.training import (
    ChipModel,
    NetworkLayout,
    TrainSettings,
    load_parameters,
    readout_counts,
    readout_step,
    save_parameters,
)
from rockpool_dynapse2.training.result import TrainResult


BURSTS = dict(T=40, starts=(3, 23), width=12, p=0.7)  # the burst task of these tests (conftest's burst_task)


def _model(**settings):
    layout = NetworkLayout.layered(8, hidden=(12,), n_classes=2, per_class=2)
    return ChipModel(layout, TrainSettings(**{"epochs": 2, "batch_size": 8, "chips_per_step": 2, "input_scale": 2.0, **settings}))


# --- the one function ------------------------------------------------------------------------


def test_readout_step_is_the_first_step_at_or_after_the_fraction():
    assert readout_step(0.0, 7) == 0
    assert readout_step(0.5, 100) == 50
    assert readout_step(0.5, 7) == 4  # 3.5 -> step 4
    assert readout_step(0.3, 10) == 3  # 0.3 * 10 is 3.0000000000000004 in floats
    assert readout_step(0.9, 10) == 9


def test_readout_counts_sums_the_window_in_every_backend():
    import jax.numpy as jnp
    import torch

    raster = np.random.default_rng(1).integers(0, 3, (3, 10, 5)).astype(np.float32)
    assert np.array_equal(readout_counts(raster), raster.sum(1))  # the default: the whole sample
    assert np.array_equal(readout_counts(raster, 0.3), raster[:, 3:].sum(1))
    assert np.array_equal(np.asarray(readout_counts(jnp.asarray(raster), 0.3)), raster[:, 3:].sum(1))
    assert np.array_equal(readout_counts(torch.as_tensor(raster), 0.3).numpy(), raster[:, 3:].sum(1))


@pytest.mark.parametrize("value", [1.0, -0.1, float("nan"), "half", 1.5])
def test_a_bad_readout_start_is_refused_by_name(value):
    with pytest.raises(ParameterValueError, match="TrainSettings.readout_start"):
        TrainSettings(readout_start=value)


def test_a_window_without_a_step_and_a_raster_of_another_shape_are_refused():
    with pytest.raises(ParameterValueError, match="`readout_start` must be <= 0.9"):
        readout_step(0.95, 10)
    with pytest.raises(ShapeError, match="raster"):
        readout_counts(np.zeros((10, 5)), 0.5)


# --- the trainers -----------------------------------------------------------------------------


def test_the_default_readout_is_the_whole_sample_bit_for_bit(burst_task):
    from rockpool_dynapse2.training.jax_trainer import counts_jax, simulate_jax
    from rockpool_dynapse2.training.torch_trainer import _neurons, counts_torch, simulate_torch

    x, _ = burst_task(**BURSTS)
    model = _model()
    params = model.initial_parameters()
    spikes = np.asarray(simulate_jax(model, params, x))
    assert spikes.sum() > 0
    assert np.array_equal(counts_jax(model, params, x), spikes.sum(1))
    import torch

    p = {"w_in": torch.as_tensor(params["w_in"]), "w_rec": torch.as_tensor(params["w_rec"]),
         "core": {k: torch.as_tensor(v) for k, v in params["core"].items()}}
    with torch.no_grad():
        whole = simulate_torch(model, _neurons(model, False), p, x).sum(1).numpy()
    assert np.array_equal(counts_torch(model, params, x), whole)


def test_a_window_counts_only_its_spikes_and_both_backends_agree(burst_task):
    from rockpool_dynapse2.training.jax_trainer import counts_jax, mismatch_counts_jax, simulate_jax
    from rockpool_dynapse2.training.torch_trainer import counts_torch

    x, _ = burst_task(**BURSTS)
    model = _model(readout_start=0.5)
    params = model.initial_parameters()
    spikes = np.asarray(simulate_jax(model, params, x))
    late = counts_jax(model, params, x)
    assert np.array_equal(late, spikes[:, 20:].sum(1))
    assert 0 < late.sum() < spikes.sum()  # the window drops the early bursts' spikes
    ct = counts_torch(model, params, x)
    assert np.abs(late - ct).sum() <= 0.001 * late.sum()
    chips = mismatch_counts_jax(model, params, x, deviation=0.0, n_chips=1)
    assert np.allclose(chips[0], late)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_training_reads_the_loss_from_the_window(burst_task, backend):
    from rockpool_dynapse2.training.jax_trainer import train_jax
    from rockpool_dynapse2.training.torch_trainer import train_torch

    x, y = burst_task(**BURSTS, n=16)
    train = train_jax if backend == "jax" else train_torch
    settings = dict(epochs=1, inject=False, validation_fraction=0.25, recurrent_scale=1.0)  # output spikes from step 23 on
    whole, late = (train(_model(readout_start=f, **settings), x, y) for f in (0.0, 0.75))
    assert np.isfinite(late.curve("val_loss")).all()
    assert late.curve("val_loss")[0] != whole.curve("val_loss")[0]  # the same network, other counts


def test_a_saved_network_keeps_its_window(burst_task, tmp_path):
    from rockpool_dynapse2.training.jax_trainer import counts_jax

    x, _ = burst_task(**BURSTS)
    model = _model(readout_start=0.5)
    params = model.initial_parameters()
    back = load_parameters(save_parameters(tmp_path / "net.npz", TrainResult(model=model, params=params, backend="jax")))
    assert back.model.settings.readout_start == 0.5
    assert np.array_equal(counts_jax(back.model, back.params, x), counts_jax(model, params, x))


# --- the configuration, the board and deploy --------------------------------------------------


@pytest.fixture(scope="module")
def deployed(burst_task, tmp_path_factory):
    """A tiny untrained network with the window at 0.75 (step 30 of 40; its output neurons fire
    from step 23 on), its configuration, and its outputs on the virtual board."""
    from rockpool_dynapse2.app.train_pipeline import board_outputs, write_files
    from rockpool_dynapse2.app.tasks import Task
    from rockpool_dynapse2.hardware import board_factory
    from rockpool_dynapse2.mapping.trained import spec_from_training
    from rockpool_dynapse2.placement import config_from_specification
    from rockpool_dynapse2.placement.mapped import trained_readout

    tmp = tmp_path_factory.mktemp("window")
    x, y = burst_task(**BURSTS)
    model = _model(readout_start=0.75, recurrent_scale=1.0, input_scale=4.0)
    result = TrainResult(model=model, params=model.initial_parameters(), backend="jax")
    mapped = trained_readout(config_from_specification(spec_from_training(result)), model)
    write_files(tmp, mapped, result, Task(x, y, x, y, n_classes=2, dt=1e-3, name="bursts", class_names=("early", "late")), compress=True)
    out = board_outputs(mapped, x, board_factory("virtual"), rest_steps=0)
    return tmp, model, result, mapped, x, y, out


def test_the_configuration_carries_the_window_and_the_board_counts_it(deployed):
    from rockpool_dynapse2.training.jax_trainer import counts_jax

    tmp, model, result, mapped, x, _, out = deployed
    assert mapped.readout_start == 0.75 and mapped.classes == ((0, 1), (2, 3))
    late = out[:, 30:].sum(1)
    assert np.array_equal(mapped.readout_counts(out), late)
    assert np.array_equal(model.readout_counts(out), late)
    assert not np.array_equal(mapped.predict(late), mapped.predict(out.sum(1)))  # the window changes the classes here
    assert np.array_equal(late, counts_jax(model, result.params, x)[:, model.layout.output_neurons])  # as in training


def test_measure_board_scores_the_window(deployed):
    from rockpool_dynapse2.app.train_pipeline import measure_board
    from rockpool_dynapse2.hardware import board_factory

    _, model, _, mapped, x, _, out = deployed
    y = np.ones(len(x), np.int64)  # the whole sample says class 1 on 4 samples; the window on 2 (the other 2 tie)
    accuracy, again, classes = measure_board(model, mapped, x, y, board_factory("virtual"))
    assert np.array_equal(again, out)
    assert accuracy == model.output_accuracy(out[:, 30:].sum(1), y) != model.output_accuracy(out.sum(1), y)
    assert np.array_equal(classes, mapped.predict(out[:, 30:].sum(1)))  # the window's classes, as deploy prints them


def test_deploy_reads_the_classes_in_the_saved_window(deployed, capsys):
    from rockpool_dynapse2.app.cli import main
    from rockpool_dynapse2.placement import MappedConfiguration

    tmp, _, _, mapped, _, _, out = deployed
    assert MappedConfiguration.load(tmp / "config.json.gz").readout_start == 0.75
    assert main(["deploy", str(tmp / "config.json.gz"), "--input", str(tmp / "x_test.npy"), "--labels", str(tmp / "y_test.npy")]) == 0
    text = capsys.readouterr().out
    assert "the output spikes from step 30 of 40 on (readout_start 0.75)" in text
    shown = " ".join("-" if c < 0 else str(c) for c in mapped.predict(out[:, 30:].sum(1)))
    assert f"class per sample (-: a tie, no class): {shown}\n" in text


def test_map_keeps_the_window_of_a_saved_network(deployed, tmp_path):
    from rockpool_dynapse2.app.cli import main
    from rockpool_dynapse2.placement import MappedConfiguration

    tmp = deployed[0]
    assert main(["map", str(tmp / "network.npz"), "--out", str(tmp_path)]) == 0
    assert MappedConfiguration.load(tmp_path / "config.json.gz").readout_start == 0.75


def test_the_default_configuration_json_is_unchanged_and_bad_windows_are_refused(deployed):
    import dataclasses
    import json

    from rockpool_dynapse2.placement import MappedConfiguration

    mapped = deployed[3]
    whole = dataclasses.replace(mapped, readout_start=0.0)
    assert '"readout_start"' not in whole.to_json()  # files without a window read and write as before
    assert MappedConfiguration.from_json(whole.to_json()).readout_start == 0.0
    assert MappedConfiguration.from_json(mapped.to_json()).readout_start == 0.75
    for bad in (1.0, -0.5, True, "0.5", float("nan")):
        with pytest.raises(ParameterValueError, match="`readout_start` must be a fraction of the sample in"):
            dataclasses.replace(mapped, readout_start=bad)
    head, sep, tail = mapped.to_json().partition(', "configuration": ')
    maps = json.loads(head + "}")
    maps["readout_start"] = "0.75"
    with pytest.raises(ParameterValueError, match="readout_start"):
        MappedConfiguration.from_json(json.dumps(maps)[:-1] + sep + tail)


def test_train_job_takes_the_window_and_refuses_a_bad_one(burst_task):
    from rockpool_dynapse2.app.train_pipeline import TrainJob, build_model
    from rockpool_dynapse2.app.tasks import Task

    x, y = burst_task(**BURSTS)
    job = TrainJob(readout_start=0.5)
    assert build_model(Task(x, y, x, y, n_classes=2, dt=1e-3, name="bursts", class_names=("early", "late")), job).settings.readout_start == 0.5
    for bad in (1.0, -0.1, float("inf")):
        with pytest.raises(ParameterValueError, match="`--readout-start` must be"):
            TrainJob(readout_start=bad)
