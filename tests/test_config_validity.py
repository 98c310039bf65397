"""Configurations valid by construction and on load; every chip limit a design-rule error
(issue #16, items 2 and 3).

* ``Configuration``: at least one chip, integers within their bit width, booleans that are
  booleans, enums in range, the JSON path of the bad field in the error;
* ``MappedConfiguration``: maps that point at the board, JSON read with its exact types,
  ``to_json -> from_json -> to_json`` the identity;
* the mapper's and the placement's capacity limits: a Rockpool ``DRCError`` naming the
  rule, the limit, the need and where (``CoreCapacityError`` is one).
"""

import json
import pickle
import re

import numpy as np
import pytest
from rockpool.nn.combinators import Sequential
from rockpool.nn.modules import LinearJax
from rockpool.typehints import DRCError

from rockpool_dynapse2 import DynapSimJax
from rockpool_dynapse2.config import Bioamps, Chip, Configuration, Core, DvsInterface, Neuron, Parameter, Vec2
from rockpool_dynapse2.config import from_json, to_json
from rockpool_dynapse2.errors import CoreCapacityError, Dynapse2DRCError, Dynapse2Error, ParameterValueError, Violation
from rockpool_dynapse2.mapping import calibrate_to_reference, cluster_cores, mapper, quantize_spec
from rockpool_dynapse2.placement import InputRoute, MappedConfiguration, NeuronAddress, config_from_specification
from rockpool_dynapse2.simulation.records import CURRENT_NAMES

UINT64_MAX, UINT32_MAX, INT32_MIN, INT32_MAX = 2**64 - 1, 2**32 - 1, -(2**31), 2**31 - 1


# --- Configuration ------------------------------------------------------------------------------


def test_a_configuration_has_at_least_one_chip():
    with pytest.raises(ParameterValueError, match="`chips` must be at least one Chip"):
        Configuration(())
    with pytest.raises(ParameterValueError, match=r"`value0\.chips` must be at least one Chip"):
        Configuration.from_json('{"value0": {"chips": []}}')
    assert len(Configuration().chips) == 1


@pytest.mark.parametrize(
    "build, name, low, high",
    [
        (lambda v: Parameter("N", address=v), "address", 0, UINT64_MAX),
        (lambda v: Parameter("N", cookie=v), "cookie", 0, UINT64_MAX),
        (lambda v: Core(core_id=v), "core_id", 0, UINT64_MAX),
        (lambda v: Core(cookie=v), "cookie", 0, UINT64_MAX),
        (lambda v: Bioamps(gain=v), "gain", 0, UINT64_MAX),
        (lambda v: DvsInterface(davis_req_ack_bugfix_delay_ns=v), "davis_req_ack_bugfix_delay_ns", 0, UINT64_MAX),
        (lambda v: DvsInterface(origin=Vec2(v, 0)), "origin.x", 0, UINT32_MAX),
        (lambda v: DvsInterface(max=Vec2(0, v)), "max.y", 0, UINT32_MAX),
        (lambda v: DvsInterface(pooling_shift=Vec2(v, 0)), "pooling_shift.x", 0, UINT32_MAX),
        (lambda v: DvsInterface(copy_hop=Vec2(v, 0)), "copy_hop.x", INT32_MIN, INT32_MAX),
    ],
)
def test_integer_fields_fit_their_bit_width(build, name, low, high):
    build(low)
    build(high)
    # a 2-vector's coordinate first meets Vec2's own check (`x`: int32 or uint32), then the
    # record's (`origin.x`: uint32)
    named = rf"`({name}|{name.rpartition('.')[2]})`"
    for bad in (low - 1, high + 1, 2**80):
        with pytest.raises(ParameterValueError, match=rf"{named} must be an integer in -?\d+\.\.\d+; got {bad}"):
            build(bad)


def _blank_text() -> str:
    return Configuration.empty().to_json()


