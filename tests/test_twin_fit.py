"""Fitting a chip's digital twin (``twin.fit``, ``twin.defects``, ``twin.quantities``).

1. the model replays the probe exactly: on the ideal chip the ideal twin predicts every
   recorded count, so the fit leaves it ideal;
2. on a chip with mismatch the fit lowers every neuron's loss, and the twin's profile runs
   on the virtual board as the fit's model predicts;
3. defects are found with no false alarm: dead and always-on neurons, defective entries;
4. the identifiable quantities are the ideal's on the ideal chip and follow their factors;
5. bad input is refused by name.
"""

import numpy as np
import pytest

from rockpool_dynapse2.errors import ParameterValueError, TwinFitError
from rockpool_dynapse2.hardware import DynapseSamna, VirtualBoard
from rockpool_dynapse2.hardware.chip_profile import NEURON_FACTOR_NAMES, ChipProfile
from rockpool_dynapse2.twin import (
    ChipRecording, ProbeProtocol, ProbeRecordings, effective_quantities, find_defects, fit_twin, predict_counts, probe,
    probe_configuration, probe_runs, quantity_errors,
)
from rockpool_dynapse2.twin.quantities import PARAMETER_NAMES, QUANTITY_NAMES

PROTOCOL = ProbeProtocol(
    neurons_per_core=4, dc_levels=(1e-10, 1e-8), dc_steps=200, train_rates=(250.0,), inhibitory_rates=(100.0,),
    train_steps=100, rest_steps=50, quiet_steps=50, burst_steps=150, bin_steps=50, mixture_seeds=(), timing=False,
)
"""The count fit's protocol (no timing runs; ``test_twin_staged`` fits on spike times)."""


def _profile(**changes):
    p = ChipProfile.ideal()
    fields = dict(neuron_factors=p.neuron_factors, weight_factors=p.weight_factors, bias_gains=p.bias_gains)
    return ChipProfile(**{**fields, **changes})


def _scaled(name, factors):
    """The ideal chip with one factor of neurons 0..3 of chip 0, core 0 set to ``factors``."""
    f = np.ones((4, 4, 256, len(NEURON_FACTOR_NAMES)))
    f[0, 0, :4, NEURON_FACTOR_NAMES.index(name)] = factors
    return _profile(neuron_factors=f)


@pytest.fixture(scope="module")
def ideal():
    return probe(VirtualBoard(), chips=[0], cores=[0], protocol=PROTOCOL)


@pytest.fixture(scope="module")
def mismatched():
    truth = _scaled("C_mem", [0.6, 0.8, 1.25, 1.6])
    recordings = probe(VirtualBoard(profile=truth), chips=[0], cores=[0], protocol=PROTOCOL)
    return truth, recordings, fit_twin(recordings, steps=15, learning_rate=0.05)


def test_the_ideal_twin_predicts_the_ideal_chip_exactly(ideal):
    chip = ideal.chips[0]
    defects = find_defects(chip, PROTOCOL)
    theta = np.zeros((4, len(PARAMETER_NAMES)))
    for run in probe_runs(PROTOCOL):
        np.testing.assert_array_equal(predict_counts(theta, chip, PROTOCOL, defects, run.name), chip.counts[run.name])


def test_the_fit_leaves_the_ideal_chip_ideal(ideal):
    twin = fit_twin(ideal, steps=3)
    np.testing.assert_array_equal(twin.parameters, 0.0)
    assert twin.profile.to_json() == ChipProfile.ideal().to_json()
    assert twin.defects.dead == twin.defects.always_on == twin.defects.cam_entries == ()


def test_the_fit_lowers_every_neurons_loss(mismatched):
    _, _, twin = mismatched
    q = twin.quality
    assert (q.final_loss <= q.initial_loss).all() and (q.final_loss < q.initial_loss).any()
    assert q.held_out_correlation is not None and q.held_out[0].shape == (4,)


def test_the_twin_moves_toward_the_true_membrane_time_constant(mismatched):
    truth, _, twin = mismatched
    fitted = twin.quantities()["tau_mem"]
    true = effective_quantities(truth, twin.addresses, PROTOCOL.core(1e-8))["tau_mem"]
    # the extremes move toward the truth: the fastest membrane's estimate falls, the slowest's rises
    assert fitted[0] < 1.0 < fitted[3]
    assert np.abs(np.log(fitted / true)).sum() < np.abs(np.log(true)).sum()


