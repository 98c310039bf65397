"""A network of several hidden populations through the Python API, in both backends: it
learns a temporal task, and the chip-exact network it leaves runs on the virtual board as
training simulated it (the check issue #15 names: "train a multi-population network through
the Python API in both backends")."""

import numpy as np
import pytest

from rockpool_dynapse2.training import ChipModel, NetworkLayout, TrainSettings


def _order_task(n=64, T=50, C=8, seed=0):
    """Two classes with the same spike totals: channels 0-3 fire before 4-7, or after."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, T, C), np.float32)
    y = np.arange(n) % 2
    for b in range(n):
        first, second = (slice(0, 4), slice(4, 8)) if y[b] == 0 else (slice(4, 8), slice(0, 4))
        x[b, 5:20, first] = rng.random((15, 4)) < 0.5
        x[b, 25:40, second] = rng.random((15, 4)) < 0.5
    return x, y


@pytest.fixture(scope="module")
def data():
    return _order_task(n=96, seed=1), _order_task(n=40, seed=2)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_two_hidden_populations_learn_and_run_on_the_board_as_trained(backend, data):
    from rockpool_dynapse2.placement import config_from_specification
    from rockpool_dynapse2.hardware import DynapseSamna, VirtualBoard
    from rockpool_dynapse2.mapping.trained import spec_from_training
    from rockpool_dynapse2.training.jax_trainer import counts_jax, train_jax
    from rockpool_dynapse2.training.torch_trainer import train_torch

    (x, y), (x_test, y_test) = data
    layout = NetworkLayout.layered(8, hidden=(16, 12), n_classes=2, per_class=3)
    core = ChipModel(layout).core_of_neuron
    cores = [set(core[layout.slice_of(p.name)]) for p in layout.populations]
    assert len(cores) == 3 and all(not (a & b) for i, a in enumerate(cores) for b in cores[i + 1 :])  # each on its own core
    settings = TrainSettings(epochs=12, batch_size=16, learning_rate=0.03, chips_per_step=2, validation_fraction=0.0, seed=3)
    model = ChipModel(layout, settings)
    result = (train_jax if backend == "jax" else train_torch)(model, x, y)
    assert result.backend == backend
    counts = counts_jax(model, result.params, x_test)
    assert model.accuracy(counts, y_test) >= 0.75  # chance is 0.5: the timing was learnt

    spec = spec_from_training(result)
    mapped = config_from_specification(spec)
    board = np.zeros((len(x_test), mapped.n_outputs))
    with DynapseSamna(VirtualBoard(), mapped) as chip:
        for b in range(len(x_test)):
            chip.reset_state()
            board[b] = np.asarray(chip(x_test[b])[0][0]).sum(0)
    out = counts[:, layout.slice_of(layout.output)]
    assert np.array_equal(board, out)  # the board runs what training simulated, spike for spike
