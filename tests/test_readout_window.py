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


def _task(n=8, T=40, C=8, seed=0):
    """Bursts early (class 0) or late (class 1) on half of the channels."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, T, C), np.float32)
    y = np.arange(n) % 2
    for b in range(n):
        t0 = 3 if y[b] == 0 else 23
        x[b, t0 : t0 + 12, : C // 2] = rng.random((12, C // 2)) < 0.7
    return x, y


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


def test_the_default_readout_is_the_whole_sample_bit_for_bit():
    from rockpool_dynapse2.training.jax_trainer import counts_jax, simulate_jax
    from rockpool_dynapse2.training.torch_trainer import _neurons, counts_torch, simulate_torch

    x, _ = _task()
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


def test_a_window_counts_only_its_spikes_and_both_backends_agree():
    from rockpool_dynapse2.training.jax_trainer import counts_jax, mismatch_counts_jax, simulate_jax
    from rockpool_dynapse2.training.torch_trainer import counts_torch

    x, _ = _task()
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
def test_training_reads_the_loss_from_the_window(backend):
    from rockpool_dynapse2.training.jax_trainer import train_jax
    from rockpool_dynapse2.training.torch_trainer import train_torch

    x, y = _task(n=16)
    train = train_jax if backend == "jax" else train_torch
    settings = dict(epochs=1, inject=False, validation_fraction=0.25, recurrent_scale=1.0)  # output spikes from step 23 on
    whole, late = (train(_model(readout_start=f, **settings), x, y) for f in (0.0, 0.75))
    assert np.isfinite(late.curve("val_loss")).all()
    assert late.curve("val_loss")[0] != whole.curve("val_loss")[0]  # the same network, other counts


def test_a_saved_network_keeps_its_window(tmp_path):
    from rockpool_dynapse2.training.jax_trainer import counts_jax

    x, _ = _task()
    model = _model(readout_start=0.5)
    params = model.initial_parameters()
    back = load_parameters(save_parameters(tmp_path / "net.npz", TrainResult(model=model, params=params, backend="jax")))
    assert back.model.settings.readout_start == 0.5
    assert np.array_equal(counts_jax(back.model, back.params, x), counts_jax(model, params, x))
