"""The bad-input census (issue #16, items 1, 5 and 8): the public callables of the
parameters, simulation, transform, training and mapping layers, each argument tried with
the standard bad values, each outcome asserted.

Every case either raises its named error (a ``Dynapse2Error`` subclass, whose message
follows the grammar "`name` must be <rule>; got <value>") or, where the value is
legitimate, returns a result that a check proves correct (not merely "no exception").

How to add a case
-----------------
* One argument over the standard bad values (:data:`BAD`: None, a string, a boolean, a
  complex number, an object array, float16, a nested list, NaN, inf, a negative number,
  0, 1e300, 1e-300, a wrong shape, an empty array): add to the table of its layer

      *sweep(name_of_callable, lambda v: callable(..., argument=v), default_error, kind=outcome, ...)

  where ``default_error`` is the error of every value not listed, and each
  ``kind=outcome`` overrides one value's outcome: another error class, or
  ``Accepted(check)`` with ``check(value, result)`` asserting the result. ``values={kind:
  value}`` replaces a standard value by one that suits the argument (e.g. a wrong shape
  that is wrong for this argument); ``omit=(kind, ...)`` leaves values out, only where a
  legitimate value would run something slow (a calibration) and is tested elsewhere.
* A single value: ``Case(id, call, value, outcome)``.
* The id's first word names the public callable; :func:`test_every_public_callable_is_in_the_census`
  fails for a public callable of these layers without a case, so a new entry point
  needs its rows (or an entry in :data:`NOT_CALLABLE` saying why it takes no input).

Sizes are small (N = 2..4, T = 5) and a jax module is built only where a value is
accepted, so the census runs in seconds after jax is loaded.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Sequence, Type, Union

import numpy as np
import pytest

from rockpool_dynapse2.chip import CONSTANTS, CircuitConstants, Transistor
from rockpool_dynapse2.errors import (
    BiasCodeError,
    CalibrationError,
    CurrentRangeError,
    Dynapse2Error,
    MappingError,
    ParameterValueError,
    ShapeError,
    UnknownParameterError,
)

PVE, SE, UPE, BCE = ParameterValueError, ShapeError, UnknownParameterError, BiasCodeError


@dataclass(frozen=True)
class Accepted:
    """The value is legitimate: ``check(value, result)`` asserts that the result is correct."""

    check: Callable[[Any, Any], Any]


Outcome = Union[Type[Dynapse2Error], Accepted]


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[Any], Any]
    value: Any
    expect: Outcome


@dataclass(frozen=True)
class Lazy:
    """A value built when its case runs (it needs torch, or the package's defaults)."""

    build: Callable[[], Any]


BAD: Dict[str, Any] = {
    "none": None,
    "str": "x",
    "bool": True,
    "complex": 1 + 2j,
    "object": np.array([object()]),
    "float16": np.float16(0.01),
    "nested": [[0.01]],
    "nan": math.nan,
    "inf": math.inf,
    "neg": -1.0,
    "zero": 0.0,
    "huge": 1e300,
    "tiny": 1e-300,
    "shape": np.full((2, 3), 0.01),
    "empty": np.array([]),
}
"""The standard bad values, by kind."""


def sweep(name: str, call: Callable[[Any], Any], default: Outcome = PVE, *, values: Dict[str, Any] = None,
          omit: Sequence[str] = (), **expect: Outcome) -> List[Case]:
    """One case per standard value: ``expect[kind]`` where given, else ``default``."""
    values = {k: v for k, v in {**BAD, **(values or {})}.items() if k not in omit}
    assert not set(expect) - set(values), f"{name}: outcomes for unknown kinds {set(expect) - set(values)}"
    return [Case(f"{name}[{kind}]", call, value, expect.get(kind, default)) for kind, value in values.items()]


# --- checks of accepted values ------------------------------------------------------------------


def close(expected: Callable[[Any], Any], rtol: float = 1e-12) -> Accepted:
    """The result equals ``expected(value)``, computed independently in float64."""

    def check(value: Any, result: Any) -> None:
        want = np.asarray(expected(value), dtype=np.float64)
        got = np.asarray(result, dtype=np.float64)
        assert got.shape == want.shape, (got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=0)

    return Accepted(check)


def f64(v: Any) -> np.ndarray:
    return np.asarray(v, dtype=np.float64)


def attribute(name: str, expected: Callable[[Any], Any]) -> Accepted:
    """``result.<name>`` equals ``expected(value)``."""

    def check(value: Any, result: Any) -> None:
        got, want = getattr(result, name), expected(value)
        if isinstance(want, (float, np.floating, np.ndarray)):
            np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64), rtol=1e-6, atol=0)
        else:
            assert got == want, (got, want)

    return Accepted(check)


KAPPA = (CONSTANTS.kappa_n + CONSTANTS.kappa_p) / 2


def dpi(capacitance: float) -> Callable[[Any], Any]:
    """The DPI relation ``Ut C / (kappa x)`` in float64 (its own inverse)."""
    return lambda x: CONSTANTS.Ut * capacitance / (KAPPA * f64(x))


def pulse(capacitance: float) -> Callable[[Any], Any]:
    """The pulse relation ``Vth C / x`` in float64 (its own inverse)."""
    return lambda x: CONSTANTS.Vth * capacitance / f64(x)


# =================================================================================================
# parameters
# =================================================================================================

from rockpool_dynapse2 import parameters as P  # noqa: E402

POSITIVE_ARRAY = dict(  # a conversion of positive values of any shape (numbers, arrays, lists)
    float16=None, nested=None, huge=None, tiny=None, shape=None, empty=None,
)


def positive_array(name: str, call: Callable[[Any], Any], formula: Callable[[Any], Any]) -> List[Case]:
    """A conversion of positive values: real numbers of any shape pass (half precision is
    computed in float64); None, strings, booleans, complex, objects, NaN, inf, <= 0 do not."""
    ok = close(formula)
    return sweep(name, call, PVE, **{k: ok for k in POSITIVE_ARRAY})


