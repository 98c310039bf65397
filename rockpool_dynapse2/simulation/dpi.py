"""The differential-pair integrator (DPI) synapse, in discrete time.

A DPI is a first-order low-pass filter of current pulses (Bartolozzi & Indiveri 2007).
Each spike opens the input branch for a pulse of width ``t_pulse``, during which the
circuit charges towards ``(Igain / Itau) * Iw``; between pulses it decays with
``tau = Ut C / (kappa Itau)``. With ``dt >> t_pulse`` (the usual 1 ms step) the update
over one step is

:math:`I(t+dt) = I(t)\\, e^{-dt/\\tau} + \\frac{I_{gain}}{I_\\tau} I_{w,in}(t)\\, (1 - e^{-t_{pulse}/\\tau})`

where :math:`I_{w,in}` is the summed weight current of the spikes that arrived in the
step. The same circuit, driven by the neuron's own spikes, is the spike-frequency
adaptation (AHP) current.
"""

from __future__ import annotations

from typing import Any, Tuple

from .records import ArrayOps

__all__ = ["dpi_factors", "dpi_step", "dpi_decay"]


def dpi_factors(ops: ArrayOps, tau: Any, t_pulse: Any, dt: Any) -> Tuple[Any, Any]:
    """Per-step decay and charge factors of a DPI.

    Args:
        ops: array operations of the backend.
        tau: time constant(s) (s), any shape.
        t_pulse: pulse width(s) (s), broadcastable with ``tau``.
        dt: time step (s).

    Returns:
        ``(discharge, charge)``: ``exp(-dt / tau)`` and ``1 - exp(-t_pulse / tau)``.
    """
    return ops.exp(-dt / tau), 1.0 - ops.exp(-t_pulse / tau)


def dpi_step(current: Any, drive: Any, discharge: Any, charge: Any) -> Any:
    """One step of a DPI.

    Args:
        current: the DPI's current (A) at ``t``.
        drive: the current (A) it charges towards during a pulse, ``(Igain/Itau) Iw``.
        discharge: ``exp(-dt / tau)``.
        charge: ``1 - exp(-t_pulse / tau)``.

    Returns:
        The current (A) at ``t + dt``.
    """
    return discharge * current + charge * drive


def dpi_decay(current: Any, discharge: Any) -> Any:
    """One step of a DPI without input: :func:`dpi_step` with a zero drive, exactly."""
    return discharge * current
