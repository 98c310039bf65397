"""The board protocol: what the driver needs from a DYNAP-SE2 board, real or virtual.

A board exchanges :class:`GridEvent` s with the host: events written to it are injected
on the chip grid at their timestamps (microseconds of the board's FPGA clock); events
the chips send off the grid (SRAM entries with hops -7, -7) come back, time-stamped.

Ending a run: the driver writes a *control event* (tag :data:`CONTROL_TAG`, hops -7, -7)
stamped with the run's end time; the board sends it back once its clock has passed that
time, so the driver knows every output event of the run has arrived. This is what
Rockpool's samna driver does with the FPGA, and what :class:`~.virtual.VirtualBoard` does
with its simulation.

Events are checked when they are made: a :class:`GridEvent` with a timestamp that is not
an integer in ``0..``:data:`TIMESTAMP_MAX` (the FPGA's uint32 microsecond clock), a tag
outside the chip's 11 bits, a hop outside -7..7 or a core mask that is not 4 booleans
raises :class:`~rockpool_dynapse2.errors.ParameterValueError` (a value outside its
domain, wherever the event is going), naming the field.

What a board can do beyond the protocol, it declares in :class:`BoardCapabilities`
(``board.capabilities``): whether it can return its neurons to rest, whether its clock
runs on its own, how many chips it has. The driver and the application read these;
nothing passes "is it virtual" around.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, List, Sequence, Tuple

import numpy as np

from ..chip import CONTROL_TAG, GEOMETRY, MONITOR_HOP
from ..placement.mapped import MappedConfiguration
from ..errors import BoardError, ParameterValueError

__all__ = ["GridEvent", "BoardCapabilities", "Board", "control_event", "TIMESTAMP_MAX"]

TIMESTAMP_MAX = 2**32 - 1
"""Largest event timestamp (µs): the FPGA's clock and samna's ``NormalGridEvent.timestamp``
are uint32 (the clock wraps after 71.6 minutes)."""


_N_TAGS = GEOMETRY.tags_per_chip
_N_CORES = GEOMETRY.cores_per_chip
_HOP_MIN, _HOP_MAX = GEOMETRY.hop_min, GEOMETRY.hop_max


def _integer(name: str, value: Any, low: int, high: int, unit: str = "") -> int:
    """``value`` as an ``int`` if it is an integer (not a boolean) in ``low..high``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ParameterValueError(name, f"an integer in {low}..{high}{unit}", value if np.ndim(value) == 0 else str(value))
    return int(value)


def _core_mask(value: Any) -> Tuple[bool, ...]:
    """``value`` as a tuple of booleans if it is one boolean per core of a chip."""
    n = GEOMETRY.cores_per_chip
    items = tuple(value) if isinstance(value, (tuple, list, np.ndarray)) else None
    if items is None or len(items) != n or not all(isinstance(b, (bool, np.bool_)) for b in items):
        raise ParameterValueError("GridEvent.core", f"{n} booleans (the target cores of the chip)", str(value))
    return tuple(bool(b) for b in items)


