"""``DynapseSamna``: a deployed network as a Rockpool module.

``evolve(raster)`` turns an input raster into timed events through the configuration's
input channel map, runs them on a board (:class:`~.samna_board.SamnaBoard` or
:class:`~.virtual.VirtualBoard`) and bins the output events back into a raster through
the output channel map:

* the run starts at the board's clock, rounded up to a step; the ``c`` spikes of input
  channel ``i`` in step ``k`` become ``c`` events per route of ``i`` at
  ``t0 + k dt + n`` microseconds (``n = 0 .. c-1``), written in time order;
* the end of the run is a control event at ``t0 + T dt``: once it comes back, every
  output event of the run has arrived; if it does not come back within ``timeout``
  seconds, :class:`~.board.BoardTimeoutError` (no hang);
* long inputs run in chunks of ``chunk_steps`` steps, one after the other;
* output event ``(tag, t)`` adds one spike to output channel ``outputs.index(tag)`` in step
  ``(t - t0) // dt``; events outside the run or with unknown tags are counted, never lost
  silently (``record=True`` returns every raw event and these counts);
* a board that disappears (:class:`ConnectionError` from it) is closed and reported as
  :class:`~.board.BoardDisconnectedError`.

What the board can do comes from its :class:`~.board.BoardCapabilities`: the lead time
before a run (a clock that runs on its own needs one), and whether :meth:`reset_state`
can return the neurons to rest.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from rockpool.nn.modules.module import Module

from ..placement.allocate import chip_position
from ..placement.mapped import MappedConfiguration
from ..errors import BoardDisconnectedError, BoardError, BoardTimeoutError, ParameterValueError, ShapeError
from .board import Board, BoardCapabilities, GridEvent, control_event

__all__ = ["DynapseSamna", "raster_to_events", "events_to_raster"]


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


class DynapseSamna(Module):
    """A network deployed on a DYNAP-SE2 board, as a Rockpool module (see the module docs).

    Args:
        board: an open board (:class:`~.virtual.VirtualBoard` or :class:`~.samna_board.SamnaBoard`).
        config: the :class:`~rockpool_dynapse2.config.MappedConfiguration` to apply.
        dt: time step (s) of the rasters; default the configuration's.
        timeout: seconds to wait for a run's end marker, beyond the run's own duration.
        chunk_steps: the most steps sent to the board in one run.
        poll_interval: seconds between reads while waiting.
        lead_time: seconds between reading the board's clock and the run's first step, so
            that the events are written before the FPGA reaches them; default the board's
            ``capabilities.lead_time`` (0 for the virtual board, 0.1 s for samna boards).
    """

    def __init__(
        self,
        board: Board,
        config: MappedConfiguration,
        dt: Optional[float] = None,
        timeout: float = 10.0,
        chunk_steps: int = 2000,
        poll_interval: float = 0.001,
        lead_time: Optional[float] = None,
    ):
        if not isinstance(config, MappedConfiguration):
            raise ParameterValueError("config", "a MappedConfiguration (config_from_specification's result)", type(config).__name__)
        dt = config.dt if dt is None else dt
        if not (np.isfinite(dt) and dt > 0 and round(dt * 1e6) >= 1):
            raise ParameterValueError("dt", "a time step of at least 1 µs", dt)
        if not (isinstance(chunk_steps, (int, np.integer)) and chunk_steps >= 1):
            raise ParameterValueError("chunk_steps", "an integer >= 1", chunk_steps)
        if not (timeout > 0):
            raise ParameterValueError("timeout", "positive (seconds)", timeout)
        if lead_time is not None and not (np.isfinite(lead_time) and lead_time >= 0):
            raise ParameterValueError("lead_time", "non-negative (seconds)", lead_time)
        super().__init__(shape=(config.n_inputs, config.n_outputs), spiking_input=True, spiking_output=True)
        self.board = board
        self.config = config
        self.dt = dt
        self._dt_us = int(round(dt * 1e6))
        self.timeout = float(timeout)
        self.chunk_steps = int(chunk_steps)
        self.poll_interval = float(poll_interval)
        lead_time = self.capabilities.lead_time if lead_time is None else lead_time
        self._lead_us = int(round(lead_time * 1e6))
        self._call(board.apply_configuration, config)

    # --- board access with disconnect handling --------------------------------------------

    def _call(self, fn, *args):
        if not self.board.is_open:
            raise BoardError("the board must be open; it has been closed")
        try:
            return fn(*args)
        except ConnectionError as err:
            self.board.close()
            raise BoardDisconnectedError(f"the board must stay connected; it went away ({err}) and has been closed") from err

    def _run(self, raster: np.ndarray) -> Tuple[np.ndarray, List[GridEvent], List[GridEvent], Dict[str, int]]:
        steps = raster.shape[0]
        now = self._call(self.board.time_us)
        t0 = -(-(int(now) + self._lead_us) // self._dt_us) * self._dt_us
        events = raster_to_events(raster, self.config, t0, self._dt_us)
        t_end = t0 + steps * self._dt_us
        self._call(self.board.write_events, events + [control_event(t_end)])
        received: List[GridEvent] = []
        deadline = time.monotonic() + steps * self.dt + self.timeout
        while True:
            batch = self._call(self.board.read_events)
            received.extend(batch)
            if any(e.is_control and e.timestamp == t_end for e in batch):
                break
            if time.monotonic() > deadline:
                raise BoardTimeoutError(
                    f"the run must end within {self.timeout} s; its end marker (t = {t_end} µs) did not come back"
                )
            time.sleep(self.poll_interval)
        out, counts = events_to_raster(received, self.config, t0, self._dt_us, steps)
        return out, events, received, counts

    # --- Rockpool API ------------------------------------------------------------------------

    def evolve(self, input_data: Any, record: bool = False):
        """Run a raster of input spike counts ``(T, n_inputs)`` or ``(B, T, n_inputs)`` on the board.

        Batches run one after the other, each continuing from the state the previous one
        left (as on a chip, which cannot be reset; on a board whose capabilities say
        ``can_reset``, such as the virtual board, call ``reset_state()`` between calls for
        independent trials). Returns ``(output (B, T, n_outputs), {}, record)``;
        with ``record``, ``record`` holds the raw ``input_events`` and ``output_events`` of
        every run and the event ``counts`` (binned, outside the run, unknown tags).
        """
        x = np.asarray(input_data)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[2] != self.size_in or x.shape[1] == 0:
            raise ShapeError("input_data", f"(T, {self.size_in}) or (B, T, {self.size_in}) with T >= 1", x.shape)
        bad = ~np.isfinite(x) | (x < 0) | (x != np.round(x))
        if bad.any():
            raise ParameterValueError("input_data", "spike counts: non-negative integers", x, bad)
        out = np.zeros((x.shape[0], x.shape[1], self.size_out), dtype=np.float32)
        rec: Dict[str, Any] = {"input_events": [], "output_events": [], "counts": {"binned": 0, "outside_run": 0, "unknown_tag": 0}}
        for b in range(x.shape[0]):
            for start in range(0, x.shape[1], self.chunk_steps):
                chunk = x[b, start : start + self.chunk_steps]
                o, sent, received, counts = self._run(chunk)
                out[b, start : start + chunk.shape[0]] = o
                if record:
                    rec["input_events"].append(sent)
                    rec["output_events"].append(received)
                for k, v in counts.items():
                    rec["counts"][k] += v
        return out, {}, (rec if record else {})

    @property
    def capabilities(self) -> BoardCapabilities:
        """What the board can do (its :class:`~.board.BoardCapabilities`)."""
        return self._call(lambda: self.board.capabilities)

    def reset_state(self) -> "DynapseSamna":
        """Return the neurons to rest, on a board whose capabilities say ``can_reset``.

        Raises:
            BoardError: the board is closed, or cannot reset its neurons (a chip; the
                message says what to do instead).
        """
        self._call(self.board.reset_state)
        return self

    def close(self) -> None:
        self.board.close()

    def __enter__(self) -> "DynapseSamna":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
