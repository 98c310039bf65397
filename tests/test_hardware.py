"""Deployment: the DynapseSamna driver on the virtual board and, through a fake of samna, on SamnaBoard.

Layers:

1. the driver on :class:`VirtualBoard` reproduces the quantized spec's simulation spike
   for spike (several networks, one of them on two chips; chunks; batches);
2. event bookkeeping: one event per input spike and route, every output event accounted
   for, writes in time order;
3. - 5. failure modes: timeouts, disconnects, closed boards, context managers;
6. :class:`SamnaBoard` against ``tests/fake_samna`` (a fake of the samna calls it makes):
   discovery, the bitfile, the configuration written field by field, the driver spike
   for spike, injected faults;
7. without samna, the samna board refuses clearly and samna is not imported;
8. on a real board (skipped unless SynSense's samna and ``DYNAPSE2_BITFILE`` are there).
"""

import collections
import importlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from rockpool.nn.combinators import Sequential
from rockpool.nn.modules import LinearJax

from rockpool_dynapse2 import DynapSimJax
from rockpool_dynapse2.placement import config_from_specification
from rockpool_dynapse2.placement.allocate import CONTROL_TAG, MONITOR_HOP, chip_position
from rockpool_dynapse2.errors import ParameterValueError, SamnaNotAvailableError
from rockpool_dynapse2.hardware import (
    BoardDisconnectedError,
    BoardError,
    BoardTimeoutError,
    DynapseSamna,
    GridEvent,
    SamnaBoard,
    VirtualBoard,
    find_dynapse_boards,
    samna_status,
)
from rockpool_dynapse2.hardware.samna_board import BITFILE_ENV, BitfileError, BoardNotFoundError
from rockpool_dynapse2.mapping import dynapsim_net_from_spec, mapper, quantize_spec

FAKE_SAMNA = Path(__file__).parent / "fake_samna"
T = 60
CHUNK = 25  # chunks of 25, 25, 10 steps
RUN_TIMEOUT = 120.0  # runs that must not time out: the fake samna's reads simulate (seconds of JIT compilation)


# --- networks -------------------------------------------------------------------------------


def _two_layer(rng):
    """6 inputs -> 20 recurrent neurons with DC -> 3 outputs that fire several times in a step: two cores."""
    w1 = rng.normal(0, 1, (6, 20)) * (rng.random((6, 20)) < 0.5) + 0.3
    wr = rng.normal(0, 0.5, (20, 20)) * (rng.random((20, 20)) < 0.1)
    w2 = rng.normal(0.5, 1, (20, 3))
    return Sequential(
        LinearJax((6, 20), weight=w1, has_bias=False),
        DynapSimJax((20,), w_rec=wr, Idc=3e-12),
        LinearJax((20, 3), weight=w2, has_bias=False),
        DynapSimJax((3,), Iw_ahp=2e-10, Ispkthr=1e-9),  # a low threshold: bursts of spikes in a step
    )


def _wide(rng):
    """8 inputs -> 260 neurons -> 4 outputs: the hidden layer spans two cores, three in all."""
    w1 = (rng.normal(0.5, 1, (8, 260)) * (rng.random((8, 260)) < 0.3)).clip(0)
    wr = rng.normal(0, 0.5, (260, 260)) * (rng.random((260, 260)) < 0.02)
    w2 = rng.normal(0.5, 1, (260, 4)) * (rng.random((260, 4)) < 0.15)
    return Sequential(
        LinearJax((8, 260), weight=w1, has_bias=False),
        DynapSimJax((260,), w_rec=wr, Idc=2e-12),
        LinearJax((260, 4), weight=w2, has_bias=False),
        DynapSimJax((4,)),
    )


def _chain(rng):
    """4 inputs through five layers, one core each: cores 0-3 on chip 0, core 4 on chip 1."""
    layers, n_prev = [], 4
    for i, n in enumerate([6, 5, 5, 4, 3]):  # a leak of its own per layer: a core of its own
        w = np.abs(rng.normal(0, 1, (n_prev, n))) + 1.5
        layers += [LinearJax((n_prev, n), weight=w, has_bias=False), DynapSimJax((n,), Idc=2e-12, Itau_mem=4e-12 * (1 + 0.25 * i))]
        n_prev = n
    return Sequential(*layers)


NETWORKS = {"two_layer": (_two_layer, 0), "wide": (_wide, 1), "chain": (_chain, 2)}