PARAMETER_CASES: List[Case] = [
    *positive_array("itau_from_tau", lambda v: P.itau_from_tau(v, "mem"), dpi(CONSTANTS.C_mem)),
    *positive_array("tau_from_itau", lambda v: P.tau_from_itau(v, "ampa"), dpi(CONSTANTS.C_ampa)),
    *positive_array("ipulse_from_pulse_width", lambda v: P.ipulse_from_pulse_width(v, "ref"), pulse(CONSTANTS.C_ref)),
    *positive_array("pulse_width_from_ipulse", lambda v: P.pulse_width_from_ipulse(v, "pulse"), pulse(CONSTANTS.C_pulse)),
    *positive_array("igain_from_gain_ratio", lambda v: P.igain_from_gain_ratio(v, 1e-12), lambda v: f64(v) * 1e-12),
    *sweep("gain_ratio_from_igain", lambda v: P.gain_ratio_from_igain(v, 1e-12), PVE,  # 1e300 / 1e-12 overflows: refused
           **{k: close(lambda v: f64(v) / 1e-12) for k in POSITIVE_ARRAY if k != "huge"}),
    *sweep("igain_from_gain_ratio.itau", lambda v: P.igain_from_gain_ratio(2.0, v), PVE,
           float16=close(lambda v: 2 * f64(v)), nested=close(lambda v: 2 * f64(v)), huge=close(lambda v: 2 * f64(v)),
           tiny=close(lambda v: 2 * f64(v)), shape=close(lambda v: 2 * f64(v)), empty=close(lambda v: 2 * f64(v))),
    # the input is fine, the result is not: refused rather than an infinite or zero current
    Case("itau_from_tau[denormal]", lambda v: P.itau_from_tau(v, "mem"), 5e-323, PVE),
    Case("tau_from_itau[denormal]", lambda v: P.tau_from_itau(v, "mem"), 5e-323, PVE),
    Case("igain_from_gain_ratio[overflow]", lambda v: P.igain_from_gain_ratio(v, 1e10), 1e300, PVE),
    Case("itau_from_tau[torch float16]", lambda v: P.itau_from_tau(v, "mem"), Lazy(lambda: __import__("torch").tensor([0.01], dtype=__import__("torch").float16)),
         Accepted(lambda v, r: np.testing.assert_allclose(float(r[0]), dpi(CONSTANTS.C_mem)(0.01), rtol=1e-3))),
    # circuits are names
    *sweep("itau_from_tau.circuit", lambda v: P.itau_from_tau(0.01, v), UPE),
    *sweep("ipulse_from_pulse_width.circuit", lambda v: P.ipulse_from_pulse_width(1e-5, v), UPE),
    # weights are signed and finite; Iscale positive
    *sweep("current_from_weight", lambda v: P.current_from_weight(v, 1e-8), PVE,
           **{k: close(lambda v: f64(v) * 1e-8) for k in ("float16", "nested", "neg", "zero", "huge", "tiny", "shape", "empty")}),
    *sweep("current_from_weight.Iscale", lambda v: P.current_from_weight(0.5, v), PVE,
           **{k: close(lambda v: 0.5 * f64(v)) for k in ("float16", "nested", "huge", "tiny", "shape", "empty")}),
    Case("current_from_weight[overflow]", lambda v: P.current_from_weight(v, 1e10), 1e300, PVE),
    *sweep("weight_from_current", lambda v: P.weight_from_current(v, 1e-8), PVE,
           **{k: close(lambda v: f64(v) / 1e-8) for k in ("float16", "nested", "neg", "zero", "huge", "tiny", "shape", "empty")}),
    *sweep("weight_from_current.Iscale", lambda v: P.weight_from_current(1e-9, v), PVE,
           **{k: close(lambda v: 1e-9 / f64(v)) for k in ("float16", "nested", "huge", "tiny", "shape", "empty")}),
    # names of bias parameters
    *sweep("bias_parameter", P.bias_parameter, UPE),
    *sweep("current_range", P.current_range, UPE),
    Case("current_range[chip name]", P.current_range, "SOIF_LEAK_N",
         Accepted(lambda v, r: r == P.current_range("Itau_mem") and 0 < r[0] < r[1])),
    # one current -> one code
    *sweep("code_from_current", lambda v: P.code_from_current("Iw_0", v), PVE,
           values=dict(float16=np.float16(1e-7), nested=[[1e-9]]),
           float16=Accepted(lambda v, r: r == P.code_from_current("Iw_0", float(v))),
           nested=Accepted(lambda v, r: r == P.code_from_current("Iw_0", 1e-9)),
           huge=CurrentRangeError, tiny=CurrentRangeError, shape=SE, empty=SE),
    *sweep("code_from_current.clip", lambda v: P.code_from_current("Iw_0", 1e-3, clip=v), PVE,
           bool=Accepted(lambda v, r: r == P.code_from_current("Iw_0", P.current_range("Iw_0")[1]))),
    *sweep("codes_from_currents", lambda v: P.codes_from_currents("Iw_0", v), PVE,
           values=dict(float16=np.float16(1e-7), nested=[[1e-9]], shape=np.full((2, 3), 1e-9)),
           float16=Accepted(lambda v, r: (int(r.coarse), int(r.fine)) == tuple(P.code_from_current("Iw_0", float(v)))),
           nested=Accepted(lambda v, r: r.coarse.shape == (1, 1) and (int(r.coarse[0, 0]), int(r.fine[0, 0])) == tuple(P.code_from_current("Iw_0", 1e-9))),
           huge=CurrentRangeError, tiny=CurrentRangeError,
           shape=Accepted(lambda v, r: r.coarse.shape == (2, 3) and (r.fine == P.code_from_current("Iw_0", 1e-9).fine).all()),
           empty=Accepted(lambda v, r: r.coarse.shape == (0,) and r.fine.shape == (0,))),
    *sweep("codes_from_currents.clip", lambda v: P.codes_from_currents("Iw_0", [1e-9], clip=v), PVE,
           bool=Accepted(lambda v, r: int(r.fine[0]) == P.code_from_current("Iw_0", 1e-9).fine)),
    *sweep("code_relative_error", lambda v: P.code_relative_error("Itau_mem", v), PVE,
           values=dict(float16=np.float16(1e-7), nested=[[1e-11]], shape=np.full((2, 3), 1e-11)),
           float16=Accepted(lambda v, r: abs(float(r)) < 0.05), nested=Accepted(lambda v, r: r.shape == (1, 1) and abs(r).max() < 0.05),
           huge=CurrentRangeError, tiny=CurrentRangeError,
           shape=Accepted(lambda v, r: r.shape == (2, 3) and abs(r).max() < 0.05), empty=Accepted(lambda v, r: r.shape == (0,))),
    # codes -> currents
    *sweep("current_from_code", lambda v: P.current_from_code("SOIF_LEAK_N", v), PVE, shape=BCE),
    Case("current_from_code[coarse 6]", lambda v: P.current_from_code("SOIF_LEAK_N", v), (6, 0), BCE),
    Case("current_from_code[fine 256]", lambda v: P.current_from_code("SOIF_LEAK_N", v), (0, 256), BCE),
    Case("current_from_code[float]", lambda v: P.current_from_code("SOIF_LEAK_N", v), (2.0, 1), BCE),
    Case("current_from_code[boolean coarse]", lambda v: P.current_from_code("SOIF_LEAK_N", v), (True, 1), BCE),
    Case("current_from_code[numpy ints]", lambda v: P.current_from_code("SOIF_LEAK_N", v), (np.int64(2), np.uint8(7)),
         Accepted(lambda v, r: r == P.current_from_code("SOIF_LEAK_N", P.BiasCode(2, 7)) > 0)),
    *sweep("currents_from_codes.coarse", lambda v: P.currents_from_codes("Itau_mem", v, 3), BCE),
    *sweep("currents_from_codes.fine", lambda v: P.currents_from_codes("Itau_mem", 1, v), BCE),
    Case("currents_from_codes[shapes]", lambda v: P.currents_from_codes("Itau_mem", *v), (np.zeros(2, int), np.zeros(3, int)), SE),
    Case("currents_from_codes[arrays]", lambda v: P.currents_from_codes("Itau_mem", *v), (np.array([0, 5]), np.array([3, 200])),
         Accepted(lambda v, r: list(r) == [P.current_from_code("Itau_mem", (0, 3)), P.current_from_code("Itau_mem", (5, 200))])),
    *sweep("BiasCode.coarse", lambda v: P.BiasCode(v, 3), BCE),
    *sweep("BiasCode.fine", lambda v: P.BiasCode(3, v), BCE),
    Case("BiasCode[numpy ints]", lambda v: P.BiasCode(*v), (np.int32(5), np.int64(255)),
         Accepted(lambda v, r: (r.coarse, r.fine) == (5, 255) and type(r.coarse) is int)),
    # a core's parameter set: one positive number per field
    *sweep("CoreHighLevel", lambda v: P.CoreHighLevel(tau_mem=v), PVE,
           float16=attribute("tau_mem", float), huge=attribute("tau_mem", float), tiny=attribute("tau_mem", float)),
    *sweep("CoreParameters", lambda v: P.CoreParameters(Itau_mem=v), PVE,
           none=attribute("Itau_mem", lambda v: P.CoreParameters().Itau_mem),
           float16=attribute("Itau_mem", float), huge=attribute("Itau_mem", float), tiny=attribute("Itau_mem", float)),
    *sweep("CoreParameters.constants", lambda v: P.CoreParameters(constants=v), PVE),
    Case("CoreParameters.constants[negative C]", lambda v: P.CoreParameters(constants=v), CircuitConstants(C_mem=-1e-12), PVE),
    Case("CoreParameters.constants[nan Ut]", lambda v: P.CoreParameters(constants=v), CircuitConstants(Ut=math.nan), PVE),
    Case("CoreParameters.constants[other]", lambda v: P.CoreParameters(constants=v), CircuitConstants(C_mem=6e-12),
         attribute("Itau_mem", lambda v: dpi(6e-12)(P.CoreHighLevel().tau_mem))),
    *sweep("CoreParameters.from_high_level.high", lambda v: P.CoreParameters.from_high_level(v), PVE,
           none=Accepted(lambda v, r: r == P.CoreParameters())),
    *sweep("CoreParameters.from_high_level", lambda v: P.CoreParameters.from_high_level(tau_mem=v), PVE,
           float16=attribute("Itau_mem", dpi(CONSTANTS.C_mem)), huge=attribute("Itau_mem", dpi(CONSTANTS.C_mem)),
           tiny=attribute("Itau_mem", dpi(CONSTANTS.C_mem))),
    *sweep("CoreParameters.from_high_level.constants", lambda v: P.CoreParameters.from_high_level(constants=v), PVE),
    *sweep("CoreParameters.from_codes", P.CoreParameters.from_codes, PVE),
    Case("CoreParameters.from_codes[missing]", P.CoreParameters.from_codes, {"SOIF_LEAK_N": (0, 1)}, PVE),
    Case("CoreParameters.from_codes[unknown]", P.CoreParameters.from_codes, {"SOIF_LEAKY_N": (0, 1)}, UPE),
    Case("CoreParameters.from_codes[round trip]", P.CoreParameters.from_codes, Lazy(lambda: P.CoreParameters().to_codes()),
         Accepted(lambda v, r: r.to_codes() == P.CoreParameters().to_codes())),
    *sweep("CoreParameters.to_codes", lambda v: P.CoreParameters(Itau_mem=1.0).to_codes(clip=v), PVE,
           bool=Accepted(lambda v, r: r["SOIF_LEAK_N"] == P.code_from_current("Itau_mem", P.current_range("Itau_mem")[1]))),
    *sweep("CoreParameters.quantized", lambda v: P.CoreParameters().quantized(clip=v), PVE,
           bool=Accepted(lambda v, r: r.to_codes() == P.CoreParameters().to_codes())),
    *sweep("CoreParameters.replace", lambda v: P.CoreParameters().replace(Idc=v), PVE,
           none=attribute("Idc", lambda v: P.CoreParameters().Idc), float16=attribute("Idc", float),
           huge=attribute("Idc", float), tiny=attribute("Idc", float)),
    *sweep("BiasTable", lambda v: P.BiasTable(v, "census"), PVE),
    Case("BiasTable[wrong shape]", lambda v: P.BiasTable(v, "census"), {t: np.ones((6, 255)) for t in Transistor}, SE),
    Case("BiasTable[negative]", lambda v: P.BiasTable(v, "census"), Lazy(lambda: {t: -P.bias_table().currents[t] for t in Transistor}), PVE),
    Case("BiasTable[repeated]", lambda v: P.BiasTable(v, "census"), {t: np.ones((6, 256)) for t in Transistor}, PVE),
    Case("BiasTable[one type]", lambda v: P.BiasTable(v, "census"), Lazy(lambda: {Transistor.N: P.bias_table().currents[Transistor.N]}), PVE),
    Case("BiasTable[copy]", lambda v: P.BiasTable(v, "census"), Lazy(lambda: dict(P.bias_table().currents)),
         Accepted(lambda v, r: all((r.currents[t] == P.bias_table().currents[t]).all() for t in Transistor))),
]




# =================================================================================================
# simulation
# =================================================================================================

from rockpool_dynapse2 import simulation as S  # noqa: E402

X = np.full((5, 3), 0.5, dtype=np.float32)
"""The input of the accepted calls: 5 steps of 3 channels (one compilation in JAX)."""

BACKENDS = {"jax": lambda: S.DynapSimJax, "torch": lambda: S.DynapSimTorch}


@functools.lru_cache(maxsize=None)
def built(backend: str) -> Any:
    """A module of 3 neurons at the default operating point, built once per backend."""
    return BACKENDS[backend]()(3)


def final_imem(backend: str, x: Any) -> np.ndarray:
    """The membrane currents after a run of ``x`` from rest (float64)."""
    mod = built(backend).reset_state()
    _, state, _ = mod(x)
    return np.asarray(state["imem"].detach() if hasattr(state["imem"], "detach") else state["imem"], dtype=np.float64)


def same_run(backend: str, reference: Any) -> Accepted:
    """The call returned ``(spikes, state, record)`` whose membrane equals a run of ``reference``."""

    def check(value: Any, result: Any) -> None:
        imem = result[1]["imem"]
        imem = np.asarray(imem.detach() if hasattr(imem, "detach") else imem, dtype=np.float64)
        np.testing.assert_allclose(imem, final_imem(backend, reference), rtol=1e-6)
        assert not np.allclose(imem, final_imem(backend, np.zeros_like(X)), rtol=1e-3, atol=0), "the input must move the membrane"

    return Accepted(check)


def values_of(name: str, expected: Callable[[Any], Any]) -> Accepted:
    """The module's ``name`` (every neuron's) equals ``expected(value)`` in float32."""

    def check(value: Any, mod: Any) -> None:
        got = getattr(mod, name)
        got = np.asarray(got.detach() if hasattr(got, "detach") else got, dtype=np.float64)
        np.testing.assert_allclose(got, np.broadcast_to(np.asarray(expected(value), np.float64), got.shape), rtol=1e-6)

    return Accepted(check)


def max_spikes(mod: Any, name: str = "max_spikes_per_dt") -> float:
    """A module's ``max_spikes_per_dt`` or another static setting (static configuration in
    JAX, a simulation parameter in torch)."""
    static = dict(getattr(mod, "_static", ()))
    return float(static[name] if static else getattr(mod, name))


FEEDBACK_SHARE = Accepted(lambda v, m: max_spikes(m, "feedback_gradient") == float(v))
"""A module keeps the ``feedback_gradient`` it was given, as a float."""


