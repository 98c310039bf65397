"""Typed records shared by the simulation backends: parameters, state and array operations.

The records hold arrays of whichever backend runs them (jax or torch); the equations in
:mod:`.dpi`, :mod:`.membrane` and :mod:`.spiking` read them by field name.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Tuple

__all__ = [
    "CURRENT_NAMES",
    "LAYOUT_NAMES",
    "SYNAPSE_NAMES",
    "STATE_NAMES",
    "DynapParams",
    "DynapState",
    "StepConstants",
    "ArrayOps",
]

SYNAPSE_NAMES: Tuple[str, ...] = ("ampa", "nmda", "gaba", "shunt")
"""Synapse types in the order of the last axis of synaptic arrays (AMPA, NMDA, GABA, SHUNT)."""

CURRENT_NAMES: Tuple[str, ...] = (
    "Idc",
    "If_nmda",
    "Igain_ahp",
    "Igain_mem",
    "Igain_ampa",
    "Igain_nmda",
    "Igain_gaba",
    "Igain_shunt",
    "Ipulse_ahp",
    "Ipulse",
    "Iref",
    "Ispkthr",
    "Itau_ahp",
    "Itau_mem",
    "Itau_ampa",
    "Itau_nmda",
    "Itau_gaba",
    "Itau_shunt",
    "Iw_ahp",
)
"""Per-neuron bias currents of the simulator (A)."""

LAYOUT_NAMES: Tuple[str, ...] = (
    "C_ahp",
    "C_ampa",
    "C_nmda",
    "C_gaba",
    "C_shunt",
    "C_pulse_ahp",
    "C_pulse",
    "C_ref",
    "C_mem",
    "Io",
    "kappa_n",
    "kappa_p",
    "Ut",
    "Vth",
)
"""Per-neuron layout constants (F, A, V, dimensionless)."""

STATE_NAMES: Tuple[str, ...] = ("isyn", "iahp", "imem", "vmem", "timer_ref", "spikes")


class DynapParams(NamedTuple):
    """Parameters of N neurons; every field has shape ``(N,)`` unless noted."""

    Idc: Any
    If_nmda: Any
    Igain_ahp: Any
    Igain_mem: Any
    Igain_ampa: Any
    Igain_nmda: Any
    Igain_gaba: Any
    Igain_shunt: Any
    Ipulse_ahp: Any
    Ipulse: Any
    Iref: Any
    Ispkthr: Any
    Itau_ahp: Any
    Itau_mem: Any
    Itau_ampa: Any
    Itau_nmda: Any
    Itau_gaba: Any
    Itau_shunt: Any
    Iw_ahp: Any
    C_ahp: Any
    C_ampa: Any
    C_nmda: Any
    C_gaba: Any
    C_shunt: Any
    C_pulse_ahp: Any
    C_pulse: Any
    C_ref: Any
    C_mem: Any
    Io: Any
    kappa_n: Any
    kappa_p: Any
    Ut: Any
    Vth: Any
    Iscale: Any
    """Current (A) of an input weight of 1.0; a scalar."""
    w_rec: Any
    """Recurrent weights ``(N, N_in)`` in units of ``Iscale``; ``None`` without recurrence."""


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
    """Per-neuron quantities derived once per evolution from :class:`DynapParams` and ``dt``."""

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
    If_nmda: Any
    ahp_gain_ratio: Any
    ahp_discharge: Any
    ahp_charge: Any
    Iw_ahp: Any
    Itau_mem: Any
    Igain_mem: Any
    mem_gain_ratio: Any
    """``Igain_mem / Itau_mem``."""
    C_mem: Any
    Idc: Any
    Ispkthr: Any
    t_ref: Any
    w_rec: Any
    """Recurrent weights ``(N, N_in)`` with their columns in the loop's input order
    (synapse-major for the multi-synapse layout), or None; a backend may replace them by
    its own form for :attr:`ArrayOps.recurrent`."""


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
