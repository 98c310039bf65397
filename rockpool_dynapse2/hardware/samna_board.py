"""``SamnaBoard``: a DYNAP-SE2 board driven through SynSense's samna.

The board protocol (:class:`~.board.Board`) over samna's DYNAP-SE2 interface. Every call
that needs the samna module goes through :mod:`.samna_adapter` (the only module that
imports samna, and only when called); this module calls methods on the objects it returns.

* **Opening** (:class:`SamnaBoard`, or :func:`open_samna_board` with a board's index, the
  factory of the board kind ``"samna"``): ``samna.device.open_device`` on a ``DeviceInfo`` of
  :func:`find_dynapse_boards` (default: the first one not yet opened), then
  ``configure_opal_kelly(bitfile)`` and ``reset_fpga()``. The FPGA bitfile comes from the
  argument ``bitfile=`` or the environment variable ``DYNAPSE2_BITFILE``; Rockpool's
  wheel refers to ``lookup/bitfiles/Dynapse2Stack.bit`` but does not ship it.
* **Configuring** (:meth:`SamnaBoard.apply_configuration`): samna's configuration carries
  parameter addresses and chip settings our tree does not know, so it is never replaced
  wholesale: the board model's own configuration (``model.get_configuration()``) is
  edited field by field (:func:`write_configuration`) and applied.
* **Clock** (:meth:`SamnaBoard.time_us`): as Rockpool does, a control event (tag 2047,
  hops -7, -7) stamped 0 is bounced off the FPGA; it comes back stamped with the FPGA's
  time. *Uncertain*: samna offers no documented clock read; that the returned stamp is
  the time of return is what Rockpool and public lab scripts rely on, not a specification.
* **Events**: :class:`~.board.GridEvent` <-> samna's ``NormalGridEvent`` (``event`` = a
  ``Dynapse2Destination(core, x_hop, y_hop, tag)``, ``timestamp`` in µs, uint32: the FPGA
  clock wraps after 71.6 minutes). Writes go through ``grid_bus_write_events`` in time
  order, end-of-run markers repeated (one can get lost); reads keep only
  ``NormalGridEvent`` s.
* **End markers**: a written control event comes back stamped with the FPGA's time of
  return, not necessarily with the time it was written with, and Rockpool's code expects
  it back with ``x_hop`` = -6 rather than -7. So a returned control event (tag 2047,
  ``y_hop`` -7, ``x_hop`` -7 or -6) stamped ``t`` reports every marker written with a time
  ``<= t`` and not yet reported, as :func:`~.board.control_event` with its *written*
  time, the board protocol's contract. Returned control events that report no marker
  (clock reads, repeated copies) are counted in :attr:`SamnaBoard.stray_control_events`.
* **Capabilities** (:attr:`SamnaBoard.capabilities`): the chips' neurons cannot be
  reset (their state is analog: :meth:`~.board.Board.reset_state` raises
  :class:`~rockpool_dynapse2.errors.BoardError`); the FPGA clock runs on its own, so runs
  start :data:`LEAD_TIME` after a clock read; the chips are those of the board's model.
* **Disconnects**: a ``RuntimeError`` or ``OSError`` from a samna call on an open board
  (samna reports transport failures as C++ runtime errors) is raised as
  :class:`ConnectionError`, which :class:`~.driver.DynapseSamna` turns into
  :class:`~.board.BoardDisconnectedError` after closing the board.

This project has no board: this module is tested against a fake of the samna calls it
makes (``tests/fake_samna``), not against hardware.
"""

from __future__ import annotations

import bisect
import logging
import os
import re
import time
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

from ..placement.mapped import MappedConfiguration
from ..config.neuron import LATCHES
from ..config.tree import Configuration, Core
from ..errors import BitfileError, BoardError, BoardNotFoundError, BoardTimeoutError, ParameterValueError
from .board import CONTROL_TAG, MONITOR_HOP, Board, BoardCapabilities, GridEvent, control_event
from .._samna.adapter import (
    close_device,
    require_samna,
    destinations_to_samna,
    grid_events_from_samna,
    grid_events_to_samna,
    list_devices,
    open_device,
    synapses_to_samna,
)

