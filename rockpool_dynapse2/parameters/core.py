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
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union


from ..chip import (
    BIAS_PARAMETERS,
    BIAS_SETTING,
    CONSTANTS,
    HIGH_LEVEL_BIASES,
    BiasParameter,
    CircuitConstants,
    Quantity,
)
from ..errors import ParameterValueError, UnknownParameterError
from .validate import flag, instance, mapping, real_number
from .biasgen import BiasCode, bias_parameter, code_from_current, current_from_code
from .convert import (
    gain_ratio_from_igain,
    igain_from_gain_ratio,
    ipulse_from_pulse_width,
    itau_from_tau,
    pulse_width_from_ipulse,
    tau_from_itau,
)

__all__ = ["OFF_TOLERANCE", "CoreHighLevel", "CoreParameters", "currents_from_high_level"]

OFF_TOLERANCE = 0.1
"""A DC or adaptation-weight current within 10 % of the dark current ``Io`` counts as off."""

_CURRENT_NAMES = tuple(p.current for p in BIAS_PARAMETERS)


def _declared_fields(declared: Sequence[Tuple[str, Any, Any]]) -> Callable[[type], type]:
    """Class decorator, applied under ``@dataclass``: the fields ``(name, type, default)``
    come first, before the fields the class body declares. The fields derived from
    :data:`~rockpool_dynapse2.chip.BIAS_PARAMETERS` are so written nowhere else."""

    def add(cls: type) -> type:
        own = dict(cls.__dict__.get("__annotations__", {}))
        cls.__annotations__ = {**{name: kind for name, kind, _ in declared}, **own}
        for name, _, default in declared:
            setattr(cls, name, default)
        return cls

    return add


@dataclass(frozen=True)
@_declared_fields([(p.high_level_name, float, p.default) for p in HIGH_LEVEL_BIASES])
class CoreHighLevel:
    """High-level parameters of one core (SI units; gains are dimensionless ratios).

    One field per bias parameter of :data:`~rockpool_dynapse2.chip.BIAS_PARAMETERS`, named
    by what it sets (:attr:`~rockpool_dynapse2.chip.BiasParameter.high_level_name`), with
    the bias's default: the time constants ``tau_mem``, ``tau_ampa``, ``tau_nmda``,
    ``tau_gaba``, ``tau_shunt``, ``tau_ahp`` (s); the pulse widths ``t_pulse``,
    ``t_pulse_ahp`` and the refractory period ``t_ref`` (s); the gain ratios ``gain_mem``,
    ``gain_ampa``, ..., ``gain_ahp``; and the currents without a higher-level meaning,
    ``Idc``, ``Ispkthr``, ``Iw_ahp``, ``If_nmda``, ``Iw_0``..``Iw_3`` (A).
    """

    def __post_init__(self) -> None:
        for p in HIGH_LEVEL_BIASES:
            value = real_number(p.high_level_name, getattr(self, p.high_level_name), low=0.0, low_open=True, unit=p.sets.unit)
            object.__setattr__(self, p.high_level_name, value)


def currents_from_high_level(high: Any, constants: CircuitConstants = CONSTANTS) -> Dict[str, Any]:
    """``{simulator current name: current (A)}`` for a high-level parameter set.

    Args:
        high: a :class:`CoreHighLevel`, or any object with its fields as attributes,
            each a float or an array (numpy, jax, torch: the conversions are plain
            arithmetic, so the training library calls this on arrays of cores).
        constants: the circuit constants of the conversions.
    """
    itau = {
        p.circuit: itau_from_tau(getattr(high, p.high_level_name), p.circuit, constants)
        for p in BIAS_PARAMETERS
        if p.sets is Quantity.TAU
    }
    currents: Dict[str, float] = {}
    for p in BIAS_PARAMETERS:
        value = getattr(high, p.high_level_name)
        if p.sets is Quantity.TAU:
            value = itau[p.circuit]
        elif p.sets is Quantity.GAIN_RATIO:
            value = igain_from_gain_ratio(value, itau[p.circuit])
        elif p.sets is Quantity.PULSE_WIDTH:
            value = ipulse_from_pulse_width(value, p.circuit, constants)
        currents[p.current] = value
    return currents


