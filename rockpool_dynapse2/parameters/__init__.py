"""Parameter mapping: high-level quantities <-> bias currents <-> bias generator codes.

* :mod:`.convert`: the circuit formulas (time constant <-> leak current, pulse width <->
  current, gain ratio <-> gain current, weight <-> current);
* :mod:`.biasgen`: the measured bias generator (current <-> ``BiasCode``);
* :mod:`.core`: the parameter set one core shares (:class:`CoreParameters`,
  :class:`CoreHighLevel`);
* :mod:`.validate`: the input checks these functions share (also used by the layers above).
"""

from .biasgen import (
    BiasCode,
    BiasCodes,
    BiasTable,
    bias_parameter,
    bias_table,
    code_from_current,
    code_relative_error,
    codes_from_currents,
    current_from_code,
    current_range,
    currents_from_codes,
)
from .convert import (
    current_from_weight,
    gain_ratio_from_igain,
    igain_from_gain_ratio,
    ipulse_from_pulse_width,
    itau_from_tau,
    pulse_width_from_ipulse,
    tau_from_itau,
    weight_from_current,
)
from .core import CoreHighLevel, CoreParameters

__all__ = [
    "BiasCode",
    "BiasCodes",
    "BiasTable",
    "bias_parameter",
    "bias_table",
    "code_from_current",
    "code_relative_error",
    "codes_from_currents",
    "current_from_code",
    "current_range",
    "currents_from_codes",
    "current_from_weight",
    "gain_ratio_from_igain",
    "igain_from_gain_ratio",
    "ipulse_from_pulse_width",
    "itau_from_tau",
    "pulse_width_from_ipulse",
    "tau_from_itau",
    "weight_from_current",
    "CoreHighLevel",
    "CoreParameters",
]