def test_the_twins_profile_runs_on_the_virtual_board_as_its_model_predicts(mismatched):
    _, recordings, twin = mismatched
    chip = recordings.chips[0]
    run = next(r for r in probe_runs(PROTOCOL) if r.name == "held_out")
    with DynapseSamna(VirtualBoard(profile=twin.profile), probe_configuration(PROTOCOL, 0, (0,), run)) as board:
        spikes = board(run.raster[None])[0][0]
    on_board = spikes.reshape(-1, PROTOCOL.bin_steps, 4).sum(axis=1)
    predicted = predict_counts(twin.parameters, chip, PROTOCOL, twin.defects, "held_out")
    np.testing.assert_array_equal(on_board, predicted)


def test_defects_are_found_with_no_false_alarm():
    truth = _profile(dead_neurons=[(0, 0, 1)], always_on_neurons=[(0, 0, 2)], defective_cam_entries=[(0, 0, 0, 9), (0, 0, 3, 40), (0, 0, 3, 41)])
    recordings = probe(VirtualBoard(profile=truth), chips=[0], cores=[0], protocol=PROTOCOL)
    found = find_defects(recordings.chips[0], PROTOCOL)
    assert found.dead == ((0, 0, 1),)
    assert found.always_on == ((0, 0, 2),)
    assert found.cam_entries == ((0, 0, 0, 9), (0, 0, 3, 40), (0, 0, 3, 41))
    assert found.untested_entries == ()


def test_the_quantities_of_the_ideal_chip_are_one_and_follow_their_factors():
    core = PROTOCOL.core(1e-8)
    addresses = [(0, 0, j) for j in range(4)]
    for value in effective_quantities(ChipProfile.ideal(), addresses, core).values():
        np.testing.assert_allclose(value, 1.0)
    q = effective_quantities(_scaled("C_mem", [1.0, 2.0, 0.5, 1.0]), addresses, core)
    np.testing.assert_allclose(q["tau_mem"], [1.0, 2.0, 0.5, 1.0])
    q = effective_quantities(_scaled("Idc", [1.0, 2.0, 0.5, 1.0]), addresses, core)
    np.testing.assert_allclose(q["threshold"], [1.0, 0.5, 2.0, 1.0])
    assert set(q) == set(QUANTITY_NAMES)


def test_quantity_errors_compare_twin_and_truth(mismatched):
    truth, _, twin = mismatched
    errors = quantity_errors(twin, truth)
    assert set(errors) == set(QUANTITY_NAMES)
    estimate = twin.quantities()
    np.testing.assert_allclose(errors["tau_gaba"], estimate["tau_gaba"] - 1.0)  # the truth's is the ideal's
    np.testing.assert_allclose(errors["tau_mem"], estimate["tau_mem"] / np.array([0.6, 0.8, 1.25, 1.6]) - 1.0)


@pytest.mark.parametrize("kwargs, name", [
    (dict(steps=0), "steps"), (dict(learning_rate=-1.0), "learning_rate"), (dict(prior_sigma=0.0), "prior_sigma"), (dict(seed=-1), "seed"),
])
def test_bad_options_are_refused_by_name(ideal, kwargs, name):
    with pytest.raises(ParameterValueError, match=f"`{name}` must be"):
        fit_twin(ideal, **kwargs)


def test_bad_recordings_are_refused_by_path(ideal):
    with pytest.raises(ParameterValueError, match="`recordings` must be"):
        fit_twin("probe.json")
    with pytest.raises(TwinFitError, match="`recordings.chips` must be"):
        fit_twin(ProbeRecordings(PROTOCOL, ()))
    chip = ideal.chips[0]
    missing = {k: v for k, v in chip.counts.items() if k != "synapses"}
    with pytest.raises(TwinFitError, match=r"`recordings.chips\[0\].counts` must be .*got 'no \\'synapses\\''|`recordings.chips\[0\].counts` must be"):
        fit_twin(ProbeRecordings(PROTOCOL, (ChipRecording(0, (0,), missing),)))
    short = dict(chip.counts, dc_0=chip.counts["dc_0"][:1])
    with pytest.raises(TwinFitError, match=r"`recordings.chips\[0\].counts.dc_0` must be an array of shape"):
        fit_twin(ProbeRecordings(PROTOCOL, (ChipRecording(0, (0,), short),)))
