"""The chip model: geometry, circuit constants, bias parameters and defaults.

Oracles: the facts collected in ``DYNAP-SE2.md`` (written out below where they are the
specification) and Rockpool 3.1's own lookup tables (``rockpool.devices.dynapse.lookup``),
imported inside the tests that use them.
"""

import dataclasses

import pytest

from rockpool_dynapse2.chip import (
    BIAS_PARAMETER_BY_CURRENT,
    BIAS_PARAMETER_BY_NAME,
    BIAS_PARAMETERS,
    CONSTANTS,
    DEFAULTS,
    GEOMETRY,
    SYNAPSE_TYPES,
    ChipGeometry,
    Circuit,
    CircuitConstants,
    Dendrite,
    PulseCircuit,
    Transistor,
)

# The simulator currents of DYNAP-SE2.md section 1, "Parameter names".
SIMULATOR_CURRENTS = (
    "Idc Itau_mem Igain_mem Iref Ispkthr Ipulse Itau_ahp Igain_ahp Ipulse_ahp Iw_ahp "
    "Itau_ampa Igain_ampa Itau_nmda Igain_nmda Itau_gaba Igain_gaba Itau_shunt Igain_shunt "
    "If_nmda Iw_0 Iw_1 Iw_2 Iw_3"
).split()


# --- geometry ---------------------------------------------------------------------------


def test_geometry_derived_values():
    """11-bit tags, 4 cores of 256 neurons per chip and a 4-bit weight mask."""
    assert GEOMETRY.tags_per_chip == 2048
    assert GEOMETRY.neurons_per_chip == 1024
    assert GEOMETRY.weight_levels == 16
    assert GEOMETRY.n_cores == GEOMETRY.n_chips * 4
    assert GEOMETRY.n_neurons == GEOMETRY.n_chips * 1024
    assert GEOMETRY.cam_entries == 64
    assert GEOMETRY.destinations == 4
    assert (GEOMETRY.hop_min, GEOMETRY.hop_max) == (-7, 7)
    assert (GEOMETRY.coarse_values, GEOMETRY.fine_values) == (6, 256)


