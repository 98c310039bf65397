"""Spike generation, reset and refractory period, and the surrogate gradient they share.

The neuron fires when its membrane current crosses the threshold ``Ispkthr``. As in
Rockpool's DynapSim, a step can hold several spikes: the count is
``clip(ceil(log(I_mem / Ispkthr)), 0, max_spikes)``. A neuron that fired resets to ``Io``
and stays refractory for ``t_ref``.

Surrogate gradient: the count is a function of ``x = log(I_mem / Ispkthr)``, a
dimensionless distance to threshold; its surrogate derivative is the fast sigmoid
``dn/dx = 1 / (1 + beta |x|)^2`` (Zenke & Ganguli 2018) with the sharpness
``beta =`` :data:`SURROGATE_SHARPNESS`. Gradients then reach ``I_mem`` as
``dn/dx / I_mem`` and the threshold as ``-dn/dx / Ispkthr``: relative, well-scaled
quantities, unlike a surrogate in amperes.

Why ``beta = 3`` and not 1: ``x`` is a log-current, and a DPI neuron spends much of its
time within a factor 10-20 of threshold (``x`` between -3 and -2), where ``beta = 1``
still passes a slope of 0.06-0.1 every step. Summed over a trial, that surrogate
"fires" about 4 times as often as the neuron (26 surrogate spikes per neuron for 6.5 real
ones, measured on the demo network), 40 % of it more than a factor 7 below threshold.
Through the recurrent weights these phantom sensitivities feed back on themselves: the
backward pass of a trained recurrent network then grows exponentially (40-fold over 350
steps), the gradient stops agreeing with the loss and training diverges. With
``beta = 3`` the surrogate's total is 1.35 times the spike count and the backward pass
stays flat. The forward pass does not depend on ``beta``.
"""

from __future__ import annotations

from typing import Any, Tuple

from .records import ArrayOps

__all__ = [
    "SURROGATE_SHARPNESS",
    "distance_to_threshold",
    "surrogate_slope",
    "surrogate_antiderivative",
    "spike_count_forward",
    "reset_and_refractory",
]


SURROGATE_SHARPNESS = 3.0
"""``beta`` of the surrogate slope ``1 / (1 + beta |x|)^2`` (``x = log(I_mem / Ispkthr)``):
its width is ``1 / beta`` in log-current, a factor ``e^(1/3) = 1.4`` around threshold."""


def distance_to_threshold(ops: ArrayOps, imem: Any, Ispkthr: Any) -> Any:
    """``x = log(I_mem / Ispkthr)``: positive above threshold."""
    return ops.log(imem / Ispkthr)


def spike_count_forward(ceil: Any, clip: Any, x: Any, max_spikes: float) -> Any:
    """Spikes in a step, ``clip(ceil(x), 0, max_spikes)``, given a backend's ``ceil`` and ``clip``."""
    return clip(ceil(x), 0.0, max_spikes)


def surrogate_slope(x: Any) -> Any:
    """Surrogate derivative of the spike count with respect to ``x``:
    ``1 / (1 + beta |x|)^2``, ``beta =`` :data:`SURROGATE_SHARPNESS`."""
    return 1.0 / (1.0 + SURROGATE_SHARPNESS * abs(x)) ** 2


def surrogate_antiderivative(x: Any) -> Any:
    """``x / (1 + beta |x|)``, whose derivative is :func:`surrogate_slope`."""
    return x / (1.0 + SURROGATE_SHARPNESS * abs(x))


def reset_and_refractory(
    ops: ArrayOps, imem: Any, timer_ref: Any, fired: Any, Io: Any, t_ref: Any, dt: Any
) -> Tuple[Any, Any]:
    """Reset fired neurons to ``Io`` and run the refractory timers.

    Args:
        ops: array operations of the backend.
        imem: membrane current (A) after the Euler step, ``(B, N)``.
        timer_ref: refractory time left (s), ``(B, N)``.
        fired: boolean ``(B, N)``, True where the neuron fired in this step. The reset
            carries no gradient (the usual choice for surrogate-gradient training).
        Io: per-neuron dark current (A), ``(N,)``.
        t_ref: per-neuron refractory period (s), ``(N,)``.
        dt: time step (s).

    Returns:
        ``(imem, timer_ref)`` after reset; timers count down by ``dt`` (not below 0) and
        restart at ``t_ref`` on a spike.
    """
    imem = ops.where(fired, Io, imem)
    timer_ref = ops.where(fired, t_ref, ops.maximum(timer_ref - dt, 0.0))
    return imem, timer_ref
