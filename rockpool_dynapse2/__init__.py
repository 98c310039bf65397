"""rockpool-dynapse2: the DYNAP-SE2 neuromorphic processor as a Rockpool target.

Layers, each depending only on the ones above it:

* :mod:`rockpool_dynapse2.chip`: chip facts (geometry, circuit constants, bias parameters)
* :mod:`rockpool_dynapse2.parameters`: time constants <-> currents <-> bias codes
* :mod:`rockpool_dynapse2.simulation`: the circuit equations and the ``DynapSimJax`` /
  ``DynapSimTorch`` Rockpool modules

Importing the package is cheap: it never imports samna, and the simulation modules
(which need jax or torch) load on first use.
"""

from importlib import import_module
from typing import Any

from ._samna_detect import shield_pypi_stub

shield_pypi_stub()  # PyPI's samna stub would run pip when Rockpool imports it

from . import chip, errors, parameters
from .chip import CONSTANTS, DEFAULTS, GEOMETRY, Circuit, Dendrite, PulseCircuit, Transistor
from .parameters import BiasCode, CoreHighLevel, CoreParameters

__version__ = "0.1.0"

# Public names that live in modules needing heavy imports (jax, torch): loaded on access.
_LAZY = {
    "DynapSimJax": ".simulation.jax_module",
    "DynapSimTorch": ".simulation.torch_module",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