@pytest.fixture(scope="module")
def networks():
    """``{name: (quantized spec, mapped configuration, input (2, T, n_in) with counts up to 3+)}``."""
    out = {}
    for name, (build, seed) in NETWORKS.items():
        rng = np.random.default_rng(seed)
        qspec, _ = quantize_spec(mapper(build(rng).as_graph()))
        mapped = config_from_specification(qspec)
        x = rng.poisson(0.4, (2, T, qspec.n_inputs)).astype(np.float32)
        out[name] = (qspec, mapped, x)
    return out


def _reference(qspec, x):
    """Output-channel spikes of the spec's simulation ``(B, T, n_outputs)``."""
    return np.asarray(dynapsim_net_from_spec(qspec)(x)[0])[..., qspec.output_neurons]


def _sequential_reference(qspec, x):
    """Batches run one after the other without reset, as the driver runs them: ``(B, T, n_out)``."""
    joined = np.asarray(dynapsim_net_from_spec(qspec)(x.reshape(1, -1, x.shape[2]))[0])[0]
    return joined[:, qspec.output_neurons].reshape(x.shape[0], x.shape[1], -1)


@pytest.fixture(scope="module")
def references(networks):
    """``{name: (batched reference, sequential reference)}``, computed once."""
    return {name: (_reference(q, x), _sequential_reference(q, x)) for name, (q, _, x) in networks.items()}


# --- 1. the driver on the virtual board: spike for spike ------------------------------------


def test_networks_cover_what_the_comparisons_need(networks):
    cores = {name: len({(a.chip, a.core) for a in m.neurons}) for name, (_, m, _) in networks.items()}
    assert cores["two_layer"] == 2 and cores["wide"] == 3 and cores["chain"] == 5
    assert {a.chip for a in networks["chain"][1].neurons} == {0, 1}
    chain = networks["chain"][1].configuration
    assert any(d.x_hop == 1 for _, d in chain.used_destinations())  # a route from chip 0 to chip 1
    for _, _, x in networks.values():
        assert x.max() >= 3  # several spikes of one channel in one step


@pytest.mark.parametrize("name", list(NETWORKS))
def test_driver_on_the_virtual_board_reproduces_the_spec(networks, references, name):
    qspec, mapped, x = networks[name]
    batched, sequential = references[name]
    assert batched.sum() > 0
    with DynapseSamna(VirtualBoard(), mapped, chunk_steps=CHUNK) as dyn:
        out, state, rec = dyn(x)  # B = 2, one after the other, the state carried on
        np.testing.assert_array_equal(out, sequential)
        assert state == {} and rec == {}
        for b in range(x.shape[0]):  # from rest each time: the batched simulation
            dyn.reset_state()
            out_b, _, _ = dyn(x[b])
            np.testing.assert_array_equal(out_b[0], batched[b])


def test_the_outputs_burst_so_the_comparisons_cover_several_spikes_in_a_step(references):
    """Several output spikes of one neuron in one step: distinct events (µs apart), binned together."""
    assert max(ref.max() for pair in references.values() for ref in pair) >= 2


# --- 2. event bookkeeping ---------------------------------------------------------------------


