"""The adaptive exponential integrate-and-fire (AdExp-I&F) DPI neuron's membrane.

Forward-Euler update of the membrane current as Rockpool's ``DynapSim`` computes it
(Çakal et al. 2024, after Chicca et al. 2014), extended with the SHUNT synapse and the
NMDA voltage gate:

.. code-block:: text

    I_leak  = Itau_mem + I_ahp + I_shunt
    I_in    = max(I_syn - I_leak + Idc, Io), and Io while refractory
    I_inf   = (Igain_mem / Itau_mem) * (I_in - I_leak)
    I_fb    = Io * exp(kappa^2 / (kappa + 1) * V_mem / Ut)
    f_fb    = I_fb / I_leak * (I_mem + Igain_mem)
    tau_mem = Ut C_mem / (kappa I_leak)
    dI_mem  = I_mem / (tau_mem (I_mem + Igain_mem)) * (I_inf + f_fb - I_mem (1 + (I_ahp + I_shunt) / Itau_mem)) dt
    I_mem   = max(I_mem + dI_mem, Io);   V_mem = Ut / kappa * log(I_mem / Io)

The voltage that drives the positive feedback carries no gradient: through the
exponential feedback, gradients grow without bound over long sequences (NaN after about
1000 steps of a recurrent network in float32); with it cut, as the reset's, they stay
finite. The forward pass is unchanged.

The factor ``I_mem + Igain_mem`` of ``f_fb`` keeps a gradient, but it cancels most of the
leak's decay in the backward pass: between spikes a neuron's relative sensitivity to its
own past, ``d log I_mem(t+1) / d log I_mem(t)``, stays at about 0.9999, and through
recurrent weights the backward pass can grow a million-fold over a sample on larger
networks and mismatched chips. :attr:`~.records.StepConstants.feedback_gradient` keeps
only that share of the factor's derivative (1, the default: all of it, the exact
derivative; 0: none); the forward pass is the same at every value.

``I_leak`` is subtracted twice (once in ``I_in``, once in ``I_inf``), exactly as in
Rockpool 3.1; we keep it so for comparability. SHUNT inhibition adds to the leak and to
the divisive decay term, like the AHP current: a mixture of subtractive and shunting
inhibition. The synaptic current is ``I_syn = I_ampa + I_nmda_gated - I_gaba`` with the
NMDA gate :func:`nmda_gate`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..parameters.convert import dpi_time_constant
from .records import ArrayOps, StepConstants

__all__ = ["nmda_gate", "nmda_opening", "MembraneTerms", "membrane_terms", "membrane_step", "membrane_voltage"]


def nmda_gate(inmda: Any, imem: Any, If_nmda: Any) -> Any:
    """Voltage-gated NMDA current: ``I_nmda / (1 + If_nmda / I_mem)``.

    The gate passes the NMDA current only once the membrane current exceeds the gate
    current ``If_nmda`` (set by ``DENM_NMREV_N``); it is half open at ``I_mem = If_nmda``.
    """
    return inmda * nmda_opening(imem, If_nmda)


def nmda_opening(imem: Any, If_nmda: Any) -> Any:
    """The NMDA gate's opening ``1 / (1 + If_nmda / I_mem)``, between 0 and 1."""
    return 1.0 / (1.0 + If_nmda / imem)


def membrane_voltage(ops: ArrayOps, imem: Any, Ut_over_kappa: Any, Io: Any) -> Any:
    """Membrane voltage (V) of a membrane current (A): ``Ut / kappa * log(I_mem / Io)``."""
    return Ut_over_kappa * ops.log(imem / Io)


class MembraneTerms(NamedTuple):
    """The intermediate quantities of one membrane step (see the module's equations);
    :func:`membrane_step` uses ``update``, the hand-written backward pass
    (:mod:`.step_vjp`) the others."""

    ileak: Any
    """``I_leak = Itau_mem + I_ahp + I_shunt``."""
    inhibition: Any
    """``I_ahp + I_shunt``."""
    iin_raw: Any
    """``I_syn - I_leak + Idc``, before the floor at ``Io`` and the refractory clamp."""
    f_imem: Any
    """The positive feedback term ``I_fb / I_leak * (I_mem + Igain_mem)``."""
    rate: Any
    """``I_mem / (tau_mem (I_mem + Igain_mem))``."""
    drive: Any
    """``I_inf + f_fb - I_mem (1 + (I_ahp + I_shunt) / Itau_mem)``."""
    update: Any
    """``I_mem + rate * drive * dt``, before the floor at ``Io``."""


def membrane_terms(
    ops: ArrayOps,
    c: StepConstants,
    imem: Any,
    vmem: Any,
    isyn: Any,
    iahp: Any,
    ishunt: Any,
    refractory: Any,
) -> MembraneTerms:
    """The terms of one forward-Euler step of the membrane current; arguments as
    :func:`membrane_step`."""
    f_feedback = ops.exp(c.kappa_prime * (ops.stop_gradient(vmem) / c.Ut))
    # An idle SHUNT (None, exactly 0) leaves out two additions of 0.
    ileak = c.Itau_mem + iahp if ishunt is None else c.Itau_mem + iahp + ishunt
    inhibition = iahp if ishunt is None else iahp + ishunt
    iin_raw = isyn - ileak + c.currents.Idc
    iin = ops.maximum(ops.where(refractory, 0.0, iin_raw), c.Io)
    imem_inf = c.mem_gain_ratio * (iin - ileak)
    ifb = c.Io * f_feedback
    f_imem = (ifb / ileak) * (_feedback_share(ops, imem, c.feedback_gradient) + c.Igain_mem)
    tau_mem = dpi_time_constant(ileak, c.C_mem, c.Ut, c.kappa)
    rate = imem / (tau_mem * (imem + c.Igain_mem))
    drive = imem_inf + f_imem - (imem * (1.0 + (inhibition / c.Itau_mem)))
    return MembraneTerms(ileak, inhibition, iin_raw, f_imem, rate, drive, imem + rate * drive * c.dt)


def _feedback_share(ops: ArrayOps, imem: Any, share: float) -> Any:
    """``imem`` exactly, whose derivative is ``share`` (a Python float): the difference
    ``imem - stop_gradient(imem)`` is exactly 0 forward."""
    if share == 1.0:
        return imem
    return imem - (1.0 - share) * (imem - ops.stop_gradient(imem))


def membrane_step(
    ops: ArrayOps,
    c: StepConstants,
    imem: Any,
    vmem: Any,
    isyn: Any,
    iahp: Any,
    ishunt: Any,
    refractory: Any,
) -> Any:
    """One forward-Euler step of the membrane current.

    Args:
        ops: array operations of the backend.
        c: per-neuron constants (``Itau_mem``, ``Igain_mem`` floored at ``Io``,
            ``currents.Idc``, ``C_mem``, ``Io``, ``Ut``, ``kappa``, ``dt``, ...) from
            :func:`.step.prepare`.
        imem: membrane current (A), ``(B, N)``.
        vmem: membrane voltage (V) driving the positive feedback, ``(B, N)``.
        isyn: net synaptic current ``I_ampa + I_nmda_gated - I_gaba`` (A), ``(B, N)``.
        iahp: adaptation current (A), ``(B, N)``.
        ishunt: shunting inhibition current (A), ``(B, N)``, or None when it is idle (0).
        refractory: boolean ``(B, N)``, True where the neuron is refractory.

    Returns:
        The membrane current (A) after the step, before spike detection, ``(B, N)``.
    """
    return ops.maximum(membrane_terms(ops, c, imem, vmem, isyn, iahp, ishunt, refractory).update, c.Io)
