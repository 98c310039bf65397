"""The staged fit on spike times (``twin.staged``, run by ``fit_twin`` on recordings with timing runs).

1. the spike-time distance is the area between the cumulative counts: a spike ``d`` steps
   late costs ``d / segment``, a missing one its distance to the segment's end;
2. the search's rotated bases are orthonormal bases of the stage's factors, a new one each pass;
   on the ideal chip the twin stays ideal;
3. on a chip whose refractory current and membrane capacitance are mismatched, the twin
   recovers the refractory period within 5 % and moves ``tau_mem`` toward the truth,
   and predicts the held-out run.
"""

import numpy as np
import pytest

from rockpool_dynapse2.hardware import VirtualBoard
from rockpool_dynapse2.hardware.chip_profile import NEURON_FACTOR_NAMES, ChipProfile
from rockpool_dynapse2.twin import ProbeProtocol, effective_quantities, fit_twin, probe
from rockpool_dynapse2.twin.quantities import PARAMETER_NAMES
from rockpool_dynapse2.twin.staged import directions, rotated, spike_time_losses

PROTOCOL = ProbeProtocol(
    neurons_per_core=3, dc_levels=(1e-10, 1e-8), dc_steps=200, train_rates=(250.0,), inhibitory_rates=(100.0,),
    train_steps=100, rest_steps=50, quiet_steps=50, burst_steps=150, bin_steps=50, mixture_seeds=(),
    sweep_levels=(3e-11, 6e-11), sweep_steps=400, refractory_steps=400, pulse_spikes=(32,), pulse_steps=200,
    weak_rates=(40.0,), weak_steps=200,
)


def _scaled(**factors):
    """The ideal chip with factors of neurons 0..2 of chip 0, core 0."""
    f = np.ones((4, 4, 256, len(NEURON_FACTOR_NAMES)))
    for name, values in factors.items():
        f[0, 0, :3, NEURON_FACTOR_NAMES.index(name)] = values
    p = ChipProfile.ideal()
    return ChipProfile(f, p.weight_factors, p.bias_gains)


def test_the_spike_time_distance_is_the_area_between_the_cumulative_counts():
    observed = np.zeros((20, 2))
    observed[[3, 12], 0] = 1.0  # neuron 0: a spike in each segment of 10 steps
    predicted = observed.copy()
    predicted[[3, 12], 0] = 0.0
    predicted[[5, 12], 0] = 1.0  # the first spike 2 steps late
    predicted[7, 1] = 1.0  # neuron 1: a spike that was not observed
    np.testing.assert_allclose(spike_time_losses(observed, predicted, 10), [2 / 10, 3 / 10])
    np.testing.assert_allclose(spike_time_losses(observed, observed, 10), [0.0, 0.0])


def test_the_rotated_bases_are_orthonormal_and_stay_in_the_stage_s_factors():
    names = ("Itau_ampa", "w_ampa", "C_mem")
    moves = directions(names)
    rng = np.random.default_rng(0)
    first, second = rotated(moves, rng), rotated(moves, rng)
    inside = [PARAMETER_NAMES.index(n) for n in names]
    outside = np.setdiff1d(np.arange(len(PARAMETER_NAMES)), inside)
    for basis in (first, second):
        np.testing.assert_allclose(basis @ basis.T, np.eye(3), atol=1e-12)
        np.testing.assert_array_equal(basis[:, outside], 0.0)
        assert np.count_nonzero(np.abs(basis[:, inside]) > 1e-3) > 3  # oblique: not the axes
    assert not np.allclose(first, second)  # a new basis each pass


@pytest.fixture(scope="module")
def ideal():
    return probe(VirtualBoard(), chips=[0], cores=[0], protocol=PROTOCOL)


def test_the_staged_fit_leaves_the_ideal_chip_ideal(ideal):
    twin = fit_twin(ideal)
    np.testing.assert_array_equal(twin.parameters, 0.0)
    np.testing.assert_array_equal(twin.quality.final_loss, 0.0)


def test_a_stage_s_losses_are_the_spike_time_distances_of_its_simulated_runs(ideal):
    """The jitted losses (the batches' arrays as arguments, the distances summed on the
    device, NMDA and SHUNT skipped where no run drives them) equal the distances of the
    runs simulated one by one plus the prior, exactly, for factors away from the ideal."""
    import jax.numpy as jnp

    from rockpool_dynapse2.twin import staged
    from rockpool_dynapse2.twin.defects import find_defects
    from rockpool_dynapse2.twin.replay import replay_runs, simulate
    from rockpool_dynapse2.twin.stimuli import probe_runs

    chip = ideal.chips[0]
    defects = find_defects(chip, PROTOCOL)
    names = staged._run_names(PROTOCOL, "all")
    runs = replay_runs(chip, PROTOCOL, defects, (), names)
    rasters = {r.name: chip.raster(r) for r in probe_runs(PROTOCOL) if r.name in names}
    batches = staged._batches(runs, rasters, PROTOCOL)
    assert any(b.idle for b in batches) and any(not b.idle for b in batches)  # DC runs skip NMDA and SHUNT; the others do not
    theta = np.random.default_rng(1).normal(0.0, 0.3, (3, len(PARAMETER_NAMES)))
    expected = np.sum((theta / 0.5) ** 2, axis=1)
    for b in batches:
        raster = simulate(jnp.tile(jnp.asarray(theta, jnp.float32), (b.copies, 1)), b.run, PROTOCOL.dt, 1e-8, 1)
        predicted = np.asarray(raster, dtype=np.float64).reshape(raster.shape[0], b.copies, -1)
        expected = expected + spike_time_losses(b.run.observed, predicted, b.segment)
    losses = staged._StageLosses(batches, PROTOCOL, 0.5)(theta)
    assert (losses > np.sum((theta / 0.5) ** 2, axis=1)).all()  # spikes off: a distance > 0 for each neuron
    np.testing.assert_array_equal(losses, expected)


