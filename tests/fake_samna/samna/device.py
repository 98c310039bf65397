"""Fake ``samna.device``: listing, opening and closing devices.

samna's API: :func:`get_all_devices`, :func:`get_unopened_devices` (``DeviceInfo`` s),
:func:`open_device`, :func:`close_device`. Test hooks (not samna): :func:`fake_plug` attaches
a fake board, :func:`fake_board` returns it, :func:`fake_reset` detaches everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional

from ._hardware import FakeHardware
from .dynapse2 import Dynapse2Stack

__all__ = ["DeviceInfo", "get_all_devices", "get_unopened_devices", "open_device", "close_device"]


@dataclass(frozen=True)
class DeviceInfo:
    """What samna reports about an attached device (fields as Rockpool's samna alias lists them)."""

    device_type_name: str
    serial_number: str
    daughter_board_num: int = 0
    logic_version: int = 0
    usb_bus_number: int = 1
    usb_device_address: int = 1


class _Attached:
    def __init__(self, info: DeviceInfo, board: Dynapse2Stack):
        self.info = info
        self.board = board
        self.opened = False


_ATTACHED: List[_Attached] = []


def fake_plug(
    device_type_name: str = "DYNAP-SE2 Stack",
    serial_number: Optional[str] = None,
    n_chips: int = 1,
    dt: float = 1e-3,
    Iscale: float = 1e-8,
    backend: str = "jax",
) -> DeviceInfo:
    """Attach a fake board (test hook). ``dt``, ``Iscale``, ``backend``: how its chips are simulated."""
    serial = serial_number or f"FAKE{len(_ATTACHED):04d}"
    info = DeviceInfo(device_type_name, serial, usb_device_address=len(_ATTACHED) + 1)
    board = Dynapse2Stack(FakeHardware(dt, Iscale, backend), device_type_name, n_chips)
    _ATTACHED.append(_Attached(info, board))
    return info


def fake_board(device: Any) -> Dynapse2Stack:
    """The board of a ``DeviceInfo`` or serial number, opened or not (test hook)."""
    return _find(device).board


def fake_reset() -> None:
    """Detach every fake board (test hook)."""
    _ATTACHED.clear()


def _connected() -> List[_Attached]:
    return [a for a in _ATTACHED if a.board.fake.connected]


def _find(device: Any) -> _Attached:
    serial = device if isinstance(device, str) else getattr(device, "serial_number", None)
    for a in _ATTACHED:
        if a.info.serial_number == serial:
            return a
    raise RuntimeError(f"no such device: {device!r}")


def get_all_devices() -> List[DeviceInfo]:
    """Every attached device."""
    return [a.info for a in _connected()]


def get_unopened_devices() -> List[DeviceInfo]:
    """Every attached device no one has opened."""
    return [a.info for a in _connected() if not a.opened]


def open_device(info: DeviceInfo) -> Dynapse2Stack:
    """Open a device; ``RuntimeError`` if it is gone or already open."""
    if not isinstance(info, DeviceInfo):
        raise TypeError(f"incompatible value {info!r}: a DeviceInfo is required")
    attached = _find(info)
    attached.board.fake.check_connected()
    if attached.opened:
        raise RuntimeError(f"device {info.serial_number} is already open")
    attached.opened = True
    return attached.board


def close_device(board: Dynapse2Stack) -> None:
    """Close a device; ``RuntimeError`` if it is gone (the board is closed all the same)."""
    for a in _ATTACHED:
        if a.board is board:
            a.opened = False
            board.fake.check_connected()
            return
    raise RuntimeError(f"not an open device: {board!r}")
