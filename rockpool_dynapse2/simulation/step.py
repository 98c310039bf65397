"""One time step of N DYNAP-SE2 neurons: the synapses, the adaptation, the membrane, spikes.

This module composes the circuit equations of :mod:`.dpi`, :mod:`.membrane` and
:mod:`.spiking`. Both backends call :func:`prepare` once per evolution and
:func:`neuron_step` once per time step, with their own :class:`~.records.ArrayOps`;
nothing here depends on jax or torch.

Order of operations within a step (as Rockpool's DynapSim, so the two agree):

1. synaptic input of this step = external input + recurrent input from last step's spikes;
2. the four synaptic DPIs and the AHP DPI (driven by last step's spikes) are updated;
3. the membrane takes one Euler step with the new synaptic currents;
4. spikes are counted; fired neurons reset and start their refractory period.
"""

from __future__ import annotations

from typing import Any, Tuple

from ..parameters.convert import dpi_time_constant, pulse_duration
from .dpi import dpi_factors, dpi_step
from .membrane import membrane_step, membrane_voltage, nmda_gate
from .records import ArrayOps, DynapParams, DynapState, StepConstants
from .spiking import distance_to_threshold, reset_and_refractory

__all__ = ["prepare", "split_signed_input", "split_multi_input", "neuron_step"]


def prepare(ops: ArrayOps, p: DynapParams, dt: Any) -> StepConstants:
    """Derive the per-neuron constants of a step from the parameters.

    Leak and gain currents are floored at ``Io`` (a transistor cannot pass less than its
    dark current), as in Rockpool's DynapSim.

    Args:
        ops: array operations of the backend.
        p: parameters, each ``(N,)``.
        dt: time step (s).
    """
    io = p.Io
    kappa = (p.kappa_n + p.kappa_p) / 2.0
    t_pulse = pulse_duration(p.Ipulse, p.C_pulse, p.Vth)
    t_pulse_ahp = pulse_duration(p.Ipulse_ahp, p.C_pulse_ahp, p.Vth)
    t_ref = pulse_duration(p.Iref, p.C_ref, p.Vth)

    def syn(prefix: str) -> Any:
        return ops.stack([getattr(p, f"{prefix}_{s}") for s in ("ampa", "nmda", "gaba", "shunt")], -1)

    io_syn = io[..., None]
    itau_syn = ops.maximum(syn("Itau"), io_syn)
    igain_syn = ops.maximum(syn("Igain"), io_syn)
    tau_syn = dpi_time_constant(itau_syn, syn("C"), p.Ut[..., None], kappa[..., None])
    syn_discharge, syn_charge = dpi_factors(ops, tau_syn, t_pulse[..., None], dt)
    zero = ops.zeros_like(io)
    # The dark current leaks into the AMPA DPI (Rockpool's one merged synapse) only:
    # without spikes the other DPIs get no drive, so AMPA alone reproduces Rockpool.
    floor = ops.stack([io, zero, zero, zero], -1)

    itau_ahp = ops.maximum(p.Itau_ahp, io)
    igain_ahp = ops.maximum(p.Igain_ahp, io)
    tau_ahp = dpi_time_constant(itau_ahp, p.C_ahp, p.Ut, kappa)
    ahp_discharge, ahp_charge = dpi_factors(ops, tau_ahp, t_pulse_ahp, dt)

    itau_mem = ops.maximum(p.Itau_mem, io)
    igain_mem = ops.maximum(p.Igain_mem, io)
    return StepConstants(
        dt=dt,
        Io=io,
        Ut=p.Ut,
        kappa=kappa,
        kappa_prime=kappa**2.0 / (kappa + 1.0),
        Ut_over_kappa=p.Ut / kappa,
        Iscale=p.Iscale,
        syn_gain_ratio=igain_syn / itau_syn,
        syn_discharge=syn_discharge,
        syn_charge=syn_charge,
        syn_drive_floor=floor,
        If_nmda=p.If_nmda,
        ahp_gain_ratio=igain_ahp / itau_ahp,
        ahp_discharge=ahp_discharge,
        ahp_charge=ahp_charge,
        Iw_ahp=p.Iw_ahp,
        Itau_mem=itau_mem,
        Igain_mem=igain_mem,
        mem_gain_ratio=igain_mem / itau_mem,
        C_mem=p.C_mem,
        Idc=p.Idc,
        Ispkthr=p.Ispkthr,
        t_ref=t_ref,
        w_rec=p.w_rec,
    )


def split_signed_input(ops: ArrayOps, w: Any) -> Any:
    """Signed weights ``(..., N)`` -> per-synapse weights ``(..., N, 4)``: positive to AMPA, negative to GABA."""
    zero = ops.zeros_like(w)
    return ops.stack([ops.relu(w), zero, ops.relu(-w), zero], -1)


def split_multi_input(ops: ArrayOps, w: Any) -> Any:
    """Weights ``(..., 4 N)``, channel ``4 i + k`` for synapse type k of neuron i -> ``(..., N, 4)``.

    A DPI cannot be driven negative: negative weights drive nothing.
    """
    return ops.relu(w.reshape(tuple(w.shape[:-1]) + (w.shape[-1] // 4, 4)))


def neuron_step(
    ops: ArrayOps,
    c: StepConstants,
    state: DynapState,
    w_in: Any,
    split: Any,
    max_spikes: float,
) -> Tuple[DynapState, Any]:
    """Advance N neurons by one time step.

    Args:
        ops: array operations of the backend.
        c: constants from :func:`prepare`.
        state: state at ``t``; arrays ``(B, N)`` (``isyn`` ``(B, N, 4)``).
        w_in: summed input weights of this step, in units of ``Iscale``, ``(B, N_in)``.
        split: :func:`split_signed_input` or :func:`split_multi_input`, by the input layout.
        max_spikes: the most spikes a neuron emits in one step.

    Returns:
        ``(state, spikes)``: the state at ``t + dt`` and the spike counts ``(B, N)`` of this step.
    """
    if c.w_rec is not None:
        w_in = w_in + state.spikes @ c.w_rec
    drive = ops.maximum(c.syn_gain_ratio * (split(ops, w_in) * c.Iscale), c.syn_drive_floor)
    isyn = dpi_step(state.isyn, drive, c.syn_discharge, c.syn_charge)

    ahp_drive = c.ahp_gain_ratio * (c.Iw_ahp * state.spikes)
    iahp = ops.maximum(dpi_step(state.iahp, ahp_drive, c.ahp_discharge, c.ahp_charge), c.Io)

    iampa, inmda, igaba, ishunt = (isyn[..., k] for k in range(4))
    isyn_net = iampa + nmda_gate(inmda, state.imem, c.If_nmda) - igaba
    imem = membrane_step(ops, c, state.imem, state.vmem, isyn_net, iahp, ishunt, state.timer_ref > 0.0)
    vmem = membrane_voltage(ops, imem, c.Ut_over_kappa, c.Io)

    spikes = ops.spike_count(distance_to_threshold(ops, imem, c.Ispkthr), max_spikes)
    imem, timer_ref = reset_and_refractory(ops, imem, state.timer_ref, spikes > 0.0, c.Io, c.t_ref, c.dt)
    return DynapState(isyn, iahp, imem, vmem, timer_ref, spikes), spikes
