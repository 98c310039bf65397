"""``DynapseSamna``: a deployed network as a Rockpool module.

``evolve(raster)`` turns an input raster into timed events through the configuration's
input channel map, runs them on a board (:class:`~.samna_board.SamnaBoard` or
:class:`~.virtual.VirtualBoard`) and bins the output events back into a raster through
the output channel map:

* the run starts at the board's clock, rounded up to a step; the ``c`` spikes of input
  channel ``i`` in step ``k`` become ``c`` events per route of ``i`` at
  ``t0 + k dt + n`` microseconds (``n = 0 .. c-1``), written in time order;
* the end of the run is a control event at ``t0 + T dt``: once it comes back, every
  output event of the run has arrived;
* long inputs run in chunks of ``chunk_steps`` steps, one after the other;
* output event ``(tag, t)`` adds one spike to output channel ``outputs.index(tag)`` in step
  ``(t - t0) // dt``; events outside the run or with unknown tags are counted, never lost
  silently (``record=True`` returns every raw event and these counts);
* input events that reach no neuron are counted too (see below).

**Deadlines: the driver never hangs.** Every board call of a run (``time_us``,
``write_events``, ``read_events``, and ``close`` after a failure) runs in a helper thread
(a daemon thread, one per ``evolve`` call) that the driver waits for with a timeout, so a
call that blocks inside the board cannot hold the driver past its deadline:

* ``time_us`` and ``write_events`` must return within ``timeout`` seconds;
* the end marker must be back within ``T dt + timeout`` seconds of writing the run; a
  ``read_events`` still inside the board at that deadline (or, begun close to it, after
  ``min(timeout, 0.5 s)``) is *stuck*.

These are wall-clock seconds on a board whose clock runs on its own (a samna board:
``capabilities.has_clock``). A board without one (the virtual board) computes the run
inside its calls, in this process, so a wall-clock deadline would measure the machine's
load, not the board (a process starved of CPU would fail a healthy run). There a call
past its deadline is still waited for while it *computes*, and is stuck only when it
(a) stops computing: the process used less than :data:`IDLE_CPU_SHARE` of a CPU over the
last wait of the call's deadline (a board blocked inside a call), or (b) has computed for
longer than its deadline: the process's CPU time since the call began is past it (a
board that never finishes). Both are measured on the process's CPU time
(``time.process_time``: every thread of the process, so a second busy thread in the
process keeps a blocked board's call waited for, up to (b)).

A stuck call raises :class:`~rockpool_dynapse2.errors.BoardTimeoutError` and the driver
closes the board (its helper thread may stay blocked in the board; the board must not be
used again: the driver refuses to, whatever the board says). An interrupt (Ctrl-C) while
the driver waits for such a call closes the board too, and is raised. An end marker that does not
come back while the reads do return raises ``BoardTimeoutError`` too, but the board stays
open and usable: it answered, and the next clock read starts a new run (a late output
of the failed run is then counted as ``outside_run``). ``apply_configuration``,
``reset_state`` and ``capabilities`` run in the calling thread, without a deadline
(programming a board can take long).

**A board's own errors** are translated, and the board is closed: a
:class:`ConnectionError` becomes :class:`~rockpool_dynapse2.errors.BoardDisconnectedError`,
a built-in :class:`TimeoutError` :class:`~rockpool_dynapse2.errors.BoardTimeoutError`,
any other exception that is not a :class:`~rockpool_dynapse2.errors.BoardError` (an
``OSError``, ``RuntimeError``, ``ValueError``, ...) :class:`~rockpool_dynapse2.errors.BoardFailureError`;
the board's error is the ``__cause__``. A ``BoardError`` the board raises itself (e.g.
:class:`~.samna_board.SamnaBoard`'s clock timeout) passes unchanged and leaves the board as
the board left it.

**Nothing finished is lost.** A ``BoardError`` raised by :meth:`DynapseSamna.evolve`
carries what the finished runs gave: ``err.partial`` (the output raster, filled up to
the failure), ``err.samples_done``, ``err.steps_done`` and ``err.record`` (the record so
far, with the failed run's events under ``"unfinished"``).

**Lost inputs.** The chip drops an event that no CAM entry of its target chip and cores
listens to, without a trace; samna cannot report it. The driver therefore counts them
from the configuration: :func:`unrouted_input_routes` lists the input routes whose
(chip, cores, tag) no used CAM entry holds, and every run counts the events written to
them (``record["inputs"]["unrouted"]``, and :attr:`DynapseSamna.unrouted_input_events`
over the module's life). The count is exact for a board that holds the configuration as
written; a chip's faulty CAM entries are beyond it. The virtual board counts the events
it drops itself (``VirtualBoard.unrouted_events``), and agrees.

What the board can do comes from its :class:`~.board.BoardCapabilities`: the lead time
before a run (a clock that runs on its own needs one), and whether :meth:`reset_state`
can return the neurons to rest.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np
from rockpool.nn.modules.module import Module

from ..placement.allocate import chip_position
from ..placement.mapped import InputRoute, MappedConfiguration
from ..errors import (
    BoardDisconnectedError,
    BoardError,
    BoardFailureError,
    BoardTimeoutError,
    ParameterValueError,
    ShapeError,
)
from .board import Board, BoardCapabilities, GridEvent, control_event

__all__ = [
    "DynapseSamna",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TIMEOUT_SIMULATED",
    "IDLE_CPU_SHARE",
    "raster_to_events",
    "events_to_raster",
    "unrouted_input_routes",
    "LostInputs",
    "lost_inputs",
    "run_samples",
]

_log = logging.getLogger(__name__)

_MIN_READ_TIME = 0.5
"""Seconds a read begun close to the run's deadline is given (at most ``timeout``)."""