__all__ = [
    "BITFILE_ENV",
    "BoardNotFoundError",
    "BitfileError",
    "find_dynapse_boards",
    "resolve_bitfile",
    "write_configuration",
    "LEAD_TIME",
    "SamnaBoard",
    "check_samna_board",
    "open_samna_board",
]

_log = logging.getLogger(__name__)

BITFILE_ENV = "DYNAPSE2_BITFILE"
"""Environment variable naming the FPGA bitfile when ``bitfile=`` is not given."""

LEAD_TIME = 0.1
"""Seconds between a clock read and a run's first step: the FPGA's clock runs while the
driver converts and writes the run's events."""

_RETURNED_CONTROL_X_HOPS = (MONITOR_HOP, MONITOR_HOP + 1)
_BLANK_DESTINATION_ROW = ((False, False, False, False), 0, 0, 0)


# --- discovery --------------------------------------------------------------------------------


def _is_dynapse2(device_type_name: str) -> bool:
    """True for samna's DYNAP-SE2 device names ("DYNAP-SE2 ...", "Dynapse2Stack", ...)."""
    return "DYNAPSE2" in re.sub(r"[^A-Z0-9]", "", str(device_type_name).upper())


def find_dynapse_boards(unopened_only: bool = False) -> List[Any]:
    """samna's ``DeviceInfo`` of every DYNAP-SE2 board attached.

    A device counts if its ``device_type_name`` contains "DYNAP-SE2" (compared without
    case, spaces or dashes, so "Dynapse2Stack" counts too).

    Args:
        unopened_only: list only boards no one has opened (``get_unopened_devices``).

    Returns:
        The ``DeviceInfo`` s (``device_type_name``, ``serial_number``, ...), in samna's order.

    Raises:
        SamnaNotAvailableError: SynSense's samna is not installed (or only PyPI's stub).
        BoardNotFoundError: samna sees no such board; the message lists what it sees.
    """
    devices = list_devices(unopened_only)
    boards = [d for d in devices if _is_dynapse2(d.device_type_name)]
    if not boards:
        seen = ", ".join(f"{d.device_type_name} (serial {d.serial_number})" for d in devices) or "no device at all"
        which = "a DYNAP-SE2 board not yet opened" if unopened_only else "a DYNAP-SE2 board"
        raise BoardNotFoundError(f"the devices samna sees must include {which}; got {seen}")
    return boards


def resolve_bitfile(bitfile: Optional[str] = None) -> str:
    """The FPGA bitfile to use: ``bitfile``, else the environment variable ``DYNAPSE2_BITFILE``.

    Raises:
        BitfileError: neither is set, or the path is not an existing file.
    """
    source = "`bitfile`"
    if bitfile is None:
        bitfile = os.environ.get(BITFILE_ENV) or None
        source = f"the environment variable {BITFILE_ENV}"
    if bitfile is None:
        raise BitfileError(
            "the DYNAP-SE2 FPGA bitfile must be given, as SamnaBoard(bitfile=path) or in the environment "
            f"variable {BITFILE_ENV}, and the file must exist; got neither (Rockpool's wheel refers to "
            "rockpool/devices/dynapse/lookup/bitfiles/Dynapse2Stack.bit but does not ship it; the bitfile "
            "comes with SynSense's board)"
        )
    path = Path(os.fspath(bitfile)).expanduser()
    if not path.is_file():
        raise BitfileError(
            f"the DYNAP-SE2 FPGA bitfile ({source}) must be an existing file; got {str(path)!r}, which "
            f"{'is not a file' if path.exists() else 'does not exist'} (give it as SamnaBoard(bitfile=path) "
            f"or in {BITFILE_ENV})"
        )
    return str(path)


# --- configuration: our tree written field by field onto samna's --------------------------------


