"""Fault injection into the driver: it never hangs, never loses what it got, names every failure.

The fake boards subclass :class:`VirtualBoard`, so what they return before a fault can be
compared with the ideal virtual board:

1. a board call that blocks forever (``threading.Event``) gives ``BoardTimeoutError``
   within about the timeout and the board is closed; the finished runs are kept;
2. a board that disconnects in run 3 of 4 (and in sample 2 of 2): the finished runs'
   outputs are on the error and equal the ideal virtual board's;
3. a board's own exceptions (OSError, RuntimeError, ValueError, ...) in
   ``apply_configuration``, ``write_events`` and ``read_events`` become named board errors
   chained to the original, and the board is closed; a ``BoardError`` passes unchanged;
4. bad events: ``GridEvent`` and the virtual board refuse them by name, nothing queued;
5. input events that reach no neuron are counted by the driver, as the virtual board counts them.
"""

import dataclasses
import logging
import signal
import threading
import time

import numpy as np
import pytest
from rockpool.nn.combinators import Sequential
from rockpool.nn.modules import LinearJax

from rockpool_dynapse2 import DynapSimJax
from rockpool_dynapse2.errors import ParameterValueError
from rockpool_dynapse2.hardware import (
    BoardDisconnectedError,
    BoardError,
    BoardFailureError,
    BoardTimeoutError,
    DynapseSamna,
    GridEvent,
    VirtualBoard,
    control_event,
    lost_inputs,
    unrouted_input_routes,
)
from rockpool_dynapse2.hardware.board import TIMESTAMP_MAX
from rockpool_dynapse2.mapping import mapper, quantize_spec
from rockpool_dynapse2.placement import InputRoute, config_from_specification

T, CHUNK = 40, 10  # four runs per sample
FAIL_RUN = 3


@pytest.fixture(scope="module")
def setup():
    """A two-layer network on two cores, an input of 2 samples, and the ideal virtual board's output."""
    rng = np.random.default_rng(4)
    net = Sequential(
        LinearJax((5, 8), weight=np.abs(rng.normal(1, 1, (5, 8))) + 0.5, has_bias=False),
        DynapSimJax((8,), Idc=2e-12),
        LinearJax((8, 3), weight=np.abs(rng.normal(1, 1, (8, 3))) + 0.5, has_bias=False),
        DynapSimJax((3,), Idc=1e-12),
    )
    qspec, _ = quantize_spec(mapper(net.as_graph()))
    mapped = config_from_specification(qspec)
    x = rng.poisson(0.8, (2, T, mapped.n_inputs)).astype(np.float32)
    ideal, _, _ = DynapseSamna(VirtualBoard(), mapped, chunk_steps=CHUNK)(x)
    assert ideal[:, : (FAIL_RUN - 1) * CHUNK].sum() > 0  # the kept runs have something to compare
    return mapped, x, ideal


# --- fake boards ----------------------------------------------------------------------------------


class FaultyBoard(VirtualBoard):
    """A virtual board whose method ``method`` misbehaves from run ``at_run`` on (runs counted
    by clock reads; ``apply_configuration`` counts as run 1): ``fault()`` is called instead."""

    def __init__(self, method, fault, at_run=1):
        super().__init__()
        self.method, self.fault, self.at_run = method, fault, at_run
        self.runs = 0

    def _maybe(self, name, call, *args):
        if name == self.method and max(self.runs, 1) >= self.at_run:
            return self.fault()
        return call(*args)

    def apply_configuration(self, config):
        return self._maybe("apply_configuration", super().apply_configuration, config)

    def time_us(self):
        self.runs += 1
        return self._maybe("time_us", super().time_us)

    def write_events(self, events):
        return self._maybe("write_events", super().write_events, events)

    def read_events(self):
        return self._maybe("read_events", super().read_events)


@pytest.fixture
def release():
    """An event that blocked board calls wait for; set after the test, so their threads end."""
    event = threading.Event()
    yield event
    event.set()