def simulation_cases(backend: str) -> List[Case]:
    cls = BACKENDS[backend]
    b = backend
    return [
        *sweep(f"{b}.shape", lambda v: cls()(v), SE),
        Case(f"{b}.shape[numpy int]", lambda v: cls()(v), np.int64(3), Accepted(lambda v, m: m.size_out == 3 and m.size_in == 3)),
        Case(f"{b}.shape[typed]", lambda v: cls()(v), (12, 3), Accepted(lambda v, m: (m.size_in, m.size_out, m.signed) == (12, 3, False))),
        *sweep(f"{b}.dt", lambda v: cls()(3, dt=v), PVE, float16=attribute("dt", float)),
        *sweep(f"{b}.Iscale", lambda v: cls()(3, Iscale=v), PVE,
               none=values_of("Iscale", lambda v: 1e-8), float16=values_of("Iscale", float)),
        *sweep(f"{b}.Itau_mem", lambda v: cls()(3, Itau_mem=v), PVE, values=dict(float16=np.float16(1e-7)),
               float16=values_of("Itau_mem", float), nested=SE, shape=SE, empty=SE),
        Case(f"{b}.Itau_mem[list]", lambda v: cls()(3, Itau_mem=v), [1e-12, 2e-12, 3e-12], values_of("Itau_mem", f64)),
        Case(f"{b}.Itau_syn[alias]", lambda v: cls()(3, Itau_syn=v), 2e-12, values_of("Itau_gaba", float)),
        Case(f"{b}.Itau_foo", lambda v: cls()(3, Itau_foo=v), 1e-12, UPE),
        *sweep(f"{b}.w_rec", lambda v: cls()(3, w_rec=v), SE, none=Accepted(lambda v, m: not m.has_rec),
               str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE),
        Case(f"{b}.w_rec[float16 array]", lambda v: cls()(3, w_rec=v), np.full((3, 3), 0.5, np.float16), values_of("w_rec", lambda v: 0.5)),
        Case(f"{b}.w_rec[list of lists]", lambda v: cls()(3, w_rec=v), [[0.5, -0.5, 0.0]] * 3,
             values_of("w_rec", lambda v: np.asarray(v))),
        Case(f"{b}.w_rec[1e300]", lambda v: cls()(3, w_rec=v), np.full((3, 3), 1e300), PVE),
        *sweep(f"{b}.max_spikes_per_dt", lambda v: cls()(3, max_spikes_per_dt=v), PVE,
               inf=Accepted(lambda v, m: max_spikes(m) == v), huge=Accepted(lambda v, m: max_spikes(m) == v)),
        *sweep(f"{b}.feedback_gradient", lambda v: cls()(3, feedback_gradient=v), PVE,
               float16=FEEDBACK_SHARE, zero=FEEDBACK_SHARE, tiny=FEEDBACK_SHARE),
        Case(f"{b}.feedback_gradient[half]", lambda v: cls()(3, feedback_gradient=v), 0.5, FEEDBACK_SHARE),
        Case(f"{b}.feedback_gradient[above one]", lambda v: cls()(3, feedback_gradient=v), 1.5, PVE),
        *sweep(f"{b}.trainable", lambda v: cls()(3, trainable=v), PVE, str=UPE),
        Case(f"{b}.trainable[name]", lambda v: cls()(3, trainable=v), "Itau_mem",
             Accepted(lambda v, m: "Itau_mem" in m.parameters() and "Ispkthr" not in m.parameters())),
        *sweep(f"{b}.dtype", lambda v: cls()(3, dtype=v), PVE),
        *sweep(f"{b}.core", lambda v: cls()(3, core=v), PVE, none=values_of("Itau_mem", lambda v: P.CoreParameters().Itau_mem)),
        Case(f"{b}.core[CoreParameters]", lambda v: cls()(3, core=v), P.CoreParameters(Ispkthr=2e-8), values_of("Ispkthr", lambda v: 2e-8)),
        *sweep(f"{b}.has_rec", lambda v: cls()(3, has_rec=v), PVE, bool=Accepted(lambda v, m: m.has_rec and tuple(m.w_rec.shape) == (3, 3))),
        *sweep(f"{b}.chunk", lambda v: cls()(3, chunk=v), PVE, none=Accepted(lambda v, m: m.size_out == 3)),
        Case(f"{b}.chunk[2]", lambda v: cls()(3, chunk=v), 2, Accepted(lambda v, m: m.size_out == 3)),
        *sweep(f"{b}.seed", lambda v: cls()(3, has_rec=True, seed=v), PVE, none=Accepted(lambda v, m: m.has_rec)),
        Case(f"{b}.seed[2**32]", lambda v: cls()(3, seed=v), 2**32, PVE),
        *sweep(f"{b}.from_high_level", lambda v: cls().from_high_level(3, tau_mem=v), PVE, values=dict(float16=np.float16(0.02)),
               float16=values_of("Itau_mem", dpi(CONSTANTS.C_mem))),
        # a call
        *sweep(f"{b}.input_data", lambda v: built(b).reset_state()(v), SE, values=dict(shape=np.zeros((5, 4))),
               none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE, huge=PVE),
        Case(f"{b}.input_data[float16 array]", lambda v: built(b).reset_state()(v), X.astype(np.float16), same_run(b, X)),
        Case(f"{b}.input_data[list of lists]", lambda v: built(b).reset_state()(v), X.tolist(), same_run(b, X)),
        Case(f"{b}.input_data[raster]", lambda v: built(b).reset_state()(v), X > 0, same_run(b, (X > 0).astype(np.float32))),
        Case(f"{b}.input_data[1e300]", lambda v: built(b).reset_state()(v), np.full((5, 3), 1e300), PVE),
        Case(f"{b}.input_data[nan entry]", lambda v: built(b).reset_state()(v), np.where(X > 0, np.nan, X), PVE),
        Case(f"{b}.input_data[no steps]", lambda v: built(b).reset_state()(v), np.zeros((0, 3)), SE),
        *sweep(f"{b}.record", lambda v: built(b).reset_state()(X, record=v), PVE,
               bool=Accepted(lambda v, r: {"imem", "vmem", "iampa"} <= set(r[2]) and tuple(r[2]["imem"].shape) == (1, 5, 3))),
        # parameters far outside the circuits' range: the call refuses rather than return NaN spikes
        Case(f"{b}.call[Ispkthr 1e30]", lambda v: cls()(3, Ispkthr=v)(X), 1e30,
             Accepted(lambda v, r: float(np.asarray(r[0].detach() if hasattr(r[0], "detach") else r[0]).sum()) == 0)),
    ]


def torch_only_cases() -> List[Case]:
    cls = BACKENDS["torch"]
    rows_of = lambda v: built("torch").reset_state().simulate(np.stack([X, X]), rows=v)  # noqa: E731
    itau = lambda: np.tile(np.asarray(built("torch").Itau_mem.detach()), (2, 1))  # noqa: E731
    return [
        *sweep("torch.compile", lambda v: cls()(3, compile=v), PVE, bool=Accepted(lambda v, m: m.compile is True)),
        *sweep("torch.compile_steps", lambda v: cls()(3, compile_steps=v), PVE),
        Case("torch.compile_steps[2]", lambda v: cls()(3, compile_steps=v), 2, Accepted(lambda v, m: m.compile_steps == 2)),
        *sweep("torch.simulate.rows", rows_of, PVE, none=Accepted(lambda v, r: tuple(r.shape) == (2, 5, 3))),
        *sweep("torch.simulate.rows[Itau_mem]", lambda v: rows_of({"Itau_mem": v}), SE,
               values=dict(shape=Lazy(itau)), none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE,
               shape=Accepted(lambda v, r: np.array_equal(r.detach().numpy(), built("torch").reset_state().simulate(np.stack([X, X])).detach().numpy()))),
        Case("torch.simulate.rows[unknown]", lambda v: rows_of({v: np.ones((2, 3))}), "Itau_foo", UPE),
    ]


SIMULATION_CASES: List[Case] = [
    *simulation_cases("jax"),
    *simulation_cases("torch"),
    *torch_only_cases(),
    *sweep("build_module_spec", S.build_module_spec, SE),
    *sweep("build_module_spec.dt", lambda v: S.build_module_spec(3, dt=v), PVE,
           float16=attribute("dt", float), huge=attribute("dt", float), tiny=attribute("dt", float)),
    *sweep("build_module_spec.Idc", lambda v: S.build_module_spec(3, Idc=v), PVE,
           float16=Accepted(lambda v, s: (s.values["Idc"] == float(v)).all()), nested=SE, shape=SE, empty=SE,
           huge=Accepted(lambda v, s: (s.values["Idc"] == v).all()), tiny=Accepted(lambda v, s: (s.values["Idc"] == v).all())),
]


# =================================================================================================
# transform
# =================================================================================================

from rockpool_dynapse2 import transform as T  # noqa: E402
from rockpool_dynapse2.chip import Dendrite  # noqa: E402
from rockpool_dynapse2.transform import mismatch as M  # noqa: E402

W = np.array([[0.5, -1.0], [0.0, 1.5]])
"""Weights the quantizer represents exactly (0.5, 1.0, 1.5 are subset sums of 0.5 and 1.0)."""


def exact_quantization(value: Any, result: Any) -> None:
    """The quantized magnitudes equal the (representable) input, in its floating dtype."""
    want = np.asarray(value)
    dtype = want.dtype if want.dtype.kind == "f" else np.float64
    assert result.quantized.dtype == dtype and result.quantized.shape == want.shape
    np.testing.assert_allclose(result.quantized.astype(np.float64), want.astype(np.float64), rtol=1e-12)
    assert result.error < 1e-9


def exact_weights(value: Any, result: Any) -> None:
    np.testing.assert_allclose(result.w_in, np.asarray(value, np.float64), rtol=1e-12)
    assert result.error < 1e-9


def quantize_any(v: Any) -> Any:
    """``quantize_weights`` of ``v`` as the input weights, one core for its columns."""
    n = np.shape(v)[-1] if np.ndim(v) == 2 else 2
    return T.quantize_weights(v, None, np.zeros(n, int), Iscale=1e-8)


@functools.lru_cache(maxsize=None)
def recurrent(backend: str) -> Any:
    """A module of 3 neurons with recurrent weights, built once per backend."""
    return BACKENDS[backend]()(3, has_rec=True, seed=1)


def perturbed_by_at_most(sigmas: float) -> Accepted:
    """``mismatch`` of ``recurrent('jax')`` moved every current by at most ``sigmas`` standard
    deviations of the value's relative noise (``value / 3``), and 0 moves nothing."""

    def check(value: Any, chip: Any) -> None:
        nominal = np.asarray(recurrent("jax").Itau_mem, np.float64)
        moved = np.abs(np.asarray(chip.Itau_mem, np.float64) / nominal - 1)
        assert (moved <= sigmas * float(value) / 3 + 1e-6).all()

    return Accepted(check)


def same_chip(reference: Callable[[], Any]) -> Accepted:
    """The mismatched network's currents equal those of ``reference()``."""
    return Accepted(lambda v, chip: np.testing.assert_array_equal(np.asarray(chip.Itau_mem), np.asarray(reference().Itau_mem)))


def torch_chip_sum() -> float:
    """The nominal torch module's spike count on ``X``."""
    import torch

    with torch.no_grad():
        return float(recurrent("torch").reset_state()(np.stack([X]))[0].sum())


