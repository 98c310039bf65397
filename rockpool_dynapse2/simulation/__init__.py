"""Differentiable simulation of DYNAP-SE2 neurons.

The circuit equations are written once over an array namespace (:class:`~.records.ArrayOps`):

* :mod:`.dpi`: the DPI (differential-pair integrator) synapse; :mod:`.membrane`: the
  membrane with its positive feedback; :mod:`.spiking`: threshold, spike counts, reset,
  refractory period and the surrogate gradient;
* :mod:`.step`: one time step composed of them; :mod:`.step_vjp`: its derivative written
  by hand (used by the torch loop's backward pass);
* :mod:`.records`: the named records (parameters, state, step constants, array operations);
* :mod:`.module_spec`: the size, layout and initial values of a simulation module, and
  the one table of the state's fields;
* :mod:`.module_base`: what both Rockpool modules share; :mod:`.graph`: their Rockpool graph;
* :mod:`.jax_module`: :class:`DynapSimJax` (its time loop included);
  :mod:`.torch_module`: :class:`DynapSimTorch`, whose time loop and backward pass are in
  :mod:`.torch_loop`.

The backend modules are imported on first use (``from rockpool_dynapse2.simulation import
DynapSimJax`` works), so importing this package needs neither jax nor torch.
"""

from importlib import import_module
from typing import Any

from .module_spec import ModuleSpec, build_module_spec
from .records import CURRENT_NAMES, LAYOUT_NAMES, SYNAPSE_NAMES, DynapParams, DynapState

__all__ = [
    "DynapSimJax",
    "DynapSimTorch",
    "DynapParams",
    "DynapState",
    "CURRENT_NAMES",
    "LAYOUT_NAMES",
    "SYNAPSE_NAMES",
    "ModuleSpec",
    "build_module_spec",
]

_LAZY = {"DynapSimJax": ".jax_module", "DynapSimTorch": ".torch_module"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
