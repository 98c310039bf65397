"""The simulated FPGA and chips behind the fake board (not part of samna's API).

* **FPGA clock** (µs): simulated time. It advances when events are read, up to the
  latest event written so far (everything written has then been released), never by
  itself; :meth:`FakeHardware.reset` sets it to 0.
* **Events written**: events addressed off the grid (hops -7, -7) are bounced back to
  the host, stamped with the clock when they are released (``max(written, clock)``, plus
  :attr:`FakeHardware.bounce_latency_us`); control events (tag 2047) come back with
  ``x_hop`` -6 (what Rockpool's samna driver expects), others unchanged. Every other event
  enters the chips at its chip (``x_hop`` hops east of the FPGA) and timestamp.
* **Chips**: the configuration the model was given, converted back to
  rockpool_dynapse2's :class:`~rockpool_dynapse2.config.Configuration`
  (:func:`configuration_from_fake`) and executed by a
  :class:`~rockpool_dynapse2.hardware.VirtualBoard` in steps of ``dt``; their output
  events (neurons' monitoring entries) come back stamped in µs. Applying a configuration
  restarts the neurons from rest (a real chip keeps its state); the clock runs on.
* **Faults**: :attr:`connected` False (every call raises ``RuntimeError``, like a board
  whose cable is pulled), :attr:`drop_control_events` (no control event comes back),
  :attr:`drop_end_markers` (control events stamped in the future never come back; clock
  reads still work), :attr:`bounce_latency_us`, :attr:`foreign_events` (reads include
  events that are not ``NormalGridEvent``), :attr:`configure_result` (force
  ``configure_opal_kelly``'s answer).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple

from rockpool_dynapse2.placement.mapped import MappedConfiguration
from rockpool_dynapse2.config.neuron import BLANK_NEURON, LATCHES, Neuron
from rockpool_dynapse2.config.records import Destination, Parameter, Synapse
from rockpool_dynapse2.config.tree import Chip, Configuration, Core
from rockpool_dynapse2.hardware.board import GridEvent
from rockpool_dynapse2.hardware.virtual import VirtualBoard

OFF_GRID = -7
CONTROL_TAG = 2047
RETURNED_CONTROL_X_HOP = -6

Row = Tuple[int, Tuple[bool, ...], int, int, int]
"""An event: ``(timestamp, core, x_hop, y_hop, tag)``."""


def configuration_from_fake(config: Any) -> Configuration:
    """The fake ``Dynapse2Configuration`` as rockpool_dynapse2's :class:`Configuration`."""
    from .dynapse2 import BLANK_DESTINATION_ROW, BLANK_SYNAPSE_ROW, ParameterType

    blank_syn, blank_dest = (BLANK_SYNAPSE_ROW,) * 64, (BLANK_DESTINATION_ROW,) * 4
    synapses: Dict[Tuple, Synapse] = {}
    destinations: Dict[Tuple, Destination] = {}

    def synapse(row: Tuple) -> Synapse:
        if row not in synapses:
            dendrite, stp, weight, precise, mismatched, tag = row
            synapses[row] = Synapse(dendrite, stp, weight, precise, mismatched, tag)
        return synapses[row]

    def destination(row: Tuple) -> Destination:
        if row not in destinations:
            destinations[row] = Destination(*row)
        return destinations[row]

    def neuron(n: Any) -> Neuron:
        s, d = n._rows_synapses, n._rows_destinations
        latches = {name: n.__dict__[name] for name in LATCHES}
        if s == blank_syn and d == blank_dest and not any(latches.values()):
            return BLANK_NEURON
        return Neuron(tuple(synapse(r) for r in s), tuple(destination(r) for r in d), **latches)

    def parameter(p: Any) -> Parameter:
        initial = "N" if p._initial_type == ParameterType.n else "P"
        return Parameter(p.type, p.coarse_value, p.fine_value, p._address, p._cookie, initial, p._switchable_type)

    chips = []
    for chip in config.chips:
        cores = []
        for core in chip.cores:
            params = {name: parameter(p) for name, p in core.parameters.items()}
            cores.append(Core(neurons=tuple(neuron(n) for n in core.neurons), parameters=params))
        chips.append(Chip(cores=tuple(cores)))
    return Configuration(tuple(chips))