class RecordingBoard(VirtualBoard):
    """A virtual board that keeps every batch of events written."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def write_events(self, events):
        self.batches.append(list(events))
        super().write_events(events)


def _route_key(route):
    return route.tag, chip_position(route.chip)[0] - chip_position(0)[0], route.core_mask


def test_every_input_spike_is_one_event_per_route_and_every_output_is_accounted_for(networks):
    qspec, mapped, x = networks["chain"]
    board = RecordingBoard()
    dyn = DynapseSamna(board, mapped, chunk_steps=CHUNK)
    out, _, rec = dyn(x, record=True)
    n_runs = x.shape[0] * -(-T // CHUNK)
    assert len(board.batches) == len(rec["input_events"]) == len(rec["output_events"]) == n_runs
    chunks = [x[b, s : s + CHUNK] for b in range(x.shape[0]) for s in range(0, T, CHUNK)]
    for chunk, sent, written in zip(chunks, rec["input_events"], board.batches):
        # written: the inputs in time order, then the end marker
        stamps = [e.timestamp for e in written]
        assert stamps == sorted(stamps)
        assert written[-1].is_control and not any(e.is_control for e in written[:-1])
        assert written[:-1] == sent
        # one event per spike and route
        expected = collections.Counter()
        for i, routes in enumerate(mapped.inputs):
            for route in routes:
                expected[_route_key(route)] += int(chunk[:, i].sum())
        got = collections.Counter((e.tag, e.x_hop, e.core) for e in sent)
        assert got == +expected
        assert len(sent) == sum(int(chunk[:, i].sum()) * len(r) for i, r in enumerate(mapped.inputs))
    received = [e for batch in rec["output_events"] for e in batch if not e.is_control]
    counts = rec["counts"]
    assert counts["binned"] + counts["outside_run"] + counts["unknown_tag"] == len(received)
    assert counts["binned"] == out.sum() > 0
    assert counts["outside_run"] == counts["unknown_tag"] == 0


class StrayEventsBoard(VirtualBoard):
    """Adds, at the end of each run, one event long after it and one with a tag no output has."""

    def read_events(self):
        events = super().read_events()
        markers = [e for e in events if e.is_control]
        if markers:
            t = markers[-1].timestamp
            late = GridEvent(t + 10**6, self._outputs[0], MONITOR_HOP, MONITOR_HOP)
            unknown = GridEvent(t, 1999, MONITOR_HOP, MONITOR_HOP)
            events = [late, unknown] + events
        return events


def test_events_that_cannot_be_binned_are_counted(networks):
    _, mapped, x = networks["two_layer"]
    dyn = DynapseSamna(StrayEventsBoard(), mapped, chunk_steps=CHUNK)
    out, _, rec = dyn(x[:1], record=True)
    n_runs = -(-T // CHUNK)
    received = [e for batch in rec["output_events"] for e in batch if not e.is_control]
    assert rec["counts"]["outside_run"] == rec["counts"]["unknown_tag"] == n_runs
    assert sum(rec["counts"].values()) == len(received)
    assert rec["counts"]["binned"] == out.sum()


# --- 3. - 5. failures ------------------------------------------------------------------------


class NoMarkerBoard(VirtualBoard):
    """Never returns the end marker."""

    def read_events(self):
        return [e for e in super().read_events() if not e.is_control]


class UnpluggedBoard(VirtualBoard):
    """Its reads fail as a board that went away."""

    def read_events(self):
        raise ConnectionError("USB device gone")


def test_a_run_whose_end_marker_never_comes_back_times_out(networks):
    """The reads return, the marker does not: a timeout, and the board stays open (it answered)."""
    _, mapped, x = networks["two_layer"]
    DynapseSamna(VirtualBoard(), mapped, chunk_steps=CHUNK)(x[0])  # compiled: the reads below are quick
    board = NoMarkerBoard()
    dyn = DynapseSamna(board, mapped, timeout=1.0, chunk_steps=CHUNK)
    with pytest.raises(BoardTimeoutError, match="end marker .* did not come back") as info:
        dyn(x[0])
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, BoardError)
    assert board.is_open


def test_a_board_that_goes_away_is_closed_and_reported(networks):
    _, mapped, x = networks["two_layer"]
    board = UnpluggedBoard()
    dyn = DynapseSamna(board, mapped)
    with pytest.raises(BoardDisconnectedError, match="USB device gone") as info:
        dyn(x[0])
    assert isinstance(info.value, ConnectionError)
    assert not board.is_open
    with pytest.raises(BoardError, match="closed"):
        dyn(x[0])


def test_context_managers_close_the_board_and_closed_boards_refuse_work(networks):
    _, mapped, x = networks["two_layer"]
    with VirtualBoard() as board:
        assert board.is_open
    assert not board.is_open
    board = VirtualBoard()
    with DynapseSamna(board, mapped) as dyn:
        assert board.is_open
    assert not board.is_open
    with pytest.raises(BoardError, match="closed"):
        dyn(x[0])
    for call in (board.time_us, board.read_events, lambda: board.write_events([]), lambda: board.apply_configuration(mapped)):
        with pytest.raises(BoardError, match="closed"):
            call()
    with pytest.raises(BoardError):
        DynapseSamna(board, mapped)
    board.close()  # closing again is fine


# --- 6. SamnaBoard against the fake samna -------------------------------------------------------


@pytest.fixture
def fake_samna(monkeypatch):
    """``tests/fake_samna`` imported as ``samna``; any other ``samna`` (e.g. our stub shield) restored after."""
    saved = [name for name in sys.modules if name == "samna" or name.startswith("samna.")]
    for name in saved:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(FAKE_SAMNA))
    samna = importlib.import_module("samna")
    assert getattr(samna, "FAKE", False) and Path(samna.__file__).is_relative_to(FAKE_SAMNA)
    yield samna
    for name in [n for n in sys.modules if n == "samna" or n.startswith("samna.")]:
        del sys.modules[name]


@pytest.fixture
def bitfile(tmp_path, monkeypatch):
    monkeypatch.delenv(BITFILE_ENV, raising=False)
    path = tmp_path / "Dynapse2Stack.bit"
    path.write_bytes(b"fake bitfile")
    return str(path)


def _plug(samna, mapped, n_chips=1, **kwargs):
    info = samna.device.fake_plug(n_chips=n_chips, dt=mapped.dt, Iscale=mapped.Iscale, **kwargs)
    return info, samna.device.fake_board(info)


def test_the_fake_counts_as_real_samna(fake_samna):
    status = samna_status()
    assert status.real and status.reason == "samna is already imported"


def test_the_fake_binds_arrays_by_value_and_checks_what_it_is_given(fake_samna):
    """Where samna's behaviour is unknown the fake is strict, so that SamnaBoard cannot rely on it."""
    se2 = fake_samna.dynapse2
    neuron = se2.Dynapse2Neuron()
    neuron.synapses[0].tag = 5  # a copy: no effect
    assert neuron.synapses[0].tag == 0
    s = se2.Dynapse2Synapse()
    s.tag, s.dendrite, s.weight = 5, se2.Dendrite.nmda, [True, False, False, True]
    neuron.synapses = [s] + neuron.synapses[1:]
    s.tag = 6  # assigned lists are copied
    first = neuron.synapses[0]
    assert (first.tag, first.dendrite, first.weight) == (5, se2.Dendrite.nmda, [True, False, False, True])
    with pytest.raises(AttributeError):
        s.tags = 3
    with pytest.raises(TypeError):
        s.dendrite = 256  # an int is not the enum
    with pytest.raises(TypeError):
        neuron.destinations = [se2.Dynapse2Destination()] * 3
    event = se2.NormalGridEvent()
    with pytest.raises(TypeError):
        event.timestamp = 1.5
    config = se2.Dynapse2Configuration(1)
    config.chips[0].cores[1].parameters["SOIF_LEAK_N"].fine_value = 77  # the tree itself is by reference
    assert config.chips[0].cores[1].parameters["SOIF_LEAK_N"].fine_value == 77