def test_the_staged_fit_recovers_the_refractory_period_and_moves_tau_mem():
    truth = _scaled(Iref=[0.8, 1.0, 1.25], C_mem=[0.75, 1.0, 1.3])
    recordings = probe(VirtualBoard(profile=truth), chips=[0], cores=[0], protocol=PROTOCOL)
    twin = fit_twin(recordings)
    core = PROTOCOL.core(max(PROTOCOL.dc_levels))
    true = effective_quantities(truth, twin.addresses, core)
    fitted = twin.quantities()
    np.testing.assert_allclose(fitted["t_ref"], true["t_ref"], rtol=0.05)  # the ideal chip: 25 % off
    error, ideal = np.abs(np.log(fitted["tau_mem"] / true["tau_mem"])), np.abs(np.log(true["tau_mem"]))
    assert error[1] < 0.02 and (error[[0, 2]] < 0.7 * ideal[[0, 2]]).all()  # (this short protocol: 0.58 of the ideal's)
    assert twin.quality.held_out_correlation > 0.9
    q = twin.quality
    assert q.final_loss[1] == q.initial_loss[1] == 0.0  # the ideal neuron
    assert (q.final_loss[[0, 2]] < q.initial_loss[[0, 2]]).all()


def _stage_of(recordings, which):
    from rockpool_dynapse2.twin import staged
    from rockpool_dynapse2.twin.defects import find_defects
    from rockpool_dynapse2.twin.replay import replay_runs
    from rockpool_dynapse2.twin.stimuli import probe_runs

    chip = recordings.chips[0]
    names = staged._run_names(PROTOCOL, which)
    runs = replay_runs(chip, PROTOCOL, find_defects(chip, PROTOCOL), (), names)
    rasters = {r.name: chip.raster(r) for r in probe_runs(PROTOCOL) if r.name in names}
    return staged._StageLosses(staged._batches(runs, rasters, PROTOCOL), PROTOCOL, 0.5)


@pytest.fixture(scope="module")
def joint():
    """The joint stage's losses of a chip whose neurons 0..2 are mismatched."""
    truth = _scaled(Iref=[0.8, 1.0, 1.25], C_mem=[0.75, 1.0, 1.3], Itau_mem=[1.2, 0.9, 1.0])
    return _stage_of(probe(VirtualBoard(profile=truth), chips=[0], cores=[0], protocol=PROTOCOL), "all")


def test_a_batch_s_distances_do_not_depend_on_the_factors_it_never_reads(joint):
    """The DC and refractory runs skip NMDA and SHUNT and drive no synapse: their leaks and
    all four weights are unread there; the factors a batch does not read change nothing."""
    unused = {b.run.name.split("+")[0]: {n for n, u in zip(PARAMETER_NAMES, b.unused) if u} for b in joint.batches}
    assert unused["dc_0"] == {"Itau_nmda", "Itau_shunt", "w_ampa", "w_nmda", "w_gaba", "w_shunt"}
    assert unused["synapses"] == set()
    rng = np.random.default_rng(4)
    theta, other = (rng.normal(0.0, 0.3, (3, len(PARAMETER_NAMES))) for _ in range(2))
    before = joint.distances(theta)
    assert before.all()  # every neuron off the observed spikes in every batch
    for j, b in enumerate(joint.batches):
        np.testing.assert_array_equal(joint.distances(np.where(b.unused, other, theta))[:, j], before[:, j])


def _one_step_after_the_other(losses, theta, loss, moves, fitted, delta):
    """The search's pass simulating every batch at every step."""
    from rockpool_dynapse2.twin.replay import LOG_BOUND

    for move in moves:
        for sign in (1.0, -1.0):
            proposal = np.clip(theta + sign * delta * move[None, :], -LOG_BOUND, LOG_BOUND)
            new = losses(proposal)
            better = (new < loss) & fitted
            theta = np.where(better[:, None], proposal, theta)
            loss = np.where(better, new, loss)
    return theta, loss


def test_a_pass_that_skips_unread_batches_is_bit_for_bit_the_full_one(joint):
    """A pass along every factor (and a rotated one), skipping the batches a move does not
    read, keeps what simulating every batch keeps, bit for bit."""
    from rockpool_dynapse2.twin import staged

    theta = np.random.default_rng(5).normal(0.0, 0.2, (3, len(PARAMETER_NAMES)))
    fitted = np.array([True, True, False])
    for moves in (directions(PARAMETER_NAMES), staged.rotated(directions(PARAMETER_NAMES[:9]), np.random.default_rng(0))):
        point = staged._Point(theta, joint(theta), joint.distances(theta))
        point = staged._pass(joint, point, moves, fitted, 0.16)
        expected = _one_step_after_the_other(joint, theta, joint(theta), moves, fitted, 0.16)
        np.testing.assert_array_equal(point.theta, expected[0])
        np.testing.assert_array_equal(point.loss, expected[1])
        np.testing.assert_array_equal(point.distances, joint.distances(point.theta))
        assert (point.theta[:2] != theta[:2]).any() and (point.theta[2] == theta[2]).all()
