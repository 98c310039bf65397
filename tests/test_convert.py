"""High-level quantities <-> currents: round trips, closed forms and every array backend.

The closed forms are recomputed here from the circuit constants by name
(``tau = Ut C / (kappa Itau)``, ``t = Vth C / I``), so a wrong capacitance, a wrong
kappa or a swapped formula in ``convert`` shows up as a mismatch.
"""

import numpy as np
import pytest

from rockpool_dynapse2.chip import CONSTANTS, Circuit, CircuitConstants, PulseCircuit
from rockpool_dynapse2.parameters.convert import (
    current_from_weight,
    gain_ratio_from_igain,
    igain_from_gain_ratio,
    ipulse_from_pulse_width,
    itau_from_tau,
    pulse_width_from_ipulse,
    tau_from_itau,
    weight_from_current,
)

CIRCUITS = [c.value for c in Circuit]
PULSES = [c.value for c in PulseCircuit]


def _log_uniform(rng, low, high, size):
    return np.exp(rng.uniform(np.log(low), np.log(high), size))


def _tau_scale(name, constants=CONSTANTS):
    """``Ut C / kappa`` of a DPI circuit, from the constants looked up by name."""
    kappa = (constants.kappa_n + constants.kappa_p) / 2
    return constants.Ut * getattr(constants, f"C_{name}") / kappa


def _pulse_scale(name, constants=CONSTANTS):
    """``Vth C`` of a pulse circuit."""
    return constants.Vth * getattr(constants, f"C_{name}")


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("circuit", CIRCUITS)
def test_tau_current_tau_round_trip(circuit):
    rng = np.random.default_rng(1)
    tau = _log_uniform(rng, 1e-6, 10.0, 1000)
    back = tau_from_itau(itau_from_tau(tau, circuit), circuit)
    np.testing.assert_allclose(back, tau, rtol=1e-12)


@pytest.mark.parametrize("circuit", CIRCUITS)
def test_current_tau_current_round_trip(circuit):
    rng = np.random.default_rng(2)
    itau = _log_uniform(rng, 1e-14, 1e-5, 1000)
    back = itau_from_tau(tau_from_itau(itau, circuit), circuit)
    np.testing.assert_allclose(back, itau, rtol=1e-12)


@pytest.mark.parametrize("circuit", PULSES)
def test_pulse_width_round_trips(circuit):
    rng = np.random.default_rng(3)
    width = _log_uniform(rng, 1e-8, 1e-1, 1000)
    np.testing.assert_allclose(
        pulse_width_from_ipulse(ipulse_from_pulse_width(width, circuit), circuit), width, rtol=1e-12
    )
    current = _log_uniform(rng, 1e-13, 1e-5, 1000)
    np.testing.assert_allclose(
        ipulse_from_pulse_width(pulse_width_from_ipulse(current, circuit), circuit), current, rtol=1e-12
    )


def test_gain_round_trip():
    rng = np.random.default_rng(4)
    ratio = _log_uniform(rng, 1e-2, 1e3, 1000)
    itau = _log_uniform(rng, 1e-13, 1e-7, 1000)
    igain = igain_from_gain_ratio(ratio, itau)
    np.testing.assert_allclose(igain, ratio * itau, rtol=1e-15)
    np.testing.assert_allclose(gain_ratio_from_igain(igain, itau), ratio, rtol=1e-12)


def test_weight_round_trip_keeps_the_sign():
    rng = np.random.default_rng(5)
    weight = rng.normal(size=1000)
    Iscale = 1e-8
    current = current_from_weight(weight, Iscale)
    np.testing.assert_allclose(current, weight * 1e-8, rtol=1e-15)
    np.testing.assert_allclose(weight_from_current(current, Iscale), weight, rtol=1e-12)


# --- closed forms and worked examples ---------------------------------------------------


@pytest.mark.parametrize("circuit", CIRCUITS)
def test_itau_closed_form(circuit):
    tau = np.array([1e-3, 20e-3, 0.5])
    np.testing.assert_allclose(itau_from_tau(tau, circuit), _tau_scale(circuit) / tau, rtol=1e-14)
    np.testing.assert_allclose(
        tau_from_itau(np.array([1e-12, 3e-9]), circuit),
        _tau_scale(circuit) / np.array([1e-12, 3e-9]),
        rtol=1e-14,
    )


@pytest.mark.parametrize("circuit", PULSES)
def test_pulse_closed_form(circuit):
    width = np.array([1e-6, 10e-6, 1e-3])
    np.testing.assert_allclose(
        ipulse_from_pulse_width(width, circuit), _pulse_scale(circuit) / width, rtol=1e-14
    )


def test_enum_and_string_circuit_names_agree():
    for c in Circuit:
        assert itau_from_tau(0.01, c) == itau_from_tau(0.01, c.value)
    for c in PulseCircuit:
        assert ipulse_from_pulse_width(1e-5, c) == ipulse_from_pulse_width(1e-5, c.value)


def test_worked_example_membrane():
    """tau_mem 20 ms with C_mem 3 pF <-> Itau_mem 5.32 pA (DYNAP-SE2.md)."""
    assert CONSTANTS.C_mem == 3e-12
    assert f"{itau_from_tau(20e-3, 'mem'):.3g}" == "5.32e-12"
    assert f"{tau_from_itau(5.32e-12, 'mem'):.3g}" == "0.02"


