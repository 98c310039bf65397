"""Fine-tuning for one chip (issue #18 item 3): training on a given chip (``chip=``), the
translation of a chip profile into the training model's factors, and ``twin.fine_tune``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from rockpool_dynapse2.errors import ParameterValueError, ShapeError, UnknownParameterError
from rockpool_dynapse2.hardware import ChipProfile, DynapseSamna, VirtualBoard
from rockpool_dynapse2.placement import config_from_specification
from rockpool_dynapse2.mapping.trained import spec_from_training
from rockpool_dynapse2.training import CHIP_NAMES, ChipModel, NetworkLayout, TrainResult, TrainSettings
from rockpool_dynapse2.training.jax_trainer import counts_jax, train_jax
from rockpool_dynapse2.training.torch_trainer import counts_torch, train_torch
from rockpool_dynapse2.twin.finetune import FineTuneResult, _tuned_model, always_on_in, board_accuracy, chip_factors, fine_tune

LAYOUT = NetworkLayout.layered(8, hidden=(12,), n_classes=2, per_class=2)


def _model(**settings) -> ChipModel:
    args = dict(epochs=1, batch_size=8, chips_per_step=2, input_scale=2.0, recurrent_scale=2.0, excitatory_fraction=0.9,
                validation_fraction=0.25)
    return ChipModel(LAYOUT, TrainSettings(**{**args, **settings}))


def _data(n: int = 16, steps: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    rate = np.where(np.arange(8) < 4, 0.25, 0.05)[None, None, :]
    rate = np.where(y[:, None, None] == 1, rate[..., ::-1], rate)  # class 1: the other half of the channels is busy
    return (rng.random((n, steps, 8)) < rate).astype(np.float32), y


@pytest.fixture(scope="module")
def network():
    """An untrained (initial) network, placed, with data: spikes enough to tell chips apart."""
    model = _model()
    result = TrainResult(model, model.initial_parameters(), "jax")
    mapped = config_from_specification(spec_from_training(result))
    return result, mapped, _data()


def _place(mapped, j):
    a = mapped.neurons[j]
    return (a.chip, a.core, a.neuron)


def _board_counts(mapped, profile, x):
    with DynapseSamna(VirtualBoard(profile=profile), mapped) as mod:
        out = []
        for b in range(len(x)):
            mod.reset_state()
            out.append(np.asarray(mod(x[b])[0][0]).sum(0))
    return np.array(out)


def _flawed_chip(mapped) -> ChipProfile:
    """A drawn chip (30 %) with a dead hidden neuron and defective CAM entries on the
    network's neurons, no always-on neuron."""
    drawn = ChipProfile.draw(3, always_on_fraction=0.0)
    hidden = LAYOUT.slice_of("hidden0")
    output = LAYOUT.output_neurons
    defects = [_place(mapped, output[0]) + (e,) for e in range(4)] + [_place(mapped, hidden.start + 1) + (e,) for e in range(6)]
    return replace(drawn, always_on_neurons=(), dead_neurons=(_place(mapped, hidden.start),), defective_cam_entries=tuple(defects))


# --- the translation ------------------------------------------------------------------------------


def test_the_factors_reproduce_the_virtual_board(network):
    result, mapped, (x, _) = network
    profile = _flawed_chip(mapped)
    chip = chip_factors(result, mapped, profile)
    out = list(LAYOUT.output_neurons)
    board = _board_counts(mapped, profile, x)
    simulated = counts_jax(result.model, result.params, x, chip=chip)[:, out]
    nominal = counts_jax(result.model, result.params, x)[:, out]
    assert board.sum() > 100  # the outputs fire: the comparison means something
    assert np.abs(nominal - board).sum() > 20  # the chip's flaws change the counts ...
    # ... and the factors reproduce them: here spike for spike; the tolerance is float32
    # rounding (the board multiplies the factors in float64, the model in float32), which
    # moved 0.8 % of the output spikes on a 60-input network (docs/training.md)
    assert np.abs(simulated - board).sum() <= 0.01 * board.sum()
    assert (chip["w_in"][:, LAYOUT.slice_of("hidden0").start] == 0).all()  # the dead neuron hears nothing
    assert (chip["w_in"] == 0).sum() > LAYOUT.n_inputs  # the defective entries removed synapses too


def test_the_ideal_chip_gives_factors_of_one(network):
    result, mapped, _ = network
    chip = chip_factors(result.model, mapped, ChipProfile.ideal())
    assert sorted(chip) == sorted(CHIP_NAMES)
    assert all((v == 1).all() for v in chip.values())


