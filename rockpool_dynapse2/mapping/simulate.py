"""A network spec as a simulation: ``Sequential(Linear(n_inputs, 4 N), DynapSim((4 N, N)))``.

The linear layer carries the input synapses (channel ``4 i + k`` of neuron ``i`` is its
synapse type ``k``), the neuron module the recurrent ones and every neuron's currents,
taken from its core. The output is every neuron's spikes ``(B, T, N)``; output channel
``j`` is neuron ``spec.output_neurons[j]``.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..parameters.validate import choice, instance
from ..simulation.records import CURRENT_NAMES, LAYOUT_NAMES
from .network_spec import NetworkSpec

__all__ = ["dynapsim_net_from_spec", "dynapsim_net", "neuron_values"]

BACKENDS = ("jax", "torch")


def neuron_values(spec: NetworkSpec) -> dict:
    """``{name: (N,)}``: every neuron's currents and layout constants, from its core."""
    values = {}
    for name in CURRENT_NAMES:
        per_core = np.array([getattr(c, name) for c in spec.cores])
        values[name] = per_core[spec.core_of_neuron]
    for name in LAYOUT_NAMES:
        per_core = np.array([getattr(c.constants, name) for c in spec.cores])
        values[name] = per_core[spec.core_of_neuron]
    return values


def dynapsim_net_from_spec(spec: NetworkSpec, backend: str = "jax", **kwargs: Any) -> Any:
    """Simulate a spec: a Rockpool ``Sequential`` of a linear layer and a DynapSim module.

    Args:
        spec: the network spec; quantized weights are used if it is quantized.
        backend: ``"jax"`` or ``"torch"``.
        **kwargs: passed to the DynapSim module (e.g. ``dtype``, ``max_spikes_per_dt``).

    Returns:
        The network; its output is ``(B, T, N)`` spike counts of all neurons.
    """
    instance("spec", spec, NetworkSpec)
    choice("backend", backend, BACKENDS)
    w_in, w_rec = spec.dense_weights()
    n = spec.n_neurons
    w_rec = w_rec.reshape(n, 4 * n) if len(spec.recurrent_synapses) else None
    return dynapsim_net(w_in.reshape(spec.n_inputs, 4 * n), w_rec, neuron_values(spec), spec.dt, spec.Iscale, backend, **kwargs)


def dynapsim_net(
    w_in: np.ndarray, w_rec: Optional[np.ndarray], values: dict, dt: float, Iscale: float, backend: str = "jax", **kwargs: Any
) -> Any:
    """The network of :func:`dynapsim_net_from_spec`, from its arrays.

    Args:
        w_in: ``(n_inputs, 4 N)`` input weights in units of ``Iscale`` (column ``4 i + k``:
            synapse type ``k`` of neuron ``i``).
        w_rec: ``(N, 4 N)`` recurrent weights in units of ``Iscale``, or ``None``.
        values: ``{name: (N,)}`` every neuron's currents and layout constants (as
            :func:`neuron_values`).
        dt: time step (s).
        Iscale: current (A) of a weight of 1.0.
        backend: ``"jax"`` or ``"torch"``.
        **kwargs: passed to the DynapSim module.
    """
    choice("backend", backend, BACKENDS)
    from rockpool.nn.combinators import Sequential

    n_in, n = w_in.shape[0], w_in.shape[1] // 4
    if backend == "jax":
        from rockpool.nn.modules import LinearJax

        from ..simulation.jax_module import DynapSimJax

        return Sequential(
            LinearJax((n_in, 4 * n), weight=w_in, has_bias=False),
            DynapSimJax((4 * n, n), w_rec=w_rec, dt=dt, Iscale=Iscale, **values, **kwargs),
        )
    import torch
    from rockpool.nn.modules import LinearTorch

    from ..simulation.torch_module import DynapSimTorch

    dtype = getattr(torch, kwargs.get("dtype", "float32"))
    linear = LinearTorch((n_in, 4 * n), weight=torch.as_tensor(w_in, dtype=dtype), has_bias=False)
    if dtype == torch.float64:  # Rockpool registers the weight as float32
        linear = linear.double()
        with torch.no_grad():
            linear.weight.copy_(torch.as_tensor(w_in, dtype=dtype))
    return Sequential(
        linear,
        DynapSimTorch((4 * n, n), w_rec=w_rec, dt=dt, Iscale=Iscale, **values, **kwargs),
    )
