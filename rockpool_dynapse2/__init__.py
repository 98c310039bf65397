"""rockpool-dynapse2: the DYNAP-SE2 neuromorphic processor as a Rockpool target.

Layers, bottom to top; each module imports only its own layer and the ones below
(``docs/architecture.md``; checked by ``tests/test_architecture.py``):

* :mod:`rockpool_dynapse2.chip`, :mod:`rockpool_dynapse2.errors`: chip facts (geometry,
  circuit constants, the bias parameters, synapse types); every named error;
  :mod:`rockpool_dynapse2._samna` (finding and importing samna) and
  :mod:`rockpool_dynapse2._version` and :mod:`rockpool_dynapse2._json` (JSON reading that
  refuses duplicate keys) sit here too;
* :mod:`rockpool_dynapse2.parameters`: time constants <-> currents <-> bias codes;
* :mod:`rockpool_dynapse2.simulation`: the circuit equations and the ``DynapSimJax`` /
  ``DynapSimTorch`` Rockpool modules;
* :mod:`rockpool_dynapse2.transform`: mismatch, weight quantization, quantization-aware
  training;
* :mod:`rockpool_dynapse2.training`: hardware-aware training of networks of populations,
  with the chip's constraints in the loop (JAX and torch);
* :mod:`rockpool_dynapse2.mapping`: Rockpool graph -> network spec (mapper, LIF conversion,
  calibration, the spec's quantization);
* :mod:`rockpool_dynapse2.nir`: NIR graphs <-> network specs (our own reader and writer,
  and a reference simulator of NIR's semantics);
* :mod:`rockpool_dynapse2.config`: samna's configuration tree and its JSON, in pure Python;
* :mod:`rockpool_dynapse2.placement`: network spec <-> configuration (allocation, design
  rules, the mapped configuration);
* :mod:`rockpool_dynapse2.hardware`: boards (virtual, samna) and the driver;
* :mod:`rockpool_dynapse2.twin`: digital twins of individual chips (probe, fit, deploy around flaws);
* :mod:`rockpool_dynapse2.app`: the command line and the demo.

Importing the package is cheap: it never imports samna, and the simulation modules
(which need jax or torch) load on first use.
"""

from importlib import import_module as _import_module
from typing import Any as _Any

from ._samna.detect import shield_pypi_stub as _shield_pypi_stub

_shield_pypi_stub()  # PyPI's samna stub would run pip when Rockpool imports it

from . import chip, errors, parameters  # noqa: E402
from ._version import __version__  # noqa: E402
from .chip import CONSTANTS, DEFAULTS, GEOMETRY, Circuit, Dendrite, PulseCircuit, SynapseType, Transistor  # noqa: E402
from .parameters import BiasCode, CoreHighLevel, CoreParameters  # noqa: E402

__all__ = [
    "__version__",
    "chip",
    "errors",
    "parameters",
    "CONSTANTS",
    "DEFAULTS",
    "GEOMETRY",
    "Circuit",
    "Dendrite",
    "PulseCircuit",
    "SynapseType",
    "Transistor",
    "BiasCode",
    "CoreHighLevel",
    "CoreParameters",
    "DynapSimJax",
    "DynapSimTorch",
]

# Public names that live in modules needing heavy imports (jax, torch): loaded on access.
_LAZY = {
    "DynapSimJax": ".simulation.jax_module",
    "DynapSimTorch": ".simulation.torch_module",
}


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        value = getattr(_import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__) | {n for n in globals() if not n.startswith("_")})