TRANSFORM_CASES: List[Case] = [
    *sweep("quantize_magnitudes", T.quantize_magnitudes, PVE,
           **{k: Accepted(exact_quantization) for k in ("float16", "nested", "zero", "huge", "tiny", "shape", "empty")}),
    *sweep("quantize_magnitudes.n_bases", lambda v: T.quantize_magnitudes(np.abs(W), n_bases=v), PVE),
    Case("quantize_magnitudes.n_bases[8]", lambda v: T.quantize_magnitudes(np.abs(W), n_bases=v), 8, PVE),
    Case("quantize_magnitudes.n_bases[numpy]", lambda v: T.quantize_magnitudes(np.abs(W), n_bases=v), np.int64(2),
         Accepted(lambda v, r: r.bases.size == 2 and r.error < 1e-9)),
    *sweep("quantize_magnitudes.seed", lambda v: T.quantize_magnitudes(np.abs(W), seed=v), PVE),
    *sweep("quantize_magnitudes.lower_bound", lambda v: T.quantize_magnitudes(np.abs(W), lower_bound=v), PVE,
           bool=Accepted(lambda v, r: r.lower_bound is not None and r.lower_bound <= r.error + 1e-12)),
    *sweep("quantize_magnitudes.n_random", lambda v: T.quantize_magnitudes(np.abs(W), n_random=v), PVE),
    *sweep("quantize_magnitudes.n_starts", lambda v: T.quantize_magnitudes(np.abs(W), n_starts=v), PVE),
    *sweep("quantize_magnitudes.lower_bound_max_unique", lambda v: T.quantize_magnitudes(np.abs(W), lower_bound_max_unique=v), PVE),
    *sweep("quantize_weights", quantize_any, SE, none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE,
           nested=Accepted(exact_weights), shape=Accepted(exact_weights)),
    Case("quantize_weights[float16 array]", quantize_any, W.astype(np.float16),
         Accepted(lambda v, r: r.w_in.dtype == np.float16 and (r.w_in == v).all())),
    Case("quantize_weights[1e300]", quantize_any, W * 1e300, Accepted(lambda v, r: exact_weights(v, r))),
    Case("quantize_weights[list of lists]", quantize_any, W.tolist(), Accepted(exact_weights)),
    Case("quantize_weights[no inputs]", lambda v: T.quantize_weights(v, None, [0, 0], Iscale=1e-8), np.zeros((0, 2)),
         Accepted(lambda v, r: r.w_in.shape == (0, 2) and r.error == 0.0 and (r.bases == 0).all())),
    Case("quantize_weights[no neurons]", lambda v: T.quantize_weights(v, None, [], Iscale=1e-8), np.zeros((3, 0)),
         Accepted(lambda v, r: r.w_in.shape == (3, 0) and r.bases.shape == (0, 4))),
    Case("quantize_ste[empty matrix]", T.quantize_ste, [np.zeros((0, 2))], Accepted(lambda v, r: np.asarray(r[0]).shape == (0, 2))),
    *sweep("quantize_weights.w_rec", lambda v: T.quantize_weights(W, v, [0, 0], Iscale=1e-8), SE,
           none=Accepted(lambda v, r: r.w_rec is None and r.masks_rec is None), str=PVE, bool=PVE, complex=PVE, object=PVE,
           nan=PVE, inf=PVE),
    *sweep("quantize_weights.core_of_neuron", lambda v: T.quantize_weights(W, None, v, Iscale=1e-8), PVE),
    Case("quantize_weights.core_of_neuron[integral floats]", lambda v: T.quantize_weights(W, None, v, Iscale=1e-8), [0.0, 1.0],
         Accepted(lambda v, r: r.core_of_neuron.tolist() == [0, 1] and r.bases.shape == (2, 4))),
    Case("quantize_weights.core_of_neuron[half]", lambda v: T.quantize_weights(W, None, v, Iscale=1e-8), [0, 0.5], PVE),
    Case("quantize_weights.core_of_neuron[booleans]", lambda v: T.quantize_weights(W, None, v, Iscale=1e-8), np.array([True, False]), PVE),
    *sweep("quantize_weights.Iscale", lambda v: T.quantize_weights(W, None, [0, 0], Iscale=v), PVE,
           float16=attribute("Iscale", float),
           huge=Accepted(lambda v, r: r.code_currents[0, 0] == P.current_range(T.BASE_WEIGHT_PARAMETERS[0])[1] and exact_weights(W, r) is None),
           tiny=Accepted(lambda v, r: r.code_currents[0, 0] == P.current_range(T.BASE_WEIGHT_PARAMETERS[0])[0] and exact_weights(W, r) is None)),
    *sweep("quantize_weights.seed", lambda v: T.quantize_weights(W, None, [0, 0], Iscale=1e-8, seed=v), PVE),
    *sweep("quantize_weights.excitatory", lambda v: T.quantize_weights(W, None, [0, 0], Iscale=1e-8, excitatory=v), PVE,
           none=Accepted(lambda v, r: r.dendrites_in[0, 0] == int(Dendrite.AMPA))),
    Case("quantize_weights.excitatory[NMDA]", lambda v: T.quantize_weights(W, None, [0, 0], Iscale=1e-8, excitatory=v), Dendrite.NMDA,
         Accepted(lambda v, r: r.dendrites_in[0, 0] == int(Dendrite.NMDA))),
    Case("quantize_weights.excitatory[GABA]", lambda v: T.quantize_weights(W, None, [0, 0], Iscale=1e-8, excitatory=v), Dendrite.GABA, PVE),
    *sweep("quantize_weights.inhibitory", lambda v: T.quantize_weights(W, None, [0, 0], Iscale=1e-8, inhibitory=v), PVE,
           none=Accepted(lambda v, r: r.dendrites_in[0, 1] == int(Dendrite.GABA))),
    *sweep("quantize_ste", T.quantize_ste, PVE, nested=SE),
    Case("quantize_ste[no matrices]", T.quantize_ste, [], Accepted(lambda v, r: r == ())),
    Case("quantize_ste[jax]", T.quantize_ste, Lazy(lambda: [__import__("jax").numpy.asarray(W, "float32")]),
         Accepted(lambda v, r: np.array_equal(np.asarray(r[0]), W.astype(np.float32)))),
    Case("quantize_ste[float64 numpy]", T.quantize_ste, [W], Accepted(lambda v, r: np.array_equal(np.asarray(r[0], np.float64), W))),
    Case("quantize_ste[other N]", T.quantize_ste, [W, np.ones((2, 3))], SE),
    Case("quantize_ste[mixed]", T.quantize_ste, Lazy(lambda: [__import__("torch").ones(2, 2), W]), PVE),
    *sweep("quantize_ste.core_of_neuron", lambda v: T.quantize_ste([W], v), PVE,
           none=Accepted(lambda v, r: np.array_equal(np.asarray(r[0], np.float64), W))),
    *sweep("quantize_ste.seed", lambda v: T.quantize_ste([W], None, v), PVE),
    *sweep("QuantizeT", T.QuantizeT, SE, none=attribute("core_of_neuron", lambda v: None), str=PVE, bool=PVE, complex=PVE,
           object=PVE, nan=PVE, inf=PVE, neg=PVE, empty=Accepted(lambda v, q: q.core_of_neuron.shape == (0,))),
    *sweep("QuantizeT.seed", lambda v: T.QuantizeT(None, v), PVE),
    *sweep("sigma_from_deviation", lambda v: T.sigma_from_deviation(v, 3.0), PVE,
           float16=close(lambda v: f64(v) / 3), zero=close(lambda v: 0.0), tiny=close(lambda v: v / 3)),
    Case("sigma_from_deviation[MAX_DEVIATION]", lambda v: T.sigma_from_deviation(v, 3.0), M.MAX_DEVIATION, close(lambda v: v / 3)),
    Case("sigma_from_deviation[percent]", lambda v: T.sigma_from_deviation(v, 3.0), 30, PVE),
    Case("sigma_from_deviation[1e6]", lambda v: T.sigma_from_deviation(v, 3.0), 1e6, PVE),
    *sweep("sigma_from_deviation.sigma_rule", lambda v: T.sigma_from_deviation(0.3, v), PVE, huge=close(lambda v: 0.3 / v)),
    # mismatch of one network, JAX and torch
    *sweep("mismatch.net", lambda v: M.mismatch(v, 0), PVE),
    *sweep("mismatch.key", lambda v: M.mismatch(recurrent("jax"), v), PVE),
    Case("mismatch.key[seed]", lambda v: M.mismatch(recurrent("jax"), v), 3,
         same_chip(lambda: M.mismatch(recurrent("jax"), __import__("jax").random.PRNGKey(3)))),
    Case("mismatch.key[2**32]", lambda v: M.mismatch(recurrent("jax"), v), 2**32, PVE),
    *sweep("mismatch.percent_deviation", lambda v: M.mismatch(recurrent("jax"), 0, v), PVE,
           float16=perturbed_by_at_most(6), zero=perturbed_by_at_most(0), tiny=perturbed_by_at_most(6)),
    *sweep("mismatch.families", lambda v: M.mismatch(recurrent("jax"), 0, families=v), PVE, str=UPE),
    Case("mismatch.families[weights]", lambda v: M.mismatch(recurrent("jax"), 0, families=v), "weights",
         Accepted(lambda v, chip: np.array_equal(np.asarray(chip.Itau_mem), np.asarray(recurrent("jax").Itau_mem))
                  and not np.array_equal(np.asarray(chip.w_rec), np.asarray(recurrent("jax").w_rec)))),
    *sweep("mismatch.key[torch]", lambda v: M.mismatch(recurrent("torch"), v), PVE),
    Case("mismatch.key[torch seed]", lambda v: M.mismatch(recurrent("torch"), v), 5,
         Accepted(lambda v, chip: np.array_equal(chip.Itau_mem.detach().numpy(), M.mismatch(recurrent("torch"), 5).Itau_mem.detach().numpy()))),
    *sweep("mismatch_prototype", M.mismatch_prototype, PVE),
    Case("mismatch_prototype[torch]", M.mismatch_prototype, Lazy(lambda: recurrent("torch")), PVE),
    Case("mismatch_prototype[jax]", M.mismatch_prototype, Lazy(lambda: recurrent("jax")),
         Accepted(lambda v, tree: tree["Itau_mem"] is True and tree["w_rec"] is False)),
    *sweep("MismatchJax", M.MismatchJax, PVE),
    *sweep("MismatchJax.percent_deviation", lambda v: M.MismatchJax(recurrent("jax"), v), PVE,
           float16=Accepted(lambda v, m: math.isclose(float(m.sigma), float(v) / 3)),
           zero=Accepted(lambda v, m: float(m.sigma) == 0), tiny=Accepted(lambda v, m: math.isclose(float(m.sigma), v / 3))),
    *sweep("MismatchJax.seed", lambda v: M.MismatchJax(recurrent("jax"), seed=v), PVE),
    *sweep("mismatch_T_config", M.mismatch_T_config, PVE),
    Case("mismatch_T_config[jax]", M.mismatch_T_config, Lazy(lambda: recurrent("jax")), PVE),
    *sweep("mismatch_T_config.frozen", lambda v: M.mismatch_T_config(recurrent("torch"), frozen=v), PVE,
           bool=Accepted(lambda v, cfg: cfg["Itau_mem"].eps is not None and tuple(cfg["Itau_mem"].eps.shape) == (3,))),
    *sweep("mismatch_T_config.seed", lambda v: M.mismatch_T_config(recurrent("torch"), seed=v), PVE),
    *sweep("mismatch_rows.module", lambda v: M.mismatch_rows(v, 2), PVE),
    *sweep("mismatch_rows.n_chips", lambda v: M.mismatch_rows(recurrent("torch"), v), PVE),
    Case("mismatch_rows.n_chips[2]", lambda v: M.mismatch_rows(recurrent("torch"), v), 2,
         Accepted(lambda v, rows: tuple(rows["Itau_mem"].shape) == (2, 3) and tuple(rows["C_mem"].shape) == (2, 3))),
    *sweep("mismatch_rows.generator", lambda v: M.mismatch_rows(recurrent("torch"), 2, generator=v), PVE,
           none=Accepted(lambda v, rows: (rows["Itau_mem"] > 0).all())),
    *sweep("monte_carlo.n_chips", lambda v: M.monte_carlo(recurrent("jax"), X[None], lambda o: o.sum(), n_chips=v), PVE),
    *sweep("monte_carlo.metric", lambda v: M.monte_carlo(recurrent("jax"), X[None], v, n_chips=2), PVE),
    *sweep("monte_carlo.seed", lambda v: M.monte_carlo(recurrent("jax"), X[None], lambda o: o.sum(), n_chips=2, seed=v), PVE),
    *sweep("monte_carlo.input_data", lambda v: M.monte_carlo(recurrent("jax"), v, lambda o: o.sum(), n_chips=2), SE,
           values=dict(shape=np.zeros((1, 5, 4))), none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE, huge=PVE),
    Case("monte_carlo.metric[not a number]", lambda v: M.monte_carlo(recurrent("torch"), X[None], v, n_chips=1), lambda out: out, PVE),
    Case("monte_carlo[torch, no deviation]", lambda v: M.monte_carlo(recurrent("torch"), X[None], lambda o: float(o.sum()), n_chips=2,
                                                                   percent_deviation=v), 0.0,
         Accepted(lambda v, r: r.shape == (2,) and (r == torch_chip_sum()).all())),
]


# =================================================================================================
# training
# =================================================================================================

