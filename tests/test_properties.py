"""Property-based tests (hypothesis) of the JSON readers: the configuration tree's
(``Configuration.from_json`` and its records'), the mapped configuration's.

* **Mutated documents**: a valid document with one random change (a value replaced by
  any JSON value, an integer moved across its bounds, a key removed or added, a list entry
  dropped or repeated) either loads to a valid record, which then round-trips, or raises a
  named error of this package (a :class:`~rockpool_dynapse2.errors.Dynapse2Error`), never
  a bare ``KeyError``, ``TypeError``, ``IndexError`` or ``ValueError``.
* **Round trips**: ``to_json -> from_json -> to_json`` is the identity on generated records.

A configuration has at least one chip, and a chip's JSON is 50 MB (0.5 s to read), so the
tests of whole configurations take few examples and leave the neurons to the tests of a
neuron's and a core's own documents, which the same codecs read. The profile
``rockpool-dynapse2`` is deterministic (``derandomize=True``) and keeps the module well
under a minute.

Not covered yet: ``NetworkSpec.from_json`` (``mapping/network_spec.py``), whose reader
still lets bare ``TypeError``, ``ValueError`` and ``OverflowError`` out of mutated specs.
"""

from __future__ import annotations

import json
from typing import Any, Callable, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rockpool_dynapse2.chip import GEOMETRY, MONITOR_HOP, Dendrite
from rockpool_dynapse2.config import Configuration, Core, Destination, Neuron, Parameter, Synapse, from_json, to_json
from rockpool_dynapse2.config.json_io import from_document
from rockpool_dynapse2.errors import Dynapse2Error
from rockpool_dynapse2.placement import InputRoute, MappedConfiguration, NeuronAddress

settings.register_profile(
    "rockpool-dynapse2",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("rockpool-dynapse2")

# --- mutations of a JSON document ---------------------------------------------------------------

Path = Tuple[Any, ...]

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2**11, 2**32, 2**64, 2**64 - 1, -(2**31) - 1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
JSON_VALUES = st.one_of(
    JSON_SCALARS,
    st.lists(JSON_SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=6), JSON_SCALARS, max_size=3),
)


def locations(document: Any, skip: Callable[[Path], bool] = lambda path: False) -> List[Path]:
    """Every path from the root of ``document`` to one of its values, containers included
    (nothing below a path ``skip`` names): the places a mutation may hit, each as likely."""
    out: List[Path] = []

    def visit(node: Any, path: Path) -> None:
        out.append(path)
        if skip(path) or not isinstance(node, (dict, list)):
            return
        for key in (node if isinstance(node, dict) else range(len(node))):
            visit(node[key], path + (key,))

    visit(document, ())
    return out


def _edit(node: Any, path: Path, change: Callable[[Any, Any], None]) -> Any:
    """A copy of ``node`` in which ``change(parent, key)`` edited the parent of ``path``'s
    value; only the containers on the path are copied."""
    copy = dict(node) if isinstance(node, dict) else list(node)
    if len(path) == 1:
        change(copy, path[0])
    else:
        copy[path[0]] = _edit(node[path[0]], path[1:], change)
    return copy


def mutated(document: Any, skip: Callable[[Path], bool] = lambda path: False) -> st.SearchStrategy:
    """``document`` with one random change at a random place."""
    return _mutated(document, st.sampled_from(locations(document, skip)))


@st.composite
def _mutated(draw, document: Any, places: st.SearchStrategy) -> Any:
    path = draw(places)
    if not path:
        return draw(JSON_VALUES)
    value = _get(document, path)
    kinds = ["replace", "remove", "add"]
    if type(value) in (bool, int, str):
        kinds += ["same kind"] * 3  # often still valid: then the record must round-trip
    kind = draw(st.sampled_from(kinds))

    def change(parent: Any, key: Any) -> None:
        if kind == "replace":
            parent[key] = draw(JSON_VALUES)
        elif kind == "same kind":
            parent[key] = draw(_same_kind(value))
        elif kind == "remove":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=6))] = draw(JSON_VALUES)
        else:
            parent.insert(key, parent[key])

    return _edit(document, path, change)


def _same_kind(value: Any) -> st.SearchStrategy:
    """Another value of the JSON type of ``value``: the other boolean, a nearby integer or
    one across a width (11, 32, 64 bits), another text."""
    if type(value) is bool:
        return st.just(not value)
    if type(value) is int:
        step = st.one_of(st.integers(-3, 3), st.sampled_from([2**11, -(2**11), 2**31, 2**32, 2**64, -(2**64)]))
        return step.map(lambda d: value + d)
    return st.text(max_size=12)


def _get(document: Any, path: Path) -> Any:
    for key in path:
        document = document[key]
    return document


