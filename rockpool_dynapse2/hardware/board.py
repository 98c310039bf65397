"""The board protocol: what the driver needs from a DYNAP-SE2 board, real or virtual.

A board exchanges :class:`GridEvent` s with the host: events written to it are injected
on the chip grid at their timestamps (microseconds of the board's FPGA clock); events
the chips send off the grid (SRAM entries with hops -7, -7) come back, time-stamped.

Ending a run: the driver writes a *control event* (tag :data:`CONTROL_TAG`, hops -7, -7)
stamped with the run's end time; the board sends it back once its clock has passed that
time, so the driver knows every output event of the run has arrived. This is what
Rockpool's samna driver does with the FPGA, and what :class:`~.virtual.VirtualBoard` does
with its simulation.

What a board can do beyond the protocol, it declares in :class:`BoardCapabilities`
(``board.capabilities``): whether it can return its neurons to rest, whether its clock
runs on its own, how many chips it has. The driver and the application read these;
nothing passes "is it virtual" around.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import List, Sequence, Tuple

from ..chip import CONTROL_TAG, MONITOR_HOP
from ..placement.mapped import MappedConfiguration
from ..errors import BoardError

__all__ = ["GridEvent", "BoardCapabilities", "Board", "control_event"]


@dataclass(frozen=True, order=True)
class GridEvent:
    """One event on the chip grid, as samna's ``NormalGridEvent``.

    Attributes:
        timestamp: FPGA time in microseconds.
        tag: 0..2047.
        x_hop, y_hop: chip hops, -7..7 (-7, -7: off the grid, the FPGA).
        core: 4 booleans, the target cores on the destination chip.
    """

    timestamp: int
    tag: int
    x_hop: int = 0
    y_hop: int = 0
    core: Tuple[bool, bool, bool, bool] = (True, True, True, True)

    @property
    def is_control(self) -> bool:
        """True for the driver's control (end-of-run) events."""
        return self.tag == CONTROL_TAG and self.x_hop == MONITOR_HOP and self.y_hop == MONITOR_HOP


def control_event(timestamp: int) -> GridEvent:
    """The end-of-run marker the board sends back when its clock passes ``timestamp``."""
    return GridEvent(timestamp=int(timestamp), tag=CONTROL_TAG, x_hop=MONITOR_HOP, y_hop=MONITOR_HOP)


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