@dataclass(frozen=True, order=True)
class GridEvent:
    """One event on the chip grid, as samna's ``NormalGridEvent``.

    Attributes:
        timestamp: FPGA time in microseconds, an integer in 0..:data:`TIMESTAMP_MAX`.
        tag: 0..2047 (the chip's 11 tag bits).
        x_hop, y_hop: chip hops, -7..7 (-7, -7: off the grid, the FPGA).
        core: 4 booleans, the target cores on the destination chip.

    Raises:
        ParameterValueError: a field outside its domain (a negative, too large, fractional
            or string timestamp, a tag of -1 or 2048, a hop of 8, a core mask that is not
            4 booleans); the message names the field.
    """

    timestamp: int
    tag: int
    x_hop: int = 0
    y_hop: int = 0
    core: Tuple[bool, bool, bool, bool] = (True, True, True, True)

    def __post_init__(self) -> None:
        # the common case (plain ints, a tuple of 4 bools) is checked without calls: events are many
        t, tag, x, y, core = self.timestamp, self.tag, self.x_hop, self.y_hop, self.core
        if not (
            type(t) is int and 0 <= t <= TIMESTAMP_MAX and type(tag) is int and 0 <= tag < _N_TAGS
            and type(x) is int and _HOP_MIN <= x <= _HOP_MAX and type(y) is int and _HOP_MIN <= y <= _HOP_MAX
            and type(core) is tuple and len(core) == _N_CORES and all(type(b) is bool for b in core)
        ):
            self._check_and_convert()

    def _check_and_convert(self) -> None:
        """Check every field; store integers as ``int`` and the core mask as a tuple of ``bool``."""
        fields = (
            ("timestamp", 0, TIMESTAMP_MAX, " (µs of the FPGA's uint32 clock)"),
            ("tag", 0, _N_TAGS - 1, f" ({GEOMETRY.tag_bits} tag bits)"),
            ("x_hop", _HOP_MIN, _HOP_MAX, ""),
            ("y_hop", _HOP_MIN, _HOP_MAX, ""),
        )
        for name, low, high, unit in fields:
            object.__setattr__(self, name, _integer(f"GridEvent.{name}", getattr(self, name), low, high, unit))
        object.__setattr__(self, "core", _core_mask(self.core))

    @property
    def is_control(self) -> bool:
        """True for the driver's control (end-of-run) events."""
        return self.tag == CONTROL_TAG and self.x_hop == MONITOR_HOP and self.y_hop == MONITOR_HOP


def control_event(timestamp: int) -> GridEvent:
    """The end-of-run marker the board sends back when its clock passes ``timestamp`` (µs, an
    integer in 0..:data:`TIMESTAMP_MAX`)."""
    return GridEvent(timestamp=timestamp, tag=CONTROL_TAG, x_hop=MONITOR_HOP, y_hop=MONITOR_HOP)


@dataclass(frozen=True)
class BoardCapabilities:
    """What a board can do, declared by its class (``board.capabilities``).

    Attributes:
        can_reset: :meth:`Board.reset_state` returns every neuron to rest. A chip cannot
            (its neurons' state is analog); to start a trial from rest there, run steps
            without input before it.
        has_clock: the board's clock runs on its own (the FPGA's, in real time), so time
            passes while the host converts and writes a run's events. Without one (the
            virtual board) the clock advances only as the board works through events.
        lead_time: seconds the driver leaves between reading the clock and a run's first
            step, so that the events are written before the clock reaches them (0 without
            a clock of its own).
        n_chips: chips on the board.
    """

    can_reset: bool
    has_clock: bool
    lead_time: float
    n_chips: int


class Board(abc.ABC):
    """A DYNAP-SE2 board (see the module docs). Use as a context manager to close it."""

    @abc.abstractmethod
    def apply_configuration(self, config: MappedConfiguration) -> None:
        """Program the chips."""

    @abc.abstractmethod
    def time_us(self) -> int:
        """The board's clock, in microseconds."""

    @abc.abstractmethod
    def write_events(self, events: Sequence[GridEvent]) -> None:
        """Queue events for injection at their timestamps (ascending)."""

    @abc.abstractmethod
    def read_events(self) -> List[GridEvent]:
        """Events received since the last read: outputs, and each control event written
        returned as :func:`control_event` with exactly its written timestamp once the
        board's clock has passed it (a board whose hardware returns control events
        differently must translate them)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the board; further use raises :class:`BoardError`."""

    @property
    @abc.abstractmethod
    def is_open(self) -> bool:
        """False once closed."""

    @property
    @abc.abstractmethod
    def capabilities(self) -> BoardCapabilities:
        """What this board can do (see :class:`BoardCapabilities`)."""

    @property
    def recommended_lead_time(self) -> float:
        """Seconds the driver leaves between reading the clock and a run's first step
        (``capabilities.lead_time``)."""
        return self.capabilities.lead_time

    def reset_state(self) -> None:
        """Return every neuron to rest, on a board whose capabilities say ``can_reset``.

        A board that can overrides this method; this one says why it cannot.

        Raises:
            BoardError: the board cannot reset its neurons (a chip: their state is analog).
        """
        raise BoardError(
            f"`reset_state` needs a board that can return its neurons to rest; {type(self).__name__} cannot "
            "(a chip's neurons keep their analog state): to start a trial from rest, run steps without "
            "input before it (e.g. `board_outputs(..., rest_steps=N)`), or use the virtual board"
        )

    def __enter__(self) -> "Board":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
