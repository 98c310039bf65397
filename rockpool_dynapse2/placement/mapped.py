"""A chip configuration together with what deployment needs beyond samna's tree.

samna's ``Dynapse2Configuration`` holds the chip state (CAMs, SRAMs, biases, latches), but
not which external input channel is which tag, nor which neuron is which output
channel of the trained network. A :class:`MappedConfiguration` keeps them together:

* ``configuration``: the :class:`~.tree.Configuration` (samna's JSON via its ``to_json``);
* ``inputs``: for input channel ``i``, the :class:`InputRoute` s on which to inject its
  events (chip, target core mask, tag);
* ``outputs``: for output channel ``j``, the tag its monitoring events carry;
* ``neurons``: the (chip, core, neuron) of every neuron of the spec, in spec order;
* ``dt`` and ``Iscale``: the time step and weight unit of the simulation it came from.

Its own JSON (``to_json``/``from_json``) embeds samna's JSON of the configuration.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Dict, Tuple

from .._json import loads
from ..chip import CONTROL_TAG, GEOMETRY
from ..errors import ParameterValueError
from ..config.json_io import from_document
from ..config.tree import Configuration

__all__ = ["InputRoute", "NeuronAddress", "MappedConfiguration"]

FORMAT = "rockpool-dynapse2/mapped-configuration/1"


@dataclass(frozen=True)
class InputRoute:
    """Where one input channel's events are injected: a chip, its target cores and a tag."""

    chip: int
    core_mask: Tuple[bool, bool, bool, bool]
    tag: int


@dataclass(frozen=True)
class NeuronAddress:
    """A neuron's place on the board."""

    chip: int
    core: int
    neuron: int


@dataclass(frozen=True)
class MappedConfiguration:
    """A configuration with its input and output channel maps (see the module docs)."""

    configuration: Configuration
    inputs: Tuple[Tuple[InputRoute, ...], ...]
    outputs: Tuple[int, ...]
    neurons: Tuple[NeuronAddress, ...]
    dt: float = 1e-3
    Iscale: float = 1e-8

    def __post_init__(self) -> None:
        """Every map must point at something the board has: checked here, on construction
        and on load, with the path of the bad entry in the error."""
        for name in ("dt", "Iscale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ParameterValueError(name, "a positive finite number", value)
        n_chips = len(self.configuration.chips)
        if n_chips < 1:
            raise ParameterValueError("configuration.chips", "at least one chip", n_chips)
        for i, routes in enumerate(self.inputs):
            for k, route in enumerate(routes):
                where = f"inputs[{i}][{k}]"
                _check_index(f"{where}.chip", route.chip, n_chips)
                if len(route.core_mask) != GEOMETRY.cores_per_chip or not all(isinstance(b, bool) for b in route.core_mask):
                    raise ParameterValueError(f"{where}.core_mask", f"{GEOMETRY.cores_per_chip} booleans", route.core_mask)
                _check_index(f"{where}.tag", route.tag, CONTROL_TAG)
        for j, tag in enumerate(self.outputs):
            _check_index(f"outputs[{j}]", tag, CONTROL_TAG)
        for j, a in enumerate(self.neurons):
            _check_index(f"neurons[{j}].chip", a.chip, n_chips)
            _check_index(f"neurons[{j}].core", a.core, GEOMETRY.cores_per_chip)
            _check_index(f"neurons[{j}].neuron", a.neuron, GEOMETRY.neurons_per_core)

    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    @property
    def n_outputs(self) -> int:
        return len(self.outputs)

    def _maps(self) -> Dict[str, Any]:
        return {
            "format": FORMAT,
            "dt": self.dt,
            "Iscale": self.Iscale,
            "inputs": [[[r.chip, list(r.core_mask), r.tag] for r in routes] for routes in self.inputs],
            "outputs": list(self.outputs),
            "neurons": [[a.chip, a.core, a.neuron] for a in self.neurons],
        }

    def to_json(self) -> str:
        """JSON text: the maps, and samna's JSON of the configuration under ``"configuration"``."""
        maps = json.dumps(self._maps())
        return maps[:-1] + ', "configuration": ' + self.configuration.to_json() + "}"

    @classmethod
    def from_json(cls, text: str) -> "MappedConfiguration":
        """Read :meth:`to_json`'s output.

        Raises:
            ParameterValueError: malformed JSON, a wrong format tag or a missing field.
        """
        try:
            d = loads(text, "configuration file")
        except json.JSONDecodeError as err:
            raise ParameterValueError("configuration file", "valid JSON", f"{err.msg} at line {err.lineno}") from None
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            got = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise ParameterValueError("format", f"{FORMAT!r}", got)
        try:
            return cls(
                configuration=from_document(d["configuration"]),
                inputs=tuple(
                    tuple(InputRoute(int(c), tuple(bool(b) for b in mask), int(t)) for c, mask, t in routes)
                    for routes in d["inputs"]
                ),
                outputs=tuple(int(t) for t in d["outputs"]),
                neurons=tuple(NeuronAddress(int(c), int(k), int(n)) for c, k, n in d["neurons"]),
                dt=float(d["dt"]),
                Iscale=float(d["Iscale"]),
            )
        except KeyError as err:
            raise ParameterValueError(f"configuration field {err.args[0]!r}", "present", "missing") from None
        except (TypeError, ValueError) as err:
            if isinstance(err, ParameterValueError):
                raise
            raise ParameterValueError("configuration maps", "lists of [chip, [4 bools], tag] and integers", str(err)) from None


def _check_index(where: str, value: Any, n: int) -> None:
    """``value`` must be an integer in ``0 .. n-1``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
        raise ParameterValueError(where, f"an integer in 0..{n - 1}", value)