def test_geometry_values_are_derived_not_stored():
    """Changing a base size changes every value derived from it."""
    g = ChipGeometry(n_chips=2, cores_per_chip=2, neurons_per_core=8, tag_bits=4, base_weights=3)
    assert g.tags_per_chip == 16
    assert g.neurons_per_chip == 16
    assert g.n_cores == 4
    assert g.n_neurons == 32
    assert g.weight_levels == 8
    assert [g.core_of(n) for n in range(g.n_neurons)] == [n // 8 for n in range(32)]
    assert [g.chip_of_core(c) for c in range(g.n_cores)] == [0, 0, 1, 1]


def test_core_of_and_chip_of_core_at_the_boundaries():
    assert [GEOMETRY.core_of(n) for n in (0, 255, 256, 511, 1023, 1024)] == [0, 0, 1, 1, 3, 4]
    assert [GEOMETRY.chip_of_core(c) for c in (0, 3, 4, 7, 15)] == [0, 0, 1, 1, 3]


def test_geometry_matches_rockpool_maps():
    """Rockpool's neuron -> core and core -> chip maps agree with ours on every index."""
    from rockpool.devices.dynapse.lookup import defaults as rp

    assert GEOMETRY.tags_per_chip == rp.NUM_TAGS
    assert GEOMETRY.n_chips == rp.NUM_CHIPS
    assert GEOMETRY.cores_per_chip == rp.NUM_CORES
    assert GEOMETRY.neurons_per_core == rp.NUM_NEURONS
    assert GEOMETRY.cam_entries == rp.NUM_SYNAPSES
    assert GEOMETRY.destinations == rp.NUM_DEST
    assert [GEOMETRY.core_of(n) for n in range(GEOMETRY.n_neurons)] == list(rp.CORE_MAP)
    for core in range(GEOMETRY.n_cores):
        assert GEOMETRY.chip_of_core(core) == rp.CHIP_MAP[core]


# --- circuit constants ------------------------------------------------------------------


# DYNAP-SE2.md section 2, "Constants" and "Capacitances".
SPEC_CONSTANTS = {
    "Ut": 25e-3,
    "kappa_n": 0.75,
    "kappa_p": 0.66,
    "Io": 0.5e-12,
    "Vth": 0.7,
    "C_mem": 3e-12,
    "C_ampa": 24.5e-12,
    "C_nmda": 25e-12,
    "C_gaba": 25e-12,
    "C_shunt": 24.5e-12,
    "C_ahp": 40e-12,
    "C_ref": 1.5e-12,
    "C_pulse": 0.5e-12,
    "C_pulse_ahp": 0.5e-12,
}


@pytest.mark.parametrize("name", sorted(SPEC_CONSTANTS))
def test_circuit_constants_equal_the_spec(name):
    assert getattr(CONSTANTS, name) == pytest.approx(SPEC_CONSTANTS[name], rel=1e-15)


def test_every_constant_field_is_in_the_spec():
    assert {f.name for f in dataclasses.fields(CircuitConstants)} == set(SPEC_CONSTANTS)


def test_kappa_is_the_mean_slope_factor():
    assert CONSTANTS.kappa == pytest.approx((0.75 + 0.66) / 2, rel=1e-15)
    custom = CircuitConstants(kappa_n=0.8, kappa_p=0.6)
    assert custom.kappa == pytest.approx(0.7, rel=1e-15)


@pytest.mark.parametrize("circuit", list(Circuit) + list(PulseCircuit), ids=lambda c: c.value)
def test_capacitance_of_every_circuit(circuit):
    assert CONSTANTS.capacitance(circuit) == SPEC_CONSTANTS[f"C_{circuit.value}"]


def test_circuit_constants_match_rockpool_layout():
    from rockpool.devices.dynapse.lookup import default_layout

    for name in SPEC_CONSTANTS:
        assert getattr(CONSTANTS, name) == default_layout[name], name


# --- enums ------------------------------------------------------------------------------


def test_dendrite_values_equal_samna():
    assert {d.name: int(d) for d in Dendrite} == {
        "NONE": 0,
        "AMPA": 1024,
        "GABA": 512,
        "NMDA": 256,
        "SHUNT": 128,
    }


def test_dendrite_excitatory_types():
    assert {d for d in Dendrite if d.is_excitatory} == {Dendrite.AMPA, Dendrite.NMDA}


def test_synapse_types_are_the_four_dendrites():
    assert len(SYNAPSE_TYPES) == 4
    assert set(SYNAPSE_TYPES) == set(Dendrite) - {Dendrite.NONE}


def test_transistor_values():
    assert {t.value for t in Transistor} == {"N", "P"}


# --- bias parameters --------------------------------------------------------------------


@pytest.mark.parametrize("param", BIAS_PARAMETERS, ids=lambda p: p.name)
def test_transistor_matches_last_letter_of_name(param):
    assert isinstance(param.transistor, Transistor)
    assert param.transistor is Transistor(param.name[-1])


def test_every_simulator_current_is_covered_exactly_once():
    currents = [p.current for p in BIAS_PARAMETERS]
    names = [p.name for p in BIAS_PARAMETERS]
    assert len(currents) == 23
    assert sorted(currents) == sorted(SIMULATOR_CURRENTS)
    assert len(set(names)) == len(names)
    assert set(BIAS_PARAMETER_BY_NAME) == set(names)
    assert set(BIAS_PARAMETER_BY_CURRENT) == set(currents)
    for p in BIAS_PARAMETERS:
        assert BIAS_PARAMETER_BY_NAME[p.name] is p
        assert BIAS_PARAMETER_BY_CURRENT[p.current] is p


def test_chip_names_equal_rockpool():
    from rockpool.devices.dynapse.lookup.parameter_name import sim2device_se2

    assert {p.current: p.name for p in BIAS_PARAMETERS} == dict(sim2device_se2)


@pytest.mark.parametrize("param", BIAS_PARAMETERS, ids=lambda p: p.name)
def test_scale_factors_equal_rockpool(param):
    from rockpool.devices.dynapse.lookup.scaling import scale_factor_se2

    assert param.scale_factor == scale_factor_se2[param.name]


# --- defaults ---------------------------------------------------------------------------


def test_default_operating_point_equals_the_spec():
    """DYNAP-SE2.md section 2, "defaults"."""
    assert DEFAULTS.tau[Circuit.MEM] == 20e-3
    for syn in (Circuit.AMPA, Circuit.NMDA, Circuit.GABA, Circuit.SHUNT):
        assert DEFAULTS.tau[syn] == 10e-3
        assert DEFAULTS.gain_ratio[syn] == 100
    assert DEFAULTS.tau[Circuit.AHP] == 50e-3
    assert DEFAULTS.pulse_width[PulseCircuit.REF] == 1e-3
    assert DEFAULTS.pulse_width[PulseCircuit.PULSE] == 10e-6
    assert DEFAULTS.gain_ratio[Circuit.MEM] == 4
    assert DEFAULTS.gain_ratio[Circuit.AHP] == 1
    assert DEFAULTS.Ispkthr == 100e-9
    assert DEFAULTS.Iw == pytest.approx((1e-9, 2e-9, 4e-9, 8e-9), rel=1e-15)
    assert DEFAULTS.Iscale == 10e-9
    assert set(DEFAULTS.tau) == set(Circuit)
    assert set(DEFAULTS.gain_ratio) == set(Circuit)
    assert set(DEFAULTS.pulse_width) == set(PulseCircuit)


def test_default_operating_point_matches_rockpool():
    from rockpool.devices.dynapse.lookup import (
        default_currents,
        default_gain_ratios,
        default_time_constants,
        default_weights,
    )

    for c in Circuit:
        assert DEFAULTS.tau[c] == default_time_constants[f"tau_{c.value}"]
        assert DEFAULTS.gain_ratio[c] == default_gain_ratios[f"r_gain_{c.value}"]
    for pc in PulseCircuit:
        assert DEFAULTS.pulse_width[pc] == default_time_constants[f"t_{pc.value}"]
    assert DEFAULTS.Iw == tuple(default_weights[f"Iw_{i}"] for i in range(4))
    assert DEFAULTS.Iscale == default_weights["Iscale"]
    for name in ("Ispkthr", "Idc", "If_nmda", "Iw_ahp"):
        assert getattr(DEFAULTS, name) == default_currents[name], name


# --- immutability -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "record, field",
    [
        (GEOMETRY, "n_chips"),
        (CONSTANTS, "Ut"),
        (DEFAULTS, "Ispkthr"),
        (BIAS_PARAMETERS[0], "scale_factor"),
        (BIAS_PARAMETERS[0], "transistor"),
    ],
    ids=["geometry", "constants", "defaults", "bias-parameter-scale", "bias-parameter-type"],
)
def test_records_are_frozen(record, field):
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, field, getattr(record, field))


def test_lookup_maps_are_read_only():
    with pytest.raises(TypeError):
        BIAS_PARAMETER_BY_NAME["SOIF_LEAK_N"] = BIAS_PARAMETERS[0]
    with pytest.raises(TypeError):
        BIAS_PARAMETER_BY_CURRENT["Itau_mem"] = BIAS_PARAMETERS[0]
    with pytest.raises(TypeError):
        DEFAULTS.tau[Circuit.MEM] = 1.0
    with pytest.raises(TypeError):
        DEFAULTS.gain_ratio[Circuit.MEM] = 1.0
    with pytest.raises(TypeError):
        DEFAULTS.pulse_width[PulseCircuit.REF] = 1.0