def test_find_dynapse_boards_lists_only_dynapse2_boards(fake_samna, bitfile):
    device = fake_samna.device
    with pytest.raises(BoardNotFoundError, match="no device at all"):
        find_dynapse_boards()
    device.fake_plug("Speck2fModuleDevKit")
    with pytest.raises(BoardNotFoundError, match="Speck2fModuleDevKit"):
        find_dynapse_boards()
    a = device.fake_plug("DYNAP-SE2 Stack", serial_number="A1")
    b = device.fake_plug("Dynapse2DevBoard", serial_number="B2")
    assert find_dynapse_boards() == [a, b]
    with SamnaBoard(bitfile=bitfile) as first:  # the first one not yet opened
        assert first.device_info == a
        assert find_dynapse_boards(unopened_only=True) == [b]
        with SamnaBoard("B2", bitfile=bitfile) as second:
            assert second.device_info == b
            with pytest.raises(BoardNotFoundError, match="not yet opened"):
                find_dynapse_boards(unopened_only=True)
            with pytest.raises(BoardError, match="already open"):
                SamnaBoard(a, bitfile=bitfile)
    assert find_dynapse_boards(unopened_only=True) == [a, b]
    with pytest.raises(BoardNotFoundError, match="A1, B2"):
        SamnaBoard("C3", bitfile=bitfile)


def test_the_bitfile_must_be_given_and_exist(fake_samna, bitfile, monkeypatch, tmp_path):
    info = fake_samna.device.fake_plug()
    board = fake_samna.device.fake_board(info)
    with pytest.raises(BitfileError, match=BITFILE_ENV) as err:
        SamnaBoard()
    assert "bitfile=" in str(err.value) and "must exist" in str(err.value)
    with pytest.raises(BitfileError, match="must be an existing file.*does not exist"):
        SamnaBoard(bitfile=str(tmp_path / "missing.bit"))
    monkeypatch.setenv(BITFILE_ENV, str(tmp_path))
    with pytest.raises(BitfileError, match=f"{BITFILE_ENV}.*is not a file"):
        SamnaBoard()
    assert find_dynapse_boards(unopened_only=True) == [info]  # nothing was opened
    monkeypatch.setenv(BITFILE_ENV, bitfile)
    with SamnaBoard() as sb:
        assert sb.bitfile == bitfile and board.fake.bitfile == bitfile
    board.fake.configure_result = False  # the FPGA refuses it
    with pytest.raises(BitfileError, match="configure_opal_kelly"):
        SamnaBoard(bitfile=bitfile)
    assert find_dynapse_boards(unopened_only=True) == [info]  # closed again


