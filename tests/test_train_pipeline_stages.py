"""The ``train`` pipeline's simulated stages (issue #15, session 11): ``unrounded`` is the
trained latent values as they are, ``float`` the network as the training loop simulates it
(the reference of the mismatched chips; both checked on a trained network in
``test_train_command.py``), and the synapses the chip's weight levels round to 0 are
counted (:func:`~rockpool_dynapse2.app.train_pipeline.rounded_away`)."""

from dataclasses import replace

import numpy as np
import pytest

from rockpool_dynapse2.app.task_base import Task
from rockpool_dynapse2.app.train_pipeline import TrainJob, build_model, rounded_away
from rockpool_dynapse2.training import ChipModel


def _task(n=12, T=40, C=8, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.random((n, T, C)) < 0.2).astype(np.float32)
    y = np.arange(n) % 2
    return Task(x, y, x.copy(), y.copy(), 2, 1e-3, "t", ("0", "1"))


JOB = TrainJob(inject=False, hidden=(8,), per_class=2, n_chips=1, deviations=(0.2,))


def _with_small_weights(model, small=0.01, every=3):
    """The model's initial parameters with weight magnitudes 1, except every ``every``-th
    drawn synapse at ``small`` (far below half a core's smallest level, 1 / 15 of 1)."""
    params = model.initial_parameters()
    for key, mask in (("w_in", model.connections.input), ("w_rec", model.connections.recurrent)):
        drawn = np.flatnonzero(np.asarray(mask).ravel() > 0)
        magnitude = np.zeros(mask.size, np.float32)
        magnitude[drawn] = 1.0
        magnitude[drawn[::every]] = small
        params[key] = (np.where(params[key].ravel() < 0, -1, 1) * magnitude).reshape(mask.shape).astype(np.float32)
    return params


def test_rounded_away_counts_the_synapses_below_half_the_smallest_level():
    model = build_model(_task(), JOB)
    params = _with_small_weights(model)
    away = rounded_away(model, params)
    for key, mask in (("input", model.connections.input), ("recurrent", model.connections.recurrent)):
        n = int((np.asarray(mask) > 0).sum())
        assert away[key] == pytest.approx(len(range(0, n, 3)) / n)
    unquantized = ChipModel(model.layout, replace(model.settings, quantize=False), model.connections)
    assert rounded_away(unquantized, params) == {"input": 0.0, "recurrent": 0.0}


def test_the_unrounded_stage_keeps_the_weights_the_chip_rounds_to_zero():
    """What ``unrounded`` simulates holds the small weights; what the loop (``float``) and
    the chip simulate holds 0 there, and the rest on the core's levels."""
    from rockpool_dynapse2.training.constraints import jax_ops

    model = build_model(_task(), JOB)
    params = _with_small_weights(model)
    unrounded = model.chip_view(jax_ops(), params, quantize=False, snap=False)
    rounded = model.chip_view(jax_ops(), params)
    drawn = np.asarray(model.connections.input) > 0
    small = drawn & (np.abs(params["w_in"]) < 0.5)
    assert small.any() and np.all(np.asarray(rounded.w_in)[small] == 0)
    assert np.allclose(np.asarray(unrounded.w_in)[small], params["w_in"][small])
    assert np.all(np.asarray(rounded.w_in)[drawn & ~small] != 0)
