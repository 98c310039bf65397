"""The chip's bias parameters and synapse types are declared once, in ``chip.py``, and
every list of them in the package derives from that declaration.

Two kinds of check: every derived name list equals the declaration's; and a scratch copy
of the package with one more bias in ``chip.BIAS_PARAMETERS`` (and no other edit) knows
the new bias in its parameter sets, its simulator records, its default operating point,
its time step and its configuration.
"""

from __future__ import annotations

import ast
import dataclasses
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rockpool_dynapse2.chip import (
    BASE_WEIGHT_BIASES,
    BIAS_PARAMETERS,
    BIAS_SETTING,
    DEFAULTS,
    GEOMETRY,
    HIGH_LEVEL_BIASES,
    NEURON_BIASES,
    SIGNED_EXCITATORY,
    SIGNED_INHIBITORY,
    BiasParameter,
    Circuit,
    CircuitConstants,
    PulseCircuit,
    Quantity,
    SynapseType,
    Transistor,
)
from rockpool_dynapse2.errors import ParameterValueError
from rockpool_dynapse2.parameters import CoreHighLevel, CoreParameters
from rockpool_dynapse2.simulation.records import (
    CURRENT_NAMES,
    LAYOUT_NAMES,
    SYNAPSE_NAMES,
    BiasCurrents,
    DynapParams,
    StepConstants,
)
from rockpool_dynapse2.simulation.step import IDLE_SIGNED
from rockpool_dynapse2.transform import BASE_WEIGHT_PARAMETERS

PACKAGE = Path(__file__).resolve().parents[1] / "rockpool_dynapse2"


# --- the declaration is consistent ------------------------------------------------------


def test_names_currents_and_high_level_names_are_unique():
    for attr in ("name", "current", "high_level_name"):
        values = [getattr(p, attr) for p in BIAS_PARAMETERS]
        assert len(values) == len(set(values)), attr


def test_every_gain_ratio_has_the_leak_current_of_its_circuit():
    taus = {p.circuit for p in BIAS_PARAMETERS if p.sets is Quantity.TAU}
    gains = {p.circuit for p in BIAS_PARAMETERS if p.sets is Quantity.GAIN_RATIO}
    assert gains <= taus


def test_every_circuit_has_its_time_constant_gain_and_pulse_width():
    assert {p.circuit for p in BIAS_PARAMETERS if p.sets is Quantity.TAU} == set(Circuit)
    assert {p.circuit for p in BIAS_PARAMETERS if p.sets is Quantity.GAIN_RATIO} == set(Circuit)
    assert {p.circuit for p in BIAS_PARAMETERS if p.sets is Quantity.PULSE_WIDTH} == set(PulseCircuit)


def test_each_quantity_of_a_circuit_has_one_bias():
    settings = [p for p in BIAS_PARAMETERS if p.sets is not Quantity.CURRENT]
    assert len(BIAS_SETTING) == len(settings)
    for p in settings:
        assert BIAS_SETTING[p.sets, p.circuit] is p


def test_base_weights_are_the_mask_bits():
    assert len(BASE_WEIGHT_BIASES) == GEOMETRY.base_weights
    assert [p.base_weight for p in BASE_WEIGHT_BIASES] == list(range(GEOMETRY.base_weights))
    assert all(p.sets is Quantity.CURRENT for p in BASE_WEIGHT_BIASES)
    assert set(NEURON_BIASES) | set(BASE_WEIGHT_BIASES) == set(BIAS_PARAMETERS)
    assert not set(NEURON_BIASES) & set(BASE_WEIGHT_BIASES)


@pytest.mark.parametrize(
    "sets, circuit",
    [(Quantity.TAU, PulseCircuit.REF), (Quantity.PULSE_WIDTH, Circuit.MEM), (Quantity.GAIN_RATIO, None), (Quantity.CURRENT, "mem")],
)
def test_a_bias_of_the_wrong_kind_of_circuit_is_refused(sets, circuit):
    with pytest.raises(ParameterValueError, match="SOIF_NEW_N.circuit"):
        BiasParameter("SOIF_NEW_N", "Inew", Transistor.N, 1.0, sets, circuit, 1.0)


# --- every derived list equals the declaration's ----------------------------------------


def test_core_parameters_fields_are_the_declared_currents():
    names = [f.name for f in dataclasses.fields(CoreParameters)]
    assert names == [p.current for p in BIAS_PARAMETERS] + ["constants"]


def test_core_high_level_fields_and_defaults_are_the_declared_ones():
    high = CoreHighLevel()
    assert [f.name for f in dataclasses.fields(CoreHighLevel)] == [p.high_level_name for p in HIGH_LEVEL_BIASES]
    assert sorted(HIGH_LEVEL_BIASES, key=BIAS_PARAMETERS.index) == list(BIAS_PARAMETERS)
    for p in BIAS_PARAMETERS:
        assert getattr(high, p.high_level_name) == p.default, p.name


def test_default_operating_point_is_the_declared_defaults():
    for p in BIAS_PARAMETERS:
        if p.sets is Quantity.TAU:
            assert DEFAULTS.tau[p.circuit] == p.default
        elif p.sets is Quantity.GAIN_RATIO:
            assert DEFAULTS.gain_ratio[p.circuit] == p.default
        elif p.sets is Quantity.PULSE_WIDTH:
            assert DEFAULTS.pulse_width[p.circuit] == p.default
        elif p.is_base_weight:
            assert DEFAULTS.Iw[p.base_weight] == p.default
        else:
            assert getattr(DEFAULTS, p.current) == p.default


