"""Deployment: the board protocol, the samna board and the virtual board.

Only :mod:`.samna_adapter` touches samna, and only when called; importing this package
never imports samna.
"""

from .samna_adapter import SamnaStatus, require_samna, samna_status
from .board import Board, BoardDisconnectedError, BoardError, BoardTimeoutError, GridEvent, control_event
from .driver import DynapseSamna, events_to_raster, raster_to_events
from .virtual import VirtualBoard
from .samna_board import SamnaBoard, find_dynapse_boards
