"""The JSON node checks of ``rockpool_dynapse2._json`` that every document reader shares:
each reads its JSON type exactly and refuses anything else as "`path` must be <rule>; got <value>"."""

from __future__ import annotations

import numpy as np
import pytest

from rockpool_dynapse2._json import (
    format_tag,
    json_int,
    json_ints,
    json_list,
    json_number,
    json_numbers,
    json_object,
    json_path,
    json_string,
)
from rockpool_dynapse2.errors import ParameterValueError


def _refused(read, *args, **kwargs) -> ParameterValueError:
    with pytest.raises(ParameterValueError) as info:
        read(*args, **kwargs)
    return info.value


def test_a_path_joins_keys_below_the_document():
    assert json_path("", "dt") == "dt"
    assert json_path("cores[1]", "currents") == "cores[1].currents"


def test_the_format_tag_is_checked_before_anything_else():
    document = {"format": "kind/1", "x": 1}
    assert format_tag(document, "kind/1", "spec") is document
    err = _refused(format_tag, {"format": "other/1"}, "kind/1", "spec")
    assert (err.name, str(err)) == ("format", "`format` must be 'kind/1' (the format tag of a spec); got 'other/1'")
    assert str(_refused(format_tag, {}, "kind/1", "spec")).endswith("got None")
    err = _refused(format_tag, [1], "kind/1", "spec")
    assert str(err) == "`spec` must be a JSON object; got 'list'"


def test_an_object_has_exactly_its_keys():
    node = {"a": 1, "b": 2}
    assert json_object("x", node, ("a", "b")) is node
    assert json_object("x", node, ("a",), optional=("b", "c")) is node
    assert json_object("x", node) is node  # any keys
    assert str(_refused(json_object, "x", {"a": 1}, ("a", "b"))) == "`x.b` must be present; got missing"
    err = _refused(json_object, "x", {"a": 1, "z": 0, "b": 2}, ("a", "b"))
    assert str(err) == "`x.z` must be absent: x has only the keys a, b; got present"
    err = _refused(json_object, "", {"a": 0, "z": 0}, ("a",), optional=("b",), what="the profile")
    assert str(err) == "`z` must be absent: the profile has only the keys a, b; got present"
    assert str(_refused(json_object, "x", [], ("a",))) == "`x` must be a JSON object; got 'list'"
    assert _refused(json_object, "", None, ("a",), what="the spec").name == "the spec"


def test_a_list_is_a_json_list_of_its_length():
    assert json_list("x", [1, 2]) == [1, 2]
    assert json_list("x", [1, 2], 2) == [1, 2]
    assert str(_refused(json_list, "x", (1, 2))) == "`x` must be a JSON list; got 'tuple'"
    assert str(_refused(json_list, "x", {"a": 1})) == "`x` must be a JSON list; got 'dict'"
    err = _refused(json_list, "x", [1], 3, "items [chip, core, neuron]")
    assert str(err) == "`x` must be a JSON list of 3 items [chip, core, neuron]; got a list of 1"


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 1.0, True, "1", None, [1]])
def test_an_integer_is_a_64_bit_json_integer(value):
    err = _refused(json_int, "n", value)
    assert err.name == "n" and err.rule == "a JSON integer (64 bits)"


def test_integers_at_the_64_bit_limits_are_read():
    assert json_int("n", 2**63 - 1) == 2**63 - 1
    assert json_int("n", -(2**63)) == -(2**63)
    values = json_ints("x", [0, -(2**63), 2**63 - 1])
    assert values.dtype == np.int64 and values.tolist() == [0, -(2**63), 2**63 - 1]
    assert json_ints("x", []).shape == (0,)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 2**1023, False, "1.0", None])
def test_a_number_is_a_finite_json_number(value):
    err = _refused(json_number, "dt", value)
    assert err.name == "dt" and err.rule == "a finite JSON number"


def test_numbers_are_read_as_floats():
    assert json_number("dt", 3) == 3.0 and type(json_number("dt", 3)) is float
    values = json_numbers("x", [1, 2.5, -(2**1022)], 3)
    assert values.dtype == np.float64 and values.tolist() == [1.0, 2.5, -(2.0**1022)]


def test_a_bad_entry_of_a_list_is_named_by_its_index():
    assert _refused(json_ints, "a.source", [0, 1, "2"]).name == "a.source[2]"
    assert _refused(json_ints, "a.source", [0, True]).name == "a.source[1]"
    assert _refused(json_numbers, "a.weight", [0.5, float("nan")]).name == "a.weight[1]"
    assert str(_refused(json_numbers, "a.weight", [None])) == "`a.weight[0]` must be a finite JSON number; got None"
    err = _refused(json_numbers, "bases[0]", [1.0, 2.0], 4)
    assert str(err) == "`bases[0]` must be a JSON list of 4 numbers; got a list of 2"
    assert _refused(json_ints, "mask", {"0": 1}).name == "mask"


def test_a_string_is_a_json_string():
    assert json_string("names[0]", "hidden") == "hidden"
    assert str(_refused(json_string, "names[0]", 3)) == "`names[0]` must be a JSON string; got 3"
