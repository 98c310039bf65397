"""A MappedConfiguration whose maps point at nothing the board has is refused on
construction and on load, with the path of the bad entry (issue #16, item 3)."""

import json

import numpy as np
import pytest
from rockpool.nn.combinators import Sequential
from rockpool.nn.modules import LinearJax

from rockpool_dynapse2 import DynapSimJax
from rockpool_dynapse2.errors import ParameterValueError
from rockpool_dynapse2.mapping import mapper, quantize_spec
from rockpool_dynapse2.placement import MappedConfiguration, config_from_specification


@pytest.fixture(scope="module")
def document():
    net = Sequential(LinearJax((4, 3), weight=np.ones((4, 3)), has_bias=False), DynapSimJax((3,)))
    mapped = config_from_specification(quantize_spec(mapper(net.as_graph()))[0])
    return json.loads(mapped.to_json())


@pytest.mark.parametrize(
    "field, value, where",
    [
        ("dt", float("nan"), "dt"),
        ("dt", -1.0, "dt"),
        ("Iscale", 0.0, "Iscale"),
        ("outputs", [99999, 1, 2], r"outputs\[0\]"),
        ("outputs", [2047, 1, 2], r"outputs\[0\]"),  # the control tag
        ("outputs", [-1, 1, 2], r"outputs\[0\]"),
        ("neurons", [[0, 0, 0], [0, 9, 1], [0, 0, 2]], r"neurons\[1\]\.core"),
        ("neurons", [[0, 0, 999], [0, 0, 1], [0, 0, 2]], r"neurons\[0\]\.neuron"),
        ("neurons", [[7, 0, 0], [0, 0, 1], [0, 0, 2]], r"neurons\[0\]\.chip"),
        ("inputs", [[[7, [True] * 4, 1]]] * 4, r"inputs\[0\]\[0\]\.chip"),
        ("inputs", [[[0, [True] * 3, 1]]] * 4, r"inputs\[0\]\[0\]\.core_mask"),
        ("inputs", [[[0, [True] * 4, 5000]]] * 4, r"inputs\[0\]\[0\]\.tag"),
    ],
)
def test_maps_that_point_at_nothing_are_refused_on_load(document, field, value, where):
    bad = dict(document)
    bad[field] = value
    with pytest.raises(ParameterValueError, match=where):
        MappedConfiguration.from_json(json.dumps(bad))


def test_a_valid_file_still_loads_and_round_trips(document):
    text = json.dumps(document)
    assert json.loads(MappedConfiguration.from_json(text).to_json())["outputs"] == document["outputs"]


def test_duplicate_json_keys_are_refused_not_last_wins(document):
    from rockpool_dynapse2.config import Configuration
    from rockpool_dynapse2.mapping import NetworkSpec

    text = json.dumps(document)
    doubled = text.replace('"dt": ', '"dt": 0.5, "dt": ', 1)
    with pytest.raises(ParameterValueError, match="'dt' twice"):
        MappedConfiguration.from_json(doubled)
    config_text = json.dumps(document["configuration"])
    with pytest.raises(ParameterValueError, match="twice"):
        Configuration.from_json(config_text.replace("{", '{"value0": 1, ', 1))
    with pytest.raises(ParameterValueError, match="'n_inputs' twice"):
        NetworkSpec.from_json('{"n_inputs": 1, "n_inputs": 2}')