class FakeHardware:
    """The FPGA and chips of one fake board (see the module docs).

    Args:
        dt: the step (s) in which the chips are simulated.
        Iscale: the weight unit of the simulation (A).
        backend: ``"jax"`` or ``"torch"``.
    """

    def __init__(self, dt: float = 1e-3, Iscale: float = 1e-8, backend: str = "jax"):
        self.dt = dt
        self.Iscale = Iscale
        self.backend = backend
        self.connected = True
        self.configure_result: Optional[bool] = None
        self.drop_control_events = False
        self.drop_end_markers = False
        self.bounce_latency_us = 0
        self.foreign_events = False
        self.bitfile: Optional[str] = None
        """The bitfile the FPGA was configured with (None: not configured)."""
        self.now = 0
        self.written: List[Row] = []
        """Every event written, in order (test hook)."""
        self.lost_events = 0
        """Events written before the FPGA was configured (they vanish)."""
        self.configuration: Optional[Configuration] = None
        """The last configuration applied, as rockpool_dynapse2's Configuration."""
        self._base = 0
        self._chips: Optional[VirtualBoard] = None
        self._mapped: Optional[MappedConfiguration] = None
        self._queue: List[Row] = []

    @property
    def chips(self) -> Optional[VirtualBoard]:
        """The virtual board executing the chips (None while no neuron is configured)."""
        return self._chips

    def check_connected(self) -> None:
        if not self.connected:
            raise RuntimeError("device is not connected (fake: unplugged)")

    def configure(self, path: str) -> bool:
        ok = os.path.isfile(path) if self.configure_result is None else self.configure_result
        if ok:
            self.bitfile = path
        return ok

    def reset(self) -> None:
        """Reset the FPGA: clock to 0, queued events dropped, the neurons at rest."""
        self.now, self._base, self._queue = 0, 0, []
        if self._mapped is not None:
            self._chips = VirtualBoard(self.backend)
            self._chips.apply_configuration(self._mapped)

    def program(self, config: Any) -> None:
        """Load a fake ``Dynapse2Configuration`` into the chips."""
        tree = configuration_from_fake(config)
        self.configuration = tree
        if not any(n.is_used for _, _, _, n in tree.placed_neurons()):
            self._chips, self._mapped = None, None
            return
        self._mapped = MappedConfiguration(configuration=tree, inputs=(), outputs=(), neurons=(), dt=self.dt, Iscale=self.Iscale)
        self._chips = VirtualBoard(self.backend)
        self._chips.apply_configuration(self._mapped)
        self._base = self.now

    def write(self, rows: List[Row]) -> None:
        if self.bitfile is None:
            self.lost_events += len(rows)
            return
        for row in rows:
            self.written.append(row)
            ts, core, x_hop, y_hop, tag = row
            if tag == CONTROL_TAG and x_hop == OFF_GRID and y_hop == OFF_GRID:
                if self.drop_control_events or (self.drop_end_markers and ts > self.now):
                    continue
            self._queue.append(row)

    def read(self) -> List[Row]:
        """Release every queued event; return what came back, in time order."""
        rows, self._queue = self._queue, []
        before = self.now
        out: List[Row] = []

        def bounce(ts: int, core: Tuple[bool, ...], x_hop: int, tag: int) -> None:
            x = RETURNED_CONTROL_X_HOP if tag == CONTROL_TAG else x_hop
            out.append((max(ts, before) + self.bounce_latency_us, core, x, OFF_GRID, tag))

        to_chips = []
        for row in rows:
            ts, core, x_hop, y_hop, tag = row
            off_grid = x_hop == OFF_GRID and y_hop == OFF_GRID
            if off_grid and (tag != CONTROL_TAG or self._chips is None):
                bounce(ts, core, x_hop, tag)
            else:
                to_chips.append(GridEvent(ts - self._base, tag, x_hop, y_hop, core))
        if self._chips is None:
            self.now = max([self.now] + [r[0] for r in rows])
        else:
            if to_chips:
                self._chips.write_events(to_chips)
            for e in self._chips.read_events():
                if e.is_control:  # a control event, held by the chips' clock until its time
                    bounce(e.timestamp + self._base, e.core, e.x_hop, e.tag)
                else:
                    out.append((e.timestamp + self._base, e.core, e.x_hop, e.y_hop, e.tag))
            self.now = max(self.now, self._base + self._chips.time_us())
        out.sort(key=lambda r: r[0])
        return out
