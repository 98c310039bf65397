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

from typing import Any, NamedTuple, Tuple

from ..chip import SIGNED_EXCITATORY, SIGNED_INHIBITORY, SynapseType
from ..parameters.validate import concrete
from ..parameters.convert import dpi_time_constant, pulse_duration
from .dpi import dpi_decay, dpi_factors, dpi_step
from .membrane import MembraneTerms, membrane_terms, membrane_voltage, nmda_opening
from .records import CURRENT_NAMES, ArrayOps, BiasCurrents, DynapParams, DynapState, StepConstants
from .spiking import distance_to_threshold, reset_and_refractory

__all__ = [
    "prepare",
    "split_signed_input",
    "split_multi_input",
    "synapse_major",
    "idle_synapses",
    "loop_state",
    "stored_state",
    "neuron_step",
    "total_input",
    "StepTerms",
    "step_terms",
    "neuron_update",
    "state_after",
]


def prepare(ops: ArrayOps, p: DynapParams, dt: Any, signed: bool, feedback_gradient: float = 1.0) -> StepConstants:
    """Derive the per-neuron constants of a step from the parameters.

    Leak and gain currents are floored at ``Io`` (a transistor cannot pass less than its
    dark current), as in Rockpool's DynapSim. Every bias current also reaches the
    equations as given, by name, in :attr:`~.records.StepConstants.currents`.

    Args:
        ops: array operations of the backend.
        p: parameters, each ``(N,)``.
        dt: time step (s).
        signed: the input layout (the multi-synapse layout's recurrent weights are put in
            synapse-major order, as :func:`synapse_major` puts the inputs).
        feedback_gradient: the share of the positive feedback factor's derivative the
            backward pass keeps (:attr:`~.records.StepConstants.feedback_gradient`).
    """
    io = p.Io
    kappa = (p.kappa_n + p.kappa_p) / 2.0
    t_pulse = pulse_duration(p.Ipulse, p.C_pulse, p.Vth)
    t_pulse_ahp = pulse_duration(p.Ipulse_ahp, p.C_pulse_ahp, p.Vth)
    t_ref = pulse_duration(p.Iref, p.C_ref, p.Vth)

    def syn(prefix: str) -> Tuple[Any, ...]:
        return tuple(getattr(p, f"{prefix}_{s.label}") for s in SynapseType)

    # One (N,) array per synapse type, not an (N, types) stack: the time loop then works on
    # contiguous (B, N) arrays (strided slices of a (B, N, types) state cost twice the time).
    itau_syn = tuple(ops.maximum(itau, io) for itau in syn("Itau"))
    igain_syn = tuple(ops.maximum(igain, io) for igain in syn("Igain"))
    syn_factors = tuple(
        dpi_factors(ops, dpi_time_constant(itau, C, p.Ut, kappa), t_pulse, dt) for itau, C in zip(itau_syn, syn("C"))
    )

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
        syn_gain_ratio=tuple(igain / itau for igain, itau in zip(igain_syn, itau_syn)),
        syn_discharge=tuple(discharge for discharge, _ in syn_factors),
        syn_charge=tuple(charge for _, charge in syn_factors),
        ahp_gain_ratio=igain_ahp / itau_ahp,
        ahp_discharge=ahp_discharge,
        ahp_charge=ahp_charge,
        Itau_mem=itau_mem,
        Igain_mem=igain_mem,
        mem_gain_ratio=igain_mem / itau_mem,
        C_mem=p.C_mem,
        t_ref=t_ref,
        currents=BiasCurrents(*(getattr(p, name) for name in CURRENT_NAMES)),
        w_rec=p.w_rec if signed or p.w_rec is None else synapse_major(p.w_rec),
        feedback_gradient=float(feedback_gradient),
    )


# The per-type tuples are indexed with ``SynapseType.X.value``, a plain int: torch.compile
# cannot index a tuple or list with an IntEnum.


def split_signed_input(ops: ArrayOps, w: Any) -> Tuple[Any, ...]:
    """Signed weights ``(..., N)`` -> the weights driving each synapse type, in
    :class:`~rockpool_dynapse2.chip.SynapseType` order: positive to
    :data:`~rockpool_dynapse2.chip.SIGNED_EXCITATORY` (AMPA), negative to
    :data:`~rockpool_dynapse2.chip.SIGNED_INHIBITORY` (GABA), None (no input) for the others."""
    weights = [None] * len(SynapseType)
    weights[SIGNED_EXCITATORY.value] = ops.relu(w)
    weights[SIGNED_INHIBITORY.value] = ops.relu(-w)
    return tuple(weights)


