"""Every named error of the parameter-mapping layer.

Each test asserts the error *type* (the contract) and that its message names the
parameter and the offending value, so a user can find what to fix.
"""

import math

import numpy as np
import pytest

from rockpool_dynapse2.chip import BIAS_PARAMETERS, Circuit, PulseCircuit
from rockpool_dynapse2.errors import (
    BiasCodeError,
    CurrentRangeError,
    Dynapse2Error,
    ParameterValueError,
    UnknownParameterError,
)
from rockpool_dynapse2.parameters import (
    BiasCode,
    CoreHighLevel,
    CoreParameters,
    bias_parameter,
    code_from_current,
    codes_from_currents,
    current_from_code,
    current_range,
    currents_from_codes,
    gain_ratio_from_igain,
    igain_from_gain_ratio,
    ipulse_from_pulse_width,
    itau_from_tau,
    pulse_width_from_ipulse,
    tau_from_itau,
)
from rockpool_dynapse2.parameters.convert import current_from_weight, weight_from_current

BAD_VALUES = pytest.mark.parametrize(
    "bad, shown", [(0.0, "0.0"), (-1e-3, "-0.001"), (math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf")]
)


# --- ParameterValueError: non-positive, NaN, inf ----------------------------------------


@BAD_VALUES
@pytest.mark.parametrize(
    "convert, name",
    [
        (lambda x: itau_from_tau(x, "mem"), "tau_mem"),
        (lambda x: itau_from_tau(x, "shunt"), "tau_shunt"),
        (lambda x: tau_from_itau(x, "ampa"), "Itau_ampa"),
        (lambda x: ipulse_from_pulse_width(x, "pulse"), "t_pulse"),
        (lambda x: ipulse_from_pulse_width(x, "ref"), "t_ref"),
        (lambda x: pulse_width_from_ipulse(x, "ref"), "Iref"),
        (lambda x: pulse_width_from_ipulse(x, "pulse_ahp"), "Ipulse_ahp"),
        (lambda x: igain_from_gain_ratio(x, 1e-12), "gain ratio"),
        (lambda x: gain_ratio_from_igain(x, 1e-12), "Igain"),
        (lambda x: current_from_weight(0.5, x), "Iscale"),
        (lambda x: weight_from_current(1e-9, x), "Iscale"),
    ],
    ids=[
        "itau_from_tau-mem", "itau_from_tau-shunt", "tau_from_itau", "ipulse-pulse", "ipulse-ref",
        "width-ref", "width-pulse_ahp", "igain", "gain_ratio", "current_from_weight", "weight_from_current",
    ],
)
def test_conversions_reject_bad_scalars(convert, name, bad, shown):
    with pytest.raises(ParameterValueError) as info:
        convert(bad)
    message = str(info.value)
    assert f"`{name}`" in message
    assert message.endswith(f"got {shown}")
    assert info.value.name == name


def test_array_error_names_the_index_and_shape():
    tau = np.array([1e-3, 2e-3, -5e-3, 0.0])
    with pytest.raises(ParameterValueError) as info:
        itau_from_tau(tau, "ampa")
    message = str(info.value)
    assert "`tau_ampa`" in message
    assert "-0.005" in message
    assert "at index 2" in message  # the first bad entry
    assert "(4,)" in message


def test_2d_array_error_names_the_index_tuple():
    width = np.full((2, 3), 1e-5)
    width[1, 2] = np.nan
    with pytest.raises(ParameterValueError) as info:
        ipulse_from_pulse_width(width, "pulse")
    assert "nan" in str(info.value) and "at index (1, 2)" in str(info.value)


def test_torch_tensor_is_checked():
    torch = pytest.importorskip("torch")
    with pytest.raises(ParameterValueError) as info:
        itau_from_tau(torch.tensor([1e-3, -1.0]), "nmda")
    assert "`tau_nmda`" in str(info.value) and "at index 1" in str(info.value)


def test_concrete_jax_array_is_checked():
    jax = pytest.importorskip("jax")
    with pytest.raises(ParameterValueError) as info:
        itau_from_tau(jax.numpy.array([1e-3, 0.0]), "gaba")
    assert "`tau_gaba`" in str(info.value) and "at index 1" in str(info.value)


@pytest.mark.parametrize("field", ["tau_mem", "t_ref", "gain_ampa", "Ispkthr", "Iw_3"])
def test_high_level_record_rejects_bad_values(field):
    with pytest.raises(ParameterValueError) as info:
        CoreHighLevel(**{field: -2.5})
    assert f"`{field}`" in str(info.value) and "-2.5" in str(info.value)
    with pytest.raises(ParameterValueError) as info:
        CoreParameters.from_high_level(**{field: math.nan})
    assert f"`{field}`" in str(info.value) and "nan" in str(info.value)


@pytest.mark.parametrize("name", ["Itau_mem", "Iw_0", "Idc"])
def test_core_currents_reject_bad_values(name):
    with pytest.raises(ParameterValueError) as info:
        CoreParameters(**{name: 0.0})
    assert f"`{name}`" in str(info.value) and "0.0" in str(info.value)
    with pytest.raises(ParameterValueError) as info:
        CoreParameters().replace(**{name: -math.inf})
    assert f"`{name}`" in str(info.value) and "-inf" in str(info.value)


def test_codes_of_bad_currents():
    with pytest.raises(ParameterValueError) as info:
        codes_from_currents("SOIF_LEAK_N", np.array([1e-11, math.nan]))
    assert "`Itau_mem`" in str(info.value)
    assert "nan" in str(info.value) and "at index 1" in str(info.value)
    with pytest.raises(ParameterValueError) as info:
        code_from_current("Iw_0", -1e-9)
    assert "`Iw_0`" in str(info.value) and "-1e-09" in str(info.value)


def test_codes_cannot_be_traced():
    jax = pytest.importorskip("jax")
    with pytest.raises(ParameterValueError) as info:
        jax.jit(lambda i: codes_from_currents("SOIF_LEAK_N", i).coarse)(jax.numpy.array([1e-11]))
    assert "`Itau_mem`" in str(info.value) and "traced" in str(info.value)


def test_parameter_value_error_is_a_value_error():
    """Code written against plain ValueError keeps catching our errors."""
    for error in (ParameterValueError, CurrentRangeError, BiasCodeError):
        assert issubclass(error, ValueError) and issubclass(error, Dynapse2Error)
    with pytest.raises(ValueError):
        itau_from_tau(-1.0, "mem")
    with pytest.raises(ValueError):
        code_from_current("SOIF_LEAK_N", 1.0)
    with pytest.raises(ValueError):
        BiasCode(9, 0)


# --- CurrentRangeError ------------------------------------------------------------------


@pytest.mark.parametrize("param", BIAS_PARAMETERS, ids=lambda p: p.name)
@pytest.mark.parametrize("where", ["below", "above"])
def test_current_outside_the_bias_generator(param, where):
    low, high = current_range(param)
    current = low / 3 if where == "below" else high * 3
    with pytest.raises(CurrentRangeError) as info:
        code_from_current(param.name, current)
    error = info.value
    assert (error.low, error.high) == (low, high)
    assert param.name in str(error) and param.current in str(error)
    assert repr(current) in str(error)
    assert isinstance(error, ParameterValueError)


def test_current_range_error_in_an_array_names_the_index():
    low, high = current_range("SYAM_W0_P")
    with pytest.raises(CurrentRangeError) as info:
        codes_from_currents("Iw_0", np.array([1e-9, 2e-9, high * 10]))
    assert "at index 2" in str(info.value)


def test_core_to_codes_out_of_range():
    core = CoreParameters().replace(Ispkthr=1e-3)
    with pytest.raises(CurrentRangeError) as info:
        core.to_codes()
    assert "SOIF_SPKTHR_P" in str(info.value) and "0.001" in str(info.value)
    with pytest.raises(CurrentRangeError):
        core.quantized()


# --- BiasCodeError ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "coarse, fine, field, shown",
    [(6, 0, "coarse", "6"), (-1, 0, "coarse", "-1"), (0, 256, "fine", "256"), (0, -3, "fine", "-3"),
     (2.0, 0, "coarse", "2.0"), (0, 1.5, "fine", "1.5"), (0, "7", "fine", "'7'")],
)
def test_bias_code_out_of_range_or_not_integer(coarse, fine, field, shown):
    with pytest.raises(BiasCodeError) as info:
        BiasCode(coarse, fine)
    assert info.value.field == field
    assert f"`{field}`" in str(info.value)
    assert str(info.value).endswith(f"got {shown}")


def test_current_from_code_rejects_bad_codes():
    with pytest.raises(BiasCodeError) as info:
        current_from_code("SOIF_LEAK_N", (6, 0))
    assert "`coarse`" in str(info.value) and str(info.value).endswith("got 6")
    with pytest.raises(ParameterValueError) as info:
        current_from_code("SOIF_LEAK_N", 5)
    assert "SOIF_LEAK_N" in str(info.value) and "5" in str(info.value)


def test_currents_from_codes_names_the_parameter():
    with pytest.raises(BiasCodeError) as info:
        currents_from_codes("SOIF_LEAK_N", np.array([0, 1, 7]), np.array([0, 0, 0]))
    assert "SOIF_LEAK_N" in str(info.value) and "`coarse`" in str(info.value)
    assert str(info.value).endswith("got 7")
    with pytest.raises(BiasCodeError) as info:
        currents_from_codes("Iw_1", np.array([0]), np.array([300]))
    assert "SYAM_W1_P" in str(info.value) and "`fine`" in str(info.value)
    assert str(info.value).endswith("got 300")
    with pytest.raises(BiasCodeError) as info:
        currents_from_codes("Iw_1", np.array([0.5]), np.array([3]))
    assert "integer" in str(info.value)


def test_from_codes_rejects_bad_codes():
    codes = dict(CoreParameters().to_codes())
    codes["SOIF_LEAK_N"] = (0, 999)
    with pytest.raises(BiasCodeError) as info:
        CoreParameters.from_codes(codes)
    assert "999" in str(info.value)


# --- UnknownParameterError --------------------------------------------------------------


def _assert_lists_valid(error, bad, valid):
    assert isinstance(error, KeyError)
    assert error.name == bad
    assert set(valid) <= set(error.valid)
    message = str(error)
    assert repr(bad) in message
    for name in valid:
        assert name in message


def test_unknown_bias_parameter():
    with pytest.raises(UnknownParameterError) as info:
        bias_parameter("SOIF_LEAK")
    valid = [p.name for p in BIAS_PARAMETERS] + [p.current for p in BIAS_PARAMETERS]
    _assert_lists_valid(info.value, "SOIF_LEAK", valid)
    for call in (
        lambda: current_range("Itau"),
        lambda: code_from_current("Itau", 1e-12),
        lambda: current_from_code("Itau", (0, 0)),
    ):
        with pytest.raises(UnknownParameterError):
            call()


def test_unknown_high_level_override():
    with pytest.raises(UnknownParameterError) as info:
        CoreParameters.from_high_level(tau_membrane=20e-3)
    _assert_lists_valid(info.value, "tau_membrane", ["tau_mem", "t_ref", "gain_ampa", "Iw_0"])


def test_unknown_current_in_replace():
    with pytest.raises(UnknownParameterError) as info:
        CoreParameters().replace(Itau_membrane=1e-12)
    _assert_lists_valid(info.value, "Itau_membrane", [p.current for p in BIAS_PARAMETERS])


def test_unknown_circuit_name():
    with pytest.raises(UnknownParameterError) as info:
        itau_from_tau(20e-3, "membrane")
    _assert_lists_valid(info.value, "membrane", [c.value for c in Circuit])
    with pytest.raises(UnknownParameterError) as info:
        ipulse_from_pulse_width(1e-5, "refractory")
    _assert_lists_valid(info.value, "refractory", [c.value for c in PulseCircuit])


def test_unknown_name_in_from_codes():
    codes = dict(CoreParameters().to_codes())
    codes["SOIF_LEAKY_N"] = (0, 1)
    with pytest.raises(UnknownParameterError) as info:
        CoreParameters.from_codes(codes)
    assert info.value.name == "SOIF_LEAKY_N"


# --- missing parameters -----------------------------------------------------------------


def test_from_codes_with_a_missing_parameter():
    codes = dict(CoreParameters().to_codes())
    del codes["SOIF_LEAK_N"]
    del codes["SYAM_W3_P"]
    with pytest.raises(ParameterValueError) as info:
        CoreParameters.from_codes(codes)
    assert "SOIF_LEAK_N" in str(info.value) and "SYAM_W3_P" in str(info.value)
    assert "missing" in str(info.value)
