"""The backward pass of one time step, written by hand.

:func:`neuron_update_vjp` gives the cotangents of a step's state and synaptic input from
the cotangent of its new state: the derivative of :func:`.step.neuron_update`, with the
surrogate gradient of :mod:`.spiking`, term by term from the intermediate quantities of
:func:`.step.step_terms`. It is what automatic differentiation of the step gives (the
tests compare the two, with JAX's automatic differentiation as the reference, on random
states), in fewer operations. The torch backend's time loop
(:mod:`.torch_module`) steps back with it; the JAX backend differentiates its loop
automatically. It covers the state and the input only; the torch backend differentiates
the constants of :func:`.step.prepare` automatically, where a gradient needs them.

The derivative follows the forward pass backwards:

1. spikes, voltage and reset -> the membrane current before the reset (the reset and the
   refractory clamp carry no gradient; a spike count passes its surrogate slope);
2. the Euler update ``I_mem + rate * drive * dt`` -> the old membrane current, the leak
   ``I_leak = Itau_mem + I_ahp + I_shunt`` and the net synaptic current;
3. the net synaptic current -> each synapse type (the NMDA gate also to ``I_mem``);
4. each DPI -> its old current and its input weights; the AHP DPI -> the old spikes;
5. the weights -> the synaptic input, through the layout's split.

Nothing here depends on jax or torch.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

from ..chip import SIGNED_EXCITATORY, SIGNED_INHIBITORY, SynapseType
from .records import ArrayOps, DynapState, StepConstants
from .spiking import surrogate_slope
from .step import StepTerms, split_multi_input, split_signed_input, step_terms

__all__ = ["neuron_update_vjp"]


def neuron_update_vjp(
    ops: ArrayOps,
    c: StepConstants,
    state: DynapState,
    u: Any,
    split: Callable,
    max_spikes: Any,
    cotangent: DynapState,
    terms: Optional[StepTerms] = None,
) -> Tuple[DynapState, Any]:
    """Cotangents of a step's state and synaptic input.

    Args:
        ops: array operations of the backend.
        c: constants from :func:`.step.prepare`.
        state: the state before the step, as the time loop carries it.
        u: the step's synaptic input (:func:`.step.total_input`), ``(B, N_in)``.
        split: the layout's split (:func:`.step.split_signed_input` or
            :func:`.step.split_multi_input`).
        max_spikes: the most spikes per neuron and step.
        cotangent: cotangent of the new state (its ``spikes`` also holds the cotangent of
            the step's output spikes); idle synapse types None.
        terms: the step's :func:`.step.step_terms`, when the caller has them.

    Returns:
        ``(cotangent of state, cotangent of u)``. The voltage gets zeros: it drives the
        positive feedback without a gradient. The recurrent input's share of the old spikes' cotangent
        (``cot_u @ w_rec.T``) is the caller's, as ``u`` is.
    """
    t = step_terms(ops, c, state, u, split, max_spikes) if terms is None else terms
    m = t.membrane
    imem = state.imem

    # 1. Spikes, voltage and reset -> the membrane current before the reset.
    g_imem_new = (
        ops.where(t.fired, 0.0, cotangent.imem)
        + (cotangent.vmem * c.Ut_over_kappa + cotangent.spikes * surrogate_slope(t.x)) / t.imem
    )
    # 2. The Euler update -> old membrane current, leak, net synaptic current.
    g_update = ops.where(m.update > c.Io, g_imem_new, 0.0)
    g_drive = g_update * (m.rate * c.dt)
    g_rate = g_update * (m.drive * c.dt)
    imem_plus_gain = imem + c.Igain_mem
    # The feedback factor's share of its derivative (StepConstants.feedback_gradient); the
    # exact derivative, the default, costs no extra product in the backward loop.
    f_kept = m.f_imem if c.feedback_gradient == 1.0 else c.feedback_gradient * m.f_imem
    g_imem = (
        g_update
        + g_rate * (m.rate * c.Igain_mem / (imem * imem_plus_gain))
        + g_drive * (f_kept / imem_plus_gain - (1.0 + m.inhibition / c.Itau_mem))
    )
    g_iin = g_drive * c.mem_gain_ratio
    g_isyn_net = ops.where((state.timer_ref > 0.0) | (m.iin_raw <= c.Io), 0.0, g_iin)
    g_ileak = (g_rate * m.rate - g_drive * m.f_imem) / m.ileak - g_iin - g_isyn_net
    g_leak_and_inhibition = g_ileak - g_drive * (imem / c.Itau_mem)

    # 3. Net synaptic current -> each type: AMPA + gated NMDA - GABA; SHUNT adds to the leak.
    shares = {
        SynapseType.AMPA: g_isyn_net,
        SynapseType.NMDA: None if t.nmda_open is None else g_isyn_net * t.nmda_open,
        SynapseType.GABA: -g_isyn_net,
        SynapseType.SHUNT: g_leak_and_inhibition,
    }
    if t.nmda_open is not None:
        # d/dI_mem of I_nmda / (1 + If / I_mem) = I_nmda * open^2 * If / I_mem^2
        inmda = t.isyn[SynapseType.NMDA.value]
        g_imem = g_imem + g_isyn_net * (inmda * t.nmda_open**2 * c.currents.If_nmda / (imem * imem))
    g_isyn = tuple(
        None if new is None else _add(cot, shares[k]) for k, new, cot in zip(SynapseType, t.isyn, cotangent.isyn)
    )

    # 4. Each DPI -> its old current and its weights; the AHP DPI -> the old spikes.
    g_old_isyn = tuple(None if old is None else g * d for old, g, d in zip(state.isyn, g_isyn, c.syn_discharge))
    g_weights = tuple(
        None if w is None else _weight_cotangent(ops, c, k, w, g) for k, w, g in zip(SynapseType, t.weights, g_isyn)
    )
    g_ahp_update = ops.where(t.ahp_update > c.Io, cotangent.iahp + g_leak_and_inhibition, 0.0)
    g_spikes = g_ahp_update * (c.ahp_charge * c.ahp_gain_ratio * c.currents.Iw_ahp)

    # The timer counts down where the neuron did not fire (its cotangent reaches no loss:
    # the timer is only compared with 0; it is passed on as automatic differentiation does).
    g_timer = ops.where(t.fired | (state.timer_ref - c.dt <= 0.0), 0.0, cotangent.timer_ref)
    g_state = DynapState(g_old_isyn, g_ahp_update * c.ahp_discharge, g_imem, ops.zeros_like(imem), g_timer, g_spikes)
    # 5. The weights -> the synaptic input.
    return g_state, _SPLIT_VJP[split](ops, u, g_weights)


def _add(a: Any, b: Any) -> Any:
    return a if b is None else (b if a is None else a + b)


def _weight_cotangent(ops: ArrayOps, c: StepConstants, k: SynapseType, w: Any, g: Any) -> Any:
    """Cotangent of the weights driving synapse type ``k`` (see :func:`.step._synapse_step`)."""
    i = k.value  # a plain int: torch.compile cannot index a tuple with an IntEnum
    scale = c.syn_charge[i] * (c.syn_gain_ratio[i] * c.Iscale)
    if k is SynapseType.AMPA:  # the AMPA drive is floored at Io
        return ops.where(c.syn_gain_ratio[i] * (w * c.Iscale) > c.Io, g * scale, 0.0)
    return g * scale


def _split_signed_vjp(ops: ArrayOps, u: Any, g: Tuple[Any, ...]) -> Any:
    return ops.where(u > 0.0, g[SIGNED_EXCITATORY.value], 0.0) - ops.where(u < 0.0, g[SIGNED_INHIBITORY.value], 0.0)


def _split_multi_vjp(ops: ArrayOps, u: Any, g: Tuple[Any, ...]) -> Any:
    n = u.shape[-1] // len(SynapseType)
    parts = [ops.where(u[..., k.value * n : (k.value + 1) * n] > 0.0, g[k.value], 0.0) for k in SynapseType]
    return ops.stack(parts, -2).reshape(u.shape)


_SPLIT_VJP: Dict[Callable, Callable] = {split_signed_input: _split_signed_vjp, split_multi_input: _split_multi_vjp}
