"""The one module that touches samna, and only when called.

SynSense's samna drives DYNAP-SE2 boards. The package named ``samna`` on PyPI is an
*installer stub*: importing it runs ``pip install`` against SynSense's own index (and
fails where that index is unreachable). So before anything imports samna we look at
what is installed **without importing it**: the stub is a single pure-Python
``__init__.py`` that marks itself with ``PYPI_SAMNA = True``; the real samna ships a
compiled extension module.

:func:`samna_status` reports what is there; :func:`require_samna` imports the real samna
or raises :class:`~rockpool_dynapse2.errors.SamnaNotAvailableError` saying how to get it.
"""

from __future__ import annotations

import importlib
from typing import Any, Dict, Iterable, List, Sequence, Tuple

from .detect import SamnaStatus, samna_status
from ..errors import SamnaNotAvailableError

__all__ = [
    "SamnaStatus",
    "samna_status",
    "require_samna",
    "configuration_to_samna",
    "INSTALL_HINT",
    "list_devices",
    "open_device",
    "close_device",
    "synapses_to_samna",
    "destinations_to_samna",
    "grid_events_to_samna",
    "grid_events_from_samna",
]

GridTuple = Tuple[int, int, int, int, Tuple[bool, bool, bool, bool]]
"""A grid event as plain values: ``(timestamp µs, tag, x_hop, y_hop, core mask)``."""

SynapseRow = Tuple[str, bool, Tuple[bool, bool, bool, bool], bool, bool, int]
"""A CAM entry as plain values: ``(dendrite name, stp, weight bits, precise_delay,
mismatched_delay, tag)``; the dendrite name is samna's enum member (``none``, ``ampa``,
``gaba``, ``nmda``, ``shunt``)."""

DestinationRow = Tuple[Tuple[bool, bool, bool, bool], int, int, int]
"""An SRAM entry as plain values: ``(core mask, x_hop, y_hop, tag)``."""

INSTALL_HINT = (
    "install SynSense's samna as its documentation describes (the `samna` package on PyPI "
    "is only an installer stub that downloads the real one from SynSense's package index "
    "when imported); then `python -c \"import samna\"` must work"
)

def require_samna() -> Any:
    """Import and return the real samna.

    Raises:
        SamnaNotAvailableError: samna is missing, or only PyPI's installer stub is
            installed (then it is *not* imported), with instructions.
    """
    status = samna_status()
    if not status.real:
        raise SamnaNotAvailableError(f"deployment to a DYNAP-SE2 board needs SynSense's samna: {status.reason}; {INSTALL_HINT}")
    return importlib.import_module("samna")


def configuration_to_samna(json_text: str) -> Any:
    """A ``samna.dynapse2.Dynapse2Configuration`` read from our configuration's samna JSON.

    Raises:
        SamnaNotAvailableError: without the real samna.
    """
    samna = require_samna()
    config = samna.dynapse2.Dynapse2Configuration()
    config.from_json(json_text)
    return config


# --- devices --------------------------------------------------------------------------------


def list_devices(unopened_only: bool = False) -> List[Any]:
    """samna's ``DeviceInfo`` of every device it sees (``get_all_devices`` or ``get_unopened_devices``).

    Raises:
        SamnaNotAvailableError: without the real samna.
    """
    samna = require_samna()
    device = samna.device
    return list(device.get_unopened_devices() if unopened_only else device.get_all_devices())


def open_device(info: Any) -> Any:
    """``samna.device.open_device(info)``: the board object of a ``DeviceInfo``."""
    return require_samna().device.open_device(info)


def close_device(board: Any) -> None:
    """``samna.device.close_device(board)``."""
    require_samna().device.close_device(board)


# --- configuration entries -------------------------------------------------------------------


def _destination(dynapse2: Any, core: Sequence[bool], x_hop: int, y_hop: int, tag: int) -> Any:
    # samna's objects are built empty and filled attribute by attribute (as public lab
    # scripts do); lists are assigned whole, never changed in place.
    d = dynapse2.Dynapse2Destination()
    d.core = [bool(c) for c in core]
    d.x_hop = int(x_hop)
    d.y_hop = int(y_hop)
    d.tag = int(tag)
    return d


def synapses_to_samna(rows: Iterable[SynapseRow]) -> List[Any]:
    """``samna.dynapse2.Dynapse2Synapse`` objects of CAM entries given as plain values.

    Equal rows give the same object: assigning a list to ``Dynapse2Neuron.synapses`` copies
    its elements, so sharing is safe and saves building 64 objects per neuron.

    Args:
        rows: :data:`SynapseRow` s.

    Raises:
        SamnaNotAvailableError: without the real samna.
    """
    dynapse2 = require_samna().dynapse2
    made: Dict[SynapseRow, Any] = {}
    out = []
    for row in rows:
        synapse = made.get(row)
        if synapse is None:
            dendrite, stp, weight, precise_delay, mismatched_delay, tag = row
            synapse = dynapse2.Dynapse2Synapse()
            synapse.dendrite = getattr(dynapse2.Dendrite, dendrite)
            synapse.stp = bool(stp)
            synapse.weight = [bool(w) for w in weight]
            synapse.precise_delay = bool(precise_delay)
            synapse.mismatched_delay = bool(mismatched_delay)
            synapse.tag = int(tag)
            made[row] = synapse
        out.append(synapse)
    return out


def destinations_to_samna(rows: Iterable[DestinationRow]) -> List[Any]:
    """``samna.dynapse2.Dynapse2Destination`` objects of SRAM entries given as plain values
    (:data:`DestinationRow`); equal rows give the same object, as in :func:`synapses_to_samna`.

    Raises:
        SamnaNotAvailableError: without the real samna.
    """
    dynapse2 = require_samna().dynapse2
    made: Dict[DestinationRow, Any] = {}
    out = []
    for row in rows:
        if row not in made:
            made[row] = _destination(dynapse2, *row)
        out.append(made[row])
    return out


# --- events ------------------------------------------------------------------------------------


def grid_events_to_samna(events: Iterable[GridTuple]) -> List[Any]:
    """``samna.dynapse2.NormalGridEvent`` s of events given as plain :data:`GridTuple` s, in order.

    Raises:
        SamnaNotAvailableError: without the real samna.
    """
    dynapse2 = require_samna().dynapse2
    out = []
    for timestamp, tag, x_hop, y_hop, core in events:
        event = dynapse2.NormalGridEvent()
        event.event = _destination(dynapse2, core, x_hop, y_hop, tag)
        event.timestamp = int(timestamp)
        out.append(event)
    return out


def grid_events_from_samna(events: Iterable[Any]) -> List[GridTuple]:
    """The ``NormalGridEvent`` s among events read from a board, as plain :data:`GridTuple` s.

    Other event types (the board may deliver more than grid events) are left out.

    Raises:
        SamnaNotAvailableError: without the real samna.
    """
    grid_event = require_samna().dynapse2.NormalGridEvent
    out = []
    for e in events:
        if isinstance(e, grid_event):
            d = e.event
            out.append((int(e.timestamp), int(d.tag), int(d.x_hop), int(d.y_hop), tuple(bool(c) for c in d.core)))
    return out