def test_always_on_neurons_are_reported_not_modelled(network):
    result, mapped, _ = network
    profile = replace(ChipProfile.ideal(), always_on_neurons=(_place(mapped, 5),))
    assert always_on_in(mapped, profile) == (5,)
    assert always_on_in(mapped, ChipProfile.ideal()) == ()


def test_chip_factors_refuse_another_network(network):
    result, mapped, _ = network
    other = ChipModel(NetworkLayout.layered(8, hidden=(6,), n_classes=2, per_class=2), TrainSettings())
    with pytest.raises(ParameterValueError, match="mapped_configuration"):
        chip_factors(other, mapped, ChipProfile.ideal())
    with pytest.raises(ParameterValueError, match="profile"):
        chip_factors(result, mapped, "chip.json")


# --- training on one chip ----------------------------------------------------------------------------


def _ones(model):
    n, c = model.layout.n_neurons, model.layout.n_inputs
    shapes = {"w_in": (c, n), "w_rec": (n, n)}
    return {k: np.ones(shapes.get(k, (n,)), np.float32) for k in CHIP_NAMES}


def test_jax_on_an_ideal_chip_trains_bit_for_bit_as_without_a_chip():
    """With injection (each step's chips are the given chip times random ones); without it,
    fine_tune's test trains jax on a given chip alone."""
    model = _model(inject=True, validation_fraction=0.0)  # one compiled step: the validation's chip is fine_tune's test's
    x, y = _data(n=8, steps=10)
    plain, on_chip = train_jax(model, x, y), train_jax(model, x, y, chip=_ones(model))
    for key in ("w_in", "w_rec"):
        np.testing.assert_array_equal(plain.params[key], on_chip.params[key])
    assert not np.array_equal(plain.params["w_in"], model.initial_parameters()["w_in"])  # it did train


def test_torch_on_an_ideal_chip_with_injection_trains_bit_for_bit_as_without_a_chip():
    model = _model(inject=True)
    x, y = _data(steps=10)
    plain, on_chip = train_torch(model, x, y), train_torch(model, x, y, chip=_ones(model))
    for key in ("w_in", "w_rec"):
        np.testing.assert_array_equal(plain.params[key], on_chip.params[key])


def test_both_backends_agree_on_a_given_chip(network):
    result, mapped, (x, _) = network
    chip = chip_factors(result, mapped, _flawed_chip(mapped))
    j = counts_jax(result.model, result.params, x, chip=chip)
    t = counts_torch(result.model, result.params, x, chip=chip)
    assert j.sum() > 100
    assert np.abs(j - t).sum() <= 0.01 * j.sum()  # float32 in two libraries: a spike may move, not more
    assert not np.array_equal(j, counts_jax(result.model, result.params, x))


def test_training_on_a_chip_follows_the_chip():
    """A chip whose output neurons of class 0 are deaf: training on it differs from training without it."""
    model = _model(inject=False)
    x, y = _data()
    chip = _ones(model)
    chip["w_rec"][:, list(LAYOUT.output_neurons)[:2]] = 0.0
    plain, deaf = train_torch(model, x, y), train_torch(model, x, y, chip=chip)
    assert not np.array_equal(plain.params["w_rec"], deaf.params["w_rec"])
    counts = counts_torch(model, deaf.params, x, chip=chip)
    assert (counts[:, list(LAYOUT.output_neurons)[:2]] == 0).all()


def _bad_chips(model):
    ones = _ones(model)
    missing = {k: v for k, v in ones.items() if k != "Itau_mem"}
    return [
        ("not a mapping", [1.0], ParameterValueError),
        ("unknown key", {**ones, "Ifoo": ones["Idc"]}, UnknownParameterError),
        ("missing key", missing, ParameterValueError),
        ("wrong shape", {**ones, "w_in": ones["w_rec"]}, ShapeError),
        ("zero current factor", {**ones, "Idc": np.zeros_like(ones["Idc"])}, ParameterValueError),
        ("negative weight factor", {**ones, "w_rec": -ones["w_rec"]}, ParameterValueError),
        ("NaN", {**ones, "Io": np.full_like(ones["Io"], np.nan)}, ParameterValueError),
    ]


