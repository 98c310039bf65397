"""Probing a board through the board protocol (``twin.probe``, ``twin.stimuli``).

1. on the ideal virtual chip the recordings are what the simulation of each run's
   configuration gives, identical neurons alike, every run of the protocol recorded;
2. on a flawed chip an always-on neuron fires in every step of the quiet window, a dead
   one never, a defective CAM entry's burst goes unheard;
3. recordings round-trip through JSON identically;
4. bad input is refused by name: chips and cores the board does not have, a bad
   protocol, a board that sends nothing or spikes of neurons the probe did not place.
"""

import numpy as np
import pytest

from rockpool_dynapse2.errors import ParameterValueError, ProbeError
from rockpool_dynapse2.hardware import GridEvent, VirtualBoard
from rockpool_dynapse2.hardware.chip_profile import ChipProfile
from rockpool_dynapse2.mapping import dynapsim_net_from_spec
from rockpool_dynapse2.placement.to_network_spec import spec_from_config
from rockpool_dynapse2.twin import ProbeProtocol, ProbeRecordings, probe, probe_configuration, probe_runs

PROTOCOL = ProbeProtocol(
    neurons_per_core=3, dc_levels=(1e-9, 1e-7), dc_steps=100, train_rates=(100.0,), inhibitory_rates=(100.0,),
    train_steps=100, rest_steps=50, quiet_steps=50, burst_steps=150, bin_steps=50,
    sweep_levels=(5e-11,), sweep_steps=200, refractory_steps=200, pulse_spikes=(32,), pulse_steps=100,
    weak_rates=(50.0,), weak_steps=100,
)


def _with(**changes):
    p = ChipProfile.ideal()
    fields = dict(neuron_factors=p.neuron_factors, weight_factors=p.weight_factors, bias_gains=p.bias_gains)
    return ChipProfile(**{**fields, **changes})


@pytest.fixture(scope="module")
def ideal():
    return probe(VirtualBoard(), chips=[1], cores=[2], protocol=PROTOCOL)


