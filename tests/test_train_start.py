"""The start ``train`` gives a network (issue #15): balanced initial weights, output neurons
kept active, 8 output neurons per class, batches of 16; the start before is one job away,
and both backends see the same loss from it."""

import numpy as np
import pytest

from rockpool_dynapse2.app.task_base import Task
from rockpool_dynapse2.app.train_pipeline import (
    BATCH_SIZE,
    QUICK_BATCH_SIZE,
    DRIVE_SIGN_MIX,
    EXCITATORY_FRACTION,
    OUTPUT_MIN_RATE,
    TrainJob,
    build_model,
    initial_input_scale,
    size_network,
)
from rockpool_dynapse2.errors import ParameterValueError

BEFORE = dict(excitatory_fraction=0.8, min_rate=1.0, per_class=4, batch_size=64)
"""The pipeline's start before issue #15's session."""


def _task(n_classes=2, n=8, T=40, C=6, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.random((n, T, C)) < 0.1).astype(np.float32)
    y = np.arange(n) % n_classes
    return Task(x, y, x.copy(), y.copy(), n_classes, 1e-3, "t", tuple(str(k) for k in range(n_classes)))


@pytest.mark.parametrize("classes, per_class", [(2, 8), (8, 8), (9, 4), (16, 4), (17, 2)])
def test_output_groups_are_8_neurons_up_to_8_classes(classes, per_class):
    layout = size_network(_task(classes, n=classes))
    assert layout.per_class == per_class
    assert size_network(_task(classes, n=classes), per_class=3).per_class == 3


def test_the_job_sets_the_start_of_the_model():
    task = _task()
    model = build_model(task, TrainJob(inject=False))
    s = model.settings
    assert (s.excitatory_fraction, s.min_rate, s.batch_size) == (EXCITATORY_FRACTION, OUTPUT_MIN_RATE, BATCH_SIZE)
    assert (EXCITATORY_FRACTION, OUTPUT_MIN_RATE, BATCH_SIZE) == (0.5, 4.0, 16)
    assert build_model(task, TrainJob(inject=False, quick=True)).settings.batch_size == QUICK_BATCH_SIZE == 8
    old = build_model(task, TrainJob(inject=False, **BEFORE))
    o = old.settings
    assert (o.excitatory_fraction, o.min_rate, o.batch_size, old.layout.per_class) == (0.8, 1.0, 64, 4)


def test_a_balanced_start_changes_the_signs_not_the_magnitudes():
    """Both starts scale the input weights for DRIVE_SIGN_MIX; the share of excitatory
    synapses follows the job."""
    task = _task(n=64, C=32)
    shares = {}
    for frac in (0.5, 0.8):
        model = build_model(task, TrainJob(inject=False, excitatory_fraction=frac, parallel=False))
        assert model.settings.input_scale == initial_input_scale(model.connections, task, DRIVE_SIGN_MIX)
        w = model.initial_parameters()["w_in"][model.connections.input > 0]
        shares[frac] = float(np.mean(w > 0))
    assert abs(shares[0.5] - 0.5) < 0.05 and abs(shares[0.8] - 0.8) < 0.05


@pytest.mark.parametrize("kwargs", [dict(excitatory_fraction=1.5), dict(excitatory_fraction=float("nan")),
                                    dict(min_rate=-1.0), dict(min_rate="4")])
def test_a_bad_start_gets_a_named_error(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ParameterValueError, match=name):
        TrainJob(**kwargs)


def test_jax_and_torch_see_the_same_loss_from_the_start():
    from rockpool_dynapse2.training.constraints import jax_ops, torch_ops
    from rockpool_dynapse2.training.jax_trainer import counts_jax
    from rockpool_dynapse2.training.torch_trainer import counts_torch

    task = _task(n=6, T=60, C=8)
    model = build_model(task, TrainJob(inject=False, hidden=(12,)))
    params = model.initial_parameters()
    onehot = np.eye(2, dtype=np.float32)[task.y_train]
    losses = []
    for counts, ops in ((counts_jax(model, params, task.x_train), jax_ops()),
                        (counts_torch(model, params, task.x_train), torch_ops())):
        terms = model.loss_terms(ops.asarray(counts), ops.asarray(onehot), ops)
        losses.append([float(t) for t in terms])
    assert np.sum(counts_jax(model, params, task.x_train)) > 0
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-3)
    assert losses[0][1] > 0  # min_rate 4: the quiet start's output neurons are penalised
