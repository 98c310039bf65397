"""The parameter set of one core: currents <-> high level <-> bias codes.

Oracles: Rockpool 3.1's default currents, the closed forms of the circuits, and a
brute-force nearest-code search over the measured table.
"""

import dataclasses

import numpy as np
import pytest

from rockpool_dynapse2.chip import BIAS_PARAMETERS, CONSTANTS, CircuitConstants
from rockpool_dynapse2.errors import UnknownParameterError
from rockpool_dynapse2.parameters import (
    BiasCode,
    CoreHighLevel,
    CoreParameters,
    bias_table,
    current_from_code,
)

CURRENT_NAMES = [p.current for p in BIAS_PARAMETERS]
HIGH_LEVEL_NAMES = [f.name for f in dataclasses.fields(CoreHighLevel)]


def _random_high_level(rng):
    """Random high-level values whose currents the bias generator can produce."""
    log_u = lambda lo, hi: float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    values = {}
    for name in HIGH_LEVEL_NAMES:
        if name.startswith("tau_"):
            values[name] = log_u(1e-3, 200e-3)
        elif name in ("t_pulse", "t_pulse_ahp"):
            values[name] = log_u(1e-6, 50e-6)
        elif name == "t_ref":
            values[name] = log_u(0.1e-3, 10e-3)
        elif name.startswith("gain_"):
            values[name] = log_u(1.0, 200.0)
        else:
            values[name] = log_u(1e-12, 1e-7)
    return values


def _nearest_current(param, current):
    """Brute force: the table current of ``param`` nearest to ``current``."""
    candidates = bias_table().currents[param.transistor].ravel() * param.scale_factor
    return candidates[np.argmin(np.abs(candidates - current))]


# --- defaults ---------------------------------------------------------------------------


def test_fields_are_the_23_simulator_currents():
    fields = [f.name for f in dataclasses.fields(CoreParameters) if f.name != "constants"]
    assert sorted(fields) == sorted(CURRENT_NAMES)
    assert sorted(CoreParameters().currents()) == sorted(CURRENT_NAMES)


def test_defaults_equal_rockpool():
    from rockpool.devices.dynapse.lookup import default_currents, default_weights

    expected = dict(default_currents)
    expected.update({f"Iw_{i}": default_weights[f"Iw_{i}"] for i in range(4)})
    assert sorted(expected) == sorted(CURRENT_NAMES)
    ours = CoreParameters().currents()
    for name in CURRENT_NAMES:
        assert ours[name] == pytest.approx(expected[name], rel=1e-12), name


def test_defaults_are_the_default_high_level_values():
    assert CoreParameters() == CoreParameters.from_high_level()
    assert CoreParameters.from_high_level(CoreHighLevel()) == CoreParameters()
    high = CoreParameters().high_level()
    for name in HIGH_LEVEL_NAMES:
        assert getattr(high, name) == pytest.approx(getattr(CoreHighLevel(), name), rel=1e-12), name


def test_currents_are_stored_as_floats():
    core = CoreParameters(Itau_mem=np.float32(6e-12), Iw_0=np.array(2e-9))
    assert type(core.Itau_mem) is float and type(core.Iw_0) is float
    assert core.Itau_mem == pytest.approx(6e-12, rel=1e-7)


# --- high level <-> currents ------------------------------------------------------------


def test_high_level_round_trip():
    rng = np.random.default_rng(21)
    for _ in range(20):
        values = _random_high_level(rng)
        core = CoreParameters.from_high_level(**values)
        high = core.high_level()
        for name, value in values.items():
            assert getattr(high, name) == pytest.approx(value, rel=1e-12), name


def test_from_high_level_closed_forms():
    """Each current follows from its high-level value by the circuit equation."""
    core = CoreParameters.from_high_level(tau_mem=30e-3, gain_mem=7.0, t_ref=2e-3, Ispkthr=3e-8)
    kappa = (CONSTANTS.kappa_n + CONSTANTS.kappa_p) / 2
    itau = CONSTANTS.Ut * CONSTANTS.C_mem / (kappa * 30e-3)
    assert core.Itau_mem == pytest.approx(itau, rel=1e-14)
    assert core.Igain_mem == pytest.approx(7.0 * itau, rel=1e-14)
    assert core.Iref == pytest.approx(CONSTANTS.Vth * CONSTANTS.C_ref / 2e-3, rel=1e-14)
    assert core.Ispkthr == 3e-8
    # the untouched currents keep their defaults
    assert core.Itau_ampa == CoreParameters().Itau_ampa


