"""The parameter set one core shares, in three representations.

All 256 neurons of a DYNAP-SE2 core share one setting of every bias parameter. A
:class:`CoreParameters` holds that setting as the simulator's currents (amperes) and
converts it to and from

* high-level values, :class:`CoreHighLevel`: time constants, pulse widths, gain ratios,
  and the currents that have no higher-level meaning (threshold, DC, weights);
* bias codes, ``{chip parameter name: BiasCode}``, through the measured bias generator.

``print(core)`` shows a table in high-level units with the codes behind them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Mapping, Optional, Union

import numpy as np

from ..chip import (
    BIAS_PARAMETERS,
    CONSTANTS,
    DEFAULTS,
    Circuit,
    CircuitConstants,
    PulseCircuit,
)
from ..errors import ParameterValueError, UnknownParameterError
from .validate import check_positive_finite
from .biasgen import BiasCode, bias_parameter, code_from_current, current_from_code
from .convert import (
    gain_ratio_from_igain,
    igain_from_gain_ratio,
    ipulse_from_pulse_width,
    itau_from_tau,
    pulse_width_from_ipulse,
    tau_from_itau,
)

__all__ = ["OFF_TOLERANCE", "CoreHighLevel", "CoreParameters"]

OFF_TOLERANCE = 0.1
"""A DC or adaptation-weight current within 10 % of the dark current ``Io`` counts as off."""

_CIRCUITS = tuple(Circuit)
_PULSES = tuple(PulseCircuit)
_PULSE_CURRENT = {PulseCircuit.PULSE: "Ipulse", PulseCircuit.PULSE_AHP: "Ipulse_ahp", PulseCircuit.REF: "Iref"}
_PLAIN_CURRENTS = ("Ispkthr", "Idc", "If_nmda", "Iw_ahp", "Iw_0", "Iw_1", "Iw_2", "Iw_3")
_PULSE_FIELD = {PulseCircuit.PULSE: "t_pulse", PulseCircuit.PULSE_AHP: "t_pulse_ahp", PulseCircuit.REF: "t_ref"}


@dataclass(frozen=True)
class CoreHighLevel:
    """High-level parameters of one core (SI units; gains are dimensionless ratios)."""

    tau_mem: float = DEFAULTS.tau[Circuit.MEM]
    tau_ampa: float = DEFAULTS.tau[Circuit.AMPA]
    tau_nmda: float = DEFAULTS.tau[Circuit.NMDA]
    tau_gaba: float = DEFAULTS.tau[Circuit.GABA]
    tau_shunt: float = DEFAULTS.tau[Circuit.SHUNT]
    tau_ahp: float = DEFAULTS.tau[Circuit.AHP]
    t_pulse: float = DEFAULTS.pulse_width[PulseCircuit.PULSE]
    t_pulse_ahp: float = DEFAULTS.pulse_width[PulseCircuit.PULSE_AHP]
    t_ref: float = DEFAULTS.pulse_width[PulseCircuit.REF]
    gain_mem: float = DEFAULTS.gain_ratio[Circuit.MEM]
    gain_ampa: float = DEFAULTS.gain_ratio[Circuit.AMPA]
    gain_nmda: float = DEFAULTS.gain_ratio[Circuit.NMDA]
    gain_gaba: float = DEFAULTS.gain_ratio[Circuit.GABA]
    gain_shunt: float = DEFAULTS.gain_ratio[Circuit.SHUNT]
    gain_ahp: float = DEFAULTS.gain_ratio[Circuit.AHP]
    Ispkthr: float = DEFAULTS.Ispkthr
    Idc: float = DEFAULTS.Idc
    If_nmda: float = DEFAULTS.If_nmda
    Iw_ahp: float = DEFAULTS.Iw_ahp
    Iw_0: float = DEFAULTS.Iw[0]
    Iw_1: float = DEFAULTS.Iw[1]
    Iw_2: float = DEFAULTS.Iw[2]
    Iw_3: float = DEFAULTS.Iw[3]

    def __post_init__(self) -> None:
        for f in fields(self):
            unit = "seconds" if f.name.startswith(("tau_", "t_")) else (
                "dimensionless" if f.name.startswith("gain_") else "amperes"
            )
            check_positive_finite(f.name, getattr(self, f.name), unit)


def _currents_from_high_level(high: CoreHighLevel, constants: CircuitConstants) -> Dict[str, float]:
    """``{simulator current name: current (A)}`` for a high-level parameter set."""
    currents: Dict[str, float] = {}
    for c in _CIRCUITS:
        itau = itau_from_tau(getattr(high, f"tau_{c.value}"), c, constants)
        currents[f"Itau_{c.value}"] = itau
        currents[f"Igain_{c.value}"] = igain_from_gain_ratio(getattr(high, f"gain_{c.value}"), itau)
    for pc in _PULSES:
        currents[_PULSE_CURRENT[pc]] = ipulse_from_pulse_width(getattr(high, _PULSE_FIELD[pc]), pc, constants)
    for name in _PLAIN_CURRENTS:
        currents[name] = getattr(high, name)
    return currents


_CURRENT_NAMES = tuple(p.current for p in BIAS_PARAMETERS)


@dataclass(frozen=True)
class CoreParameters:
    """Every bias current one core shares (A), with the circuit constants to interpret them.

    Construct from currents (``CoreParameters(Itau_mem=5e-12, ...)``; unnamed currents take
    the default operating point under the given ``constants``), from high-level values (:meth:`from_high_level`) or from
    bias codes (:meth:`from_codes`).
    """

    Idc: Optional[float] = None
    If_nmda: Optional[float] = None
    Igain_ahp: Optional[float] = None
    Igain_ampa: Optional[float] = None
    Igain_gaba: Optional[float] = None
    Igain_nmda: Optional[float] = None
    Igain_shunt: Optional[float] = None
    Igain_mem: Optional[float] = None
    Ipulse_ahp: Optional[float] = None
    Ipulse: Optional[float] = None
    Iref: Optional[float] = None
    Ispkthr: Optional[float] = None
    Itau_ahp: Optional[float] = None
    Itau_ampa: Optional[float] = None
    Itau_gaba: Optional[float] = None
    Itau_nmda: Optional[float] = None
    Itau_shunt: Optional[float] = None
    Itau_mem: Optional[float] = None
    Iw_0: Optional[float] = None
    Iw_1: Optional[float] = None
    Iw_2: Optional[float] = None
    Iw_3: Optional[float] = None
    Iw_ahp: Optional[float] = None
    constants: CircuitConstants = field(default=CONSTANTS, compare=True)

    def __post_init__(self) -> None:
        defaults = None
        for name in _CURRENT_NAMES:
            value = getattr(self, name)
            if value is None:  # the default operating point, under this core's constants
                if defaults is None:
                    defaults = _currents_from_high_level(CoreHighLevel(), self.constants)
                value = defaults[name]
            check_positive_finite(name, value, "amperes")
            object.__setattr__(self, name, float(np.asarray(value)))

    # --- construction ------------------------------------------------------------------

    @classmethod
    def from_high_level(
        cls,
        high: Optional[CoreHighLevel] = None,
        constants: CircuitConstants = CONSTANTS,
        **overrides: float,
    ) -> "CoreParameters":
        """Currents from high-level values.

        Args:
            high: a :class:`CoreHighLevel`; default values where omitted.
            constants: circuit constants used by the conversions.
            **overrides: fields of :class:`CoreHighLevel` to replace, e.g. ``tau_mem=30e-3``.

        Raises:
            UnknownParameterError: for an override that is not a high-level field.
            ParameterValueError: for non-positive, NaN or inf values.
        """
        high = high or CoreHighLevel()
        valid = [f.name for f in fields(CoreHighLevel)]
        for key in overrides:
            if key not in valid:
                raise UnknownParameterError("high-level parameter", key, valid)
        high = dataclasses.replace(high, **overrides)
        currents = _currents_from_high_level(high, constants)
        return cls(constants=constants, **currents)

    @classmethod
    def from_codes(
        cls, codes: Mapping[str, Union[BiasCode, tuple]], constants: CircuitConstants = CONSTANTS
    ) -> "CoreParameters":
        """Currents from ``{chip parameter name: BiasCode}``, through the measured bias generator.

        Every parameter of :data:`~rockpool_dynapse2.chip.BIAS_PARAMETERS` must be present;
        simulator current names are accepted as keys too.

        Raises:
            UnknownParameterError: for a name the chip does not have.
            ParameterValueError: if a parameter is missing.
            BiasCodeError: for codes out of range.
        """
        currents: Dict[str, float] = {}
        for key, code in codes.items():
            p = bias_parameter(key)
            if p.current in currents:
                raise ParameterValueError("codes", f"one code per bias parameter ({p.name} is given twice)", key)
            currents[p.current] = current_from_code(p, code)
        missing = [p.name for p in BIAS_PARAMETERS if p.current not in currents]
        if missing:
            raise ParameterValueError("codes", f"a code for every bias parameter (missing: {', '.join(missing)})", len(codes))
        return cls(constants=constants, **currents)

    # --- conversion ----------------------------------------------------------------------

    def currents(self) -> Dict[str, float]:
        """``{simulator current name: current (A)}`` for every bias parameter."""
        return {name: getattr(self, name) for name in _CURRENT_NAMES}

    def high_level(self) -> CoreHighLevel:
        """The high-level values these currents stand for."""
        values: Dict[str, float] = {}
        for c in _CIRCUITS:
            itau = getattr(self, f"Itau_{c.value}")
            values[f"tau_{c.value}"] = float(tau_from_itau(itau, c, self.constants))
            values[f"gain_{c.value}"] = float(gain_ratio_from_igain(getattr(self, f"Igain_{c.value}"), itau))
        for pc in _PULSES:
            values[_PULSE_FIELD[pc]] = float(
                pulse_width_from_ipulse(getattr(self, _PULSE_CURRENT[pc]), pc, self.constants)
            )
        for name in _PLAIN_CURRENTS:
            values[name] = getattr(self, name)
        return CoreHighLevel(**values)

    def to_codes(self, clip: bool = False) -> Dict[str, BiasCode]:
        """``{chip parameter name: nearest BiasCode}`` for every bias parameter.

        Args:
            clip: saturate currents outside a branch's range instead of raising
                :class:`~rockpool_dynapse2.errors.CurrentRangeError`.
        """
        return {p.name: code_from_current(p, getattr(self, p.current), clip) for p in BIAS_PARAMETERS}

    @property
    def dc_on(self) -> bool:
        """Whether the DC input is on: ``Idc`` more than :data:`OFF_TOLERANCE` above ``Io``.

        On the chip a per-neuron latch (``latch_so_dc``) switches the DC current off.
        """
        return self.Idc > self.constants.Io * (1 + OFF_TOLERANCE)

    @property
    def adaptation_on(self) -> bool:
        """Whether spike-frequency adaptation is on: ``Iw_ahp`` more than :data:`OFF_TOLERANCE`
        above ``Io`` (on the chip, the latch ``latch_so_adaptation``)."""
        return self.Iw_ahp > self.constants.Io * (1 + OFF_TOLERANCE)

    def quantized(self, clip: bool = False) -> "CoreParameters":
        """The currents the chip actually produces: each current rounded to its nearest code,
        except that a DC input or adaptation weight that is off (see :attr:`dc_on`,
        :attr:`adaptation_on`) stays exactly ``Io``: the chip switches it off by a latch."""
        q = CoreParameters.from_codes(self.to_codes(clip), self.constants)
        off = {}
        if not self.dc_on:
            off["Idc"] = self.constants.Io
        if not self.adaptation_on:
            off["Iw_ahp"] = self.constants.Io
        return q.replace(**off) if off else q

    def replace(self, **changes: Any) -> "CoreParameters":
        """A copy with some currents replaced (validated).

        Raises:
            UnknownParameterError: for a name that is not a current of the core.
        """
        for key in changes:
            if key not in _CURRENT_NAMES and key != "constants":
                raise UnknownParameterError("core current", key, _CURRENT_NAMES)
        return dataclasses.replace(self, **changes)

    # --- display -------------------------------------------------------------------------

    def table(self) -> str:
        """A readable table: every parameter in high-level units, its current, and the code behind it."""
        high = self.high_level()
        rows = [("parameter", "value", "chip parameter", "current", "code", "code current", "error")]
        for p in BIAS_PARAMETERS:
            current = getattr(self, p.current)
            hl_name, hl_value = _high_level_of(p.current, high)
            try:
                code = code_from_current(p, current)
                code_current = current_from_code(p, code)
                code_s = f"({code.coarse}, {code.fine:3d})"
                cur_s = _si(code_current, "A")
                err_s = f"{(code_current - current) / current:+.1%}"
            except ParameterValueError:
                code_s, cur_s, err_s = "out of range", "-", "-"
            rows.append((hl_name, hl_value, p.name, _si(current, "A"), code_s, cur_s, err_s))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _high_level_of(current: str, high: CoreHighLevel):
    """(high-level name, formatted value) of the quantity a current sets."""
    if current.startswith("Itau_"):
        name = "tau_" + current[5:]
        return name, _si(getattr(high, name), "s")
    if current.startswith("Igain_"):
        name = "gain_" + current[6:]
        return name, f"{getattr(high, name):.4g}"
    pulse = {v: k for k, v in _PULSE_CURRENT.items()}.get(current)
    if pulse is not None:
        name = _PULSE_FIELD[pulse]
        return name, _si(getattr(high, name), "s")
    return current, _si(getattr(high, current), "A")


_PREFIXES = ((1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, ""))


def _si(value: float, unit: str) -> str:
    """``value`` with an SI prefix, e.g. 5.32e-12 -> '5.32 pA'."""
    for scale, prefix in reversed(_PREFIXES):
        if abs(value) >= scale:
            return f"{value / scale:.4g} {prefix}{unit}"
    return f"{value:.3g} {unit}"