@dataclass(frozen=True)
@_declared_fields([(p.current, Optional[float], None) for p in BIAS_PARAMETERS])
class CoreParameters:
    """Every bias current one core shares (A), with the circuit constants to interpret them.

    One field per bias parameter of :data:`~rockpool_dynapse2.chip.BIAS_PARAMETERS`, named
    by its simulator current (``Idc``, ``Itau_mem``, ``Igain_mem``, ..., ``Iw_3``), then
    ``constants``.

    Construct from currents (``CoreParameters(Itau_mem=5e-12, ...)``; unnamed currents take
    the default operating point under the given ``constants``), from high-level values (:meth:`from_high_level`) or from
    bias codes (:meth:`from_codes`).
    """

    constants: CircuitConstants = field(default=CONSTANTS, compare=True)

    def __post_init__(self) -> None:
        _check_constants(self.constants)
        defaults = None
        for name in _CURRENT_NAMES:
            value = getattr(self, name)
            if value is None:  # the default operating point, under this core's constants
                if defaults is None:
                    defaults = currents_from_high_level(CoreHighLevel(), self.constants)
                value = defaults[name]
            object.__setattr__(self, name, real_number(name, value, low=0.0, low_open=True, unit="amperes"))

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
        _check_constants(constants)
        high = CoreHighLevel() if high is None else instance("high", high, CoreHighLevel, "a CoreHighLevel (or None: the defaults)")
        valid = [f.name for f in fields(CoreHighLevel)]
        for key in overrides:
            if key not in valid:
                raise UnknownParameterError("high-level parameter", key, valid)
        high = dataclasses.replace(high, **overrides)
        currents = currents_from_high_level(high, constants)
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
        mapping("codes", codes, "a mapping {chip parameter name: BiasCode or (coarse, fine)}")
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
        for p in BIAS_PARAMETERS:
            current = getattr(self, p.current)
            if p.sets is Quantity.TAU:
                current = float(tau_from_itau(current, p.circuit, self.constants))
            elif p.sets is Quantity.GAIN_RATIO:
                current = float(gain_ratio_from_igain(current, getattr(self, BIAS_SETTING[Quantity.TAU, p.circuit].current)))
            elif p.sets is Quantity.PULSE_WIDTH:
                current = float(pulse_width_from_ipulse(current, p.circuit, self.constants))
            values[p.high_level_name] = current
        return CoreHighLevel(**values)

    def to_codes(self, clip: bool = False) -> Dict[str, BiasCode]:
        """``{chip parameter name: nearest BiasCode}`` for every bias parameter.

        Args:
            clip: saturate currents outside a branch's range instead of raising
                :class:`~rockpool_dynapse2.errors.CurrentRangeError`.
        """
        clip = flag("clip", clip)
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
            hl_name, hl_value = p.high_level_name, _high_level_text(p, high)
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


def _check_constants(constants: Any) -> None:
    """Raise :class:`ParameterValueError` unless ``constants`` is a :class:`CircuitConstants`
    of positive, finite numbers."""
    instance("constants", constants, CircuitConstants)
    for f in fields(constants):
        real_number(f"constants.{f.name}", getattr(constants, f.name), low=0.0, low_open=True)


def _high_level_text(p: BiasParameter, high: CoreHighLevel) -> str:
    """The high-level value a bias sets, formatted with its unit."""
    value = getattr(high, p.high_level_name)
    if p.sets is Quantity.GAIN_RATIO:
        return f"{value:.4g}"
    return _si(value, "A" if p.sets is Quantity.CURRENT else "s")


_PREFIXES = ((1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, ""))


def _si(value: float, unit: str) -> str:
    """``value`` with an SI prefix, e.g. 5.32e-12 -> '5.32 pA'."""
    for scale, prefix in reversed(_PREFIXES):
        if abs(value) >= scale:
            return f"{value / scale:.4g} {prefix}{unit}"
    return f"{value:.3g} {unit}"