from rockpool_dynapse2 import training as TR  # noqa: E402
from rockpool_dynapse2.training.jax_trainer import counts_jax, mismatch_counts_jax, train_jax  # noqa: E402
from rockpool_dynapse2.training.torch_trainer import counts_torch, train_torch  # noqa: E402

POPS = (TR.Population("hidden", 4), TR.Population("out", 4))
PROJS = (TR.Projection("input", "hidden"), TR.Projection("hidden", "out"))


def layout(**changes: Any) -> Any:
    """A layout of 3 inputs, 4 hidden neurons and 2 classes of 2 output neurons, with changes."""
    args = dict(n_inputs=3, populations=POPS, projections=PROJS, output="out", n_classes=2)
    return TR.NetworkLayout(**{**args, **changes})


@functools.lru_cache(maxsize=None)
def model() -> Any:
    return TR.ChipModel(layout(), TR.TrainSettings(epochs=1))


DATA = (np.ones((4, 5, 3), np.float32), np.array([0, 1, 0, 1]))

def ideal_chip() -> Dict[str, np.ndarray]:
    """The factors (``chip=``) of the nominal chip of :func:`model`: every factor 1."""
    shapes = {"w_in": (3, 8), "w_rec": (8, 8)}
    return {k: np.ones(shapes.get(k, (8,))) for k in TR.CHIP_NAMES}


COUNTS_BY_VALUE = dict(none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE, neg=PVE)
"""Outcomes of spike counts (or their means) refused by value (not finite real numbers >= 0); the rest by shape."""

SHAPED_X = dict(none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE, neg=PVE)
"""Outcomes of inputs ``(n, T, C)`` of spike counts: not counts (>= 0, finite) by value, the rest by shape."""


def setting(name: str, expected: Callable[[Any], Any] = float) -> Accepted:
    return attribute(name, expected)