def _write_parameters(target: Any, core: Core, where: str) -> None:
    """Set the code (and type) of every parameter of ``core`` in samna's parameter map ``target``."""
    for name, parameter in core.parameters.items():
        try:
            entry = target[name]
        except KeyError:
            raise BoardError(f"parameter names must be ones the board's {where} has; got {name!r}") from None
        letter = parameter.type.value
        if entry.type != letter:
            entry.type = letter
        entry.coarse_value = parameter.coarse_value
        entry.fine_value = parameter.fine_value


def _write_neurons(target: Any, core: Core) -> None:
    """Write every neuron of ``core`` (CAM and SRAM entries, latches) onto samna's ``target`` neurons."""
    synapse_rows = [
        (s.dendrite.name.lower(), s.stp, s.weight, s.precise_delay, s.mismatched_delay, s.tag)
        for neuron in core.neurons
        for s in neuron.synapses
    ]
    destination_rows = [(d.core, d.x_hop, d.y_hop, d.tag) for neuron in core.neurons for d in neuron.destinations]
    synapses = synapses_to_samna(synapse_rows)
    destinations = destinations_to_samna(destination_rows)
    n_syn = len(core.neurons[0].synapses)
    n_dest = len(core.neurons[0].destinations)
    for i, neuron in enumerate(core.neurons):
        entry = target[i]
        # lists are assigned whole: samna may hand out copies of array members
        entry.synapses = synapses[i * n_syn : (i + 1) * n_syn]
        entry.destinations = destinations[i * n_dest : (i + 1) * n_dest]
        for latch in LATCHES:
            setattr(entry, latch, getattr(neuron, latch))


def _silence(target: Any) -> None:
    """Clear the SRAM entries of samna's ``target`` neurons: whatever they do, they send nothing."""
    n = len(target)
    blank = destinations_to_samna([_BLANK_DESTINATION_ROW] * 4)
    for i in range(n):
        target[i].destinations = blank


def write_configuration(target: Any, config: Configuration) -> None:
    """Write a configuration onto samna's ``Dynapse2Configuration`` ``target``, field by field.

    samna's tree keeps what ours does not model (parameter addresses, chip-level and
    sADC parameters, monitoring, DVS, bio-amplifiers); only these fields are written:

    * each core holding a used neuron: the code (and transistor type) of every parameter
      of our core, by name; and every neuron's 64 CAM entries (dendrite, weight bits, tag,
      ``stp``, delays), 4 SRAM entries (core mask, hops, tag) and 14 latches, blank
      neurons included, so nothing of an earlier configuration stays;
    * every other core on the board: its neurons' SRAM entries are cleared, so neurons
      left from an earlier configuration send nothing.

    Args:
        target: ``samna.dynapse2.Dynapse2Configuration`` (e.g. ``model.get_configuration()``),
            changed in place.
        config: our :class:`~rockpool_dynapse2.config.Configuration`.

    Raises:
        BoardError: the configuration has more chips than the board, or sets a parameter
            the board's core does not have.
    """
    chips = target.chips
    if len(config.chips) > len(chips):
        raise BoardError(f"the configuration must fit the board's {len(chips)} chip(s); got {len(config.chips)} chips")
    for i, samna_chip in enumerate(chips):
        cores = samna_chip.cores
        for k in range(len(cores)):
            samna_core = cores[k]
            core = config.chips[i].cores[k] if i < len(config.chips) else None
            if core is not None and any(n.is_used for n in core.neurons):
                _write_parameters(samna_core.parameters, core, f"chip {i} core {k}")
                _write_neurons(samna_core.neurons, core)
            else:
                _silence(samna_core.neurons)


# --- the board --------------------------------------------------------------------------------