def split_multi_input(ops: ArrayOps, w: Any) -> Tuple[Any, ...]:
    """Weights ``(..., T N)`` (``T = len(SynapseType)``) in synapse-major order (channel
    ``k N + i`` for synapse type ``k`` of neuron ``i``; see :func:`synapse_major`) -> the
    weights ``(..., N)`` driving each synapse type.

    A DPI cannot be driven negative: negative weights drive nothing.
    """
    n = w.shape[-1] // len(SynapseType)
    return tuple(ops.relu(w[..., k.value * n : (k.value + 1) * n]) for k in SynapseType)


def synapse_major(w: Any) -> Any:
    """Multi-synapse weights ``(..., T N)`` in Rockpool's order (channel ``T i + k`` drives
    synapse type ``k`` of neuron ``i``; ``T = len(SynapseType)``) -> synapse-major order
    (channel ``k N + i``), so that each type's weights are contiguous in the time loop.
    Applied once per evolution to the inputs and to the columns of ``w_rec``."""
    lead = tuple(w.shape[:-1])
    types = len(SynapseType)
    n = w.shape[-1] // types
    return w.reshape(lead + (n, types)).swapaxes(-1, -2).reshape(lead + (types * n,))


IDLE_SIGNED: Tuple[SynapseType, ...] = tuple(
    s for s in SynapseType if s not in (SIGNED_EXCITATORY, SIGNED_INHIBITORY)
)
"""NMDA and SHUNT: the synapse types the signed layout does not drive."""


def idle_synapses(isyn: Any, signed: bool) -> Tuple[int, ...]:
    """The synapse types :func:`loop_state` may skip: NMDA and SHUNT of the signed layout get
    no input, so while they are at 0 (a concrete, untraced state) the loop skips them."""
    if not signed:
        return ()
    values = concrete(isyn)
    return IDLE_SIGNED if values is not None and not values[..., list(IDLE_SIGNED)].any() else ()


def loop_state(state: DynapState, idle: Tuple[int, ...] = ()) -> DynapState:
    """The state as the time loop carries it: ``isyn`` ``(B, N, T)`` -> a tuple of ``T``
    ``(B, N)`` arrays, one per synapse type (contiguous; strided slices of the stacked
    array cost the loop about half its time).

    Args:
        state: the stored state.
        idle: synapse types that are at 0 and get no input (NMDA and SHUNT of the signed
            layout, unless set otherwise): carried as None, so :func:`neuron_step` skips
            them. They would stay exactly 0, so the result is the same.
    """
    return state._replace(isyn=tuple(None if k in idle else state.isyn[..., k.value] for k in SynapseType))


def stored_state(ops: ArrayOps, state: DynapState) -> DynapState:
    """Inverse of :func:`loop_state`: ``isyn`` back to ``(..., N, T)``, idle types as 0."""
    zero = ops.zeros_like(state.imem)
    return state._replace(isyn=ops.stack([zero if i is None else i for i in state.isyn], -1))


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
        state: state at ``t`` as :func:`loop_state` gives it; arrays ``(B, N)``.
        w_in: summed input weights of this step, in units of ``Iscale``, ``(B, N_in)``
            (synapse-major for the multi-synapse layout, see :func:`synapse_major`).
        split: :func:`split_signed_input` or :func:`split_multi_input`, by the input layout.
        max_spikes: the most spikes a neuron emits in one step.

    Returns:
        ``(state, spikes)``: the state at ``t + dt`` and the spike counts ``(B, N)`` of this step.
    """
    return neuron_update(ops, c, state, total_input(ops, c, state, w_in), split, max_spikes)


def total_input(ops: ArrayOps, c: StepConstants, state: DynapState, w_in: Any) -> Any:
    """The synaptic input weights of a step: the external ``w_in`` plus the recurrent input
    from the last step's spikes (``(B, N_in)``)."""
    return w_in if c.w_rec is None else w_in + ops.recurrent(state.spikes, c.w_rec)