def test_simulator_records_are_the_declared_currents_and_constants():
    assert CURRENT_NAMES == tuple(p.current for p in BIAS_PARAMETERS if not p.is_base_weight)
    assert LAYOUT_NAMES == tuple(f.name for f in dataclasses.fields(CircuitConstants))
    assert DynapParams._fields == CURRENT_NAMES + LAYOUT_NAMES + ("Iscale", "w_rec")
    assert BiasCurrents._fields == CURRENT_NAMES
    assert "currents" in StepConstants._fields


def test_quantizer_base_weight_names_are_the_declared_ones():
    assert BASE_WEIGHT_PARAMETERS == tuple(p.name for p in BASE_WEIGHT_BIASES)
    assert tuple(p.current for p in BASE_WEIGHT_BIASES) == tuple(f"Iw_{k}" for k in range(GEOMETRY.base_weights))


def test_synapse_names_and_the_signed_layout_derive_from_the_synapse_types():
    assert SYNAPSE_NAMES == tuple(s.label for s in SynapseType)
    assert IDLE_SIGNED == (SynapseType.NMDA, SynapseType.SHUNT)
    assert SIGNED_EXCITATORY.is_excitatory and not SIGNED_INHIBITORY.is_excitatory
    for s in SynapseType:  # the simulator reads each type's currents and capacitance by name
        assert f"Itau_{s.label}" in CURRENT_NAMES and f"Igain_{s.label}" in CURRENT_NAMES
        assert f"C_{s.label}" in LAYOUT_NAMES


# --- no second copy of the list in the modules that derive it ---------------------------

DERIVING_MODULES = [
    "parameters/core.py",
    "parameters/biasgen.py",
    "parameters/convert.py",
    "simulation/records.py",
    "simulation/step.py",
    "simulation/step_vjp.py",
    "simulation/dpi.py",
    "simulation/membrane.py",
    "simulation/spiking.py",
    "transform/quantization.py",
    "transform/qat.py",
    "transform/mismatch.py",
]


@pytest.mark.parametrize("module", DERIVING_MODULES)
def test_no_module_writes_out_the_bias_names_again(module):
    """A module may name a bias it computes with, never list them: at most 3 distinct
    declared names (chip or current) appear as string literals."""
    declared = {p.name for p in BIAS_PARAMETERS} | {p.current for p in BIAS_PARAMETERS}
    tree = ast.parse((PACKAGE / module).read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and ast.get_docstring(node) is not None
    }
    literals = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    }
    assert len(literals & declared) <= 3, sorted(literals & declared)


# --- adding a bias is one line in chip.py -----------------------------------------------

NEW_BIAS = '    BiasParameter("SOIF_NEW_N", "Inew", Transistor.N, 1.05, Quantity.CURRENT, Circuit.MEM, 2e-9),\n'

CHECK_NEW_BIAS = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import numpy as np

    import rockpool_dynapse2
    assert Path(rockpool_dynapse2.__file__).resolve().parent == Path(sys.argv[1]).resolve(), rockpool_dynapse2.__file__

    from rockpool_dynapse2.chip import BIAS_PARAMETER_BY_CURRENT, DEFAULTS
    from rockpool_dynapse2.config.tree import default_core_parameters
    from rockpool_dynapse2.parameters import CoreHighLevel, CoreParameters
    from rockpool_dynapse2.simulation import CURRENT_NAMES, LAYOUT_NAMES, DynapParams
    from rockpool_dynapse2.simulation.records import ArrayOps
    from rockpool_dynapse2.simulation.step import prepare

    assert BIAS_PARAMETER_BY_CURRENT["Inew"].name == "SOIF_NEW_N"
    assert DEFAULTS.Inew == 2e-9
    assert CoreHighLevel().Inew == 2e-9
    assert CoreParameters().Inew == 2e-9
    assert CoreParameters.from_high_level(Inew=3e-9).Inew == 3e-9
    core = CoreParameters(Inew=3e-9)
    codes = core.to_codes()
    assert "SOIF_NEW_N" in codes
    assert abs(CoreParameters.from_codes(codes).Inew / 3e-9 - 1) < 0.05
    assert "Inew" in CURRENT_NAMES and "Inew" in DynapParams._fields
    assert "SOIF_NEW_N" in default_core_parameters()

    # The time step's constants carry it, by name, to the equations.
    n = 3
    values = {name: np.full(n, getattr(core, name)) for name in CURRENT_NAMES}
    values.update({name: np.full(n, getattr(core.constants, name)) for name in LAYOUT_NAMES})
    params = DynapParams(**values, Iscale=1e-8, w_rec=None)
    ops = ArrayOps(
        exp=np.exp, log=np.log, maximum=np.maximum, relu=lambda x: np.maximum(x, 0.0), where=np.where,
        zeros_like=np.zeros_like, stop_gradient=lambda x: x, stack=lambda a, axis: np.stack(a, axis),
        spike_count=None, fence=lambda x: x, recurrent=None,
    )
    constants = prepare(ops, params, 1e-3, True)
    assert np.array_equal(constants.currents.Inew, np.full(n, 3e-9))
    print("ok")
    """
)


def test_a_new_bias_needs_only_its_declaration(tmp_path):
    copy = tmp_path / "rockpool_dynapse2"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    chip = copy / "chip.py"
    source = chip.read_text()
    anchor = "BIAS_PARAMETERS: Tuple[BiasParameter, ...] = (\n"
    assert source.count(anchor) == 1
    chip.write_text(source.replace(anchor, anchor + NEW_BIAS))

    env = {"PYTHONPATH": str(tmp_path), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", CHECK_NEW_BIAS, str(copy)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().endswith("ok")