DEFAULT_TIMEOUT = 10.0
"""Default ``timeout`` (s) on a board whose clock runs on its own (``capabilities.has_clock``)."""

DEFAULT_TIMEOUT_SIMULATED = 60.0
"""Default ``timeout`` (s) on a board without a clock of its own (the virtual board): its
reads simulate the run, so the deadline includes compute time, seconds of JIT compilation
for every new chunk length (seconds of the process's CPU time, see the module docs)."""

IDLE_CPU_SHARE = 0.01
"""A board without a clock of its own is computing a call while its process uses at least
this share of one CPU (a starved process on a loaded machine gets more; a blocked one
gets none)."""


def _cpu_seconds() -> float:
    """The process's CPU time (s), every thread's: the clock of a board without its own."""
    return time.process_time()


class _Computing:
    """Whether a board without a clock of its own still computes a call (see the module docs)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.cpu0 = self.cpu = _cpu_seconds()
        self.wall = time.monotonic()

    def __call__(self) -> bool:
        """Since the last look: the process used at least :data:`IDLE_CPU_SHARE` of a CPU,
        and since the call began, at most ``seconds`` of CPU time."""
        cpu, wall = _cpu_seconds(), time.monotonic()
        busy = cpu - self.cpu > IDLE_CPU_SHARE * (wall - self.wall)
        self.cpu, self.wall = cpu, wall
        return busy and cpu - self.cpu0 <= self.seconds


def raster_to_events(raster: np.ndarray, config: MappedConfiguration, t0: int, dt_us: int) -> List[GridEvent]:
    """Input events of a raster ``(T, n_inputs)`` of spike counts starting at ``t0`` µs."""
    if raster.size and raster.max() >= dt_us:
        raise ParameterValueError("input_data", f"fewer than {dt_us} spikes per channel and step (one per microsecond)", float(raster.max()))
    events = []
    for k, i in zip(*np.nonzero(raster)):
        for route in config.inputs[i]:
            x_hop = chip_position(route.chip)[0] - chip_position(0)[0]
            for n in range(int(raster[k, i])):
                events.append(GridEvent(int(t0 + k * dt_us + n), route.tag, x_hop, 0, route.core_mask))
    events.sort()
    return events


def events_to_raster(
    events: List[GridEvent], config: MappedConfiguration, t0: int, dt_us: int, steps: int
) -> Tuple[np.ndarray, Dict[str, int]]:
    """Bin output events into ``(steps, n_outputs)`` counts; also count what could not be binned."""
    channel = {tag: j for j, tag in enumerate(config.outputs)}
    raster = np.zeros((steps, config.n_outputs), dtype=np.float32)
    counts = {"binned": 0, "outside_run": 0, "unknown_tag": 0}
    for e in events:
        if e.is_control:
            continue
        j = channel.get(e.tag)
        if j is None:
            counts["unknown_tag"] += 1
            continue
        k = (e.timestamp - t0) // dt_us
        if 0 <= k < steps:
            raster[k, j] += 1
            counts["binned"] += 1
        else:
            counts["outside_run"] += 1
    return raster, counts


# --- input events that reach no neuron --------------------------------------------------------


def unrouted_input_routes(config: MappedConfiguration) -> Tuple[Tuple[int, InputRoute], ...]:
    """Every input route that reaches no neuron, as ``(input channel, route)``.

    A route reaches no neuron when no used CAM entry of its chip, in the cores its mask
    selects, holds its tag (an empty core mask selects none): the chip drops its events.
    """
    heard = {(loc.chip, loc.core, s.tag) for loc, s in config.configuration.used_synapses()}
    return tuple(
        (i, route)
        for i, routes in enumerate(config.inputs)
        for route in routes
        if not any(m and (route.chip, core, route.tag) in heard for core, m in enumerate(route.core_mask))
    )


def _describe_route(channel: int, route: InputRoute) -> str:
    cores = ", ".join(str(k) for k, m in enumerate(route.core_mask) if m) or "none"
    return f"input channel {channel} -> chip {route.chip}, cores {cores}, tag {route.tag}"


class LostInputs(NamedTuple):
    """Input events of a raster that would reach no neuron (see :func:`lost_inputs`).

    Attributes:
        lost: events written to routes that reach no neuron.
        sent: events written in all (one per spike and route).
        where: one line per route that loses events: the channel, the route, the count.
    """

    lost: int
    sent: int
    where: Tuple[str, ...]


def lost_inputs(raster: np.ndarray, config: MappedConfiguration) -> LostInputs:
    """How many of a raster's input events would reach no neuron, and on which routes.

    Args:
        raster: input spike counts ``(..., n_inputs)`` (any leading axes: steps, samples).
        config: the configuration the raster is for.
    """
    spikes = np.asarray(raster, dtype=np.float64).reshape(-1, config.n_inputs).sum(axis=0)
    sent = int(sum(spikes[i] * len(routes) for i, routes in enumerate(config.inputs)))
    where, lost = [], 0
    for i, route in unrouted_input_routes(config):
        if spikes[i]:
            lost += int(spikes[i])
            where.append(f"{_describe_route(i, route)}: {int(spikes[i])} events")
    return LostInputs(lost, sent, tuple(where))


# --- board calls with a deadline --------------------------------------------------------------


class _Job:
    """One board call, run by a :class:`_Worker`; ``done`` is set when it returned or raised."""

    __slots__ = ("fn", "args", "done", "value", "error")

    def __init__(self, fn: Callable[..., Any], args: Tuple[Any, ...]):
        self.fn, self.args = fn, args
        self.done = threading.Event()
        self.value: Any = None
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        try:
            self.value = self.fn(*self.args)
        except BaseException as err:  # handed to the caller's thread, raised there
            self.error = err
        finally:
            self.done.set()


class _Worker:
    """A daemon thread that runs board calls one at a time, each waited for with a deadline.

    One serves a whole ``evolve`` call (starting a thread per call cost a JAX board about
    1 ms a call: JAX sets up its state anew in every new thread); a worker stuck in a board
    is abandoned (it is a daemon thread) and ends if the call ever returns.
    """

    def __init__(self) -> None:
        self._jobs: "queue.SimpleQueue[Optional[_Job]]" = queue.SimpleQueue()
        threading.Thread(target=self._serve, args=(self._jobs,), name="rockpool-dynapse2 board calls", daemon=True).start()

    @staticmethod
    def _serve(jobs: "queue.SimpleQueue[Optional[_Job]]") -> None:
        job = jobs.get()
        while job is not None:
            job.run()
            job = jobs.get()

    def call(self, fn: Callable[..., Any], args: Tuple[Any, ...], seconds: float,
             computing: Optional[Callable[[], bool]] = None) -> Tuple[bool, Any]:
        """``(True, fn(*args))`` if it returned within ``seconds`` (or, with ``computing``,
        after further waits of ``seconds`` each as long as ``computing()`` says the call
        still computes), ``(False, None)`` if it is still running; what it raised is raised here."""
        job = _Job(fn, args)
        self._jobs.put(job)
        while not job.done.wait(max(seconds, 0.0)):
            if computing is None or not computing():
                return False, None
        if job.error is not None:
            raise job.error
        return True, job.value

    def stop(self) -> None:
        """End the thread once it has run what it was given."""
        self._jobs.put(None)


def _call_within(fn: Callable[..., Any], args: Tuple[Any, ...], seconds: float,
                 computing: Optional[Callable[[], bool]] = None) -> Tuple[bool, Any]:
    """``fn(*args)`` in a thread of its own, as :meth:`_Worker.call`."""
    worker = _Worker()
    try:
        return worker.call(fn, args, seconds, computing)
    finally:
        worker.stop()


def _translate(what: str, err: Exception, where: str, note: str) -> BoardError:
    """The named error for a board's own (non-BoardError) exception; the board is closed."""
    got = f"{type(err).__name__}: {err}"
    if isinstance(err, ConnectionError):
        return BoardDisconnectedError(f"the board must stay connected; it went away during `{what}`{where} ({err}) and has been closed{note}")
    if isinstance(err, TimeoutError):
        return BoardTimeoutError(f"`{what}` must finish{where}; the board timed out ({got}) and has been closed{note}")
    return BoardFailureError(f"`{what}` must return or raise a BoardError{where}; the board raised {got} and has been closed{note}")