def _loads_or_named_error(read: Callable[[], Any]) -> Any:
    """``read()``'s record, or ``None`` if it raised a named error of this package; any
    other exception fails the test."""
    try:
        return read()
    except Dynapse2Error:
        return None


# --- the configuration tree ----------------------------------------------------------------------


def _a_used_neuron() -> Neuron:
    synapses = [Synapse(Dendrite.AMPA, weight=(True, False, True, False), tag=5), Synapse(Dendrite.GABA, stp=True, tag=2047)]
    destinations = [Destination((True, False, False, True), x_hop=-2, y_hop=7, tag=9)]
    return Neuron.from_entries(synapses, destinations, latch_so_dc=True)


NEURON_DOCUMENT = json.loads(to_json(_a_used_neuron()))
CORE_DOCUMENT = json.loads(to_json(Core().with_neuron(3, _a_used_neuron())))


def _round_trips(record: Any, kind: type) -> None:
    text = to_json(record)
    again = from_json(text, kind)
    assert again == record
    assert to_json(again) == text


@settings(PROFILE, max_examples=300)  # cheap: a neuron's document is 20 kB
@given(mutated(NEURON_DOCUMENT))
def test_a_mutated_neuron_loads_valid_or_raises_a_named_error(document):
    neuron = _loads_or_named_error(lambda: from_document(document, Neuron))
    if neuron is not None:
        _round_trips(neuron, Neuron)


def _below_the_neurons(path: Path) -> bool:
    return len(path) >= 2 and path[-2] == "neurons"


@settings(PROFILE, max_examples=30)
@given(mutated(CORE_DOCUMENT, skip=_below_the_neurons))
def test_a_mutated_core_loads_valid_or_raises_a_named_error(document):
    """A core's own fields and parameter map (its neurons: the test above)."""
    core = _loads_or_named_error(lambda: from_document(document, Core))
    if core is not None:
        _round_trips(core, Core)


@pytest.fixture(scope="module")
def configuration_document():
    return json.loads(Configuration.empty().to_json())


def _below_the_cores(path: Path) -> bool:
    return len(path) >= 2 and path[-2] == "cores"


@settings(PROFILE, max_examples=8)
@given(data=st.data())
def test_a_mutated_configuration_loads_valid_or_raises_a_named_error(configuration_document, data):
    """The configuration's and the chips' own fields (cores: the tests above)."""
    document = data.draw(mutated(configuration_document, skip=_below_the_cores))
    config = _loads_or_named_error(lambda: from_document(document, Configuration))
    if config is not None:
        text = config.to_json()
        assert Configuration.from_json(text) == config


def test_a_configuration_from_json_text_is_checked_like_its_document():
    """``from_json`` is ``from_document`` of the parsed text: what the tests above read."""
    text = Configuration.empty().to_json()
    assert Configuration.from_json(text) == from_document(json.loads(text), Configuration)


# --- generated records round-trip -----------------------------------------------------------------

TAGS = st.integers(0, GEOMETRY.tags_per_chip - 1)
HOPS = st.integers(GEOMETRY.hop_min, GEOMETRY.hop_max)
MASKS = st.tuples(*[st.booleans()] * 4)
UINT64 = st.integers(0, 2**64 - 1)

SYNAPSES = st.builds(
    Synapse,
    dendrite=st.sampled_from(list(Dendrite)),
    stp=st.booleans(),
    weight=MASKS,
    precise_delay=st.booleans(),
    mismatched_delay=st.booleans(),
    tag=TAGS,
)
DESTINATIONS = st.builds(Destination, core=MASKS, x_hop=HOPS, y_hop=HOPS, tag=TAGS)
NEURONS = st.builds(
    Neuron.from_entries,
    st.lists(SYNAPSES, max_size=GEOMETRY.cam_entries),
    st.lists(DESTINATIONS, max_size=GEOMETRY.destinations),
    latch_so_dc=st.booleans(),
    latch_so_adaptation=st.booleans(),
    latch_de_mux=st.booleans(),
)
PARAMETERS = st.builds(
    Parameter,
    type=st.sampled_from(["N", "P"]),
    coarse_value=st.integers(0, GEOMETRY.coarse_values - 1),
    fine_value=st.integers(0, GEOMETRY.fine_values - 1),
    address=UINT64,
    cookie=UINT64,
    initial_type=st.sampled_from([None, "N", "P"]),
    switchable_type=st.booleans(),
)


@PROFILE
@given(NEURONS)
def test_a_generated_neuron_round_trips(neuron):
    _round_trips(neuron, Neuron)