def test_apply_configuration_writes_our_fields_onto_the_models_configuration(fake_samna, bitfile, networks):
    from samna._hardware import configuration_from_fake

    _, mapped, _ = networks["chain"]
    _, fake = _plug(fake_samna, mapped, n_chips=2)
    model = fake.get_model()
    before = model.get_configuration()
    with SamnaBoard(bitfile=bitfile) as sb:
        sb.apply_configuration(mapped)
    assert model.applied == 1 and model.error_queue_cleared >= 1
    after = model.get_configuration()
    ours = mapped.configuration
    used = {(a.chip, a.core) for a in mapped.neurons}
    for chip, core in used:
        params, old = after.chips[chip].cores[core].parameters, before.chips[chip].cores[core].parameters
        for name, p in ours.core(chip, core).parameters.items():
            got = params[name]
            assert (got.type, got.coarse_value, got.fine_value) == (p.type.value, p.coarse_value, p.fine_value)
            assert params[name]._address == old[name]._address != 0  # samna's addresses kept
        for name in set(params) - set(ours.core(chip, core).parameters):  # parameters we do not model: untouched
            assert (params[name].coarse_value, params[name].fine_value, params[name]._address) == (
                old[name].coarse_value,
                old[name].fine_value,
                old[name]._address,
            )
    # some entries, read through samna's attributes
    a = mapped.neurons[0]
    neuron, samna_neuron = ours.neuron(a.chip, a.core, a.neuron), after.chips[a.chip].cores[a.core].neurons[a.neuron]
    for s, t in zip(neuron.synapses, samna_neuron.synapses):
        assert (int(t.dendrite), t.weight, t.tag, t.stp) == (int(s.dendrite), list(s.weight), s.tag, s.stp)
        assert (t.precise_delay, t.mismatched_delay) == (s.precise_delay, s.mismatched_delay)
    assert type(samna_neuron.synapses[0].dendrite) is fake_samna.dynapse2.Dendrite
    for d, t in zip(neuron.destinations, samna_neuron.destinations):
        assert (t.core, t.x_hop, t.y_hop, t.tag) == (list(d.core), d.x_hop, d.y_hop, d.tag)
    assert samna_neuron.latch_so_dc == neuron.latch_so_dc is True
    # everything, read back: every neuron of the map as we built it, nothing else in use
    back = configuration_from_fake(after)
    for a in mapped.neurons:
        assert back.neuron(a.chip, a.core, a.neuron) == ours.neuron(a.chip, a.core, a.neuron)
    in_use = {(c, k, n) for c, k, n, x in back.placed_neurons() if x.is_used}
    assert in_use == {(a.chip, a.core, a.neuron) for a in mapped.neurons}
    # the chip-level maps are samna's
    name = "R2R_BUFFER_AMPB"
    assert after.chips[0].global_parameters[name]._address == before.chips[0].global_parameters[name]._address


def test_a_configuration_larger_than_the_board_is_refused(fake_samna, bitfile, networks):
    _, mapped, _ = networks["chain"]  # two chips
    _plug(fake_samna, mapped, n_chips=1)
    with SamnaBoard(bitfile=bitfile) as sb:
        with pytest.raises(BoardError, match="1 chip"):
            sb.apply_configuration(mapped)


@pytest.mark.parametrize("name", ["two_layer", "chain"])
def test_driver_over_samna_board_reproduces_the_virtual_board(fake_samna, bitfile, networks, references, name):
    _, mapped, x = networks[name]
    sequential = references[name][1]
    info, fake = _plug(fake_samna, mapped, n_chips=2)
    fake.fake.foreign_events = True  # reads include events that are not grid events
    with SamnaBoard(info, bitfile=bitfile) as sb:
        dyn = DynapseSamna(sb, mapped, lead_time=0.0, chunk_steps=CHUNK, timeout=RUN_TIMEOUT)
        out, _, rec = dyn(x, record=True)
        np.testing.assert_array_equal(out, sequential)
        assert rec["counts"]["binned"] == out.sum() and rec["counts"]["outside_run"] == rec["counts"]["unknown_tag"] == 0
        assert sb.stray_control_events == len(rec["input_events"]) * (sb.marker_copies - 1)
    # what reached the FPGA: inputs in time order, each end marker twice, clock reads
    written = fake.fake.written
    runs = [r for r in written if r[4] != CONTROL_TAG]
    assert len(runs) == sum(len(s) for s in rec["input_events"])
    markers = [r for r in written if r[4] == CONTROL_TAG and r[0] > 0]
    assert len(markers) == 2 * len(rec["input_events"])
    stamps = [r[0] for r in written if r[0] > 0]
    assert stamps == sorted(stamps)