def _check_options(dt: float, timeout: Optional[float], chunk_steps: int, lead_time: Optional[float]) -> None:
    """The driver's options, each in its domain (``None``: the default)."""
    if not (np.isfinite(dt) and dt > 0 and round(dt * 1e6) >= 1):
        raise ParameterValueError("dt", "a time step of at least 1 µs", dt)
    if not (isinstance(chunk_steps, (int, np.integer)) and chunk_steps >= 1):
        raise ParameterValueError("chunk_steps", "an integer >= 1", chunk_steps)
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float, np.number)) or not 0 < timeout < np.inf):
        raise ParameterValueError("timeout", "positive and finite (seconds)", timeout)
    if lead_time is not None and not (np.isfinite(lead_time) and lead_time >= 0):
        raise ParameterValueError("lead_time", "non-negative (seconds)", lead_time)


@dataclass
class _Unfinished:
    """What a run has sent and received so far (kept when it fails)."""

    t0: Optional[int] = None
    input_events: List[GridEvent] = field(default_factory=list)
    output_events: List[GridEvent] = field(default_factory=list)

    def as_dict(self) -> Dict[str, Any]:
        return {"t0": self.t0, "input_events": self.input_events, "output_events": self.output_events}


def _new_record() -> Dict[str, Any]:
    return {
        "input_events": [],
        "output_events": [],
        "counts": {"binned": 0, "outside_run": 0, "unknown_tag": 0},
        "inputs": {"sent": 0, "unrouted": 0},
    }