class SamnaBoard(Board):
    """A DYNAP-SE2 board through samna (see the module docs).

    Args:
        device: samna's ``DeviceInfo`` of the board (from :func:`find_dynapse_boards`), its
            serial number, or ``None`` for the first DYNAP-SE2 board not yet opened.
        bitfile: path of the FPGA bitfile; default the environment variable ``DYNAPSE2_BITFILE``.
        clock_timeout: seconds :meth:`time_us` waits for its control event to come back.
        poll_interval: seconds between reads while :meth:`time_us` waits.
        marker_copies: how many copies of each end-of-run marker are written (Rockpool
            writes 3, lab scripts 2: a single event can get lost).

    Raises:
        SamnaNotAvailableError: SynSense's samna is not installed (or only PyPI's stub).
        BoardNotFoundError: no DYNAP-SE2 board (with that serial number) is attached.
        BitfileError: no bitfile is given, it does not exist, or the FPGA refused it.
        BoardError: samna could not open the board.
        ParameterValueError: a bad ``clock_timeout``, ``poll_interval`` or ``marker_copies``.
    """

    def __init__(
        self,
        device: Any = None,
        bitfile: Optional[str] = None,
        *,
        clock_timeout: float = 5.0,
        poll_interval: float = 1e-3,
        marker_copies: int = 2,
    ):
        if not (isinstance(clock_timeout, (int, float)) and clock_timeout > 0):
            raise ParameterValueError("clock_timeout", "positive (seconds)", clock_timeout)
        if not (isinstance(poll_interval, (int, float)) and poll_interval >= 0):
            raise ParameterValueError("poll_interval", "non-negative (seconds)", poll_interval)
        if not (isinstance(marker_copies, int) and not isinstance(marker_copies, bool) and marker_copies >= 1):
            raise ParameterValueError("marker_copies", "an integer >= 1", marker_copies)
        self.clock_timeout = float(clock_timeout)
        self.poll_interval = float(poll_interval)
        self.marker_copies = marker_copies
        self._open = False
        self._markers: List[int] = []
        self._held: List[GridEvent] = []
        self._latest = 0
        self.stray_control_events = 0
        """Returned control events that reported no end marker (clock reads, marker copies)."""
        self.close_error: Optional[Exception] = None
        """The error samna raised when the board was closed, if any (a board that is gone)."""
        self.configuration: Optional[MappedConfiguration] = None
        """The configuration last applied."""
        self._capabilities: Optional[BoardCapabilities] = None

        info = self._device_info(device)  # needs samna: checked before the bitfile
        path = resolve_bitfile(bitfile)
        self.device_info = info
        self.bitfile = path
        self.name = f"{info.device_type_name} (serial {info.serial_number})"
        try:
            self._board = open_device(info)
        except (RuntimeError, OSError) as err:
            raise BoardError(f"the board {self.name} must be one samna can open; opening it failed: {err}") from err
        self._open = True
        try:
            if self._io("configuring the FPGA", self._board.configure_opal_kelly, path) is False:
                raise BitfileError(f"the bitfile must be one the board's FPGA accepts; configure_opal_kelly({path!r}) failed")
            self._io("resetting the FPGA", self._board.reset_fpga)
            self._model = self._io("getting the board model", self._board.get_model)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _device_info(device: Any) -> Any:
        if device is None:
            return find_dynapse_boards(unopened_only=True)[0]
        if isinstance(device, str):
            boards = find_dynapse_boards()
            for info in boards:
                if str(info.serial_number) == device:
                    return info
            serials = ", ".join(str(info.serial_number) for info in boards)
            raise BoardNotFoundError(
                f"`device` must be the serial number of an attached DYNAP-SE2 board ({serials}); got {device!r}"
            )
        return device

    # --- samna calls ---------------------------------------------------------------------

    def _check_open(self) -> None:
        if not self._open:
            raise BoardError("the DYNAP-SE2 board must be open; it has been closed")

    def _io(self, what: str, fn: Callable, *args: Any) -> Any:
        """Call samna; a transport failure (runtime or OS error) becomes :class:`ConnectionError`."""
        try:
            return fn(*args)
        except ConnectionError:
            raise
        except (RuntimeError, OSError) as err:
            raise ConnectionError(f"the board {self.name} must stay connected; {what} failed: {err}") from err

    # --- protocol ----------------------------------------------------------------------------

    def apply_configuration(self, config: MappedConfiguration) -> None:
        """Program the chips: our configuration written onto the model's (see :func:`write_configuration`).

        Raises:
            BoardError: the board is closed, the configuration does not fit it, or samna
                refuses it.
            ConnectionError: the board went away.
        """
        self._check_open()
        tree = config.configuration if isinstance(config, MappedConfiguration) else config
        if not isinstance(tree, Configuration):
            raise ParameterValueError("config", "a MappedConfiguration or Configuration", type(config).__name__)
        target = self._io("reading the configuration", self._model.get_configuration)
        write_configuration(target, tree)
        self._io("clearing the error queue", self._model.clear_error_queue)
        if self._io("applying the configuration", self._model.apply_configuration, target) is False:
            raise BoardError(f"the configuration must be one samna applies; the board {self.name} refused it")
        self.configuration = config if isinstance(config, MappedConfiguration) else None

    def time_us(self) -> int:
        """The FPGA's clock (µs), read by bouncing a control event (see the module docs).

        End markers written earlier and not yet returned are forgotten (a run is over when
        the clock is read); events that arrive meanwhile are kept for :meth:`read_events`.

        Raises:
            BoardTimeoutError: the control event did not come back within ``clock_timeout``.
            ConnectionError: the board went away.
        """
        self._check_open()
        self._markers.clear()
        bounce = grid_events_to_samna([(0, CONTROL_TAG, MONITOR_HOP, MONITOR_HOP, (True,) * 4)])
        self._io("writing a clock read", self._board.input_interface_write_events, 0, bounce)
        deadline = time.monotonic() + self.clock_timeout
        while True:
            events, strays = self._convert(self._io("reading events", self._board.read_events))
            self._held.extend(events)
            if strays:
                self.stray_control_events += len(strays) - 1
                return self._latest
            if time.monotonic() > deadline:
                raise BoardTimeoutError(
                    f"the FPGA clock must answer within {self.clock_timeout} s; the control event bounced "
                    f"off the board {self.name} did not come back"
                )
            time.sleep(self.poll_interval)

    def write_events(self, events: Sequence[GridEvent]) -> None:
        """Queue events (sorted by time) on the grid bus; control events are end markers.

        Raises:
            ParameterValueError: an event is not a :class:`~.board.GridEvent` (a
                ``GridEvent`` holds a timestamp in samna's 0..2**32-1 µs by construction:
                :data:`~.board.TIMESTAMP_MAX`).
            ConnectionError: the board went away.
        """
        self._check_open()
        for e in events:
            if not isinstance(e, GridEvent):
                raise ParameterValueError("events", "GridEvent objects", type(e).__name__)
        rows = []
        for e in sorted(events, key=lambda e: e.timestamp):
            row = (e.timestamp, e.tag, e.x_hop, e.y_hop, tuple(e.core))
            if e.is_control:
                bisect.insort(self._markers, e.timestamp)
                rows.extend([row] * self.marker_copies)
            else:
                rows.append(row)
        if rows:
            self._io("writing events", self._board.grid_bus_write_events, grid_events_to_samna(rows))

    def read_events(self) -> List[GridEvent]:
        """Grid events received since the last read: outputs, and the end markers reported.

        Raises:
            ConnectionError: the board went away.
        """
        self._check_open()
        events, strays = self._convert(self._io("reading events", self._board.read_events))
        self.stray_control_events += len(strays)
        out, self._held = self._held + events, []
        return out

    def _convert(self, raw: Any) -> Tuple[List[GridEvent], List[int]]:
        """samna events -> (grid events with end markers reported, timestamps of stray control events)."""
        events: List[GridEvent] = []
        strays: List[int] = []
        for timestamp, tag, x_hop, y_hop, core in grid_events_from_samna(raw):
            self._latest = max(self._latest, timestamp)
            if tag == CONTROL_TAG and y_hop == MONITOR_HOP and x_hop in _RETURNED_CONTROL_X_HOPS:
                n = bisect.bisect_right(self._markers, timestamp)
                if n:
                    events.extend(control_event(t) for t in self._markers[:n])
                    del self._markers[:n]
                else:
                    strays.append(timestamp)
            else:
                events.append(GridEvent(timestamp, tag, x_hop, y_hop, core))
        return events, strays

    def close(self) -> None:
        """Close the device (``samna.device.close_device``); closing again does nothing.

        A board that is already gone may fail to close: the error is kept in
        :attr:`close_error` and logged, not raised.
        """
        if not self._open:
            return
        self._open = False
        try:
            close_device(self._board)
        except (RuntimeError, OSError) as err:
            self.close_error = err
            _log.warning("closing the board %s failed (it may be gone already): %s", self.name, err)

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def capabilities(self) -> BoardCapabilities:
        """What the board can do: no reset of the neurons, the FPGA's clock (runs start
        :data:`LEAD_TIME` after reading it), the chips of the board's model (read once).

        Raises:
            BoardError: the board was closed before its chips were counted.
            ConnectionError: the board went away.
        """
        if self._capabilities is None:
            self._check_open()
            chips = self._io("reading the configuration", self._model.get_configuration).chips
            self._capabilities = BoardCapabilities(can_reset=False, has_clock=True, lead_time=LEAD_TIME, n_chips=len(chips))
        return self._capabilities

    @property
    def samna_board(self) -> Any:
        """samna's board object (for what this class does not cover; bypasses its bookkeeping)."""
        self._check_open()
        return self._board

    @property
    def model(self) -> Any:
        """samna's board model (``board.get_model()``)."""
        self._check_open()
        return self._model

    def __repr__(self) -> str:
        state = "open" if self._open else "closed"
        return f"SamnaBoard({self.name}, {state})"