def test_from_high_level_overrides_apply_on_top_of_a_record():
    base = CoreHighLevel(tau_ampa=5e-3, gain_ampa=20.0)
    core = CoreParameters.from_high_level(base, tau_ampa=8e-3)
    high = core.high_level()
    assert high.tau_ampa == pytest.approx(8e-3, rel=1e-12)
    assert high.gain_ampa == pytest.approx(20.0, rel=1e-12)


def test_custom_constants_are_honoured():
    custom = CircuitConstants(C_mem=7.7e-12, Ut=30e-3)
    core = CoreParameters.from_high_level(constants=custom, tau_mem=20e-3)
    kappa = (custom.kappa_n + custom.kappa_p) / 2
    assert core.constants == custom
    assert core.Itau_mem == pytest.approx(30e-3 * 7.7e-12 / (kappa * 20e-3), rel=1e-14)
    assert core.high_level().tau_mem == pytest.approx(20e-3, rel=1e-12)
    assert core.quantized().constants == custom


# --- currents <-> codes -----------------------------------------------------------------


def test_to_codes_names_every_chip_parameter():
    codes = CoreParameters().to_codes()
    assert list(codes) == [p.name for p in BIAS_PARAMETERS]
    assert all(isinstance(c, BiasCode) for c in codes.values())


def test_from_codes_of_to_codes_is_quantized():
    rng = np.random.default_rng(22)
    for _ in range(10):
        core = CoreParameters.from_high_level(**_random_high_level(rng))
        quantized = core.quantized()
        assert CoreParameters.from_codes(core.to_codes()) == quantized
        for p in BIAS_PARAMETERS:
            assert getattr(quantized, p.current) == _nearest_current(p, getattr(core, p.current)), p.name
        # quantizing twice changes nothing: the codes' own currents round-trip
        assert quantized.quantized() == quantized
        assert quantized.to_codes() == core.to_codes()


def test_from_codes_accepts_current_names_and_pairs():
    codes = CoreParameters().to_codes()
    by_current = {p.current: tuple(codes[p.name]) for p in BIAS_PARAMETERS}
    assert CoreParameters.from_codes(by_current) == CoreParameters.from_codes(codes)
    for p in BIAS_PARAMETERS:
        assert getattr(CoreParameters.from_codes(codes), p.current) == current_from_code(p.name, codes[p.name])


# --- editing, display, immutability -----------------------------------------------------


def test_replace_changes_only_the_named_current():
    core = CoreParameters()
    new = core.replace(Itau_mem=1e-11, Iw_2=3e-9)
    assert (new.Itau_mem, new.Iw_2) == (1e-11, 3e-9)
    for name in CURRENT_NAMES:
        if name not in ("Itau_mem", "Iw_2"):
            assert getattr(new, name) == getattr(core, name)
    assert core.Itau_mem != 1e-11  # the original is untouched
    with pytest.raises(UnknownParameterError):
        core.replace(tau_mem=1e-3)


def test_table_lists_every_parameter_with_units():
    core = CoreParameters()
    text = core.table()
    assert str(core) == text
    for p in BIAS_PARAMETERS:
        assert p.name in text
    for name in HIGH_LEVEL_NAMES:
        assert name in text
    # the default operating point in SI units: 20 ms membrane, 10 us pulse, 1 ms refractory
    assert "20 ms" in text and "10 us" in text and "1 ms" in text
    assert "35 nA" in text and "100 nA" in text and "500 fA" in text
    for unit in (" ms", " us", " fA", " pA", " nA"):
        assert unit in text
    assert len(text.splitlines()) == 2 + len(BIAS_PARAMETERS)


def test_table_marks_currents_out_of_range():
    text = CoreParameters().replace(Ispkthr=1.0).table()
    (row,) = [line for line in text.splitlines() if "SOIF_SPKTHR_P" in line]
    assert "out of range" in row


def test_records_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CoreParameters().Itau_mem = 1e-12
    with pytest.raises(dataclasses.FrozenInstanceError):
        CoreHighLevel().tau_mem = 1e-3
