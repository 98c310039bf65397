"""Typed records shared by the simulation backends: parameters, state and array operations.

The records hold arrays of whichever backend runs them (jax or torch); the equations in
:mod:`.dpi`, :mod:`.membrane` and :mod:`.spiking` read them by field name.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable, NamedTuple, Tuple

from ..chip import NEURON_BIASES, CircuitConstants, SynapseType

__all__ = [
    "CURRENT_NAMES",
    "LAYOUT_NAMES",
    "SYNAPSE_NAMES",
    "STATE_NAMES",
    "BiasCurrents",
    "DynapParams",
    "DynapState",
    "StepConstants",
    "ArrayOps",
]

SYNAPSE_NAMES: Tuple[str, ...] = tuple(s.label for s in SynapseType)
"""Synapse types in the order of the last axis of synaptic arrays (AMPA, NMDA, GABA, SHUNT)."""

CURRENT_NAMES: Tuple[str, ...] = tuple(p.current for p in NEURON_BIASES)
"""Per-neuron bias currents of the simulator (A): the simulator current of every bias of
:data:`~rockpool_dynapse2.chip.BIAS_PARAMETERS` but the base weights, in its order."""

LAYOUT_NAMES: Tuple[str, ...] = tuple(f.name for f in fields(CircuitConstants))
"""Per-neuron layout constants (F, A, V, dimensionless): the fields of
:class:`~rockpool_dynapse2.chip.CircuitConstants`."""

STATE_NAMES: Tuple[str, ...] = ("isyn", "iahp", "imem", "vmem", "timer_ref", "spikes")


BiasCurrents = NamedTuple("BiasCurrents", [(name, Any) for name in CURRENT_NAMES])
BiasCurrents.__doc__ = """The per-neuron bias currents (A) as given, one ``(N,)`` array per name of
:data:`CURRENT_NAMES` (generated from :data:`~rockpool_dynapse2.chip.BIAS_PARAMETERS`).
:class:`StepConstants` carries them, so an equation reads a new bias by its name."""

DynapParams = NamedTuple(
    "DynapParams",
    [(name, Any) for name in CURRENT_NAMES + LAYOUT_NAMES] + [("Iscale", Any), ("w_rec", Any)],
)
DynapParams.__doc__ = """Parameters of N neurons; every field has shape ``(N,)`` unless noted.

Generated from the declarations in :mod:`rockpool_dynapse2.chip`: one field per name of
:data:`CURRENT_NAMES` (the bias currents, A), one per name of :data:`LAYOUT_NAMES` (the
circuit constants), then ``Iscale``, the current (A) of an input weight of 1.0 (a
scalar), and ``w_rec``, the recurrent weights ``(N, N_in)`` in units of ``Iscale``
(``None`` without recurrence)."""
DynapParams.Iscale.__doc__ = "Current (A) of an input weight of 1.0; a scalar."
DynapParams.w_rec.__doc__ = "Recurrent weights ``(N, N_in)`` in units of ``Iscale``; ``None`` without recurrence."


class DynapState(NamedTuple):
    """State of N neurons over a batch of B; shapes ``(B, N)`` unless noted."""

    isyn: Any
    """Synaptic currents (A), ``(B, N, 4)``: AMPA, NMDA, GABA, SHUNT. Inside the time loop
    a tuple of four ``(B, N)`` arrays (see :func:`.step.loop_state`)."""
    iahp: Any
    """Spike-frequency-adaptation current (A)."""
    imem: Any
    """Membrane current (A)."""
    vmem: Any
    """Membrane voltage (V) that drives the positive feedback."""
    timer_ref: Any
    """Time (s) left in the refractory period."""
    spikes: Any
    """Spike counts of the last step."""


class StepConstants(NamedTuple):
    """Per-neuron quantities derived once per evolution from :class:`DynapParams` and ``dt``
    (by :func:`.step.prepare`)."""

    dt: Any
    Io: Any
    Ut: Any
    kappa: Any
    kappa_prime: Any
    """``kappa^2 / (kappa + 1)``, the slope of the positive feedback."""
    Ut_over_kappa: Any
    Iscale: Any
    syn_gain_ratio: Any
    """``Igain / Itau`` of the four synapse types, a tuple of four ``(N,)`` arrays."""
    syn_discharge: Any
    """``exp(-dt / tau)`` of the four synapse types, a tuple of four ``(N,)`` arrays."""
    syn_charge: Any
    """``1 - exp(-t_pulse / tau)`` of the four synapse types, a tuple of four ``(N,)`` arrays."""
    ahp_gain_ratio: Any
    ahp_discharge: Any
    ahp_charge: Any
    Itau_mem: Any
    """The membrane's leak current, floored at ``Io``."""
    Igain_mem: Any
    """The membrane's gain current, floored at ``Io``."""
    mem_gain_ratio: Any
    """``Igain_mem / Itau_mem``."""
    C_mem: Any
    t_ref: Any
    currents: Any
    """The bias currents as given (not floored), a :class:`BiasCurrents`: the equations
    read the currents that need no derived form here (``c.currents.Idc``), so a new bias
    reaches them without a new field."""
    w_rec: Any
    """Recurrent weights ``(N, N_in)`` with their columns in the loop's input order
    (synapse-major for the multi-synapse layout), or None; a backend may replace them by
    its own form for :attr:`ArrayOps.recurrent`."""
    feedback_gradient: float = 1.0
    """The share of the positive feedback factor's derivative the backward pass keeps: a
    Python float in ``[0, 1]``, 1 for the exact derivative (see
    :func:`.membrane.membrane_terms`). The forward pass does not depend on it."""


class ArrayOps(NamedTuple):
    """The array operations the equations need, from one backend (jax.numpy or torch)."""

    exp: Callable
    log: Callable
    maximum: Callable
    """Elementwise maximum of two arrays (broadcasting)."""
    relu: Callable
    where: Callable
    """``where(condition, x, y)``."""
    zeros_like: Callable
    stop_gradient: Callable
    stack: Callable
    """``stack(arrays, axis)``."""
    spike_count: Callable
    """``spike_count(x, max_spikes)``: spikes in a step from ``x = log(Imem / Ispkthr)``,
    ``clip(ceil(x), 0, max_spikes)``, with the backend's surrogate gradient."""
    fence: Callable
    """``fence(x)``: ``x``, exactly, computed once where the compiler would otherwise
    recompute it inside each of its consumers (an identity in eager backends)."""
    recurrent: Callable
    """``recurrent(spikes, w_rec)``: the recurrent input ``spikes @ w_rec``, with
    ``w_rec`` as the backend keeps it in :class:`StepConstants`."""