# --- the board kind "samna" ---------------------------------------------------------------------


def check_samna_board(index: Optional[int] = None) -> None:
    """Fail early, without opening anything, where :func:`open_samna_board` surely would.

    Raises:
        ParameterValueError: ``index`` is not a board index (an integer >= 0).
        SamnaNotAvailableError: samna is missing or only PyPI's installer stub.
    """
    if index is not None and not (isinstance(index, int) and not isinstance(index, bool) and index >= 0):
        raise ParameterValueError("index", "a board index >= 0 (in samna's order)", index)
    require_samna()


def open_samna_board(
    index: Optional[int] = None,
    device: Any = None,
    bitfile: Optional[str] = None,
    *,
    clock_timeout: float = 5.0,
    poll_interval: float = 1e-3,
    marker_copies: int = 2,
) -> SamnaBoard:
    """Open a DYNAP-SE2 board through samna: the factory of the board kind ``"samna"``.

    Args:
        index: the board's number among the DYNAP-SE2 boards samna sees (its order);
            ``None``: ``device`` decides.
        device: as :class:`SamnaBoard`'s (``DeviceInfo``, serial number, or ``None`` for the
            first board not yet opened); only without ``index``.
        bitfile: path of the FPGA bitfile; default the environment variable ``DYNAPSE2_BITFILE``.
        clock_timeout: as :class:`SamnaBoard`'s.
        poll_interval: as :class:`SamnaBoard`'s.
        marker_copies: as :class:`SamnaBoard`'s.

    Raises:
        ParameterValueError: a bad ``index``, or both ``index`` and ``device``.
        SamnaNotAvailableError: samna is missing or only PyPI's installer stub.
        BoardNotFoundError: there is no board ``index`` (the message says how many there are).
        BitfileError, BoardError: as :class:`SamnaBoard`.
    """
    check_samna_board(index)
    if index is not None:
        if device is not None:
            raise ParameterValueError("device", f"None when `index` is given (board {index} is the device)", device)
        boards = find_dynapse_boards()
        if index >= len(boards):
            raise BoardNotFoundError(
                f"`index` must be one of 0..{len(boards) - 1} (the DYNAP-SE2 boards samna sees); got {index}"
            )
        device = boards[index]
    return SamnaBoard(
        device, bitfile, clock_timeout=clock_timeout, poll_interval=poll_interval, marker_copies=marker_copies
    )
