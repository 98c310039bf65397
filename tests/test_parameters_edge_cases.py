"""Edge cases of the parameter mapping found in review: traced values, messages, read-only data."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from rockpool_dynapse2.chip import CircuitConstants, Transistor
from rockpool_dynapse2.errors import (
    BiasCodeError,
    ParameterValueError,
    ShapeError,
    UnknownParameterError,
)
from rockpool_dynapse2.parameters import (
    BiasCode,
    CoreParameters,
    bias_parameter,
    bias_table,
    code_from_current,
    code_relative_error,
    current_from_code,
    itau_from_tau,
)


def test_torch_func_grad_and_vmap_pass_through_the_checks():
    c = CircuitConstants()
    tau = torch.tensor(0.02, dtype=torch.float64)
    g = torch.func.grad(lambda t: itau_from_tau(t, "mem"))(tau)
    expected = -c.Ut * c.C_mem / (c.kappa * 0.02**2)
    assert float(g) == pytest.approx(expected, rel=1e-12)
    taus = torch.tensor([0.01, 0.02], dtype=torch.float64)
    out = torch.vmap(lambda t: itau_from_tau(t, "mem"))(taus)
    np.testing.assert_allclose(out.numpy(), c.Ut * c.C_mem / (c.kappa * taus.numpy()), rtol=1e-12)


def test_codes_of_traced_values_raise_a_named_error():
    with pytest.raises(ParameterValueError, match="traced"):
        jax.jit(lambda i: code_relative_error("SOIF_LEAK_N", i))(jnp.array([1e-11]))


def test_code_errors_name_the_parameter():
    with pytest.raises(BiasCodeError, match="SOIF_LEAK_N") as info:
        current_from_code("SOIF_LEAK_N", (6, 0))
    assert info.value.value == 6 and info.value.high == 5


def test_array_errors_print_plain_values_with_their_index():
    with pytest.raises(ParameterValueError) as info:
        itau_from_tau(np.array([0.01, np.nan, 0.02]), "mem")
    assert "got nan at index 1" in str(info.value)


def test_lists_are_taken_as_arrays():
    out = itau_from_tau([0.01, 0.02], "mem")
    np.testing.assert_allclose(out, itau_from_tau(np.array([0.01, 0.02]), "mem"), rtol=0)


def test_default_currents_follow_the_cores_constants():
    constants = CircuitConstants(C_mem=7.7e-12)
    core = CoreParameters(constants=constants)
    assert core.high_level().tau_mem == pytest.approx(20e-3, rel=1e-12)
    assert core.Itau_mem == pytest.approx(CoreParameters().Itau_mem * 7.7 / 3.0, rel=1e-12)


def test_from_codes_rejects_a_parameter_given_twice():
    codes = dict(CoreParameters().to_codes())
    codes["Itau_mem"] = BiasCode(0, 1)
    with pytest.raises(ParameterValueError, match="SOIF_LEAK_N"):
        CoreParameters.from_codes(codes)


def test_the_shipped_table_cannot_be_changed():
    table = bias_table()
    with pytest.raises(TypeError):
        table.currents[Transistor.N] = np.ones((6, 256))  # type: ignore[index]
    with pytest.raises(ValueError):
        table.currents[Transistor.N][0, 0] = 1.0


def test_code_from_current_takes_one_current():
    with pytest.raises(ShapeError):
        code_from_current("SOIF_LEAK_N", np.array([1e-11, 2e-11]))


def test_non_string_parameter_names_are_unknown():
    with pytest.raises(UnknownParameterError):
        bias_parameter(["SOIF_LEAK_N"])
