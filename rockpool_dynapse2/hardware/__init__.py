"""Deployment: the board protocol, the boards, and the driver that runs a configuration.

* :mod:`.board`: the board protocol (:class:`Board`, :class:`GridEvent`, the control event
  that ends a run) and what a board declares it can do (:class:`BoardCapabilities`);
* :mod:`.registry`: the board kinds by name (``"virtual"``, ``"samna"``):
  :func:`open_board`, :func:`board_kinds`, :func:`check_board`;
* :mod:`.virtual`: :class:`VirtualBoard`, which executes a configuration with the simulator;
* :mod:`.chip_profile`: :class:`ChipProfile`, one board's frozen flaws (mismatch, bias-generator
  gains, dead and always-on neurons, defective CAM entries), drawn from a seed, kept as JSON;
* :mod:`.on_chip`: how a profile changes the virtual board's simulation;
* :mod:`.samna_board`: :class:`SamnaBoard`, a DYNAP-SE2 board through SynSense's samna;
* :mod:`.driver`: :class:`DynapseSamna`, the Rockpool module that applies a configuration
  to a board and runs rasters through it, with deadlines on every board call of a run;
  :func:`lost_inputs`, the input events a configuration would lose; :func:`run_samples`,
  a batch of samples run one by one, each from rest.

Only :mod:`rockpool_dynapse2._samna.adapter` touches samna, and only when called; importing
this package never imports samna.
"""

from .._samna.adapter import SamnaStatus, require_samna, samna_status
from ..errors import (
    BitfileError,
    BoardDisconnectedError,
    BoardError,
    BoardFailureError,
    BoardNotFoundError,
    BoardTimeoutError,
    LostInputsError,
)
from .board import Board, BoardCapabilities, GridEvent, control_event
from .driver import DynapseSamna, LostInputs, events_to_raster, lost_inputs, raster_to_events, run_samples, unrouted_input_routes
from .registry import BOARD_KINDS, BoardKind, board_factory, board_kinds, check_board, open_board
from .samna_board import SamnaBoard, find_dynapse_boards
from .chip_profile import ChipProfile
from .virtual import VirtualBoard

__all__ = [
    "Board",
    "BoardCapabilities",
    "GridEvent",
    "control_event",
    "open_board",
    "board_factory",
    "board_kinds",
    "check_board",
    "BoardKind",
    "BOARD_KINDS",
    "VirtualBoard",
    "ChipProfile",
    "SamnaBoard",
    "find_dynapse_boards",
    "DynapseSamna",
    "events_to_raster",
    "raster_to_events",
    "unrouted_input_routes",
    "lost_inputs",
    "LostInputs",
    "run_samples",
    "SamnaStatus",
    "samna_status",
    "require_samna",
    "BoardError",
    "BoardTimeoutError",
    "BoardDisconnectedError",
    "BoardFailureError",
    "BoardNotFoundError",
    "BitfileError",
    "LostInputsError",
]