@settings(PROFILE, max_examples=10)
@given(
    st.dictionaries(st.text(min_size=1, max_size=12), PARAMETERS, max_size=4),
    st.dictionaries(st.integers(0, GEOMETRY.neurons_per_core - 1), NEURONS, max_size=3),
    st.integers(0, GEOMETRY.neurons_per_core - 1),
    UINT64,
)
def test_a_generated_core_round_trips(parameters, neurons, monitored, core_id):
    core = Core(parameters=parameters, monitored_neuron=monitored, core_id=core_id).with_neurons(neurons)
    _round_trips(core, Core)


# --- the mapped configuration ---------------------------------------------------------------------


def _monitoring(tag: int) -> Neuron:
    return Neuron.from_entries((), [Destination((True,) * 4, MONITOR_HOP, MONITOR_HOP, tag)])


@st.composite
def mapped_configurations(draw) -> MappedConfiguration:
    """A valid mapped configuration on one chip: a few neurons, the outputs among their
    monitoring tags, routes onto the chip."""
    n = draw(st.integers(1, 4))
    slots = draw(st.lists(st.integers(0, GEOMETRY.neurons_per_core - 1), min_size=n, max_size=n, unique=True))
    tags = draw(st.lists(st.integers(0, GEOMETRY.tags_per_chip - 2), min_size=n, max_size=n, unique=True))
    core = draw(st.integers(0, GEOMETRY.cores_per_chip - 1))
    tree = Configuration.empty(1)
    tree = tree.with_core(0, core, tree.core(0, core).with_neurons({s: _monitoring(t) for s, t in zip(slots, tags)}))
    outputs = draw(st.permutations(tags).map(tuple))[: draw(st.integers(0, n))]
    routes = st.builds(InputRoute, st.just(0), MASKS, st.integers(0, GEOMETRY.tags_per_chip - 2))
    positive = st.floats(min_value=1e-300, max_value=1e300, allow_nan=False, allow_infinity=False)
    return MappedConfiguration(
        configuration=tree,
        inputs=tuple(tuple(r) for r in draw(st.lists(st.lists(routes, max_size=2), max_size=3))),
        outputs=outputs,
        neurons=tuple(NeuronAddress(0, core, s) for s in slots),
        dt=draw(positive),
        Iscale=draw(positive),
    )


@settings(PROFILE, max_examples=3)
@given(mapped_configurations())
def test_a_generated_mapped_configuration_round_trips(mapped):
    text = mapped.to_json()
    again = MappedConfiguration.from_json(text)
    assert again == mapped
    assert again.to_json() == text


@pytest.fixture(scope="module")
def mapped_parts():
    """``(maps, configuration text)`` of a valid mapped configuration: documents are the
    mutated maps with the same configuration text (writing 50 MB per example would be slow)."""
    tree = Configuration.empty(1)
    tree = tree.with_core(0, 1, tree.core(0, 1).with_neurons({4: _monitoring(0), 9: _monitoring(1)}))
    mapped = MappedConfiguration(
        configuration=tree,
        inputs=((InputRoute(0, (False, True, False, False), 3),), ()),
        outputs=(1, 0),
        neurons=(NeuronAddress(0, 1, 4), NeuronAddress(0, 1, 9)),
        dt=1e-3,
        Iscale=1e-8,
    )
    maps = json.loads(mapped.to_json()[: -len(', "configuration": ' + tree.to_json() + "}")] + "}")
    return maps, tree.to_json()


def _mapped_text(document: Any, configuration: str) -> str:
    """The text of the (mutated) maps with ``configuration`` (JSON text) under ``"configuration"``."""
    if not isinstance(document, dict):
        return json.dumps(document)
    return json.dumps(document)[:-1] + (", " if document else "{") + '"configuration": ' + configuration + "}"


NO_CHIP = '{"value0": {"chips": []}}'
"""A configuration that is refused (no chip), but only after the maps are read: 200
documents of mutated maps cost what one chip's 50 MB of JSON would."""


@settings(PROFILE, max_examples=200)
@given(data=st.data())
def test_mutated_maps_are_read_by_json_type_with_a_named_error(mapped_parts, data):
    maps, _ = mapped_parts
    text = _mapped_text(data.draw(mutated(maps)), NO_CHIP)
    assert _loads_or_named_error(lambda: MappedConfiguration.from_json(text)) is None


@settings(PROFILE, max_examples=8)
@given(data=st.data())
def test_a_mutated_mapped_configuration_loads_valid_or_raises_a_named_error(mapped_parts, data):
    maps, configuration = mapped_parts
    text = _mapped_text(data.draw(mutated(maps)), configuration)
    mapped = _loads_or_named_error(lambda: MappedConfiguration.from_json(text))
    if mapped is not None:
        assert MappedConfiguration.from_json(mapped.to_json()) == mapped