class StepTerms(NamedTuple):
    """The intermediate quantities of one step, from :func:`step_terms`."""

    weights: Tuple[Any, ...]
    """The weights driving each synapse type (None: no input)."""
    isyn: Tuple[Any, ...]
    """The synaptic currents after the step (None: an idle type)."""
    ahp_update: Any
    """The AHP DPI's update, before the floor at ``Io``."""
    iahp: Any
    nmda_open: Any
    """The NMDA gate's opening ``1 / (1 + If_nmda / I_mem)`` (None without NMDA current)."""
    membrane: MembraneTerms
    imem: Any
    """The membrane current after the Euler step, before the reset."""
    x: Any
    """``log(I_mem / Ispkthr)``, the distance to threshold."""
    spikes: Any
    fired: Any


def step_terms(ops: ArrayOps, c: StepConstants, state: DynapState, u: Any, split: Any, max_spikes: float) -> StepTerms:
    """Every intermediate quantity of a step driven by the synaptic input ``u`` (from
    :func:`total_input`); :func:`neuron_update` and the backward pass of :mod:`.step_vjp`
    both read them."""
    weights = split(ops, u)
    isyn = tuple(_synapse_step(ops, c, k, current, w) for k, current, w in zip(SynapseType, state.isyn, weights))

    ahp_drive = c.ahp_gain_ratio * (c.currents.Iw_ahp * state.spikes)
    ahp_update = dpi_step(state.iahp, ahp_drive, c.ahp_discharge, c.ahp_charge)
    iahp = ops.maximum(ahp_update, c.Io)

    iampa, inmda = isyn[SynapseType.AMPA.value], isyn[SynapseType.NMDA.value]
    nmda_open = None if inmda is None else nmda_opening(state.imem, c.currents.If_nmda)
    isyn_net = iampa if inmda is None else iampa + inmda * nmda_open
    isyn_net = isyn_net - isyn[SynapseType.GABA.value]
    refractory = state.timer_ref > 0.0
    membrane = membrane_terms(ops, c, state.imem, state.vmem, isyn_net, iahp, isyn[SynapseType.SHUNT.value], refractory)
    imem = ops.fence(ops.maximum(membrane.update, c.Io))
    x = distance_to_threshold(ops, imem, c.currents.Ispkthr)
    spikes = ops.spike_count(x, max_spikes)
    return StepTerms(weights, isyn, ahp_update, iahp, nmda_open, membrane, imem, x, spikes, spikes > 0.0)


def neuron_update(
    ops: ArrayOps, c: StepConstants, state: DynapState, u: Any, split: Any, max_spikes: float
) -> Tuple[DynapState, Any]:
    """:func:`neuron_step` after the recurrent input: ``u`` is the step's synaptic input
    from :func:`total_input`."""
    t = step_terms(ops, c, state, u, split, max_spikes)
    return state_after(ops, c, state, t), t.spikes


def state_after(ops: ArrayOps, c: StepConstants, state: DynapState, t: StepTerms) -> DynapState:
    """The state after a step, from the state before it and the step's :func:`step_terms`:
    the voltage of the new membrane current, the reset and the refractory timers."""
    vmem = membrane_voltage(ops, t.imem, c.Ut_over_kappa, c.Io)
    imem, timer_ref = reset_and_refractory(ops, t.imem, state.timer_ref, t.fired, c.Io, c.t_ref, c.dt)
    return DynapState(t.isyn, t.iahp, imem, vmem, timer_ref, t.spikes)


def _synapse_step(ops: ArrayOps, c: StepConstants, k: SynapseType, current: Any, w: Any) -> Any:
    """One step of synapse type ``k`` driven by weights ``w`` (None: no input).

    The drive is ``(Igain/Itau) w Iscale``; the AMPA drive is floored at the dark current
    ``Io`` (Rockpool's one merged synapse), the others get no drive without spikes, so
    without input they only decay (and an idle type, None, stays None: exactly 0).
    """
    i = k.value  # a plain int: torch.compile cannot index a tuple with an IntEnum
    if w is None:
        return None if current is None else dpi_decay(current, c.syn_discharge[i])
    drive = c.syn_gain_ratio[i] * (w * c.Iscale)
    if k is SynapseType.AMPA:
        drive = ops.maximum(drive, c.Io)
    return dpi_step(current, drive, c.syn_discharge[i], c.syn_charge[i])