def _raise(exc):
    def fault():
        raise exc

    return fault


# --- 1. a call that blocks forever ------------------------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("method", ["read_events", "write_events", "time_us"])
def test_a_board_call_that_blocks_forever_times_out_and_the_board_is_closed(setup, release, method):
    mapped, x, ideal = setup
    DynapseSamna(VirtualBoard(), mapped, chunk_steps=CHUNK)(x[0])  # compiled: the runs before the block are quick
    board = FaultyBoard(method, release.wait, at_run=FAIL_RUN)
    dyn = DynapseSamna(board, mapped, timeout=0.2, chunk_steps=CHUNK)
    with pytest.raises(BoardTimeoutError, match=f"`board.{method}` must return within .*\\(run {FAIL_RUN} of 4") as info:
        dyn(x[0])
    err = info.value
    assert isinstance(err, TimeoutError)
    assert not board.is_open  # closed: a helper thread is still inside it
    done = (FAIL_RUN - 1) * CHUNK
    assert err.samples_done == 0 and err.steps_done == done
    np.testing.assert_array_equal(err.partial[0, :done], ideal[0, :done])
    assert not err.partial[0, done:].any()
    with pytest.raises(BoardError, match="closed"):
        dyn(x[0])


@pytest.mark.timeout(30)
def test_the_driver_refuses_a_board_it_closed_even_if_the_board_says_it_is_open(setup, release):
    mapped, x, _ = setup

    class StaysOpen(FaultyBoard):
        def close(self):
            pass  # a board whose close does nothing

    board = StaysOpen("read_events", release.wait)
    dyn = DynapseSamna(board, mapped, timeout=0.2, chunk_steps=CHUNK)
    with pytest.raises(BoardTimeoutError):
        dyn(x[0])
    assert board.is_open
    with pytest.raises(BoardError, match="the driver closed it after `board.read_events` did not return"):
        dyn(x[0])


@pytest.mark.timeout(30)
def test_a_close_that_blocks_too_is_reported_and_does_not_hang(setup, release):
    mapped, x, _ = setup

    class CloseBlocks(FaultyBoard):
        def close(self):
            release.wait()

    dyn = DynapseSamna(CloseBlocks("read_events", release.wait), mapped, timeout=0.2, chunk_steps=CHUNK)
    with pytest.raises(BoardTimeoutError, match="closing it did not finish within 0.2 s either"):
        dyn(x[0])
    dyn.close()  # the driver closed it already: nothing to do, no hang


@pytest.mark.timeout(30)
def test_an_interrupt_while_a_call_is_inside_the_board_closes_it(setup, release):
    mapped, x, _ = setup
    entered = threading.Event()

    def blocked_read():
        entered.set()
        release.wait()

    board = FaultyBoard("read_events", blocked_read)
    dyn = DynapseSamna(board, mapped, timeout=20.0, chunk_steps=CHUNK)

    def ctrl_c():  # once the read is blocked inside the board (not at a fixed time: a busy machine is slow to get there)
        if entered.wait(15.0):
            time.sleep(0.2)
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    # Ctrl-C while the driver waits for the read: SIGINT to the main thread, as a terminal sends it,
    # with Python's own SIGINT handler (a library imported by an earlier test may have left another)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    interrupt = threading.Thread(target=ctrl_c, daemon=True)
    try:
        interrupt.start()
        with pytest.raises(KeyboardInterrupt):
            dyn(x[0])
        interrupt.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert not board.is_open
    with pytest.raises(BoardError, match="an interrupt while `board.read_events` ran"):
        dyn(x[0])


# --- 2. the finished runs are kept --------------------------------------------------------------------