def _replace_first(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_an_integer_beyond_its_width_is_refused_on_load_with_its_path():
    text = _replace_first(_blank_text(), '"_address": 0', f'"_address": {2**80}')
    path = r"value0\.chips\[0\]\.cores\.value0\.parameters\[0\]\.value\._address"
    with pytest.raises(ParameterValueError, match=rf"`{path}` must be an integer in 0\.\.{UINT64_MAX}; got {2**80}"):
        Configuration.from_json(text)


def test_the_widest_values_are_written_back_exactly():
    text = _replace_first(_blank_text(), '"_address": 0', f'"_address": {UINT64_MAX}')
    text = _replace_first(text, '"gain": 0', f'"gain": {UINT64_MAX}')
    config = Configuration.from_json(text)
    assert config.core(0, 0).parameters[sorted(config.core(0, 0).parameters)[0]].address == UINT64_MAX
    assert config.to_json() == text


@pytest.mark.parametrize(
    "kind, old, new, path, rule",
    [
        (Neuron, '"stp": false', '"stp": 0', r"value0\.synapses\.value0\.stp", "a JSON boolean"),
        (Neuron, '"latchSoDc": false', '"latchSoDc": 1', r"value0\.latchSoDc", "a JSON boolean"),
        (Neuron, '"dendrite": 0', '"dendrite": 3', r"value0\.synapses\.value0\.dendrite", "one of 0 \\(NONE\\)"),
        (Neuron, '"dendrite": 0', '"dendrite": false', r"value0\.synapses\.value0\.dendrite", "one of 0 \\(NONE\\)"),
        (Neuron, '"tag": 0', '"tag": 2048', r"value0\.synapses\.value0\.tag", r"an integer in 0\.\.2047"),
        (Neuron, '"xHop": 0', '"xHop": 8', r"value0\.destinations\.value0\.xHop", r"an integer in -7\.\.7"),
        (Neuron, '"yHop": 0', '"yHop": null', r"value0\.destinations\.value0\.yHop", "a JSON integer"),
        (Core, '"neuronMonitoringOn": false', '"neuronMonitoringOn": "false"', r"value0\.neuronMonitoringOn", "a JSON boolean"),
        (Core, '"monitoredNeuron": 0', '"monitoredNeuron": 1.0', r"value0\.monitoredNeuron", "a JSON integer"),
        (Core, '"_id": 0', f'"_id": {2**64}', r"value0\._id", rf"an integer in 0\.\.{UINT64_MAX}"),
        (Chip, '"dvsMode": 0', '"dvsMode": 1', r"value0\.dvsIf\.dvsMode", "one of 0 \\(DVS128\\)"),
        (Chip, '"x": 0', '"x": -1', r"value0\.dvsIf\.poolingShift\.x", r"an integer in 0\.\.4294967295"),
    ],
)
def test_booleans_enums_and_ranges_are_checked_on_load(kind, old, new, path, rule):
    """The records below a configuration are read by the same codecs (a record's own
    document is smaller: a chip's JSON is 50 MB)."""
    text = _replace_first(to_json(kind()), old, new)
    with pytest.raises(ParameterValueError, match=rf"`{path}` must be {rule}"):
        from_json(text, kind)


@pytest.mark.parametrize("bad", [False, 2.0, 1, "DVS128"])
def test_an_enum_is_a_member_or_its_integer_value(bad):
    with pytest.raises(ParameterValueError, match="`dvs_mode` must be one of DVS128=0, DAVIS240C=2, DAVIS346=4"):
        DvsInterface(dvs_mode=bad)
    assert DvsInterface(dvs_mode=np.int64(4)).dvs_mode.name == "DAVIS346"


# --- MappedConfiguration ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mapped():
    net = Sequential(LinearJax((4, 3), weight=np.ones((4, 3)), has_bias=False), DynapSimJax((3,)))
    return config_from_specification(quantize_spec(mapper(net.as_graph()))[0])


def test_mapped_configuration_round_trips_exactly(mapped):
    text = mapped.to_json()
    again = MappedConfiguration.from_json(text)
    assert again == mapped
    assert again.to_json() == text
    assert mapped.outputs == (0, 1, 2) and len(mapped.neurons) == 3  # what the bad documents below change


@pytest.fixture(scope="module")
def parts(mapped):
    """``(maps, configuration text)``: a bad document is the changed maps and the same
    configuration text (re-writing the chip's 50 MB of JSON per case would be slow)."""
    return json.loads(json.dumps(mapped._maps())), mapped.configuration.to_json()


def _changed(parts, change):
    maps, configuration = parts
    maps = json.loads(json.dumps(maps))
    change(maps)
    return json.dumps(maps)[:-1] + ', "configuration": ' + configuration + "}"


def _set(key, value):
    return lambda d: d.__setitem__(key, value)


@pytest.mark.parametrize(
    "change, where, rule",
    [
        (_set("outputs", [0, 0, 1]), r"outputs\[1\]", r"a tag no other output has \(outputs\[0\] has it\)"),
        (_set("outputs", [0, 1, 5]), r"outputs\[2\]", "the tag of a monitoring entry"),
        (_set("outputs", [True, 1, 2]), r"outputs\[0\]", "a JSON integer"),
        (_set("neurons", [[0, 0, 0], [0, 0, 0], [0, 0, 2]]), r"neurons\[1\]", "an address no other neuron has"),
        (_set("neurons", [["0", 0, 0], [0, 0, 1], [0, 0, 2]]), r"neurons\[0\]\.chip", "a JSON integer"),
        (_set("neurons", [[0, 0, 0.0], [0, 0, 1], [0, 0, 2]]), r"neurons\[0\]\.neuron", "a JSON integer"),
        (_set("neurons", [[0, 0], [0, 0, 1], [0, 0, 2]]), r"neurons\[0\]", r"a JSON list of 3 items \[chip, core, neuron\]"),
        (_set("dt", "0.001"), "dt", "a finite JSON number"),
        (_set("dt", True), "dt", "a finite JSON number"),
        (_set("Iscale", -1e-9), "Iscale", "a positive finite number"),
        (_set("inputs", 5), "inputs", "a JSON list"),
        (_set("inputs", [[[0, [1, 1, 1, 1], 0]]] * 4), r"inputs\[0\]\[0\]\.core_mask\[0\]", "a JSON boolean"),
        (_set("inputs", [[[0, [True] * 4]]] * 4), r"inputs\[0\]\[0\]", r"a JSON list of 3 items \[chip, \[4 booleans\], tag\]"),
        (_set("inputs", [[[0, [True] * 4, 2047]]] * 4), r"inputs\[0\]\[0\]\.tag", r"an integer in 0\.\.2046"),
        (_set("comment", "hello"), "comment", "absent"),
        (lambda d: d.pop("neurons"), "neurons", "present"),
    ],
)
def test_bad_mapped_documents_are_refused_with_the_path(parts, change, where, rule):
    with pytest.raises(ParameterValueError, match=rf"`{where}` must be {rule}"):
        MappedConfiguration.from_json(_changed(parts, change))


def test_an_error_in_the_embedded_configuration_names_its_path(mapped):
    from rockpool_dynapse2.errors import BiasCodeError

    maps = json.dumps(mapped._maps())[:-1]
    configuration = mapped.configuration.to_json()
    no_chip = maps + ', "configuration": {"value0": {"chips": []}}}'
    with pytest.raises(ParameterValueError, match=r"`configuration\.value0\.chips` must be at least one Chip"):
        MappedConfiguration.from_json(no_chip)
    coarse_7 = maps + ', "configuration": ' + re.sub(r'"coarseValue": \d+', '"coarseValue": 7', configuration, count=1) + "}"
    with pytest.raises(BiasCodeError, match=r"\(configuration\.value0\.chips\[0\]\.cores\.value0\.parameters\[0\]\.value\.coarseValue\)"):
        MappedConfiguration.from_json(coarse_7)


def test_construction_checks_types_and_normalises_integers(mapped):
    import dataclasses

    replace = dataclasses.replace
    with pytest.raises(ParameterValueError, match="`configuration` must be a Configuration"):
        replace(mapped, configuration=mapped.to_json())
    with pytest.raises(ParameterValueError, match=r"`inputs\[0\]\[0\]` must be an InputRoute"):
        replace(mapped, inputs=(((0, (True,) * 4, 0),),))
    with pytest.raises(ParameterValueError, match=r"`inputs\[0\]\[0\]\.core_mask` must be 4 booleans"):
        replace(mapped, inputs=((InputRoute(0, (1, 1, 1, 1), 0),),))
    with pytest.raises(ParameterValueError, match=r"`neurons\[0\]` must be a NeuronAddress"):
        replace(mapped, neurons=((0, 0, 0),) + mapped.neurons[1:])
    numpy_ints = replace(
        mapped,
        outputs=tuple(np.int64(t) for t in mapped.outputs),
        neurons=tuple(NeuronAddress(np.int32(a.chip), np.int32(a.core), np.int32(a.neuron)) for a in mapped.neurons),
        dt=np.float32(1e-3),
    )
    assert all(type(t) is int for t in numpy_ints.outputs) and type(numpy_ints.neurons[0].chip) is int
    assert type(numpy_ints.dt) is float
    assert MappedConfiguration.from_json(numpy_ints.to_json()) == numpy_ints


# --- chip limits are design-rule errors ---------------------------------------------------------


def test_a_network_larger_than_the_board_is_a_design_rule_error_from_the_mapper():
    graph = Sequential(LinearJax((2, 5000), has_bias=False), DynapSimJax((5000,))).as_graph()
    with pytest.raises(CoreCapacityError) as info:
        mapper(graph)
    error = info.value
    assert isinstance(error, Dynapse2DRCError) and isinstance(error, DRCError) and isinstance(error, Dynapse2Error)
    assert isinstance(error, ValueError)  # as CoreCapacityError was
    (v,) = error.violations
    assert (v.rule, v.limit, v.actual) == ("neurons", 4096, 5000)
    assert v.where == "network (16 cores x 256 neurons); layers '1_DynapSimJax' (5000 neurons)"  # the layers named
    assert "at most 4096" in str(error)
    with pytest.raises(Dynapse2DRCError) as info:  # a one-chip board
        mapper(graph, max_cores=4)
    assert info.value.violations[0].limit == 1024


def test_cluster_cores_names_the_layers_it_was_given():
    currents = {k: np.ones(600) * 1e-9 for k in CURRENT_NAMES}
    with pytest.raises(CoreCapacityError) as info:
        cluster_cores(currents, 2, 256, layers=[("0_DynapSimJax", 400), ("1_DynapSimJax", 200)])
    (v,) = info.value.violations
    assert (v.rule, v.limit, v.actual) == ("neurons", 512, 600)
    assert "layers '0_DynapSimJax' (400 neurons), '1_DynapSimJax' (200 neurons)" in v.where


def test_a_fan_in_of_65_is_a_design_rule_error_naming_the_neuron_and_its_layer():
    net = Sequential(LinearJax((65, 1), weight=np.ones((65, 1)), has_bias=False), DynapSimJax((1,)))
    spec, _ = quantize_spec(mapper(net.as_graph()))
    with pytest.raises(Dynapse2DRCError) as info:
        config_from_specification(spec)
    assert isinstance(info.value, DRCError) and not isinstance(info.value, CoreCapacityError)
    (v,) = info.value.violations
    assert (v.rule, v.limit, v.actual) == ("cam_entries", 64, 65)
    assert v.where == "neuron 0 (chip 0, core 0, neuron 0) of layer '1_DynapSimJax'"


def test_calibrated_layers_that_need_more_cores_than_the_board_has_are_a_design_rule_error():
    net = Sequential(
        LinearJax((2, 3), has_bias=False), DynapSimJax((3,)), LinearJax((3, 2), has_bias=False), DynapSimJax((2,))
    )
    spec = mapper(net.as_graph())
    x = np.zeros((5, 2))
    with pytest.raises(CoreCapacityError) as info:
        calibrate_to_reference(spec, None, x, targets=np.ones(spec.n_neurons), max_cores=1)
    (v,) = info.value.violations
    assert (v.rule, v.limit, v.actual) == ("cores", 1, 2)
    assert "'1_DynapSimJax'" in v.where and "'3_DynapSimJax'" in v.where


def test_the_error_carries_its_violations_through_pickle():
    error = CoreCapacityError(Violation("neurons", 4096, 5000, "network"))
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is CoreCapacityError and again.violations == error.violations
