"""The class map of a mapped configuration (which output channels are which class) and
compressed configuration files.

* ``MappedConfiguration.classes``: validated on construction and on load, with the path
  of the bad entry; round-trips through JSON; a file without it (written before it
  existed) still loads; ``predict`` reads classes as the training does (mean count of a
  class's channels, a tie is no class).
* ``config.json.gz``: ``save`` compresses by the file name, every reader decompresses by
  gzip's magic bytes (whatever the name), for both ``Configuration`` and
  ``MappedConfiguration``.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rockpool_dynapse2.chip import MONITOR_HOP
from rockpool_dynapse2.config import Configuration, Destination, Neuron
from rockpool_dynapse2.config import json_io
from rockpool_dynapse2.errors import Dynapse2Error, ParameterValueError, ShapeError
from rockpool_dynapse2.placement import InputRoute, MappedConfiguration, NeuronAddress
from rockpool_dynapse2.placement.mapped import consecutive_classes
from test_properties import PROFILE, mutated


def _monitoring(tag: int) -> Neuron:
    return Neuron.from_entries((), [Destination((True,) * 4, MONITOR_HOP, MONITOR_HOP, tag)])


def _mapped(n_outputs: int = 4, classes=None) -> MappedConfiguration:
    tree = Configuration.empty(1)
    tree = tree.with_core(0, 2, tree.core(0, 2).with_neurons({s: _monitoring(10 + s) for s in range(n_outputs)}))
    return MappedConfiguration(
        configuration=tree,
        inputs=((InputRoute(0, (False, False, True, False), 3),),),
        outputs=tuple(10 + s for s in range(n_outputs)),
        neurons=tuple(NeuronAddress(0, 2, s) for s in range(n_outputs)),
        classes=classes,
    )


@pytest.fixture(scope="module")
def plain():
    return _mapped()


@pytest.fixture(scope="module")
def with_classes():
    return _mapped(classes=((0, 1), (2, 3)))


@pytest.fixture(scope="module")
def maps_of(with_classes):
    """The maps of ``with_classes`` as a document, without the (50 MB) configuration."""
    tree = with_classes.configuration.to_json()
    return json.loads(with_classes.to_json()[: -len(', "configuration": ' + tree + "}")] + "}")


NO_CHIP = '{"value0": {"chips": []}}'
"""A configuration refused only after the maps are read (reading a chip's 50 MB is slow)."""


def _with_configuration(document, configuration: str) -> str:
    if not isinstance(document, dict):
        return json.dumps(document)
    return json.dumps(document)[:-1] + (", " if document else "{") + '"configuration": ' + configuration + "}"


# --- the class map ----------------------------------------------------------------------------


def test_the_class_map_round_trips_and_is_written_before_the_configuration(with_classes):
    text = with_classes.to_json()
    again = MappedConfiguration.from_json(text)
    assert again.classes == ((0, 1), (2, 3)) and again == with_classes
    assert again.to_json() == text
    head = text[: text.index('"configuration"')]
    assert '"classes": [[0, 1], [2, 3]]' in head


def test_a_file_without_a_class_map_loads_and_is_written_as_it_was(plain):
    text = plain.to_json()
    assert '"classes"' not in text  # what files written before the class map look like
    again = MappedConfiguration.from_json(text)
    assert again.classes is None and again.n_classes == 0
    assert again.to_json() == text


@pytest.mark.parametrize(
    "classes, error, name",
    [
        ((), ParameterValueError, "classes"),
        (((0, 1), ()), ParameterValueError, "classes[1]"),
        (((0, 1), (1, 2)), ParameterValueError, "classes[1][0]"),
        (((0, 4),), ParameterValueError, "classes[0][1]"),
        (((0, -1),), ParameterValueError, "classes[0][1]"),
        (((0, True),), ParameterValueError, "classes[0][1]"),
        (((0, 1.0),), ParameterValueError, "classes[0][1]"),
        ((0, 1), ParameterValueError, "classes[0]"),
        ("01", ParameterValueError, "classes"),
    ],
)
def test_a_bad_class_map_is_refused_with_its_path(classes, error, name):
    with pytest.raises(error) as info:
        _mapped(classes=classes)
    assert info.value.name == name


def test_numpy_channels_are_accepted_as_ints():
    mapped = _mapped(classes=[np.arange(2), [np.int64(2), 3]])
    assert mapped.classes == ((0, 1), (2, 3)) and all(type(c) is int for k in mapped.classes for c in k)


@pytest.mark.parametrize(
    "value, name",
    [(None, "classes"), ([[0, 1], "2"], "classes[1]"), ([[0, 1.0]], "classes[0][1]"), ([[0, True]], "classes[0][1]"), ({}, "classes")],
)
def test_the_json_class_map_is_read_by_json_type(maps_of, value, name):
    document = {**maps_of, "classes": value}
    with pytest.raises(ParameterValueError) as info:
        MappedConfiguration.from_json(_with_configuration(document, NO_CHIP))  # the maps are read first
    assert info.value.name == name


def test_predict_takes_the_class_whose_channels_fire_most_on_average(with_classes):
    counts = np.array([[5, 1, 2, 2], [0, 0, 3, 1], [1, 1, 2, 0], [0, 0, 0, 0], [4, 0, 1, 1]])
    np.testing.assert_array_equal(with_classes.class_scores(counts), [[3, 2], [0, 2], [1, 1], [0, 0], [2, 1]])
    np.testing.assert_array_equal(with_classes.predict(counts), [0, 1, -1, -1, 0])  # a tie is no class
    uneven = _mapped(classes=((0,), (1, 2, 3)))
    np.testing.assert_array_equal(uneven.predict([[2, 3, 3, 0]]), [-1])  # means 2 and 2 (sums 2 and 6)
    np.testing.assert_array_equal(uneven.predict([[3, 3, 3, 0]]), [0])  # means 3 and 2 (sums 3 and 6)


def test_predict_refuses_counts_of_the_wrong_shape_and_a_configuration_without_classes(with_classes, plain):
    with pytest.raises(ShapeError, match="counts"):
        with_classes.predict(np.zeros((2, 3)))
    with pytest.raises(ParameterValueError, match="classes"):
        plain.predict(np.zeros((2, 4)))


def test_consecutive_classes():
    assert consecutive_classes(6, 2) == ((0, 1), (2, 3), (4, 5))
    assert consecutive_classes(3, 1) == ((0,), (1,), (2,))
    for bad in (4, 0, True, 1.5):
        with pytest.raises(ParameterValueError, match="per_class"):
            consecutive_classes(6, bad)




def _only_classes(path) -> bool:
    return bool(path) and path[0] != "classes"


@settings(PROFILE, max_examples=150)
@given(data=st.data())
def test_a_mutated_class_map_is_refused_by_name_or_read_as_written(maps_of, data):
    """Any change to the class map gives a named error (here: from the class map or, once
    it is read, from the configuration without a chip), never a bare TypeError."""
    document = data.draw(mutated(maps_of, skip=_only_classes))
    with pytest.raises(Dynapse2Error):
        MappedConfiguration.from_json(_with_configuration(document, NO_CHIP))


# --- compressed files ---------------------------------------------------------------------------


def test_a_mapped_configuration_saves_compressed_by_name_and_loads_by_magic_bytes(with_classes, tmp_path):
    gz = with_classes.save(tmp_path / "config.json.gz")
    plain_file = with_classes.save(tmp_path / "config.json")
    assert gz.read_bytes()[:2] == b"\x1f\x8b" and plain_file.read_bytes()[:1] == b"{"
    assert gzip.decompress(gz.read_bytes()).decode() == plain_file.read_text() == with_classes.to_json()
    assert gz.stat().st_size * 20 < plain_file.stat().st_size
    assert with_classes.save(tmp_path / "again.json.gz").read_bytes() == gz.read_bytes()  # no time stamp inside
    misnamed = tmp_path / "compressed.json"
    misnamed.write_bytes(gz.read_bytes())
    assert MappedConfiguration.load(gz) == with_classes
    assert MappedConfiguration.from_json(misnamed.read_bytes()) == with_classes  # the magic bytes tell


def test_a_configuration_saves_and_loads_compressed(tmp_path):
    tree = _mapped().configuration
    path = json_io.save(tree, tmp_path / "tree.json", compress=True)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert Configuration.load(path) == tree
    assert tree.save(tmp_path / "tree.json.gz").read_bytes() == path.read_bytes()
    assert json_io.from_json(path.read_bytes()) == tree


def test_bad_files_are_named_errors(tmp_path, with_classes):
    with pytest.raises(ParameterValueError, match="an existing file"):
        MappedConfiguration.load(tmp_path / "nothing.json.gz")
    with pytest.raises(ParameterValueError, match="an existing file"):
        Configuration.load(tmp_path)
    truncated = tmp_path / "truncated.json.gz"
    truncated.write_bytes(gzip.compress(with_classes.to_json().encode())[:-100])
    with pytest.raises(ParameterValueError, match="gzip"):
        MappedConfiguration.load(truncated)
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\xff\xfe\x00 not json")
    with pytest.raises(ParameterValueError, match="valid JSON"):
        MappedConfiguration.load(garbage)
    with pytest.raises(ParameterValueError, match="written"):
        with_classes.save(tmp_path / "no" / "such" / "dir.json.gz")
