"""High-level quantities <-> circuit currents.

Paired conversions between what a modeller thinks in (time constants, pulse widths,
gain ratios, weights) and the bias currents the circuits need. Every function is plain
arithmetic, so it works on Python floats, numpy arrays, jax arrays (under ``jit`` and
``grad``) and torch tensors (with autograd) alike; a time constant can therefore be a
trainable parameter. Concrete inputs are checked and bad values raise
:class:`~rockpool_dynapse2.errors.ParameterValueError`.

Equations (Chicca et al. 2014; Çakal et al. 2024):

* DPI leak current and time constant: :math:`\\tau = U_T C / (\\kappa I_\\tau)`
* pulse width (and refractory period): :math:`t = V_{th} C / I`
* gain: :math:`I_{gain} = r_{gain} I_\\tau`
* weight current: :math:`I_w = w I_{scale}`
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np

from ..chip import BIAS_SETTING, CONSTANTS, Circuit, CircuitConstants, PulseCircuit, Quantity
from ..errors import ParameterValueError, UnknownParameterError
from .validate import as_array, check_positive_finite, check_real, concrete

__all__ = [
    "dpi_time_constant",
    "pulse_duration",
    "as_circuit",
    "as_pulse_circuit",
    "itau_from_tau",
    "tau_from_itau",
    "ipulse_from_pulse_width",
    "pulse_width_from_ipulse",
    "igain_from_gain_ratio",
    "gain_ratio_from_igain",
    "current_from_weight",
    "weight_from_current",
]

Array = Any
"""A float, numpy array, jax array or torch tensor."""


def dpi_time_constant(itau: Array, capacitance: Array, Ut: Array, kappa: Array) -> Array:
    """The DPI relation :math:`\\tau = U_T C / (\\kappa I_\\tau)`, unchecked, on any arrays.

    The relation is its own inverse: ``dpi_time_constant(tau, C, Ut, kappa)`` is the
    current that gives ``tau``. The simulators call it with per-neuron arrays; the checked,
    named conversions :func:`itau_from_tau` and :func:`tau_from_itau` are built on it.

    Args:
        itau: leak current(s) (A).
        capacitance: capacitance(s) (F).
        Ut: thermal voltage(s) (V).
        kappa: subthreshold slope factor(s).

    Returns:
        Time constant(s) (s), broadcast over the arguments.
    """
    return (Ut / kappa) * capacitance / itau


def pulse_duration(current: Array, capacitance: Array, Vth: Array) -> Array:
    """The pulse-extender relation :math:`t = V_{th} C / I`, unchecked, on any arrays (its own inverse)."""
    return (Vth * capacitance) / current


def _checked_result(name: str, given: Array, result: Array, quantity: str, positive: bool = True) -> Array:
    """``result``, unless a concrete entry of it is not finite (or not positive) though
    ``given`` was: the conversion under- or overflowed (e.g. ``tau = 1e-320`` s).

    Raises:
        ParameterValueError: naming the input ``name`` and its first such entry.
    """
    out = concrete(result)
    if out is None:
        return result
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(out) | ((out <= 0) if positive else False)
    if np.any(bad):
        arr = np.broadcast_to(np.asarray(concrete(given)), np.shape(out))
        raise ParameterValueError(name, f"within the range that gives a {'positive ' if positive else ''}finite {quantity}", arr, bad)
    return result


def as_circuit(circuit: Union[str, Circuit]) -> Circuit:
    """The :class:`~rockpool_dynapse2.chip.Circuit` named by ``circuit`` ("mem", "ampa", ...)."""
    if isinstance(circuit, Circuit):
        return circuit
    try:
        return Circuit(circuit)
    except ValueError:
        raise UnknownParameterError("circuit", circuit, [c.value for c in Circuit]) from None


def as_pulse_circuit(circuit: Union[str, PulseCircuit]) -> PulseCircuit:
    """The :class:`~rockpool_dynapse2.chip.PulseCircuit` named by ``circuit`` ("pulse", "pulse_ahp", "ref")."""
    if isinstance(circuit, PulseCircuit):
        return circuit
    try:
        return PulseCircuit(circuit)
    except ValueError:
        raise UnknownParameterError(
            "pulse circuit", circuit, [c.value for c in PulseCircuit]
        ) from None


def _tau_relation(x: Array, circuit: Union[str, Circuit], constants: CircuitConstants) -> Array:
    c = as_circuit(circuit)
    return dpi_time_constant(x, constants.capacitance(c), constants.Ut, constants.kappa)


def itau_from_tau(
    tau: Array, circuit: Union[str, Circuit], constants: CircuitConstants = CONSTANTS
) -> Array:
    """Leak current of a DPI circuit from its time constant.

    :math:`I_\\tau = U_T C / (\\kappa \\tau)`, with the circuit's capacitance ``C`` and the
    mean slope factor :math:`\\kappa = (\\kappa_n + \\kappa_p)/2`.

    Args:
        tau: time constant(s) in seconds, any shape, > 0.
        circuit: which DPI circuit: "mem", "ampa", "nmda", "gaba", "shunt" or "ahp".
        constants: circuit constants (capacitances, Ut, kappa).

    Returns:
        The leak current(s) ``Itau`` in amperes, shaped like ``tau``.

    Examples:
        >>> round(itau_from_tau(20e-3, "mem") * 1e12, 2)  # pA
        5.32
    """
    tau = as_array(tau)
    name = BIAS_SETTING[Quantity.TAU, as_circuit(circuit)].high_level_name
    check_positive_finite(name, tau, "seconds")
    return _checked_result(name, tau, _tau_relation(tau, circuit, constants), "current")


def tau_from_itau(
    itau: Array, circuit: Union[str, Circuit], constants: CircuitConstants = CONSTANTS
) -> Array:
    """Time constant (s) of a DPI circuit from its leak current ``itau`` (A); inverse of :func:`itau_from_tau`."""
    itau = as_array(itau)
    name = BIAS_SETTING[Quantity.TAU, as_circuit(circuit)].current
    check_positive_finite(name, itau, "amperes")
    return _checked_result(name, itau, _tau_relation(itau, circuit, constants), "time constant")


def _pulse_relation(x: Array, circuit: Union[str, PulseCircuit], constants: CircuitConstants) -> Array:
    c = as_pulse_circuit(circuit)
    return pulse_duration(x, constants.capacitance(c), constants.Vth)


def ipulse_from_pulse_width(
    width: Array, circuit: Union[str, PulseCircuit], constants: CircuitConstants = CONSTANTS
) -> Array:
    """Current that sets a pulse width or the refractory period.

    :math:`I = V_{th} C / t`.

    Args:
        width: pulse width(s) or refractory period(s) in seconds, > 0.
        circuit: "pulse" (``Ipulse``, synaptic pulse extender), "pulse_ahp"
            (``Ipulse_ahp``) or "ref" (``Iref``).
        constants: circuit constants.

    Returns:
        The current(s) in amperes, shaped like ``width``.

    Examples:
        >>> round(ipulse_from_pulse_width(10e-6, "pulse") * 1e9, 6)  # nA
        35.0
    """
    width = as_array(width)
    name = BIAS_SETTING[Quantity.PULSE_WIDTH, as_pulse_circuit(circuit)].high_level_name
    check_positive_finite(name, width, "seconds")
    return _checked_result(name, width, _pulse_relation(width, circuit, constants), "current")


def pulse_width_from_ipulse(
    current: Array, circuit: Union[str, PulseCircuit], constants: CircuitConstants = CONSTANTS
) -> Array:
    """Pulse width (s) from its current (A); inverse of :func:`ipulse_from_pulse_width`."""
    current = as_array(current)
    name = BIAS_SETTING[Quantity.PULSE_WIDTH, as_pulse_circuit(circuit)].current
    check_positive_finite(name, current, "amperes")
    return _checked_result(name, current, _pulse_relation(current, circuit, constants), "pulse width")


def igain_from_gain_ratio(ratio: Array, itau: Array) -> Array:
    """Gain current :math:`I_{gain} = r_{gain} I_\\tau` (A) from the gain ratio (> 0) and ``Itau`` (A)."""
    ratio = as_array(ratio)
    itau = as_array(itau)
    check_positive_finite("gain ratio", ratio, "dimensionless")
    check_positive_finite("Itau", itau, "amperes")
    return _checked_result("gain ratio", ratio, ratio * itau, "current")


def gain_ratio_from_igain(igain: Array, itau: Array) -> Array:
    """Gain ratio :math:`I_{gain} / I_\\tau`; inverse of :func:`igain_from_gain_ratio`."""
    igain = as_array(igain)
    itau = as_array(itau)
    check_positive_finite("Igain", igain, "amperes")
    check_positive_finite("Itau", itau, "amperes")
    return _checked_result("Igain", igain, igain / itau, "gain ratio")


def current_from_weight(weight: Array, Iscale: Array) -> Array:
    """Weight current (A) from a weight in units of ``Iscale``: :math:`I_w = w I_{scale}`.

    Weights may be negative (inhibitory: the sign selects the synapse type, the
    magnitude the current).
    """
    weight = as_array(weight)
    Iscale = as_array(Iscale)
    check_real("weight", weight, unit="units of Iscale")
    check_positive_finite("Iscale", Iscale, "amperes")
    return _checked_result("weight", weight, weight * Iscale, "current", positive=False)


def weight_from_current(current: Array, Iscale: Array) -> Array:
    """Weight in units of ``Iscale`` from a weight current (A); inverse of :func:`current_from_weight`."""
    current = as_array(current)
    Iscale = as_array(Iscale)
    check_real("current", current, unit="amperes")
    check_positive_finite("Iscale", Iscale, "amperes")
    return _checked_result("current", current, current / Iscale, "weight", positive=False)
