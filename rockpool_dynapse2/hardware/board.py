"""The board protocol: what the driver needs from a DYNAP-SE2 board, real or virtual.

A board exchanges :class:`GridEvent` s with the host: events written to it are injected
on the chip grid at their timestamps (microseconds of the board's FPGA clock); events
the chips send off the grid (SRAM entries with hops -7, -7) come back, time-stamped.

Ending a run: the driver writes a *control event* (tag :data:`CONTROL_TAG`, hops -7, -7)
stamped with the run's end time; the board sends it back once its clock has passed that
time, so the driver knows every output event of the run has arrived. This is what
Rockpool's samna driver does with the FPGA, and what :class:`~.virtual.VirtualBoard` does
with its simulation.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import List, Sequence, Tuple

from ..chip import CONTROL_TAG, MONITOR_HOP
from ..placement.mapped import MappedConfiguration
from ..errors import BoardDisconnectedError, BoardError, BoardTimeoutError, Dynapse2Error

__all__ = ["GridEvent", "Board", "control_event"]


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

    recommended_lead_time: float = 0.0
    """Seconds the driver leaves between reading the clock and a run's first step."""

    def reset_state(self) -> None:
        """Return the neurons to rest where the board can (the virtual board can; a chip cannot)."""

    def __enter__(self) -> "Board":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