def test_end_markers_that_come_back_late_still_end_their_run(fake_samna, bitfile, networks, references):
    """The FPGA stamps a returned control event with its time of return, after the time it was written with."""
    _, mapped, x = networks["two_layer"]
    info, fake = _plug(fake_samna, mapped)
    fake.fake.bounce_latency_us = 3
    with SamnaBoard(info, bitfile=bitfile) as sb:
        dyn = DynapseSamna(sb, mapped, lead_time=0.0, chunk_steps=CHUNK, timeout=RUN_TIMEOUT)
        out, _, rec = dyn(x[0], record=True)
    markers = [e for batch in rec["output_events"] for e in batch if e.is_control]
    assert len(markers) == len(rec["input_events"]) == 3
    assert [m.timestamp for m in markers] == sorted(m.timestamp for m in markers)
    # each later chunk starts a step late (the clock read is 3 µs past the marker): the
    # first chunk is exactly the reference, the rest is not comparable step for step
    np.testing.assert_array_equal(out[0, :CHUNK], references["two_layer"][1][0, :CHUNK])
    assert sum(rec["counts"].values()) == sum(not e.is_control for batch in rec["output_events"] for e in batch)


def test_a_new_configuration_silences_the_neurons_of_the_old_one(fake_samna, bitfile, networks, references):
    from samna._hardware import configuration_from_fake

    _, chain, _ = networks["chain"]
    _, mapped, x = networks["two_layer"]
    info, fake = _plug(fake_samna, mapped, n_chips=2)
    with SamnaBoard(info, bitfile=bitfile) as sb:
        sb.apply_configuration(chain)
        dyn = DynapseSamna(sb, mapped, lead_time=0.0, chunk_steps=CHUNK, timeout=RUN_TIMEOUT)
        out, _, _ = dyn(x[0])
    np.testing.assert_array_equal(out[0], references["two_layer"][1][0])
    back = configuration_from_fake(fake.get_model().get_configuration())
    senders = {(loc.chip, loc.core, loc.neuron) for loc, _ in back.used_destinations()}
    ours = mapped.configuration
    expected = {(a.chip, a.core, a.neuron) for a in mapped.neurons}
    assert senders == {n for n in expected if any(d.is_used for d in ours.neuron(*n).destinations)}


def test_fault_injection_through_samna_board(fake_samna, bitfile, networks):
    _, mapped, x = networks["two_layer"]
    info, fake = _plug(fake_samna, mapped)
    sb = SamnaBoard(info, bitfile=bitfile, clock_timeout=0.2)
    dyn = DynapseSamna(sb, mapped, lead_time=0.0, timeout=RUN_TIMEOUT, chunk_steps=CHUNK)
    dyn(x[0])  # compiled: the fake's reads below are quick
    dyn.timeout = 1.0  # above the board's clock timeout: the board's own error comes first
    # the end marker is lost: the driver times out; the board answered, so it stays open
    fake.fake.drop_end_markers = True
    with pytest.raises(BoardTimeoutError, match="end marker"):
        dyn(x[0])
    assert sb.is_open
    # no control event comes back at all: reading the clock times out
    fake.fake.drop_end_markers, fake.fake.drop_control_events = False, True
    with pytest.raises(BoardTimeoutError, match="FPGA clock"):
        dyn(x[0])
    # faults gone: the board works again
    fake.fake.drop_control_events = False
    out, _, _ = dyn(x[0])
    assert out.shape == (1, T, mapped.n_outputs)
    # the cable is pulled: disconnect, the board is closed, the device is gone
    fake.fake_unplug()
    with pytest.raises(BoardDisconnectedError, match="must stay connected") as err:
        dyn(x[0])
    assert isinstance(err.value.__cause__, ConnectionError) and isinstance(err.value.__cause__.__cause__, RuntimeError)
    assert not sb.is_open and isinstance(sb.close_error, RuntimeError)
    assert fake_samna.device.get_all_devices() == []
    with pytest.raises(BoardError, match="closed"):
        sb.read_events()
    sb.close()