TRAINING_CASES: List[Case] = [
    *sweep("Population.size", lambda v: TR.Population("a", v), PVE),
    *sweep("Population.name", lambda v: TR.Population(v, 2), PVE, str=attribute("name", str)),
    Case("Population.name[input]", lambda v: TR.Population(v, 2), "input", PVE),
    Case("Population.size[numpy]", lambda v: TR.Population("a", v), np.int64(3), Accepted(lambda v, p: p.size == 3 and type(p.size) is int)),
    *sweep("Projection.probability", lambda v: TR.Projection("input", "a", v), PVE,
           float16=setting("probability"), tiny=setting("probability")),
    *sweep("Projection.source", lambda v: TR.Projection(v, "a"), PVE, str=attribute("source", str)),
    *sweep("Projection.target", lambda v: TR.Projection("input", v), PVE, str=attribute("target", str)),
    *sweep("NetworkLayout.n_inputs", lambda v: layout(n_inputs=v), PVE),
    *sweep("NetworkLayout.populations", lambda v: layout(populations=v), PVE),
    *sweep("NetworkLayout.projections", lambda v: layout(projections=v), PVE),
    *sweep("NetworkLayout.output", lambda v: layout(output=v), PVE, str=UPE),
    *sweep("NetworkLayout.n_classes", lambda v: layout(n_classes=v), PVE),
    Case("NetworkLayout.n_classes[3]", lambda v: layout(n_classes=v), 3, PVE),  # 4 outputs in 3 groups
    Case("NetworkLayout.populations[list]", lambda v: layout(populations=v), list(POPS), Accepted(lambda v, lay: lay.n_neurons == 8)),
    *sweep("NetworkLayout.fan_in", lambda v: layout(fan_in=v), PVE),
    Case("NetworkLayout.fan_in[65]", lambda v: layout(fan_in=v), 65, PVE),
    *sweep("NetworkLayout.layered.n_inputs", lambda v: TR.NetworkLayout.layered(v, [4], 2), PVE),
    *sweep("NetworkLayout.layered.hidden", lambda v: TR.NetworkLayout.layered(3, v, 2), PVE),
    Case("NetworkLayout.layered.hidden[no layer]", lambda v: TR.NetworkLayout.layered(3, v, 2), [],
         Accepted(lambda v, lay: [p.name for p in lay.populations] == ["output"])),
    *sweep("NetworkLayout.layered.per_class", lambda v: TR.NetworkLayout.layered(3, [4], 2, per_class=v), PVE),
    *sweep("NetworkLayout.layered.recurrent", lambda v: TR.NetworkLayout.layered(3, [4], 2, recurrent=v), PVE,
           bool=Accepted(lambda v, lay: ("hidden0", "hidden0") in [(p.source, p.target) for p in lay.projections])),
    *sweep("NetworkLayout.layered.input_probability", lambda v: TR.NetworkLayout.layered(3, [4], 2, input_probability=v), PVE,
           float16=Accepted(lambda v, lay: lay.projections[0].probability == float(v)),
           tiny=Accepted(lambda v, lay: lay.projections[0].probability == v)),
    *sweep("NetworkLayout.layered.parallel", lambda v: TR.NetworkLayout.layered(3, [4, 4], 2, parallel=v), PVE,
           bool=Accepted(lambda v, lay: [p.source for p in lay.projections].count("input") == 2)),
    *sweep("NetworkLayout.layered.starts", lambda v: TR.NetworkLayout.layered(3, [4], 2, starts=v), PVE,
           none=Accepted(lambda v, lay: all(p.start == () for p in lay.populations))),
    Case("NetworkLayout.layered.starts[one per population]", lambda v: TR.NetworkLayout.layered(3, [4, 4], 2, starts=v),
         ({"tau_ampa": 0.1},), PVE),
    Case("NetworkLayout.layered.starts[accepted]", lambda v: TR.NetworkLayout.layered(3, [4, 4], 2, starts=v),
         ({}, {"tau_ampa": 0.1}), Accepted(lambda v, lay: [p.start_values for p in lay.populations] == [{}, {"tau_ampa": 0.1}, {}])),
    *sweep("Population.start", lambda v: TR.Population("a", 2, v), PVE),
    *sweep("Population.start[value]", lambda v: TR.Population("a", 2, {"tau_ampa": v}), PVE,
           float16=Accepted(lambda v, p: p.start_values == {"tau_ampa": float(v)})),
    Case("Population.start[unknown quantity]", lambda v: TR.Population("a", 2, v), {"tau_x": 0.1}, UPE),
    Case("Population.start[twice]", lambda v: TR.Population("a", 2, v), [("tau_ampa", 0.1), ("tau_ampa", 0.2)], PVE),
    Case("Population.start[pairs]", lambda v: TR.Population("a", 2, v), [("tau_mem", 0.05), ("tau_ampa", 0.1)],
         Accepted(lambda v, p: p.start == (("tau_ampa", 0.1), ("tau_mem", 0.05)))),
    *sweep("connectivity", TR.connectivity, PVE),
    *sweep("connectivity.seed", lambda v: TR.connectivity(layout(), v), PVE),
    Case("connectivity[fan-in]", lambda v: TR.connectivity(layout(fan_in=v)), 2,
         Accepted(lambda v, c: c.fan_in.max() <= 2 and c.fan_in.min() >= 1)),
    # settings
    *[case for name in ("epochs", "batch_size", "chips_per_step") for case in sweep(f"TrainSettings.{name}", lambda v, n=name: TR.TrainSettings(**{n: v}), PVE)],
    *[case for name in ("warmup", "patience", "inject_ramp") for case in sweep(f"TrainSettings.{name}", lambda v, n=name: TR.TrainSettings(**{n: v}), PVE)],
    Case("TrainSettings.patience[0]", lambda v: TR.TrainSettings(patience=v), 0, attribute("patience", int)),
    Case("TrainSettings.inject_ramp[0]", lambda v: TR.TrainSettings(inject_ramp=v), 0, attribute("inject_ramp", int)),
    *sweep("TrainSettings.injected_sigma.epoch", lambda v: TR.TrainSettings(inject_ramp=4).injected_sigma(v), PVE,
           none=close(lambda v: 0.3 / 3)),  # None: the whole deviation (the validation chips)
    *sweep("TrainSettings.margin_scale.epoch", lambda v: TR.TrainSettings(inject_ramp=4).margin_scale(v), PVE),
    Case("TrainSettings.margin_scale.epoch[2]", lambda v: TR.TrainSettings(inject_ramp=4).margin_scale(v), 2, close(lambda v: 0.0)),
    Case("TrainSettings.margin_scale.epoch[3]", lambda v: TR.TrainSettings(inject_ramp=4).margin_scale(v), np.int64(3), close(lambda v: 1.0)),
    *sweep("TrainSettings.margin_scale.learnt", lambda v: TR.TrainSettings(inject_ramp=4).margin_scale(3, v), PVE, bool=close(lambda v: 1.0)),
    Case("TrainSettings.margin_scale.learnt[False]", lambda v: TR.TrainSettings(inject_ramp=4).margin_scale(3, v), False, close(lambda v: 0.0)),
    *sweep("TrainSettings.margin_bar.n_classes", lambda v: TR.TrainSettings(margin_accuracy=0.5).margin_bar(v), PVE),
    Case("TrainSettings.margin_bar.n_classes[3]", lambda v: TR.TrainSettings(margin_accuracy=0.5).margin_bar(v), np.int64(3),
         close(lambda v: 2 / 3)),
    *sweep("TrainSettings.margin_accuracy", lambda v: TR.TrainSettings(margin_accuracy=v), PVE,
           float16=setting("margin_accuracy"), zero=setting("margin_accuracy"), tiny=setting("margin_accuracy")),
    Case("TrainSettings.margin_accuracy[one]", lambda v: TR.TrainSettings(margin_accuracy=v), 1.0, setting("margin_accuracy")),
    *[case for name in ("learning_rate", "clip_norm", "dt", "Iscale", "max_spikes", "input_scale", "max_rate")
      for case in sweep(f"TrainSettings.{name}", lambda v, n=name: TR.TrainSettings(**{n: v}), PVE, float16=setting(name))],
    *sweep("TrainSettings.temperature", lambda v: TR.TrainSettings(temperature=v), PVE, float16=setting("temperature"),
           none=attribute("logit_scale", lambda v: 1.0)),  # None: the default of the logits (counts: 1)
    *sweep("TrainSettings.logits", lambda v: TR.TrainSettings(logits=v), UPE),
    Case("TrainSettings.logits[log]", lambda v: TR.TrainSettings(logits=v), "log", attribute("logit_scale", lambda v: 4.0)),
    *sweep("logit_scale.temperature", lambda v: TR.logit_scale("counts", v), PVE, float16=close(float),
           none=close(lambda v: 1.0)),  # None: the default of the logits (counts: 1)
    *sweep("logit_scale.logits", lambda v: TR.logit_scale(v, None), UPE),
    Case("logit_scale.logits[log]", lambda v: TR.logit_scale(v, None), "log", close(lambda v: 4.0)),
    *sweep("margin_ratio", lambda v: TR.margin_ratio("margin_ratio", v), PVE, zero=close(lambda v: 0.0)),
    Case("margin_ratio[2]", lambda v: TR.margin_ratio("margin_ratio", v), np.float16(2.0), close(lambda v: 2.0)),
    *sweep("TrainSettings.margin_ratio", lambda v: TR.TrainSettings(margin_ratio=v), PVE, zero=setting("margin_ratio")),
    Case("TrainSettings.margin_ratio[2]", lambda v: TR.TrainSettings(margin_ratio=v), 2, setting("margin_ratio")),
    *[case for name in ("min_rate", "rate_weight", "recurrent_scale", "margin_weight")
      for case in sweep(f"TrainSettings.{name}", lambda v, n=name: TR.TrainSettings(**{n: v}), PVE,
                        float16=setting(name), zero=setting(name), huge=setting(name), tiny=setting(name))],
    *sweep("TrainSettings.deviation", lambda v: TR.TrainSettings(deviation=v), PVE,
           float16=setting("deviation"), zero=setting("deviation"), tiny=setting("deviation")),
    *sweep("TrainSettings.sigma_rule", lambda v: TR.TrainSettings(sigma_rule=v), PVE, huge=setting("sigma_rule")),
    *[case for name in ("excitatory_fraction", "validation_fraction")
      for case in sweep(f"TrainSettings.{name}", lambda v, n=name: TR.TrainSettings(**{n: v}), PVE,
                        float16=setting(name), zero=setting(name), tiny=setting(name))],
    Case("TrainSettings.validation_fraction[0.5]", lambda v: TR.TrainSettings(validation_fraction=v), 0.5, PVE),
    *[case for name in ("inject", "quantize", "snap_codes", "keep_during_ramp", "margin_during_ramp")
      for case in sweep(f"TrainSettings.{name}", lambda v, n=name: TR.TrainSettings(**{n: v}), PVE, bool=setting(name, bool))],
    *sweep("TrainSettings.seed", lambda v: TR.TrainSettings(seed=v), PVE),
    *sweep("TrainSettings.trainable", lambda v: TR.TrainSettings(trainable=v), PVE, str=UPE),
    Case("TrainSettings.trainable[name]", lambda v: TR.TrainSettings(trainable=v), "tau_mem", attribute("trainable", lambda v: ("tau_mem",))),
    *sweep("TrainSettings.fixed", lambda v: TR.TrainSettings(fixed=v), PVE),
    *sweep("TrainSettings.fixed[tau_ahp]", lambda v: TR.TrainSettings(fixed={"tau_ahp": v}), PVE,
           float16=Accepted(lambda v, s: s.fixed == {"tau_ahp": float(v)})),
    Case("TrainSettings.fixed[unknown]", lambda v: TR.TrainSettings(fixed=v), {"tau_foo": 1.0}, UPE),
    # the model and its data
    *sweep("ChipModel.layout", TR.ChipModel, PVE),
    *sweep("ChipModel.settings", lambda v: TR.ChipModel(layout(), v), PVE,
           none=Accepted(lambda v, m: m.settings == TR.TrainSettings())),
    *sweep("ChipModel.connections", lambda v: TR.ChipModel(layout(), None, v), PVE,
           none=Accepted(lambda v, m: np.array_equal(m.connections.input, TR.connectivity(layout(), 0).input))),
    Case("ChipModel.connections[other layout]", lambda v: TR.ChipModel(layout(), None, v),
         Lazy(lambda: TR.connectivity(layout(n_inputs=4))), SE),
    *sweep("ChipModel.initial_parameters", lambda v: model().initial_parameters(v), PVE,
           none=Accepted(lambda v, p: np.array_equal(p["w_in"], model().initial_parameters(0)["w_in"]))),
    *sweep("ChipModel.accuracy.counts", lambda v: model().accuracy(v, [0]), SE,
           none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE),
    Case("ChipModel.accuracy[votes]", lambda v: model().accuracy(v, [0, 1]), np.array([[0] * 4 + [3, 3, 0, 0], [0] * 4 + [0, 1, 2, 2]]),
         Accepted(lambda v, acc: acc == 1.0)),
    *sweep("ChipModel.accuracy.labels", lambda v: model().accuracy(np.zeros((1, 8)), v), SE,
           none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE, neg=PVE, huge=PVE),
    Case("ChipModel.accuracy.labels[tie]", lambda v: model().accuracy(np.zeros((1, 8)), v), [0.0], Accepted(lambda v, acc: acc == 0.0)),
    Case("ChipModel.accuracy.labels[half]", lambda v: model().accuracy(np.zeros((2, 8)), v), [0, 0.5], PVE),
    *sweep("ChipModel.output_accuracy", lambda v: model().output_accuracy(v, [0]), SE,
           none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE),
    *sweep("ChipModel.calibrate_readout", lambda v: model().calibrate_readout(v), SE,
           none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE),
    Case("ChipModel.calibrate_readout[one recording]", lambda v: model().calibrate_readout(v), np.ones((1, 4)), SE),
    Case("ChipModel.output_predict.calibration[6 outputs]", lambda v: model().output_predict(np.ones((1, 4)), v),
         Lazy(lambda: TR.ReadoutCalibration(np.ones(6), np.ones(6), 2)), SE),
    # the readout calibration, without a model
    *sweep("ReadoutCalibration.measure", TR.ReadoutCalibration.measure, SE, **COUNTS_BY_VALUE,
           shape=Accepted(lambda v, c: c.samples == 2 and np.array_equal(c.mean, [0.01] * 3) and np.array_equal(c.std, [0.5] * 3))),
    Case("ReadoutCalibration.measure[spread]", TR.ReadoutCalibration.measure, np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0]]),
         Accepted(lambda v, c: np.allclose(c.mean, [2, 5]) and np.allclose(c.std, [np.sqrt(8 / 3), 0.5]) and c.samples == 3)),
    Case("ReadoutCalibration.measure[no channel]", TR.ReadoutCalibration.measure, np.zeros((3, 0)), SE),
    *sweep("ReadoutCalibration.mean", lambda v: TR.ReadoutCalibration(v, [1.0], 2), SE, **COUNTS_BY_VALUE),
    Case("ReadoutCalibration.mean[silent channel]", lambda v: TR.ReadoutCalibration(v, [1.0], 2), [0.0],
         Accepted(lambda v, c: c.n_outputs == 1 and c.mean[0] == 0.0)),
    *sweep("ReadoutCalibration.std", lambda v: TR.ReadoutCalibration([1.0], v, 2), SE, **COUNTS_BY_VALUE, zero=PVE),
    Case("ReadoutCalibration.std[below the floor]", lambda v: TR.ReadoutCalibration([1.0], v, 2), [0.1],
         Accepted(lambda v, c: c.std[0] == 0.1)),  # a file may hold any positive spread
    *sweep("ReadoutCalibration.samples", lambda v: TR.ReadoutCalibration([1.0], [1.0], v), PVE),
    Case("ReadoutCalibration.samples[1]", lambda v: TR.ReadoutCalibration([1.0], [1.0], v), 1, PVE),
    Case("ReadoutCalibration.samples[numpy]", lambda v: TR.ReadoutCalibration([1.0], [1.0], v), np.int64(2),
         Accepted(lambda v, c: c.samples == 2 and type(c.samples) is int)),
    *sweep("ReadoutCalibration.apply", lambda v: TR.ReadoutCalibration([1.0] * 3, [2.0] * 3, 2).apply(v), SE, **COUNTS_BY_VALUE,
           shape=close(lambda v: (f64(v) - 1.0) / 2.0)),
    *sweep("ReadoutCalibration.from_json", TR.ReadoutCalibration.from_json, PVE),
    *[Case(f"ReadoutCalibration.from_json[{kind}]", TR.ReadoutCalibration.from_json, text, error) for kind, text, error in (
        ("format", '{"format": "x", "samples": 2, "mean": [1], "std": [1]}', PVE),
        ("missing std", '{"format": "rockpool-dynapse2/readout-calibration/1", "samples": 2, "mean": [1]}', PVE),
        ("unknown key", '{"format": "rockpool-dynapse2/readout-calibration/1", "samples": 2, "mean": [1], "std": [1], "x": 1}', PVE),
        ("std length", '{"format": "rockpool-dynapse2/readout-calibration/1", "samples": 2, "mean": [1, 2], "std": [1]}', PVE),
        ("std 0", '{"format": "rockpool-dynapse2/readout-calibration/1", "samples": 2, "mean": [1], "std": [0]}', PVE),
        ("std NaN", '{"format": "rockpool-dynapse2/readout-calibration/1", "samples": 2, "mean": [1], "std": [NaN]}', PVE),
        ("mean negative", '{"format": "rockpool-dynapse2/readout-calibration/1", "samples": 2, "mean": [-1], "std": [1]}', PVE),
        ("samples 1", '{"format": "rockpool-dynapse2/readout-calibration/1", "samples": 1, "mean": [1], "std": [1]}', PVE),
        ("samples 2.0", '{"format": "rockpool-dynapse2/readout-calibration/1", "samples": 2.0, "mean": [1], "std": [1]}', PVE),
        ("no output", '{"format": "rockpool-dynapse2/readout-calibration/1", "samples": 2, "mean": [], "std": []}', SE),
    )],
    Case("ReadoutCalibration.from_json[round trip]", TR.ReadoutCalibration.from_json,
         Lazy(lambda: TR.ReadoutCalibration([0.1, 2.0 / 3.0], [0.5, np.pi], 7).to_json()),
         Accepted(lambda v, c: c.to_json() == v and c.mean[1] == 2.0 / 3.0 and c.std[1] == np.pi and c.samples == 7)),
    Case("ChipModel.output_accuracy.calibration[str]", lambda v: model().output_accuracy(np.ones((1, 4)), [0], v), "yes", PVE),
    *sweep("ChipModel.output_predict", lambda v: model().output_predict(v), SE,
           none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE),
    Case("ChipModel.output_predict[votes]", lambda v: model().output_predict(v), np.array([[3, 3, 0, 0], [0, 1, 2, 2], [0] * 4]),
         Accepted(lambda v, classes: list(classes) == [0, 1, -1])),
    *sweep("ChipModel.predict", lambda v: model().predict(v), SE,
           none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE),
    *sweep("train_jax.x", lambda v: train_jax(model(), v, DATA[1]), SE, **SHAPED_X),
    *sweep("train_jax.y", lambda v: train_jax(model(), DATA[0], v), SE, none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE,
           nan=PVE, inf=PVE, neg=PVE, huge=PVE),
    Case("train_jax.y[class 2]", lambda v: train_jax(model(), DATA[0], v), np.array([0, 1, 2, 1]), PVE),
    *sweep("train_jax.model", lambda v: train_jax(v, *DATA), PVE),
    *sweep("train_torch.x", lambda v: train_torch(model(), v, DATA[1]), SE, **SHAPED_X),
    *sweep("train_torch.model", lambda v: train_torch(v, *DATA), PVE),
    *sweep("counts_jax.x", lambda v: counts_jax(model(), model().initial_parameters(), v), SE, **SHAPED_X),
    *sweep("counts_jax.batch", lambda v: counts_jax(model(), model().initial_parameters(), DATA[0], batch=v), PVE),
    *sweep("counts_torch.x", lambda v: counts_torch(model(), model().initial_parameters(), v), SE, **SHAPED_X),
    *sweep("counts_jax.chip", lambda v: counts_jax(model(), model().initial_parameters(), DATA[0], chip=v), PVE,
           none=Accepted(lambda v, c: np.array_equal(c, counts_jax(model(), model().initial_parameters(), DATA[0])))),
    *sweep("counts_torch.chip", lambda v: counts_torch(model(), model().initial_parameters(), DATA[0], chip=v), PVE,
           none=Accepted(lambda v, c: np.array_equal(c, counts_torch(model(), model().initial_parameters(), DATA[0])))),
    *sweep("train_jax.chip", lambda v: train_jax(model(), *DATA, chip=v), PVE, omit=("none",)),  # None: the default, trained elsewhere
    *sweep("train_torch.chip", lambda v: train_torch(model(), *DATA, chip=v), PVE, omit=("none",)),
    Case("counts_jax.chip[ideal]", lambda v: counts_jax(model(), model().initial_parameters(), DATA[0], chip=v), Lazy(lambda: ideal_chip()),
         Accepted(lambda v, c: np.array_equal(c, counts_jax(model(), model().initial_parameters(), DATA[0])))),
    Case("counts_jax.chip[missing key]", lambda v: counts_jax(model(), model().initial_parameters(), DATA[0], chip=v),
         Lazy(lambda: {k: f for k, f in ideal_chip().items() if k != "w_rec"}), PVE),
    Case("counts_jax.chip[unknown key]", lambda v: counts_jax(model(), model().initial_parameters(), DATA[0], chip=v),
         Lazy(lambda: {**ideal_chip(), "Ifoo": np.ones(8)}), UPE),
    Case("counts_torch.chip[wrong shape]", lambda v: counts_torch(model(), model().initial_parameters(), DATA[0], chip=v),
         Lazy(lambda: {**ideal_chip(), "w_in": np.ones((8, 8))}), SE),
    Case("ChipModel.check_chip[negative factor]", lambda v: model().check_chip(v), Lazy(lambda: {**ideal_chip(), "Idc": -np.ones(8)}), PVE),
    Case("ChipModel.check_chip[ideal]", lambda v: model().check_chip(v), Lazy(lambda: ideal_chip()),
         Accepted(lambda v, c: sorted(c) == sorted(TR.CHIP_NAMES) and all(a.dtype == np.float32 and (a == 1).all() for a in c.values()))),
    *sweep("mismatch_counts_jax.n_chips", lambda v: mismatch_counts_jax(model(), model().initial_parameters(), DATA[0], 0.3, v), PVE),
    *sweep("mismatch_counts_jax.deviation", lambda v: mismatch_counts_jax(model(), model().initial_parameters(), DATA[0], v, 2), PVE,
           omit=("float16", "zero", "tiny")),
    *sweep("mismatch_counts_jax.seed", lambda v: mismatch_counts_jax(model(), model().initial_parameters(), DATA[0], 0.3, 2, seed=v), PVE),
    *sweep("load_parameters", TR.load_parameters, PVE),
    *sweep("save_parameters.path", lambda v: TR.save_parameters(v, None), PVE, values=dict(str="")),
    *sweep("save_parameters.result", lambda v: TR.save_parameters("/nonexistent/census.npz", v), PVE),
    *sweep("TrainResult.curve", lambda v: TR.TrainResult(model(), {}, "jax").curve(v), UPE),
    *sweep("TrainResult.to_rockpool", lambda v: TR.TrainResult(model(), model().initial_parameters(), "jax").to_rockpool(v), UPE,
           omit=("none",)),    # the readout window: a fraction of the sample in [0, 1); 0.01 of 10 steps is step 1
    *sweep("readout_step.readout_start", lambda v: TR.readout_step(v, 10), PVE,
           float16=Accepted(lambda v, first: first == 1), zero=Accepted(lambda v, first: first == 0),
           tiny=Accepted(lambda v, first: first == 0)),
    Case("readout_step.readout_start[no step left]", lambda v: TR.readout_step(v, 10), 0.95, PVE),
    *sweep("readout_step.n_steps", lambda v: TR.readout_step(0.5, v), PVE),
    *sweep("readout_counts.raster", TR.readout_counts, SE, str=PVE, complex=PVE),
    Case("readout_counts.raster[nested list]", lambda v: TR.readout_counts(v, 0.5), [[[1, 0], [1, 1]]],
         Accepted(lambda v, c: c.tolist() == [[1.0, 1.0]])),
    *sweep("readout_counts.readout_start", lambda v: TR.readout_counts(np.ones((1, 10, 2)), v), PVE,
           float16=Accepted(lambda v, c: c.tolist() == [[9.0, 9.0]]), zero=Accepted(lambda v, c: c.tolist() == [[10.0, 10.0]]),
           tiny=Accepted(lambda v, c: c.tolist() == [[10.0, 10.0]])),
    *sweep("TrainSettings.readout_start", lambda v: TR.TrainSettings(readout_start=v), PVE,
           float16=setting("readout_start"), zero=setting("readout_start"), tiny=setting("readout_start")),
    *sweep("TrainSettings.average", lambda v: TR.TrainSettings(average=v), PVE,
           float16=setting("average"), zero=setting("average"), tiny=setting("average")),
    *sweep("TrainSettings.level_pull", lambda v: TR.TrainSettings(level_pull=v), PVE,
           float16=setting("level_pull"), zero=setting("level_pull"), tiny=setting("level_pull")),
    Case("TrainSettings.level_pull[one]", lambda v: TR.TrainSettings(level_pull=v), 1.0, PVE),  # 1 would forget the gradient's step
    *sweep("TrainSettings.keep_tolerance", lambda v: TR.TrainSettings(keep_tolerance=v), PVE,
           float16=setting("keep_tolerance"), zero=setting("keep_tolerance"), tiny=setting("keep_tolerance")),
    *sweep("TrainSettings.feedback_gradient", lambda v: TR.TrainSettings(feedback_gradient=v), PVE,
           float16=setting("feedback_gradient"), zero=setting("feedback_gradient"), tiny=setting("feedback_gradient")),
    Case("TrainSettings.feedback_gradient[above one]", lambda v: TR.TrainSettings(feedback_gradient=v), 1.01, PVE),
    *sweep("TrainSettings.chip_clip", lambda v: TR.TrainSettings(chip_clip=v), PVE,
           float16=setting("chip_clip"), zero=setting("chip_clip"), tiny=setting("chip_clip")),
]


