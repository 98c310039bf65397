"""A virtual DYNAP-SE2 board: the board protocol, executed by our simulator.

:class:`VirtualBoard` reads a configuration as a chip would — CAM entries listen to tags,
SRAM entries send them, codes set the currents, masks select base weights — through
:func:`~rockpool_dynapse2.config.spec_from_config`, and simulates it in steps of ``dt``
with :mod:`rockpool_dynapse2.simulation`. It knows nothing of the driver's channel maps:
an input event is routed by its chip (``x_hop`` from chip 0), core mask and tag, exactly
as the grid would; output events are the spikes of neurons with a monitoring SRAM entry,
stamped in microseconds, several per step when a neuron fires several times.

Its clock is simulated time: it advances only when events are read, up to the latest
event written (so a run is simulated as soon as its end marker is written). The
network's state carries over between runs, as on a chip; :meth:`reset_state` returns
the neurons to rest, which a chip cannot do. Its :attr:`~VirtualBoard.capabilities` say
so: it can reset, its clock does not run on its own, it has the board's 4 chips.

It is the ideal chip unless given a :class:`~.chip_profile.ChipProfile`
(``VirtualBoard(profile=ChipProfile.draw(seed))``): then it runs the configuration on that
board's frozen mismatch, bias-generator gains, dead and always-on neurons and defective
CAM entries (:mod:`.on_chip`).

What it is given is checked before anything is queued (a :class:`~.board.GridEvent`
checks its own fields on construction); a bad event raises
:class:`~rockpool_dynapse2.errors.ParameterValueError` naming it (``events[3].timestamp``):
the board is fine, an argument's value is outside what a board takes.

* **Horizon**: an event may lie at most ``horizon_steps`` steps (default
  :data:`HORIZON_STEPS`) past the board's clock. A read simulates every step up to the
  latest event, so the horizon bounds its memory (about ``horizon_steps`` x the heard
  (chip, core, tag) entries x 4 bytes) instead of allocating whatever a far timestamp asks
  for (10**12 µs would ask for 52 GiB).
* **Chips**: an input event must address a chip of the board (``x_hop`` 0..3 east of the
  FPGA, ``y_hop`` 0); control events (tag 2047, hops -7, -7) are the end markers.
* **Late events** (a time the clock has passed) are injected in the current step and
  counted in :attr:`VirtualBoard.late_events`; events that no CAM listens to (a tag no
  used CAM entry of the chip's selected cores holds, or an empty core mask) are dropped,
  as on the chip, and counted in :attr:`VirtualBoard.unrouted_events`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

from ..chip import GEOMETRY
from ..placement.mapped import InputRoute, MappedConfiguration, NeuronAddress
from ..placement.to_network_spec import spec_from_config
from ..config.tree import Configuration
from ..mapping.simulate import dynapsim_net_from_spec
from .board import MONITOR_HOP, Board, BoardCapabilities, GridEvent
from ..errors import BoardError, ParameterValueError
from ..parameters.validate import instance
from .chip_profile import ChipProfile
from .on_chip import profiled_network, without_defective_entries

__all__ = ["VirtualBoard", "VIRTUAL_CAPABILITIES", "HORIZON_STEPS"]

HORIZON_STEPS = 100_000
"""Default horizon of the virtual board: events at most this many steps past its clock
(100 s at 1 ms; the driver's runs are 2000 steps by default)."""

VIRTUAL_CAPABILITIES = BoardCapabilities(can_reset=True, has_clock=False, lead_time=0.0, n_chips=GEOMETRY.n_chips)
"""What the virtual board can do: reset its neurons; its clock is simulated time."""


class VirtualBoard(Board):
    """A board that executes configurations with the simulator (see the module docs).

    Args:
        backend: simulation backend, ``"jax"`` (default) or ``"torch"``.
        horizon_steps: how many steps past its clock an event may lie (see the module docs).
        profile: the chip's flaws, a :class:`~.chip_profile.ChipProfile` (see :mod:`.on_chip`),
            or the path of its JSON file; ``None`` (default): the ideal chip.

    Raises:
        ParameterValueError: ``horizon_steps`` is not an integer >= 1; a profile that is
            neither a ``ChipProfile`` nor a path, or a profile file that does not load.
    """

    def __init__(self, backend: str = "jax", horizon_steps: int = HORIZON_STEPS, profile: Union[None, ChipProfile, str, Path] = None):
        if isinstance(horizon_steps, bool) or not isinstance(horizon_steps, (int, np.integer)) or horizon_steps < 1:
            raise ParameterValueError("horizon_steps", "an integer >= 1 (steps)", horizon_steps)
        if isinstance(profile, (str, Path)):
            profile = ChipProfile.load(profile)
        self.profile = instance("profile", profile, (type(None), ChipProfile), "a ChipProfile, the path of its JSON file or None")
        self._profiled = None
        self.backend = backend
        self.horizon_steps = int(horizon_steps)
        self._open = True
        self._net = None
        self._built = self._rest = None
        self._time = 0
        self._pending: List[GridEvent] = []
        self._received: List[GridEvent] = []
        self.late_events = 0
        """Input events written with a timestamp already past (injected in the current step)."""
        self.unrouted_events = 0
        """Input events that no CAM listens to (dropped, as on the chip)."""

    @property
    def capabilities(self) -> BoardCapabilities:
        """:data:`VIRTUAL_CAPABILITIES`."""
        return VIRTUAL_CAPABILITIES

    # --- configuration -------------------------------------------------------------------

    def apply_configuration(self, config: Union[MappedConfiguration, Configuration]) -> None:
        """Program the virtual chips. Resets the clock and the neurons."""
        self._check_open()
        tree = config.configuration if isinstance(config, MappedConfiguration) else config
        if self.profile is not None:
            tree = without_defective_entries(tree, self.profile)
        self.dt = config.dt if isinstance(config, MappedConfiguration) else 1e-3
        self._dt_us = int(round(self.dt * 1e6))
        used = [NeuronAddress(c, k, n) for c, k, n, neuron in tree.placed_neurons() if neuron.is_used]
        monitor: Dict[int, Tuple[int, Tuple[bool, ...]]] = {}
        for j, a in enumerate(used):
            for d in tree.neuron(a.chip, a.core, a.neuron).destinations:
                if not d.is_used:
                    continue
                if d.x_hop == MONITOR_HOP and d.y_hop == MONITOR_HOP:
                    monitor.setdefault(d.tag, (j, d.core))
        # Every (chip, core, tag) a CAM listens to is a possible input route; the routes a
        # neuron sends are recurrent and found by spec_from_config itself.
        heard = sorted({(a.chip, a.core, s.tag) for a in used for s in tree.neuron(a.chip, a.core, a.neuron).synapses if s.is_used})
        self._channel = {key: i for i, key in enumerate(heard)}
        cores = range(GEOMETRY.cores_per_chip)
        inputs = tuple((InputRoute(c, tuple(b == k for b in cores), t),) for c, k, t in heard)
        self._outputs = sorted(monitor)
        mapped = MappedConfiguration(
            configuration=tree,
            inputs=inputs,
            outputs=tuple(self._outputs),
            neurons=tuple(used),
            dt=self.dt,
            Iscale=config.Iscale if isinstance(config, MappedConfiguration) else 1e-8,
        )
        self.spec = spec_from_config(mapped)
        self._monitor_core = {t: monitor[t][1] for t in self._outputs}
        if self.profile is None:
            self._net = dynapsim_net_from_spec(self.spec, self.backend)
        else:
            self._profiled = profiled_network(self.spec, used, self.profile, self.backend)
            self._net = self._profiled.net
        # A JAX module is immutable (a run returns a new one): the network at rest is made
        # once, on the first reset, and every reset returns to it (Rockpool's reset_state
        # deep-copies the module several times: most of a short sample's run time).
        self._built, self._rest = self._net, None
        self._time = 0
        self._pending, self._received = [], []

    def reset_state(self) -> None:
        """Return every neuron to rest."""
        self._check_open()
        if self._net is not None:
            self._net = self._at_rest() if self.backend == "jax" else self._reset_torch()

    def _at_rest(self):
        if self._rest is None:
            self._rest = self._built.reset_state()
        return self._rest

    def _reset_torch(self):
        self._net.reset_state()
        return self._net

    # --- protocol ----------------------------------------------------------------------------

    def time_us(self) -> int:
        self._check_open()
        return self._time

    def write_events(self, events: Sequence[GridEvent]) -> None:
        """Queue events; all are checked first, none is queued if one is bad.

        Raises:
            BoardError: the board is closed or has no configuration.
            ParameterValueError: an event that is not a :class:`~.board.GridEvent`, lies
                beyond the horizon, or addresses no chip of the board.
        """
        self._check_open()
        if self._net is None:
            raise BoardError("`apply_configuration` must come before events are written; the board has no configuration")
        events = list(events)
        for i, e in enumerate(events):
            self._check_event(i, e)
        self._pending.extend(events)

    def _check_event(self, i: int, e: GridEvent) -> None:
        if not isinstance(e, GridEvent):
            raise ParameterValueError(f"events[{i}]", "a GridEvent", type(e).__name__)
        horizon = self._time + self.horizon_steps * self._dt_us
        if e.timestamp > horizon:
            rule = (
                f"at most {horizon} µs: within `horizon_steps` = {self.horizon_steps} steps of {self._dt_us} µs "
                f"past the board's clock ({self._time} µs)"
            )
            raise ParameterValueError(f"events[{i}].timestamp", rule, e.timestamp)
        n_chips = self.capabilities.n_chips
        if not e.is_control and not (e.y_hop == 0 and 0 <= e.x_hop < n_chips):
            rule = f"a chip of the board: x_hop 0..{n_chips - 1} (east of the FPGA) and y_hop 0"
            raise ParameterValueError(f"events[{i}] (x_hop, y_hop)", rule, str((e.x_hop, e.y_hop)))

    def read_events(self) -> List[GridEvent]:
        self._check_open()
        if self._pending:
            dt_us = self._dt_us
            # An input at t needs its step simulated; a control event at t needs the clock at t.
            self._run_until(max(-(-e.timestamp // dt_us) * dt_us if e.is_control else (e.timestamp // dt_us + 1) * dt_us for e in self._pending))
        out, self._received = self._received, []
        return out

    def close(self) -> None:
        self._open = False
        self._net = None

    @property
    def is_open(self) -> bool:
        return self._open

    # --- simulation ----------------------------------------------------------------------

    def _check_open(self) -> None:
        if not self._open:
            raise BoardError("the virtual board must be open; it has been closed")

    def _run_until(self, end: int) -> None:
        """Simulate every step up to time ``end`` (a step boundary); emit outputs and markers."""
        dt_us = self._dt_us
        start = self._time
        inputs = any(not e.is_control for e in self._pending)
        end = max(start + dt_us if inputs else start, end)  # late inputs: injected in the current step
        steps = (end - start) // dt_us
        raster = np.zeros((1, steps, self.spec.n_inputs), dtype=np.float32)
        controls = []
        for e in self._pending:
            if e.is_control:
                controls.append(e)
                continue
            k = (e.timestamp - start) // dt_us
            if k < 0:
                self.late_events += 1
                k = 0
            chip = e.x_hop  # injected at chip 0, hopping east
            routed = False
            for core in range(GEOMETRY.cores_per_chip):
                if e.core[core] and (chip, core, e.tag) in self._channel:
                    raster[0, k, self._channel[(chip, core, e.tag)]] += 1
                    routed = True
            self.unrouted_events += not routed
        self._pending = []
        if steps:
            spikes = self._simulate(raster)
            for k, j in zip(*np.nonzero(spikes)):
                tag = self._outputs[j]
                for n in range(int(spikes[k, j])):
                    self._received.append(
                        GridEvent(start + int(k) * dt_us + n, tag, MONITOR_HOP, MONITOR_HOP, self._monitor_core[tag])
                    )
        self._time = end
        self._received.extend(sorted(controls))

    def _simulate(self, raster: np.ndarray) -> np.ndarray:
        """Spike counts ``(T, n_outputs)`` of the monitored neurons; the state carries over."""
        if self._profiled is not None:
            raster = self._profiled.inputs(raster)
        if self.backend == "jax":
            out, state, _ = self._net(raster)
            self._net = self._net.set_attributes(state)
            out = np.asarray(out)[0]
        else:
            import torch

            with torch.no_grad():
                out = self._net(torch.as_tensor(raster))[0].numpy()[0]
        if self._profiled is not None:
            out = self._profiled.outputs(out)
        return out[:, self.spec.output_neurons]