def test_worked_example_pulse():
    """t_pulse 10 us with C_pulse 0.5 pF <-> Ipulse 35 nA (DYNAP-SE2.md)."""
    assert CONSTANTS.C_pulse == 0.5e-12
    assert ipulse_from_pulse_width(10e-6, "pulse") == pytest.approx(35e-9, rel=1e-12)
    assert pulse_width_from_ipulse(35e-9, "pulse") == pytest.approx(10e-6, rel=1e-12)


def test_custom_constants_are_honoured():
    custom = CircuitConstants(Ut=30e-3, kappa_n=0.7, kappa_p=0.6, Vth=0.5, C_mem=7.7e-12, C_ref=2e-12)
    assert itau_from_tau(20e-3, "mem", custom) == pytest.approx(
        30e-3 * 7.7e-12 / (0.65 * 20e-3), rel=1e-14
    )
    assert tau_from_itau(1e-11, "mem", custom) == pytest.approx(30e-3 * 7.7e-12 / (0.65 * 1e-11), rel=1e-14)
    assert ipulse_from_pulse_width(1e-3, "ref", custom) == pytest.approx(0.5 * 2e-12 / 1e-3, rel=1e-14)
    assert pulse_width_from_ipulse(1e-9, "ref", custom) == pytest.approx(0.5 * 2e-12 / 1e-9, rel=1e-14)
    # A circuit whose capacitance was not changed still sees the new Ut and kappa.
    assert itau_from_tau(10e-3, "ampa", custom) == pytest.approx(
        30e-3 * CONSTANTS.C_ampa / (0.65 * 10e-3), rel=1e-14
    )
    # and the default constants are untouched.
    assert itau_from_tau(20e-3, "mem") == pytest.approx(_tau_scale("mem") / 20e-3, rel=1e-14)


# --- array backends ---------------------------------------------------------------------


def test_numpy_shape_preserved():
    rng = np.random.default_rng(6)
    tau = _log_uniform(rng, 1e-3, 1.0, (3, 4, 5))
    for out in (
        itau_from_tau(tau, "ampa"),
        tau_from_itau(tau * 1e-9, "ampa"),
        ipulse_from_pulse_width(tau, "ref"),
        pulse_width_from_ipulse(tau * 1e-9, "ref"),
        igain_from_gain_ratio(tau, 1e-12),
        gain_ratio_from_igain(tau, 1e-12),
        current_from_weight(tau, 1e-8),
        weight_from_current(tau, 1e-8),
    ):
        assert isinstance(out, np.ndarray)
        assert out.shape == (3, 4, 5)


def test_jax_jit_and_grad():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy

    tau = jnp.array([[1e-3, 20e-3], [50e-3, 0.2]])
    itau = jax.jit(lambda t: itau_from_tau(t, "mem"))(tau)
    assert itau.shape == (2, 2)
    np.testing.assert_allclose(np.asarray(itau), _tau_scale("mem") / np.asarray(tau), rtol=1e-6)

    back = jax.jit(lambda t: tau_from_itau(itau_from_tau(t, "nmda"), "nmda"))(tau)
    np.testing.assert_allclose(np.asarray(back), np.asarray(tau), rtol=1e-6)

    ipulse = jax.jit(lambda t: ipulse_from_pulse_width(t, "pulse"))(jnp.array([10e-6]))
    np.testing.assert_allclose(np.asarray(ipulse), [35e-9], rtol=1e-6)

    for t0 in (1e-3, 20e-3, 0.1):
        grad = jax.grad(lambda t: itau_from_tau(t, "mem"))(jnp.float32(t0))
        expected = -_tau_scale("mem") / t0**2  # d/dtau (Ut C / (kappa tau))
        assert float(grad) == pytest.approx(expected, rel=1e-5)
        # and the same under jit
        grad_jit = jax.jit(jax.grad(lambda t: itau_from_tau(t, "mem")))(jnp.float32(t0))
        assert float(grad_jit) == pytest.approx(expected, rel=1e-5)


def test_jax_vmap():
    jax = pytest.importorskip("jax")
    tau = jax.numpy.array([1e-3, 1e-2, 1e-1])
    out = jax.vmap(lambda t: ipulse_from_pulse_width(t, "ref"))(tau)
    np.testing.assert_allclose(np.asarray(out), _pulse_scale("ref") / np.asarray(tau), rtol=1e-6)


def test_torch_autograd():
    torch = pytest.importorskip("torch")

    tau = torch.tensor([1e-3, 20e-3, 0.1], dtype=torch.float64, requires_grad=True)
    itau = itau_from_tau(tau, "mem")
    assert isinstance(itau, torch.Tensor)
    assert itau.shape == tau.shape
    itau.sum().backward()
    expected = -_tau_scale("mem") / tau.detach().numpy() ** 2
    np.testing.assert_allclose(tau.grad.numpy(), expected, rtol=1e-12)

    width = torch.tensor([[1e-6, 1e-5]], dtype=torch.float64, requires_grad=True)
    ipulse = ipulse_from_pulse_width(width, "pulse")
    assert ipulse.shape == (1, 2)
    ipulse.sum().backward()
    np.testing.assert_allclose(
        width.grad.numpy(), -_pulse_scale("pulse") / width.detach().numpy() ** 2, rtol=1e-12
    )

    back = tau_from_itau(itau_from_tau(tau, "gaba"), "gaba")
    np.testing.assert_allclose(back.detach().numpy(), tau.detach().numpy(), rtol=1e-12)