@pytest.mark.parametrize("sample", [0, 1])
def test_a_disconnect_in_run_3_of_4_keeps_the_finished_runs(setup, sample):
    mapped, x, ideal = setup
    at_run = sample * (T // CHUNK) + FAIL_RUN
    board = FaultyBoard("read_events", _raise(ConnectionError("USB device gone")), at_run=at_run)
    dyn = DynapseSamna(board, mapped, chunk_steps=CHUNK)
    with pytest.raises(BoardDisconnectedError, match="USB device gone") as info:
        dyn(x, record=True)
    err = info.value
    done = (FAIL_RUN - 1) * CHUNK
    assert (err.samples_done, err.steps_done) == (sample, done)
    np.testing.assert_array_equal(err.partial[:sample], ideal[:sample])
    np.testing.assert_array_equal(err.partial[sample, :done], ideal[sample, :done])
    assert not err.partial[sample, done:].any() and not err.partial[sample + 1 :].any()
    # the record so far: every finished run's events, and the failed run's inputs
    finished = sample * (T // CHUNK) + FAIL_RUN - 1
    assert len(err.record["input_events"]) == len(err.record["output_events"]) == finished
    assert err.record["counts"]["binned"] == err.partial.sum()
    unfinished = err.record["unfinished"]
    assert unfinished["input_events"] and unfinished["output_events"] == []
    assert unfinished["t0"] <= unfinished["input_events"][0].timestamp < unfinished["t0"] + CHUNK * 1000
    assert not board.is_open and isinstance(err.__cause__, ConnectionError)


def test_a_missing_end_marker_keeps_the_finished_runs_and_the_events_that_came(setup):
    mapped, x, ideal = setup
    DynapseSamna(VirtualBoard(), mapped, chunk_steps=CHUNK)(x[0])  # compiled: the reads below are quick

    class LosesMarkers(FaultyBoard):
        def read_events(self):
            events = super().read_events()
            return [e for e in events if not e.is_control] if self.runs >= FAIL_RUN else events

    board = LosesMarkers(None, None)
    dyn = DynapseSamna(board, mapped, chunk_steps=CHUNK, timeout=1.0)
    with pytest.raises(BoardTimeoutError, match="end marker") as info:
        dyn(x[0])
    err = info.value
    done = (FAIL_RUN - 1) * CHUNK
    np.testing.assert_array_equal(err.partial[0, :done], ideal[0, :done])
    # the failed run's outputs came back (only its marker was lost): kept in the record
    came = [e for e in err.record["unfinished"]["output_events"] if not e.is_control]
    assert len(came) == ideal[0, done : done + CHUNK].sum() > 0
    assert board.is_open  # it answered: open and usable
    dyn.reset_state()


# --- 3. a board's own exceptions ------------------------------------------------------------------------


@pytest.mark.parametrize("exc", [OSError("I/O error"), RuntimeError("samna: bad state"), ValueError("bad value")])
@pytest.mark.parametrize("method", ["apply_configuration", "write_events", "read_events"])
def test_a_boards_own_exception_becomes_a_named_board_error_and_the_board_is_closed(setup, method, exc):
    mapped, x, _ = setup
    board = FaultyBoard(method, _raise(exc))
    with pytest.raises(BoardFailureError, match=f"`board.{method}` must return or raise a BoardError") as info:
        DynapseSamna(board, mapped, chunk_steps=CHUNK)(x[0])
    err = info.value
    assert err.__cause__ is exc and type(exc).__name__ in str(err) and str(exc) in str(err)
    assert isinstance(err, BoardError) and not board.is_open


@pytest.mark.parametrize(
    "exc, expected",
    [(ConnectionResetError("reset by peer"), BoardDisconnectedError), (TimeoutError("usb timeout"), BoardTimeoutError)],
)
def test_connection_and_timeout_errors_of_a_board_keep_their_meaning(setup, exc, expected):
    mapped, x, _ = setup
    board = FaultyBoard("read_events", _raise(exc))
    with pytest.raises(expected) as info:
        DynapseSamna(board, mapped, chunk_steps=CHUNK)(x[0])
    assert info.value.__cause__ is exc and not board.is_open


def test_a_board_error_of_the_board_passes_unchanged_and_the_board_stays_open(setup):
    mapped, x, _ = setup
    own = BoardError("`the FPGA clock` must answer; it did not")
    board = FaultyBoard("time_us", _raise(own))
    dyn = DynapseSamna(board, mapped, chunk_steps=CHUNK)
    with pytest.raises(BoardError) as info:
        dyn(x[0])
    assert info.value is own and info.value.partial is not None
    assert board.is_open


def test_bad_inputs_are_refused_before_anything_runs(setup):
    mapped, x, _ = setup
    board = FaultyBoard(None, None)
    dyn = DynapseSamna(board, mapped, chunk_steps=CHUNK)
    bad = x[0].copy()
    bad[35, 1] = 1000  # run 4: more spikes in a step than microseconds
    with pytest.raises(ParameterValueError, match="fewer than 1000 spikes.*index \\(0, 35, 1\\)"):
        dyn(bad)
    assert board.runs == 0
    for timeout in (0, -1, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ParameterValueError, match="timeout"):
            DynapseSamna(VirtualBoard(), mapped, timeout=timeout)


def test_the_default_timeout_follows_the_boards_clock(setup):
    from rockpool_dynapse2.hardware.driver import DEFAULT_TIMEOUT, DEFAULT_TIMEOUT_SIMULATED

    mapped, _, _ = setup
    assert DynapseSamna(VirtualBoard(), mapped).timeout == DEFAULT_TIMEOUT_SIMULATED  # its reads compute

    class Clocked(VirtualBoard):
        @property
        def capabilities(self):
            return dataclasses.replace(super().capabilities, has_clock=True)

    assert DynapseSamna(Clocked(), mapped).timeout == DEFAULT_TIMEOUT < DEFAULT_TIMEOUT_SIMULATED
    assert DynapseSamna(Clocked(), mapped, timeout=3).timeout == 3.0


# --- a board without a clock of its own: its deadline counts its computing, not the machine's load ---------


class _FakeCpu:
    """A fake process CPU clock: ``step`` seconds more at every look; ``on_look(looks)`` after each."""

    def __init__(self, step, on_look=lambda looks: None):
        self.step, self.now, self.looks, self.on_look = step, 0.0, 0, on_look

    def __call__(self):
        self.now += self.step
        self.looks += 1
        self.on_look(self.looks)
        return self.now


@pytest.mark.timeout(30)
def test_a_clockless_board_still_computing_past_its_deadline_is_waited_for(setup, release, monkeypatch):
    """A starved process: the read outlives its wall-clock deadline while the process computes."""
    from rockpool_dynapse2.hardware import driver

    mapped, x, ideal = setup
    DynapseSamna(VirtualBoard(), mapped, chunk_steps=CHUNK)(x[0])  # compiled

    def slow_read():  # returns once the driver has looked at the board's progress several times, past the deadline
        release.wait()
        return VirtualBoard.read_events(board)

    # computing: above IDLE_CPU_SHARE of a CPU at every look, far below the read's budget of CPU time
    cpu = _FakeCpu(0.01, on_look=lambda looks: looks >= 6 and release.set())
    monkeypatch.setattr(driver, "_cpu_seconds", cpu)
    board = FaultyBoard("read_events", slow_read, at_run=FAIL_RUN)
    dyn = DynapseSamna(board, mapped, timeout=0.2, chunk_steps=CHUNK)
    out, _, _ = dyn(x[0])
    np.testing.assert_array_equal(out, ideal[:1])
    assert cpu.looks >= 6 and board.is_open


@pytest.mark.timeout(30)
def test_a_clockless_board_that_computes_longer_than_its_deadline_in_cpu_time_times_out(setup, release, monkeypatch):
    from rockpool_dynapse2.hardware import driver

    mapped, x, _ = setup
    monkeypatch.setattr(driver, "_cpu_seconds", _FakeCpu(1.0))  # a second of CPU at every look: past any budget here
    board = FaultyBoard("read_events", release.wait, at_run=FAIL_RUN)
    dyn = DynapseSamna(board, mapped, timeout=0.2, chunk_steps=CHUNK)
    with pytest.raises(BoardTimeoutError, match="computed for longer than that in CPU time") as info:
        dyn(x[0])
    assert info.value.steps_done == (FAIL_RUN - 1) * CHUNK and not board.is_open


@pytest.mark.timeout(30)
def test_a_board_with_its_own_clock_keeps_its_wall_clock_deadline(setup, release, monkeypatch):
    """A samna board's deadline is unchanged: a busy process does not extend it."""
    from rockpool_dynapse2.hardware import driver

    mapped, x, _ = setup
    monkeypatch.setattr(driver, "_cpu_seconds", _FakeCpu(0.01))

    class Clocked(FaultyBoard):
        @property
        def capabilities(self):
            return dataclasses.replace(super().capabilities, has_clock=True)

    board = Clocked("read_events", release.wait, at_run=FAIL_RUN)
    dyn = DynapseSamna(board, mapped, timeout=0.2, chunk_steps=CHUNK)
    with pytest.raises(BoardTimeoutError, match=r"\(the board blocks\)"):
        dyn(x[0])
    assert not board.is_open


# --- 4. bad events ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, name",
    [
        (dict(timestamp=-1), "timestamp"),
        (dict(timestamp=TIMESTAMP_MAX + 1), "timestamp"),
        (dict(timestamp=10**12), "timestamp"),
        (dict(timestamp="5"), "timestamp"),
        (dict(timestamp=1.5), "timestamp"),
        (dict(timestamp=True), "timestamp"),
        (dict(tag=-1), "tag"),
        (dict(tag=2048), "tag"),
        (dict(tag=3.0), "tag"),
        (dict(x_hop=8), "x_hop"),
        (dict(y_hop=-8), "y_hop"),
        (dict(core=(1, 1, 1, 1)), "core"),
        (dict(core=(True, True, True)), "core"),
        (dict(core="TTTT"), "core"),
    ],
)
def test_grid_events_refuse_fields_outside_their_domain(fields, name):
    with pytest.raises(ParameterValueError, match=f"`GridEvent.{name}` must be"):
        GridEvent(**{"timestamp": 0, "tag": 1, **fields})


def test_grid_events_store_plain_integers_and_booleans():
    e = GridEvent(np.int64(5), np.int32(17), np.int8(1), 0, np.array([True, False, False, False]))
    assert e == GridEvent(5, 17, 1, 0, (True, False, False, False))
    assert type(e.timestamp) is int and type(e.tag) is int and all(type(b) is bool for b in e.core)
    assert GridEvent(TIMESTAMP_MAX, 2047).timestamp == TIMESTAMP_MAX
    with pytest.raises(ParameterValueError):
        control_event(-5)


def _configured_board(mapped, **kwargs):
    board = VirtualBoard(**kwargs)
    board.apply_configuration(mapped)
    return board


@pytest.mark.parametrize(
    "event, name",
    [
        (GridEvent(10**9, 0, 0, 0), r"events\[1\].timestamp"),  # 10**6 steps past the clock: not allocated
        (GridEvent(5, 0, 4, 0), r"events\[1\] \(x_hop, y_hop\)"),  # chip 4 of a 4-chip board
        (GridEvent(5, 0, 0, 1), r"events\[1\] \(x_hop, y_hop\)"),  # north of the row of chips
        (GridEvent(5, 0, -7, -7), r"events\[1\] \(x_hop, y_hop\)"),  # the FPGA, not a chip, and no marker
        ((5, 0), r"events\[1\]"),
    ],
)
def test_the_virtual_board_refuses_events_it_cannot_take_and_queues_none(setup, event, name):
    mapped, _, _ = setup
    board = _configured_board(mapped)
    good = GridEvent(3, mapped.inputs[0][0].tag, 0, 0, mapped.inputs[0][0].core_mask)
    with pytest.raises(ParameterValueError, match=name):
        board.write_events([good, event])
    assert board.read_events() == [] and board.time_us() == 0  # nothing was queued
    board.write_events([good, control_event(1000)])
    assert board.read_events()[-1] == control_event(1000)


def test_the_horizon_is_an_option_and_is_checked(setup):
    mapped, _, _ = setup
    board = _configured_board(mapped, horizon_steps=50)
    board.write_events([control_event(50_000)])  # 50 steps of 1 ms: at the horizon
    with pytest.raises(ParameterValueError, match="horizon_steps` = 50 steps"):
        board.write_events([control_event(50_001)])
    assert [e for e in board.read_events() if e.is_control] == [control_event(50_000)]
    board.write_events([control_event(100_000)])  # the horizon moves with the clock
    for bad in (0, -3, 2.5, True, "10"):
        with pytest.raises(ParameterValueError, match="horizon_steps"):
            VirtualBoard(horizon_steps=bad)


def test_late_events_and_empty_core_masks_are_counted_not_crashed_on(setup):
    mapped, _, _ = setup
    board = _configured_board(mapped)
    route = mapped.inputs[0][0]
    board.write_events([control_event(5000)])
    board.read_events()  # the clock is at 5 ms
    board.write_events([GridEvent(1000, route.tag, 0, 0, route.core_mask)])  # late, alone (IndexError before)
    board.read_events()
    assert board.late_events == 1 and board.time_us() == 6000
    board.write_events([GridEvent(7000, route.tag, 0, 0, (False,) * 4)])  # no core: reaches nothing
    board.read_events()
    assert board.unrouted_events == 1


# --- 5. input events that reach no neuron ---------------------------------------------------------------------


def _unheard_tag(mapped, chip=0):
    heard = {s.tag for loc, s in mapped.configuration.used_synapses() if loc.chip == chip}
    return next(t for t in range(2047) if t not in heard)


def _with_routes(mapped, routes):
    """``mapped`` with the routes of some channels replaced: ``{channel: (InputRoute, ...)}``."""
    inputs = tuple(routes.get(i, r) for i, r in enumerate(mapped.inputs))
    return dataclasses.replace(mapped, inputs=inputs)


def test_events_that_reach_no_neuron_are_counted_by_the_driver_as_the_virtual_board_counts_them(setup, caplog):
    mapped, x, _ = setup
    live = mapped.inputs[1][0]
    dead = InputRoute(live.chip, live.core_mask, _unheard_tag(mapped))
    nowhere = InputRoute(live.chip, (False,) * 4, live.tag)  # no core selected
    lossy = _with_routes(mapped, {1: (dead,), 2: (mapped.inputs[2][0], nowhere)})
    assert unrouted_input_routes(lossy) == ((1, dead), (2, nowhere))
    board = VirtualBoard()
    with caplog.at_level(logging.WARNING, logger="rockpool_dynapse2.hardware.driver"):
        dyn = DynapseSamna(board, lossy, chunk_steps=CHUNK)
    assert f"tag {dead.tag}" in caplog.text and "reach no neuron" in caplog.text
    _, _, rec = dyn(x, record=True)
    expected = int(x[..., 1].sum() + x[..., 2].sum())
    assert rec["inputs"]["unrouted"] == expected == board.unrouted_events == dyn.unrouted_input_events > 0
    assert rec["inputs"]["sent"] == sum(len(batch) for batch in rec["input_events"])
    report = lost_inputs(x, lossy)
    assert (report.lost, report.sent) == (expected, rec["inputs"]["sent"])
    assert report.where[0].startswith(f"input channel 1 -> chip {dead.chip}, cores ")
    assert report.where[0].endswith(f"tag {dead.tag}: {int(x[..., 1].sum())} events")
    assert report.where[1].endswith(f"cores none, tag {nowhere.tag}: {int(x[..., 2].sum())} events")
    # a configuration that loses nothing reports nothing
    clean = VirtualBoard()
    _, _, rec = DynapseSamna(clean, mapped, chunk_steps=CHUNK)(x, record=True)
    assert rec["inputs"]["unrouted"] == clean.unrouted_events == 0 and lost_inputs(x, mapped).lost == 0
