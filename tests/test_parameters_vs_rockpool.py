"""Agreement with Rockpool 3.1's own parameter translation.

Rockpool's ``DynapSimCore.from_specification`` turns high-level values into currents,
``export_Dynapse2Parameters`` turns currents into (coarse, fine) codes, and
``analog_to_digital`` finds the code of one current. Ours must agree with all three on
every value the chip can represent.
"""

import numpy as np
import pytest

from rockpool_dynapse2.chip import BIAS_PARAMETERS, Circuit, PulseCircuit
from rockpool_dynapse2.parameters import (
    CoreParameters,
    bias_table,
    code_from_current,
    codes_from_currents,
    current_range,
)

N_RANDOM_CORES = 20
N_RANDOM_CURRENTS = 500


def _random_specs(seed):
    """``N_RANDOM_CORES`` pairs (our high-level overrides, Rockpool's keyword arguments)."""
    rng = np.random.default_rng(seed)
    log_u = lambda lo, hi: float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    specs = []
    for _ in range(N_RANDOM_CORES):
        ours = {}
        for c in Circuit:
            ours[f"tau_{c.value}"] = log_u(1e-3, 200e-3)
            ours[f"gain_{c.value}"] = log_u(1.0, 200.0)
        ours["t_pulse"] = log_u(1e-6, 50e-6)
        ours["t_pulse_ahp"] = log_u(1e-6, 50e-6)
        ours["t_ref"] = log_u(0.1e-3, 10e-3)
        for i in range(4):
            ours[f"Iw_{i}"] = log_u(1e-10, 1e-7)
        ours["Ispkthr"] = log_u(1e-9, 1e-6)
        theirs = {("r_" + k if k.startswith("gain_") else k): v for k, v in ours.items()}
        specs.append((ours, theirs))
    return specs


def _assert_same_currents(rockpool_core, ours):
    for p in BIAS_PARAMETERS:
        assert getattr(ours, p.current) == pytest.approx(
            float(getattr(rockpool_core, p.current)), rel=1e-9
        ), p.current


def _assert_no_tie(param, current):
    """The two codes nearest to ``current`` are not equally near (else either is right)."""
    candidates = bias_table().currents[param.transistor].ravel() * param.scale_factor
    d = np.sort(np.abs(candidates - current))
    assert d[0] < d[1], f"{param.name}: {current!r} is equidistant from two codes"


def test_default_currents_equal_rockpool():
    from rockpool.devices.dynapse.parameters import DynapSimCore

    _assert_same_currents(DynapSimCore.from_specification(), CoreParameters.from_high_level())


def test_random_high_level_values_give_rockpool_currents():
    from rockpool.devices.dynapse.parameters import DynapSimCore

    for ours, theirs in _random_specs(seed=31):
        _assert_same_currents(
            DynapSimCore.from_specification(**theirs), CoreParameters.from_high_level(**ours)
        )


def test_rockpool_currents_read_back_as_our_high_level_values():
    """Rockpool's currents, put into our record, give back the values Rockpool was given."""
    from rockpool.devices.dynapse.parameters import DynapSimCore

    for ours, theirs in _random_specs(seed=32)[:5]:
        rp = DynapSimCore.from_specification(**theirs)
        core = CoreParameters(**{p.current: float(getattr(rp, p.current)) for p in BIAS_PARAMETERS})
        high = core.high_level()
        for name, value in ours.items():
            assert getattr(high, name) == pytest.approx(value, rel=1e-9), name


def test_exported_codes_equal_rockpool():
    from rockpool.devices.dynapse.parameters import DynapSimCore

    specs = [({}, {})] + _random_specs(seed=33)
    for ours, theirs in specs:
        rp = DynapSimCore.from_specification(**theirs)
        core = CoreParameters.from_high_level(**ours)
        for p in BIAS_PARAMETERS:
            current = getattr(core, p.current)
            low, high = current_range(p)
            if low <= current <= high:  # inside the measured range: no clipping involved
                _assert_no_tie(p, current)
        exported = {name: (int(c), int(f)) for name, (c, f) in rp.export_Dynapse2Parameters().items()}
        codes = {name: tuple(code) for name, code in core.to_codes(clip=True).items()}
        assert codes == exported


@pytest.mark.parametrize("param", BIAS_PARAMETERS, ids=lambda p: p.name)
def test_code_of_random_currents_equals_rockpool(param):
    from rockpool.devices.dynapse.parameters import analog_to_digital

    low, high = current_range(param)
    rng = np.random.default_rng(34)
    currents = np.exp(rng.uniform(np.log(low), np.log(high), N_RANDOM_CURRENTS))
    codes = codes_from_currents(param.name, currents)
    for i, current in enumerate(currents):
        coarse, fine = analog_to_digital(current, param.scale_factor, param.transistor.value)
        expected = (int(coarse), int(fine))
        assert (int(codes.coarse[i]), int(codes.fine[i])) == expected, current
        if i % 50 == 0:  # the scalar API too, on a sample
            assert tuple(code_from_current(param.current, current)) == expected


def test_pulse_and_refractory_names_line_up_with_rockpool():
    """Our pulse circuits are Rockpool's ``t_<name>`` / ``I<name>`` pairs."""
    from rockpool.devices.dynapse.parameters import DynapSimCore

    rp = DynapSimCore.from_specification(t_pulse=3e-6, t_pulse_ahp=7e-6, t_ref=4e-3)
    core = CoreParameters.from_high_level(t_pulse=3e-6, t_pulse_ahp=7e-6, t_ref=4e-3)
    for pc in PulseCircuit:
        assert getattr(core, f"I{pc.value}") == pytest.approx(float(getattr(rp, f"I{pc.value}")), rel=1e-12)
