"""Rockpool graph modules for DYNAP-SE2 neurons: what ``as_graph()`` returns, what the mapper reads.

A :class:`Dynapse2Neurons` graph module carries N neurons' currents and layout
constants (``(N,)`` each), the weight unit ``Iscale``, the time step and the input layout
(signed, ``N`` inputs; or one input per synapse type, ``4 N`` inputs). Recurrent
weights are a Rockpool ``LinearWeights`` module from the neurons' output nodes back to
their input nodes, as Rockpool's own neuron modules do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict

import numpy as np
from rockpool.graph import GenericNeurons, GraphHolder, LinearWeights, as_GraphHolder

from .module_spec import PARAMETER_NAMES

__all__ = ["Dynapse2Neurons", "dynapsim_graph"]


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy().astype(np.float64)
    return np.array(x, dtype=np.float64)


@dataclass(eq=False, repr=False)
class Dynapse2Neurons(GenericNeurons):
    """DYNAP-SE2 neurons in a Rockpool graph.

    Input node ``j`` is neuron ``j``'s signed input when ``signed``, else synapse type
    ``j % 4`` (:class:`~rockpool_dynapse2.chip.SynapseType`: AMPA, NMDA, GABA, SHUNT) of
    neuron ``j // 4``. Output node ``i`` is neuron ``i``.
    """

    values: Dict[str, np.ndarray] = field(default_factory=dict)
    """Every current and layout constant, ``{name: (N,) float64 array}``."""
    Iscale: float = 1e-8
    """Current (A) of a weight of 1.0."""
    dt: float = 1e-3
    """Time step (s)."""
    signed: bool = True
    """Input layout: signed (``N`` inputs) or one input per synapse type (``4 N``)."""


def dynapsim_graph(module: Any) -> GraphHolder:
    """The graph of a ``DynapSimJax`` / ``DynapSimTorch`` module.

    Args:
        module: the simulation module.

    Returns:
        A ``GraphHolder`` around a :class:`Dynapse2Neurons` (and a recurrent
        ``LinearWeights`` when the module has recurrent weights).
    """
    values = {name: _numpy(getattr(module, name)) for name in PARAMETER_NAMES}
    neurons = Dynapse2Neurons._factory(
        module.size_in,
        module.size_out,
        f"{type(module).__name__}_{module.name}_{id(module)}",
        module,
        values=values,
        Iscale=float(_numpy(module.Iscale)),
        dt=float(_numpy(module.dt)),
        signed=bool(module.signed),
    )
    if module.has_rec:
        LinearWeights(
            neurons.output_nodes,
            neurons.input_nodes,
            f"{type(module).__name__}_recurrent_{module.name}_{id(module)}",
            module,
            _numpy(module.w_rec),
        )
    return as_GraphHolder(neurons)