# =================================================================================================
# mapping
# =================================================================================================

from rockpool_dynapse2 import mapping as MP  # noqa: E402


def synapses(**changes: Any) -> Any:
    args = dict(source=[0, 1], target=[0, 1], kind=[0, 2], weight=[0.5, 1.0])
    return MP.Synapses(**{**args, **changes})


def spec(**changes: Any) -> Any:
    """A spec of 2 inputs and 2 neurons on one core, with changes."""
    args = dict(n_inputs=2, n_neurons=2, input_synapses=synapses(), recurrent_synapses=MP.Synapses.empty(),
                core_of_neuron=[0, 0], cores=(P.CoreParameters(),), output_neurons=[1])
    return MP.NetworkSpec(**{**args, **changes})


@functools.lru_cache(maxsize=None)
def graph() -> Any:
    """The graph of ``Linear(2, 2) -> DynapSimJax(2)`` (weights 0.5, Iscale 10 nA)."""
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearJax

    return Sequential(LinearJax((2, 2), weight=np.full((2, 2), 0.5), has_bias=False), S.DynapSimJax((2,))).as_graph()


def mapped_weights(value: Any, s: Any) -> None:
    """The mapped spec's ``Iscale`` is the value and its weights are 0.5 * 10 nA / Iscale."""
    iscale = float(value)
    assert s.Iscale == iscale
    np.testing.assert_allclose(s.input_synapses.weight, 0.5 * 1e-8 / iscale, rtol=1e-6)


@functools.lru_cache(maxsize=None)
def rockpool_graph() -> Any:
    """The graph of Rockpool's own ``Linear(2, 2) -> DynapSim(2)`` (weights 0.5), for the migration."""
    import logging

    logging.getLogger().setLevel(logging.ERROR)  # Rockpool warns about samna on import
    from rockpool.devices.dynapse import DynapSim
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearJax

    return Sequential(LinearJax((2, 2), weight=np.full((2, 2), 0.5), has_bias=False), DynapSim((2, 2))).as_graph()


def migrated(check: Callable[[Any], Any]) -> Accepted:
    """A migration of :func:`rockpool_graph` (its two neurons, one core) for which ``check(migration)`` holds."""
    return Accepted(lambda v, m: m.model.layout.n_neurons == 2 and m.model.n_cores == 1 and check(m))


CALIBRATE = dict(targets=np.zeros(2))
X2 = np.ones((5, 2))

INDEX = dict(none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, float16=PVE, nested=PVE, nan=PVE, inf=PVE, neg=PVE,
             huge=PVE, tiny=PVE, shape=PVE)
"""Outcomes of a flat index array (a synapse table's column of 2 entries): a value that is
not a non-negative integer is refused by value; the rest (0 as a single index, an empty
array) by its length."""

SHAPED = dict(none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE)
"""Outcomes of an array of a given shape (the default: ShapeError): what is not real
numbers or not finite is refused by value, before its shape is looked at."""