def test_every_run_is_recorded_for_every_neuron_in_bins(ideal):
    (chip,) = ideal.chips
    assert (chip.chip, chip.cores) == (1, (2,))
    assert chip.addresses(PROTOCOL) == ((1, 2, 0), (1, 2, 1), (1, 2, 2))
    for run in probe_runs(PROTOCOL):
        assert chip.counts[run.name].shape == (run.raster.shape[0] // PROTOCOL.bin_steps, 3)


def test_the_recordings_are_the_simulation_of_each_configuration(ideal):
    (chip,) = ideal.chips
    for run in probe_runs(PROTOCOL):
        spec = spec_from_config(probe_configuration(PROTOCOL, 1, (2,), run))
        spikes = np.asarray(dynapsim_net_from_spec(spec)(run.raster[None])[0])[0]
        expected = spikes.reshape(-1, PROTOCOL.bin_steps, 3).sum(axis=1)
        np.testing.assert_array_equal(chip.counts[run.name], expected, err_msg=run.name)
        assert (chip.counts[run.name] == chip.counts[run.name][:, :1]).all()  # identical neurons


def test_every_spike_time_is_recorded_and_bins_into_the_counts(ideal):
    (chip,) = ideal.chips
    runs = probe_runs(PROTOCOL)
    assert {r.name for r in runs} >= set(PROTOCOL.timing_runs()) == {
        "sweep_0", "refractory", "pulses", "pulses_inhibitory", "weak_trains", "weak_trains_inhibitory", "pulses_bias_0"}
    for run in runs:
        raster = chip.raster(run)
        np.testing.assert_array_equal(raster.reshape(-1, PROTOCOL.bin_steps, 3).sum(axis=1), chip.counts[run.name], err_msg=run.name)
    intervals = np.diff(np.flatnonzero(chip.raster(next(r for r in runs if r.name == "refractory"))[:, 0]))
    assert intervals.size and (intervals > PROTOCOL.refractory_t_ref / PROTOCOL.dt).all()  # the long refractory period


def test_recordings_without_spikes_or_timing_read_as_before(ideal):
    d = ideal.to_dict()
    del d["protocol"]["timing"]
    for c in d["chips"]:
        del c["spikes"]
    back = ProbeRecordings.from_json(__import__("json").dumps(d))
    assert back.protocol.timing is False and back.chips[0].spikes == {}


def test_recordings_from_before_the_pulses_over_a_bias_read_without_them(ideal):
    d = ideal.to_dict()
    del d["protocol"]["pulse_bias_levels"]
    for c in d["chips"]:
        for name in ("pulses_bias_0",):
            del c["counts"][name], c["spikes"][name]
    back = ProbeRecordings.from_json(__import__("json").dumps(d))
    assert back.protocol.pulse_bias_levels == () and "pulses_bias_0" not in back.protocol.timing_runs()
    assert {r.name for r in probe_runs(back.protocol)} == set(back.chips[0].counts)


def test_the_pulses_over_a_bias_are_the_inhibitory_pulses_over_each_dc_level():
    protocol = ProbeProtocol(**{**PROTOCOL.to_dict(), "pulse_bias_levels": (3e-11, 1e-10)})
    runs = {r.name: r for r in probe_runs(protocol)}
    for i, level in enumerate(protocol.pulse_bias_levels):
        run = runs[f"pulses_bias_{i}"]
        assert run.kind == "synapses" and run.dc == level
        np.testing.assert_array_equal(run.raster, runs["pulses_inhibitory"].raster)
    assert runs["pulses_inhibitory"].dc == protocol.pulse_dc


def test_the_stimuli_drive_the_neurons(ideal):
    counts = ideal.chips[0].counts
    assert counts["dc_1"].sum() > counts["dc_0"].sum() > 0  # a higher DC level, more spikes
    assert counts["entries"][:1].sum() == 0  # the quiet window
    assert counts["synapses"].sum() > 0 and counts["held_out"].sum() > 0


def test_flaws_show_in_the_recordings():
    profile = _with(dead_neurons=[(0, 1, 0)], always_on_neurons=[(0, 1, 1)], defective_cam_entries=[(0, 1, 2, 5)])
    counts = probe(VirtualBoard(profile=profile), chips=[0], cores=[1], protocol=PROTOCOL).chips[0].counts
    assert all(c[:, 0].sum() == 0 for c in counts.values())
    assert counts["entries"][0, 1] == PROTOCOL.quiet_steps
    windows = counts["entries"][1:].reshape(64, 3, 3).sum(axis=1)
    assert windows[5, 2] == 0 and (np.delete(windows[:, 2], 5) > 0).all()


def test_recordings_round_trip_through_json(ideal, tmp_path):
    path = ideal.save(tmp_path / "probe.json.gz")
    back = ProbeRecordings.load(path)
    assert back.protocol == ideal.protocol
    for name, counts in ideal.chips[0].counts.items():
        np.testing.assert_array_equal(back.chips[0].counts[name], counts)
    assert back.to_json() == ideal.to_json()
    for name, spikes in ideal.chips[0].spikes.items():
        np.testing.assert_array_equal(back.chips[0].spikes[name], spikes)


@pytest.mark.parametrize("kwargs, name", [
    (dict(chips=[4]), "chips"), (dict(chips=[]), "chips"), (dict(cores=[0, 0]), "cores"),
    (dict(cores=[-1]), "cores"), (dict(protocol="fast"), "protocol"),
])
def test_bad_selections_are_refused_by_name(kwargs, name):
    with pytest.raises(ParameterValueError, match=f"`{name}` must be"):
        probe(VirtualBoard(), **kwargs)


@pytest.mark.parametrize("changes, name", [
    (dict(burst_steps=70), "burst_steps"), (dict(dc_levels=()), "dc_levels"), (dict(train_rates=(-1.0,)), r"train_rates\[0\]"),
    (dict(neurons_per_core=257), "neurons_per_core"), (dict(mixture_seeds=(1,)), "held_out_seed"),
    (dict(mixture_seeds=(-2,)), r"mixture_seeds\[0\]"), (dict(weak_channels=(1, 1, 4)), "weak_channels"),
    (dict(weak_channels=(1, 1, 4, 17)), r"weak_channels\[3\]"), (dict(pulse_spikes=(0,)), r"pulse_spikes\[0\]"),
    (dict(pulse_steps=50), "pulse_steps"), (dict(pulse_bias_levels=(0.0,)), r"pulse_bias_levels\[0\]"),
])
def test_bad_protocols_are_refused_by_name(changes, name):
    with pytest.raises(ParameterValueError, match=f"`{name}` must be"):
        ProbeProtocol(**{**PROTOCOL.to_dict(), **changes})


class _Silent(VirtualBoard):
    """A board that drops every output event (a broken readout)."""

    def read_events(self):
        return [e for e in super().read_events() if e.is_control]


class _Stranger(VirtualBoard):
    """A board that also sends spikes of a neuron nobody placed."""

    def read_events(self):
        events = super().read_events()
        return events + [GridEvent(self.time_us() - 1, 2000, -7, -7)] if events else events


@pytest.mark.parametrize("board, rule", [(_Silent, "at least one"), (_Stranger, "from the probed neurons only")])
def test_boards_that_answer_wrongly_are_refused(board, rule):
    with pytest.raises(ProbeError, match=rule):
        probe(board(), chips=[0], cores=[0], protocol=PROTOCOL)


def test_recordings_that_are_not_a_document_are_refused():
    with pytest.raises(ParameterValueError, match="`format` must be"):
        ProbeRecordings.from_json('{"format": "other"}')
    with pytest.raises(ParameterValueError, match=r"`chips\[0\].counts.entries` must be"):
        ProbeRecordings.from_json(
            '{"format": "rockpool-dynapse2/probe-recordings/1", "protocol": {}, '
            '"chips": [{"chip": 0, "cores": [0], "counts": {"entries": [1, 2]}}]}'
        )
    with pytest.raises(ParameterValueError, match=r"`chips\[0\].spikes.entries` must be"):
        ProbeRecordings.from_json(
            '{"format": "rockpool-dynapse2/probe-recordings/1", "protocol": {}, '
            '"chips": [{"chip": 0, "cores": [0], "counts": {}, "spikes": {"entries": [[1, 2, 3]]}}]}'
        )