def test_a_board_that_goes_away_while_configuring_is_reported(fake_samna, bitfile, networks):
    _, mapped, _ = networks["two_layer"]
    info, fake = _plug(fake_samna, mapped)
    sb = SamnaBoard(info, bitfile=bitfile)
    fake.fake_unplug()
    with pytest.raises(BoardDisconnectedError):
        DynapseSamna(sb, mapped)
    assert not sb.is_open


def test_samna_board_checks_what_it_writes_and_refuses_work_when_closed(fake_samna, bitfile, networks):
    _, mapped, _ = networks["two_layer"]
    _plug(fake_samna, mapped)
    sb = SamnaBoard(bitfile=bitfile)
    with pytest.raises(ParameterValueError, match="timestamp"):
        sb.write_events([GridEvent(-1, 3)])  # refused by GridEvent itself
    with pytest.raises(ParameterValueError, match="GridEvent"):
        sb.write_events([(0, 3)])
    with pytest.raises(ParameterValueError, match="marker_copies"):
        SamnaBoard(bitfile=bitfile, marker_copies=0)
    assert sb.time_us() == 0
    sb.close()
    sb.close()
    for call in (sb.time_us, sb.read_events, lambda: sb.write_events([]), lambda: sb.apply_configuration(mapped)):
        with pytest.raises(BoardError, match="closed"):
            call()


def test_clock_reads_follow_the_fpga_clock(fake_samna, bitfile, networks):
    _, mapped, x = networks["two_layer"]
    info, fake = _plug(fake_samna, mapped)
    with SamnaBoard(info, bitfile=bitfile) as sb:
        dyn = DynapseSamna(sb, mapped, lead_time=0.0, chunk_steps=T, timeout=RUN_TIMEOUT)
        assert sb.time_us() == 0
        dyn(x[0])
        assert sb.time_us() == fake.fake.now == T * 1000
        fake.fake.bounce_latency_us = 7
        assert sb.time_us() == T * 1000 + 7


# --- 7. without samna ---------------------------------------------------------------------------


@pytest.mark.skipif(samna_status().real, reason="SynSense's samna is installed here")
def test_without_samna_the_samna_board_refuses_and_samna_is_not_imported(bitfile):
    before = sys.modules.get("samna")
    with pytest.raises(SamnaNotAvailableError, match="SynSense's samna"):
        find_dynapse_boards()
    with pytest.raises(SamnaNotAvailableError, match="SynSense's samna"):
        SamnaBoard(bitfile=bitfile)
    with pytest.raises(SamnaNotAvailableError):
        SamnaBoard()  # samna is checked before the bitfile
    after = sys.modules.get("samna")
    assert after is before and (after is None or getattr(after, "PYPI_SAMNA", False))


# --- 8. on a real board ---------------------------------------------------------------------------


@pytest.mark.hardware
@pytest.mark.skipif(
    not (samna_status().real and os.environ.get(BITFILE_ENV)),
    reason=f"needs SynSense's samna, a DYNAP-SE2 board and {BITFILE_ENV}",
)
def test_on_a_real_board(networks):
    """Runs the two-layer network on the board: analog, so only the bookkeeping is exact."""
    _, mapped, x = networks["two_layer"]
    with SamnaBoard() as sb:
        dyn = DynapseSamna(sb, mapped, lead_time=0.0, chunk_steps=CHUNK, timeout=10.0)
        t0 = sb.time_us()
        out, _, rec = dyn(x, record=True)
        assert sb.time_us() > t0
    assert out.shape == (2, T, mapped.n_outputs)
    received = [e for batch in rec["output_events"] for e in batch if not e.is_control]
    assert sum(rec["counts"].values()) == len(received)
    assert not sb.is_open


def test_samna_boards_get_a_lead_time_before_each_run(fake_samna, bitfile, networks):
    """The FPGA clock runs while events are written: runs start 0.1 s after the clock read."""
    _, mapped, x = networks["two_layer"]
    info, _ = _plug(fake_samna, mapped)
    with SamnaBoard(info, bitfile=bitfile) as sb:
        dyn = DynapseSamna(sb, mapped, chunk_steps=T, timeout=RUN_TIMEOUT)
        _, _, rec = dyn(x[0], record=True)
        first = min(e.timestamp for e in rec["input_events"][0])
        assert first >= 100_000
    assert DynapseSamna(VirtualBoard(), mapped)._lead_us == 0