MAPPING_CASES: List[Case] = [
    *sweep("Synapses.source", lambda v: synapses(source=v), SE, **INDEX),
    *sweep("Synapses.target", lambda v: synapses(target=v), SE, **INDEX),
    *sweep("Synapses.kind", lambda v: synapses(kind=v), SE, **INDEX),
    Case("Synapses.kind[4]", lambda v: synapses(kind=v), [0, 4], PVE),
    *sweep("Synapses.weight", lambda v: synapses(weight=v), SE, none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE,
           nan=PVE, inf=PVE, neg=PVE, zero=PVE),
    Case("Synapses.weight[float16 array]", lambda v: synapses(weight=v), np.array([0.5, 1.0], np.float16),
         Accepted(lambda v, t: t.weight.dtype == np.float64 and t.weight.tolist() == [0.5, 1.0])),
    *sweep("Synapses.mask", lambda v: synapses(mask=v), SE, none=attribute("mask", lambda v: None), **{k: PVE for k in INDEX if k != "none"}),
    Case("Synapses.mask[16]", lambda v: synapses(mask=v), [1, 16], PVE),
    Case("Synapses.duplicates", lambda v: synapses(source=v, target=[0, 0], kind=[0, 0]), [1, 1], PVE),
    *sweep("Synapses.from_dense", MP.Synapses.from_dense, SE, none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE,
           inf=PVE, neg=PVE),
    Case("Synapses.from_dense[zeros]", MP.Synapses.from_dense, np.zeros((2, 2, 4)), Accepted(lambda v, t: len(t) == 0)),
    *sweep("Synapses.from_dict", MP.Synapses.from_dict, PVE),
    Case("Synapses.from_dict[missing]", MP.Synapses.from_dict, {"source": [0]}, PVE),
    Case("Synapses.from_dict[round trip]", MP.Synapses.from_dict, Lazy(lambda: synapses().to_dict()),
         Accepted(lambda v, t: t.to_dict() == synapses().to_dict())),
    *sweep("NetworkSpec.n_inputs", lambda v: spec(n_inputs=v), PVE),
    *sweep("NetworkSpec.n_neurons", lambda v: spec(n_neurons=v), PVE),
    *sweep("NetworkSpec.input_synapses", lambda v: spec(input_synapses=v), PVE),
    *sweep("NetworkSpec.core_of_neuron", lambda v: spec(core_of_neuron=v), SE, **SHAPED),
    Case("NetworkSpec.core_of_neuron[core 1]", lambda v: spec(core_of_neuron=v), [0, 1], PVE),
    *sweep("NetworkSpec.cores", lambda v: spec(cores=v), PVE),
    *sweep("NetworkSpec.output_neurons", lambda v: spec(output_neurons=v), SE, **SHAPED,
           empty=Accepted(lambda v, s: s.n_outputs == 0)),
    Case("NetworkSpec.output_neurons[neuron 2]", lambda v: spec(output_neurons=v), [2], PVE),
    *sweep("NetworkSpec.Iscale", lambda v: spec(Iscale=v), PVE,
           float16=attribute("Iscale", float), huge=attribute("Iscale", float), tiny=attribute("Iscale", float)),
    *sweep("NetworkSpec.dt", lambda v: spec(dt=v), PVE,
           float16=attribute("dt", float), huge=attribute("dt", float), tiny=attribute("dt", float)),
    *sweep("NetworkSpec.bases", lambda v: spec(bases=v), SE, none=attribute("bases", lambda v: None), str=PVE, bool=PVE,
           complex=PVE, object=PVE, nan=PVE, inf=PVE, neg=PVE),
    Case("NetworkSpec.bases[without masks]", lambda v: spec(bases=v), np.ones((1, 4)), PVE),
    *sweep("NetworkSpec.neuron_deviation", lambda v: spec(neuron_deviation=v), SE, none=attribute("neuron_deviation", lambda v: None),
           str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE, neg=PVE),
    *sweep("NetworkSpec.names", lambda v: spec(names=v), PVE),
    Case("NetworkSpec.names[list]", lambda v: spec(names=v), ["layer"], attribute("names", lambda v: ("layer",))),
    *sweep("NetworkSpec.layer_of_neuron", lambda v: spec(layer_of_neuron=v), SE, **{**SHAPED, "none": attribute("layer_of_neuron", lambda v: None)}),
    Case("NetworkSpec.layer_of_neuron[half]", lambda v: spec(layer_of_neuron=v), [0, 0.5], PVE),
    *sweep("NetworkSpec.from_dict", MP.NetworkSpec.from_dict, PVE),
    *sweep("NetworkSpec.from_json", MP.NetworkSpec.from_json, PVE),
    Case("NetworkSpec.from_json[round trip]", MP.NetworkSpec.from_json, Lazy(lambda: spec().to_json()),
         Accepted(lambda v, s: s.to_dict() == spec().to_dict())),
    Case("NetworkSpec.from_json[duplicate key]", MP.NetworkSpec.from_json, '{"format": 1, "format": 2}', PVE),
    *sweep("level_table", MP.level_table, SE, none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE, neg=PVE),
    Case("level_table[binary]", MP.level_table, np.array([[1.0, 2.0, 4.0, 8.0]]), Accepted(lambda v, t: t.tolist() == [list(range(16))])),
    *sweep("quantize_spec", MP.quantize_spec, PVE),
    *sweep("quantize_spec.seed", lambda v: MP.quantize_spec(spec(), v), PVE),
    Case("quantize_spec[exact]", MP.quantize_spec, Lazy(spec),
         Accepted(lambda v, r: r[0].quantized and r[1].dropped == 0 and len(r[0].input_synapses) == 2)),
    *sweep("dynapsim_net_from_spec", MP.dynapsim_net_from_spec, PVE),
    *sweep("dynapsim_net_from_spec.backend", lambda v: MP.dynapsim_net_from_spec(spec(), v), UPE),
    Case("dynapsim_net_from_spec.Iscale[1e300]", MP.dynapsim_net_from_spec, Lazy(lambda: spec(Iscale=1e300)), PVE),
    *sweep("spec_from_training", MP.spec_from_training, PVE),
    *sweep("map_graph", MP.map_graph, MappingError),
    *sweep("mapper", MP.mapper, MappingError),
    *sweep("map_graph.Iscale", lambda v: MP.map_graph(graph(), Iscale=v), PVE, none=Accepted(lambda v, s: math.isclose(s.Iscale, 1e-8, rel_tol=1e-6)),
           **{k: Accepted(mapped_weights) for k in ("float16", "huge", "tiny")}),
    *sweep("map_graph.max_cores", lambda v: MP.map_graph(graph(), max_cores=v), PVE),
    *sweep("map_graph.neurons_per_core", lambda v: MP.map_graph(graph(), neurons_per_core=v), PVE),
    Case("map_graph.neurons_per_core[257]", lambda v: MP.map_graph(graph(), neurons_per_core=v), 257, PVE),
    *sweep("map_graph.tolerance", lambda v: MP.map_graph(graph(), tolerance=v), PVE,
           **{k: Accepted(lambda v, s: s.n_cores == 1 and s.n_neurons == 2) for k in ("float16", "zero", "huge", "tiny")}),
    # the calibration: every argument is checked before anything is simulated
    *sweep("calibrate_to_reference.spec", lambda v: MP.calibrate_to_reference(v, None, X2), PVE),
    Case("calibrate_to_reference.spec[quantized]", lambda v: MP.calibrate_to_reference(v, None, X2),
         Lazy(lambda: MP.quantize_spec(spec())[0]), CalibrationError),
    Case("calibrate_to_reference[no reference]", lambda v: MP.calibrate_to_reference(spec(), v, X2), None, CalibrationError),
    *sweep("calibrate_to_reference.x", lambda v: MP.calibrate_to_reference(spec(), None, v, **CALIBRATE), SE,
           none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE, neg=PVE, huge=PVE),
    Case("calibrate_to_reference.x[1e300]", lambda v: MP.calibrate_to_reference(spec(), None, v, **CALIBRATE), np.full((5, 2), 1e300), PVE),
    *sweep("calibrate_to_reference.targets", lambda v: MP.calibrate_to_reference(spec(), None, X2, targets=v), SE,
           none=CalibrationError, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE, neg=PVE),
    *sweep("calibrate_to_reference.thresholds", lambda v: MP.calibrate_to_reference(spec(), None, X2, thresholds=v, **CALIBRATE), SE,
           none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE, neg=PVE, zero=PVE, empty=PVE),
    *sweep("calibrate_to_reference.scale_range", lambda v: MP.calibrate_to_reference(spec(), None, X2, scale_range=v, **CALIBRATE), SE,
           none=PVE, str=PVE, bool=PVE, complex=PVE, object=PVE, nan=PVE, inf=PVE, neg=PVE, zero=PVE),
    Case("calibrate_to_reference.scale_range[reversed]", lambda v: MP.calibrate_to_reference(spec(), None, X2, scale_range=v, **CALIBRATE),
         (10.0, 1.0), PVE),
    *[case for name in ("points", "rounds", "keep", "max_cores")
      for case in sweep(f"calibrate_to_reference.{name}", lambda v, n=name: MP.calibrate_to_reference(spec(), None, X2, **{n: v}, **CALIBRATE), PVE)],
    *sweep("calibrate_to_reference.tolerance", lambda v: MP.calibrate_to_reference(spec(), None, X2, tolerance=v, **CALIBRATE), PVE,
           omit=("float16", "zero", "huge", "tiny")),
    *sweep("calibrate_to_reference.neuron_spread", lambda v: MP.calibrate_to_reference(spec(), None, X2, neuron_spread=v, **CALIBRATE), PVE,
           omit=("huge",)),
    *sweep("calibrate_to_reference.per_neuron", lambda v: MP.calibrate_to_reference(spec(), None, X2, per_neuron=v, **CALIBRATE), PVE,
           omit=("bool",)),
    *sweep("calibrate_to_reference.max_weight_current",
           lambda v: MP.calibrate_to_reference(spec(), None, X2, max_weight_current=v, **CALIBRATE), PVE,
           omit=("float16", "huge", "tiny")),
    *sweep("calibrate_to_reference.layers", lambda v: MP.calibrate_to_reference(spec(), None, X2, layers=v, **CALIBRATE), SE,
           omit=("none", "empty"), **{k: v for k, v in SHAPED.items() if k != "none"}),
    Case("calibrate_to_reference.layers[1]", lambda v: MP.calibrate_to_reference(spec(), None, X2, layers=v, **CALIBRATE), [1], PVE),
    *sweep("map_and_calibrate.calibration", lambda v: MP.map_and_calibrate(graph(), X2, calibration=v), PVE, omit=("none",)),
    # the migration of Rockpool DynapSim networks: arguments checked before anything runs
    *sweep("migrate", MP.migrate, MappingError),
    Case("migrate[our DynapSimJax]", MP.migrate, Lazy(graph), MappingError),
    *sweep("migrate.inputs", lambda v: MP.migrate(rockpool_graph(), inputs=v), SE, neg=PVE,
           **{**SHAPED, "none": migrated(lambda m: m.report.behaviour is None and m.inputs is None)}),
    Case("migrate.inputs[negative count]", lambda v: MP.migrate(rockpool_graph(), inputs=v), np.full((1, 5, 2), -1.0), PVE),
    *sweep("migrate.compensate", lambda v: MP.migrate(rockpool_graph(), compensate=v), PVE,
           bool=migrated(lambda m: m.params["w_in"].tolist() == m.original["w_in"].tolist())),
    Case("migrate.settings[Iscale]", lambda v: MP.migrate(rockpool_graph(), Iscale=v), 1e-9, PVE),
    Case("migrate.settings[unknown]", lambda v: MP.migrate(rockpool_graph(), **{v: 1}), "tau", UPE),
    Case("migrate.settings[epochs]", lambda v: MP.migrate(rockpool_graph(), epochs=v), 0, PVE),
]
"""Omitted values (``omit=``) are legitimate and would run a calibration (seconds):
test_lif_mapping.py runs calibrations with the defaults and with ``per_neuron=True``."""


# =================================================================================================
# the census
# =================================================================================================

CASES: List[Case] = PARAMETER_CASES + SIMULATION_CASES + TRANSFORM_CASES + TRAINING_CASES + MAPPING_CASES

GRAMMAR = re.compile(r"`[^`]+`[^;]* must [^;]+; got ")
"""The error grammar: "`name` must be <rule>; got <value>" (a location may follow the name)."""


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case) -> None:
    value = case.value.build() if isinstance(case.value, Lazy) else case.value
    if isinstance(case.expect, Accepted):
        case.expect.check(value, case.call(value))
        return
    assert issubclass(case.expect, Dynapse2Error), f"{case.id}: the census expects only named errors"
    with pytest.raises(case.expect) as info:
        case.call(value)
    assert GRAMMAR.search(str(info.value)), f"{case.id}: {info.value}"


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


NOT_CALLABLE: Dict[str, str] = {
    "BiasCodes": "the record codes_from_currents returns",
    "bias_table": "takes no argument",
    "DynapParams": "the record of a module's parameters (DynapSim* check them on every call)",
    "DynapState": "the record of a module's state (DynapSim* check it on every call)",
    "ModuleSpec": "the record build_module_spec returns after its checks",
    "MagnitudeQuantization": "the record quantize_magnitudes returns",
    "WeightQuantization": "the record quantize_weights returns",
    "Connectivity": "the record connectivity returns (ChipModel checks one it is given)",
    "EpochRecord": "one line of a training history, written by the trainers",
    "NeuronGroup": "the mapper's view of a graph module, made by map_graph",
    "QuantizationReport": "the record quantize_spec returns",
    "CalibrationReport": "the record calibrate_to_reference returns",
    "Migration": "the record migrate returns (its fine_tune checks labels, params and settings)",
    "MigrationReport": "the record migrate returns",
    "cluster_cores": "mapping/cores.py is the core-capacity brief's (CoreCapacityError); map_graph checks its options",
}
"""Public callables without census rows, and why they take no user input to check."""

_ALIASES = {"jax": "DynapSimJax", "torch": "DynapSimTorch"}


def _public_callables() -> set:
    names = set()
    for module in (P, S, T, TR, MP):
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj) and not (isinstance(obj, type) and issubclass(obj, BaseException)):
                names.add(name)
    return names


def test_every_public_callable_is_in_the_census() -> None:
    covered = {_ALIASES.get(c.id.split("[")[0].split(".")[0], c.id.split("[")[0].split(".")[0]) for c in CASES}
    public = _public_callables()
    assert sorted(public - covered - set(NOT_CALLABLE)) == []
    assert sorted(set(NOT_CALLABLE) & covered) == [], "a callable with census rows needs no exemption"
    assert set(NOT_CALLABLE) <= public, "an exemption for a name that is not public"


def test_the_census_is_broad() -> None:
    accepted = sum(isinstance(c.expect, Accepted) for c in CASES)
    named = len(CASES) - accepted
    assert named >= 3000 and accepted >= 250, (named, accepted)
    assert {c.expect for c in CASES if not isinstance(c.expect, Accepted)} >= {PVE, SE, UPE, BCE, CurrentRangeError, MappingError,
                                                                              CalibrationError}