@pytest.mark.parametrize("case", range(7))
def test_a_bad_chip_is_refused_by_name_everywhere(case):
    model = _model()
    what, chip, error = _bad_chips(model)[case]
    x, y = _data(4, 5)
    for call in (lambda: counts_jax(model, model.initial_parameters(), x, chip=chip),
                 lambda: counts_torch(model, model.initial_parameters(), x, chip=chip),
                 lambda: train_jax(model, x, y, chip=chip), lambda: train_torch(model, x, y, chip=chip)):
        with pytest.raises(error, match="chip"):
            call()


def test_a_zero_weight_factor_is_a_lost_synapse_and_allowed():
    model = _model()
    chip = {**_ones(model), "w_in": np.zeros((8, LAYOUT.n_neurons), np.float32)}
    x, _ = _data(4, 20)
    assert counts_jax(model, model.initial_parameters(), x, chip=chip).sum() == 0  # no input reaches any neuron


# --- fine_tune -------------------------------------------------------------------------------------------


def test_fine_tune_places_tunes_and_measures_on_the_chip(network):
    result, _, (x, y) = network
    profile = ChipProfile.draw(1, always_on_fraction=0.0)
    placed = []

    def place(spec):
        placed.append(spec)
        return config_from_specification(spec)

    out = fine_tune(result, profile, x, y, epochs=1, place=place)
    assert isinstance(out, FineTuneResult) and len(placed) == 2  # before and after
    assert out.result.model.settings.epochs == 1 and not out.result.model.settings.inject
    assert out.result.model is _tuned_model(result.model, 1, 0.003, 0.0)  # one per settings: chip after chip, compiled once
    assert not np.array_equal(out.result.params["w_in"], result.params["w_in"])
    assert out.mapped.classes == ((0, 1), (2, 3))
    assert out.same_places and out.always_on == ()
    original = replace(config_from_specification(spec_from_training(result)), classes=out.mapped.classes)
    assert out.before == board_accuracy(result.model, original, profile, x, y)
    assert out.after == board_accuracy(out.result.model, out.mapped, profile, x, y)
    assert abs(out.twin_before - out.before) <= 1 / len(y)  # the translation holds on the configuration it was made from
    expected = chip_factors(result, original, profile)
    assert all(np.array_equal(out.chip[k], expected[k]) for k in CHIP_NAMES)  # tuned on the original places' chip
    quiet = fine_tune(result, profile, x, y, epochs=1, measure=False)  # the yield study measures on its own board
    assert (quiet.before, quiet.after, quiet.twin_before, quiet.twin_after) == (None,) * 4
    assert quiet.mapped.to_json() == out.mapped.to_json()  # the same tuned network
    assert all(np.array_equal(quiet.result.params[k], out.result.params[k]) for k in ("w_in", "w_rec"))


@pytest.mark.parametrize("kwargs, name", [(dict(epochs=0), "epochs"), (dict(place="greedy"), "place"),
                                          (dict(deviation=-0.1), "deviation"), (dict(learning_rate=0.0), "learning_rate"),
                                          (dict(backend="numpy"), "backend"), (dict(measure=1), "measure")])
def test_fine_tune_refuses_bad_arguments_by_name(network, kwargs, name):
    result, _, (x, y) = network
    with pytest.raises((ParameterValueError, UnknownParameterError), match=name):
        fine_tune(result, ChipProfile.ideal(), x, y, **kwargs)


def test_fine_tune_refuses_what_is_no_profile(network):
    result, _, (x, y) = network
    with pytest.raises(ParameterValueError, match="profile"):
        fine_tune(result, None, x, y)


def test_fine_tuning_injects_the_whole_deviation_from_its_first_epoch():
    """The trained model's injection ramp (``train`` gives a third of its epochs) is not the
    fine-tuning's: around the chip the deviation is whole from the first step, and every
    epoch may be kept."""
    from dataclasses import replace

    from rockpool_dynapse2.training import ChipModel, NetworkLayout, TrainSettings
    from rockpool_dynapse2.twin.finetune import _tuned_model

    trained = ChipModel(NetworkLayout.layered(2, hidden=(2,), n_classes=2, per_class=1), TrainSettings(inject_ramp=13))
    assert trained.settings.keep_from == 12
    tuned = _tuned_model(trained, 20, 0.001, 0.05).settings
    assert (tuned.inject, tuned.inject_ramp, tuned.keep_from) == (True, 0, 0)
    assert tuned.injected_sigma(0) == tuned.injected_sigma() > 0
    assert _tuned_model(trained, 20, 0.001, 0.0).settings.inject is False
    assert replace(tuned, inject_ramp=13).keep_from == 12  # the ramp is what moved keep_from