# --- 9. board kinds and capabilities ----------------------------------------------------------------


def test_the_registry_opens_boards_by_kind_and_names_the_kinds_it_knows():
    from rockpool_dynapse2.errors import UnknownParameterError
    from rockpool_dynapse2.hardware import board_kinds, open_board

    assert board_kinds() == ("virtual", "samna")
    with open_board("virtual", backend="torch") as board:
        assert isinstance(board, VirtualBoard) and board.backend == "torch"
    assert isinstance(open_board(), VirtualBoard)
    with pytest.raises(UnknownParameterError, match="virtual, samna") as info:
        open_board("fpga")
    assert info.value.name == "fpga" and info.value.valid == ("virtual", "samna")
    with pytest.raises(UnknownParameterError, match="backend, horizon_steps, profile; got 'index'"):
        open_board("virtual", index=0)
    with pytest.raises(UnknownParameterError, match="got 'backend'"):
        open_board("samna", backend="jax")  # checked before samna is needed


def test_a_new_board_kind_is_one_registry_line(monkeypatch):
    from rockpool_dynapse2.hardware import BOARD_KINDS, BoardKind, board_kinds, check_board, open_board

    monkeypatch.setitem(BOARD_KINDS, "recording", BoardKind(__name__, "RecordingBoard"))
    assert "recording" in board_kinds()
    check_board("recording")
    board = open_board("recording")
    assert isinstance(board, RecordingBoard) and board.capabilities.can_reset


def test_boards_declare_what_they_can_do(fake_samna, bitfile, networks):
    _, mapped, _ = networks["two_layer"]
    virtual = VirtualBoard().capabilities
    assert virtual.can_reset and not virtual.has_clock and virtual.lead_time == 0.0 and virtual.n_chips == 4
    info, _ = _plug(fake_samna, mapped, n_chips=2)
    with SamnaBoard(info, bitfile=bitfile) as sb:
        chip = sb.capabilities
        assert not chip.can_reset and chip.has_clock and chip.lead_time == sb.recommended_lead_time == 0.1
        assert chip.n_chips == 2
        with pytest.raises(BoardError, match="rest"):
            sb.reset_state()  # a chip cannot: no silent no-op
        dyn = DynapseSamna(sb, mapped, lead_time=0.0)
        assert dyn.capabilities is chip
        with pytest.raises(BoardError, match="cannot"):
            dyn.reset_state()
    assert sb.capabilities is chip  # declared once, readable after closing


def test_the_samna_kind_opens_a_board_by_index(fake_samna, bitfile, networks, monkeypatch):
    from rockpool_dynapse2.errors import ParameterValueError
    from rockpool_dynapse2.hardware import check_board, open_board

    _, mapped, _ = networks["two_layer"]
    a, _ = _plug(fake_samna, mapped)
    b, _ = _plug(fake_samna, mapped)
    monkeypatch.setenv(BITFILE_ENV, bitfile)
    check_board("samna", index=1)
    with open_board("samna", index=1) as sb:
        assert isinstance(sb, SamnaBoard) and sb.device_info == b
    with open_board("samna", bitfile=bitfile) as sb:  # the first one not yet opened
        assert sb.device_info == a
    with pytest.raises(BoardNotFoundError, match="0..1"):
        open_board("samna", index=2)
    for bad in (-1, 1.5, True):
        with pytest.raises(ParameterValueError, match="index"):
            check_board("samna", index=bad)
    with pytest.raises(ParameterValueError, match="device"):
        open_board("samna", index=0, device=a)


def test_board_outputs_resets_a_board_that_can_and_rests_one_that_cannot(fake_samna, bitfile, networks, references):
    from rockpool_dynapse2.app.demo import board_outputs

    qspec, mapped, x = networks["two_layer"]
    batched = references["two_layer"][0]
    np.testing.assert_array_equal(board_outputs(mapped, x, VirtualBoard), batched)  # reset before each sample
    rest = 7
    idle = rest + int(round(0.1 / mapped.dt))  # and the lead time before each run: the FPGA clock runs on
    padded = np.concatenate([np.zeros((2, idle, x.shape[2]), np.float32), x], axis=1)
    expected = _sequential_reference(qspec, padded)[:, idle:]
    info, _ = _plug(fake_samna, mapped)
    out = board_outputs(mapped, x, lambda: SamnaBoard(info, bitfile=bitfile), rest_steps=rest)
    np.testing.assert_array_equal(out, expected)  # rest steps before each sample, no reset