class DynapseSamna(Module):
    """A network deployed on a DYNAP-SE2 board, as a Rockpool module (see the module docs).

    Args:
        board: an open board (:class:`~.virtual.VirtualBoard` or :class:`~.samna_board.SamnaBoard`).
        config: the :class:`~rockpool_dynapse2.config.MappedConfiguration` to apply.
        dt: time step (s) of the rasters; default the configuration's.
        timeout: seconds to wait for a run's end marker, beyond the run's own duration, and
            for each clock read and write (give more than the board's own clock timeout,
            e.g. ``SamnaBoard(clock_timeout=5)``, so that the board's error comes first);
            default :data:`DEFAULT_TIMEOUT` on a board with its own clock,
            :data:`DEFAULT_TIMEOUT_SIMULATED` on one without (its reads compute the run).
        chunk_steps: the most steps sent to the board in one run.
        poll_interval: seconds between reads while waiting.
        lead_time: seconds between reading the board's clock and the run's first step, so
            that the events are written before the FPGA reaches them; default the board's
            ``capabilities.lead_time`` (0 for the virtual board, 0.1 s for samna boards).

    Attributes:
        unrouted_routes: ``(input channel, route)`` of every input route that reaches no
            neuron (:func:`unrouted_input_routes`); logged as a warning on construction.
        unrouted_input_events: input events written, over the module's life, to those routes.
    """

    def __init__(
        self,
        board: Board,
        config: MappedConfiguration,
        dt: Optional[float] = None,
        timeout: Optional[float] = None,
        chunk_steps: int = 2000,
        poll_interval: float = 0.001,
        lead_time: Optional[float] = None,
    ):
        if not isinstance(config, MappedConfiguration):
            raise ParameterValueError("config", "a MappedConfiguration (config_from_specification's result)", type(config).__name__)
        dt = config.dt if dt is None else dt
        _check_options(dt, timeout, chunk_steps, lead_time)
        super().__init__(shape=(config.n_inputs, config.n_outputs), spiking_input=True, spiking_output=True)
        self.board = board
        self.config = config
        self.dt = dt
        self._dt_us = int(round(dt * 1e6))
        self.timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)  # set again below, from the board's clock
        self.chunk_steps = int(chunk_steps)
        self.poll_interval = float(poll_interval)
        self._closed_because: Optional[str] = None
        self._worker: Optional[_Worker] = None
        self._has_clock = True  # wall-clock deadlines until the board says otherwise
        self._init_lost_inputs(config)
        capabilities = self.capabilities
        self._has_clock = capabilities.has_clock
        if timeout is None and not capabilities.has_clock:
            self.timeout = DEFAULT_TIMEOUT_SIMULATED
        lead_time = capabilities.lead_time if lead_time is None else lead_time
        self._lead_us = int(round(lead_time * 1e6))
        self._call("board.apply_configuration", board.apply_configuration, config)

    def _init_lost_inputs(self, config: MappedConfiguration) -> None:
        self.unrouted_routes = unrouted_input_routes(config)
        self.unrouted_input_events = 0
        self._unrouted_per_spike = np.zeros(config.n_inputs)
        for i, _ in self.unrouted_routes:
            self._unrouted_per_spike[i] += 1
        self._routes_per_spike = np.array([len(r) for r in config.inputs], dtype=np.float64)
        if self.unrouted_routes:
            lines = "; ".join(_describe_route(i, r) for i, r in self.unrouted_routes[:8])
            _log.warning(
                "%d input route(s) reach no neuron (no CAM entry listens to their tag there); their events "
                "are lost and counted in record['inputs']['unrouted']: %s%s",
                len(self.unrouted_routes), lines, " ..." if len(self.unrouted_routes) > 8 else "",
            )

    # --- board access: deadlines, translated errors ----------------------------------------

    def _check_usable(self) -> None:
        if self._closed_because is not None:
            raise BoardError(f"the board must be open; the driver closed it after {self._closed_because}")
        if not self.board.is_open:
            raise BoardError("the board must be open; it has been closed")

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, seconds: Optional[float] = None, where: str = "") -> Any:
        """``fn(*args)`` on the board, within ``seconds`` if given (see the module docs).

        Raises:
            BoardTimeoutError: the call did not return within ``seconds`` (the board is closed).
            BoardError: the board is closed, raised a BoardError itself, or raised anything
                else (translated; the board is closed).
            KeyboardInterrupt: while waiting for a call with a deadline (the board is
                closed: the call may still be inside it).
        """
        try:
            self._check_usable()
            if seconds is None:
                return fn(*args)
            computing = None if self._has_clock else _Computing(seconds)
            finished, value = (self._worker.call if self._worker is not None else _call_within)(fn, args, seconds, computing)
        except KeyboardInterrupt:
            if seconds is not None:  # the helper thread may still be inside the board
                self._close_after(f"an interrupt while `{what}` ran")
            raise
        except BoardError:
            raise
        except Exception as err:
            raise _translate(what, err, where, self._close_after(f"`{what}` raised {type(err).__name__}")) from err
        if not finished:
            note = self._close_after(f"`{what}` did not return")
            why = "the board blocks" if self._has_clock else "the board stopped computing, or computed for longer than that in CPU time"
            raise BoardTimeoutError(
                f"`{what}` must return within {seconds:.3g} s{where}; it did not ({why}) and the board has been closed{note}"
            )
        return value

    def _close_after(self, reason: str) -> str:
        """Close the board after a failure (within ``timeout``); a note for the error message."""
        self._closed_because = reason
        try:
            finished, _ = _call_within(self.board.close, (), self.timeout)
        except Exception as err:
            return f"; closing it failed too ({type(err).__name__}: {err})"
        return "" if finished else f"; closing it did not finish within {self.timeout:g} s either"

    # --- one run ------------------------------------------------------------------------------

    def _run(self, raster: np.ndarray, run: _Unfinished, where: str) -> Tuple[np.ndarray, Dict[str, int]]:
        """Run ``raster`` ``(T, n_inputs)`` as one run; ``run`` collects what was sent and received."""
        steps = raster.shape[0]
        now = self._call("board.time_us", self.board.time_us, seconds=self.timeout, where=where)
        run.t0 = t0 = -(-(int(now) + self._lead_us) // self._dt_us) * self._dt_us
        run.input_events = raster_to_events(raster, self.config, t0, self._dt_us)
        t_end = t0 + steps * self._dt_us
        self._call("board.write_events", self.board.write_events, run.input_events + [control_event(t_end)], seconds=self.timeout, where=where)
        self._wait_for_marker(run, t_end, time.monotonic() + steps * self.dt + self.timeout, where)
        return events_to_raster(run.output_events, self.config, t0, self._dt_us, steps)

    def _wait_for_marker(self, run: _Unfinished, t_end: int, deadline: float, where: str) -> None:
        min_read = min(self.timeout, _MIN_READ_TIME)
        while True:
            seconds = max(deadline - time.monotonic(), min_read)
            batch = self._call("board.read_events", self.board.read_events, seconds=seconds, where=where)
            run.output_events.extend(batch)
            if any(e.is_control and e.timestamp == t_end for e in batch):
                return
            if time.monotonic() > deadline:
                raise BoardTimeoutError(
                    f"the run must end within {self.timeout} s{where}; its end marker (t = {t_end} µs) did not come "
                    "back (the board answered and stays open)"
                )
            time.sleep(self.poll_interval)

    # --- Rockpool API ------------------------------------------------------------------------

    def _checked_input(self, input_data: Any) -> np.ndarray:
        """The input as ``(B, T, n_inputs)`` spike counts, every value checked before any run."""
        x = np.asarray(input_data)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[2] != self.size_in or x.shape[1] == 0:
            raise ShapeError("input_data", f"(T, {self.size_in}) or (B, T, {self.size_in}) with T >= 1", x.shape)
        bad = ~np.isfinite(x) | (x < 0) | (x != np.round(x))
        if bad.any():
            raise ParameterValueError("input_data", "spike counts: non-negative integers", x, bad)
        too_many = x >= self._dt_us
        if too_many.any():
            rule = f"fewer than {self._dt_us} spikes per channel and step (one per microsecond)"
            raise ParameterValueError("input_data", rule, x, too_many)
        return x

    def _account(self, rec: Dict[str, Any], run: _Unfinished, counts: Dict[str, int], chunk: np.ndarray, record: bool) -> None:
        """Add a finished run to the record."""
        if record:
            rec["input_events"].append(run.input_events)
            rec["output_events"].append(run.output_events)
        for k, v in counts.items():
            rec["counts"][k] += v
        spikes = chunk.sum(axis=0)
        unrouted = int(spikes @ self._unrouted_per_spike)
        rec["inputs"]["sent"] += int(spikes @ self._routes_per_spike)
        rec["inputs"]["unrouted"] += unrouted
        self.unrouted_input_events += unrouted

    def evolve(self, input_data: Any, record: bool = False):
        """Run a raster of input spike counts ``(T, n_inputs)`` or ``(B, T, n_inputs)`` on the board.

        Batches run one after the other, each continuing from the state the previous one
        left (as on a chip, which cannot be reset; on a board whose capabilities say
        ``can_reset``, such as the virtual board, call ``reset_state()`` between calls for
        independent trials). Returns ``(output (B, T, n_outputs), {}, record)``;
        with ``record``, ``record`` holds the raw ``input_events`` and ``output_events`` of
        every run, the output event ``counts`` (binned, outside the run, unknown tags) and
        the ``inputs`` counts (``sent``, and ``unrouted``: events no neuron listens to).

        Raises:
            ShapeError, ParameterValueError: a bad input (checked before anything runs).
            BoardError: the board failed, timed out or went away (see the module docs); the
                error carries ``partial``, ``samples_done``, ``steps_done`` and ``record``:
                every finished run's output is kept.
        """
        x = self._checked_input(input_data)
        self._worker = _Worker()
        try:
            return self._run_all(x, record)
        finally:
            self._worker.stop()
            self._worker = None

    def _run_all(self, x: np.ndarray, record: bool):
        """``evolve`` on checked input ``(B, T, n_inputs)``."""
        out = np.zeros((x.shape[0], x.shape[1], self.size_out), dtype=np.float32)
        rec = _new_record()
        runs = [(b, start) for b in range(x.shape[0]) for start in range(0, x.shape[1], self.chunk_steps)]
        for n, (b, start) in enumerate(runs):
            chunk = x[b, start : start + self.chunk_steps]
            where = f" (run {n + 1} of {len(runs)}: sample {b}, steps {start}..{start + chunk.shape[0] - 1})"
            run = _Unfinished()
            try:
                o, counts = self._run(chunk, run, where)
            except BoardError as err:
                err.partial, err.samples_done, err.steps_done = out, b, start
                err.record = dict(rec, unfinished=run.as_dict())
                raise
            out[b, start : start + chunk.shape[0]] = o
            self._account(rec, run, counts, chunk, record)
        return out, {}, (rec if record else {})

    @property
    def capabilities(self) -> BoardCapabilities:
        """What the board can do (its :class:`~.board.BoardCapabilities`)."""
        return self._call("board.capabilities", lambda: self.board.capabilities)

    def reset_state(self) -> "DynapseSamna":
        """Return the neurons to rest, on a board whose capabilities say ``can_reset``.

        Raises:
            BoardError: the board is closed, or cannot reset its neurons (a chip; the
                message says what to do instead).
        """
        self._call("board.reset_state", self.board.reset_state)
        return self

    def close(self) -> None:
        """Close the board (nothing to do if the driver closed it after a failure)."""
        if self._closed_because is None:
            self.board.close()

    def __enter__(self) -> "DynapseSamna":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_samples(
    mapped: MappedConfiguration,
    x: np.ndarray,
    board_factory: Callable[[], Board],
    rest_steps: int,
    progress: Callable = lambda it: it,
) -> np.ndarray:
    """Run every sample of ``x`` through :class:`DynapseSamna` on a new board; the output
    rasters ``(B, T, n_outputs)``.

    Each sample starts from rest: on a board that can reset its neurons (its
    ``capabilities.can_reset``, e.g. the virtual board) by a reset before it; on one that
    cannot (a chip), by ``rest_steps`` steps without input before it (their output is dropped).

    Args:
        mapped: the configuration.
        x: input spike counts ``(B, T, n_inputs)``.
        board_factory: opens the board (e.g. :func:`~.registry.board_factory`'s); it is
            closed at the end.
        rest_steps: steps without input before each sample on a board that cannot reset.
        progress: wraps the sample iterator (e.g. a tqdm bar).
    """
    out = np.zeros((x.shape[0], x.shape[1], mapped.n_outputs), dtype=np.float32)
    with DynapseSamna(board_factory(), mapped) as mod:
        can_reset = mod.capabilities.can_reset
        rest = 0 if can_reset else rest_steps
        for b in progress(range(x.shape[0])):
            if can_reset:
                mod.reset_state()
            sample = np.concatenate([np.zeros((rest, x.shape[2]), dtype=x.dtype), x[b]]) if rest else x[b]
            out[b] = mod(sample)[0][0][rest:]
    return out
