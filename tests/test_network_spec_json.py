"""``NetworkSpec.from_json``: every malformed document is a named error with its JSON path,
and every spec round-trips (hypothesis, the deterministic profile of ``test_properties``).

* **Mutated documents**: a valid spec's document with one random change (a value replaced
  by any JSON value or one of its own type across a width, a key removed or added, a list
  entry dropped or repeated) loads to a spec that round-trips, or raises a
  :class:`~rockpool_dynapse2.errors.Dynapse2Error`; never a bare ``TypeError``,
  ``ValueError``, ``KeyError`` or ``OverflowError`` (before the reader read every field by
  its JSON type, 86 of these 300 mutated quantized specs let one out: 50 ``TypeError``,
  25 ``ValueError``, 11 ``OverflowError``).
* **Round trips**: ``to_json -> from_json -> to_json`` is the identity on generated specs,
  quantized or not.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rockpool_dynapse2.errors import Dynapse2Error, ParameterValueError, ShapeError
from rockpool_dynapse2.mapping import NetworkSpec, Synapses, quantize_spec
from rockpool_dynapse2.parameters import CoreParameters
from test_properties import PROFILE, mutated


def _spec(seed: int = 0, n_inputs: int = 3, n_neurons: int = 5, quantized: bool = True) -> NetworkSpec:
    rng = np.random.default_rng(seed)
    w_in = (rng.random((n_inputs, n_neurons, 4)) < 0.4) * rng.random((n_inputs, n_neurons, 4))
    w_rec = (rng.random((n_neurons, n_neurons, 4)) < 0.3) * rng.random((n_neurons, n_neurons, 4))
    split = n_neurons // 2
    spec = NetworkSpec(
        n_inputs, n_neurons, Synapses.from_dense(w_in), Synapses.from_dense(w_rec),
        [0] * split + [1] * (n_neurons - split), (CoreParameters(), CoreParameters(Itau_mem=2e-11)),
        list(range(split, n_neurons)), names=("hidden", "output"), layer_of_neuron=[0] * split + [1] * (n_neurons - split),
        neuron_deviation=rng.random(n_neurons) * 0.01,
    )
    return quantize_spec(spec, seed=seed)[0] if quantized else spec


QUANTIZED = json.loads(_spec().to_json())
FLOAT = json.loads(_spec(quantized=False).to_json())


def _loads_or_named_error(text: str):
    try:
        return NetworkSpec.from_json(text)
    except Dynapse2Error:
        return None


def _round_trips(spec: NetworkSpec) -> None:
    text = spec.to_json()
    again = NetworkSpec.from_json(text)
    assert again.to_json() == text
    assert again.to_dict() == spec.to_dict()


@settings(PROFILE, max_examples=300)
@given(mutated(QUANTIZED))
def test_a_mutated_quantized_spec_loads_valid_or_raises_a_named_error(document):
    spec = _loads_or_named_error(json.dumps(document))
    if spec is not None:
        _round_trips(spec)


@settings(PROFILE, max_examples=100)
@given(mutated(FLOAT))
def test_a_mutated_float_spec_loads_valid_or_raises_a_named_error(document):
    spec = _loads_or_named_error(json.dumps(document))
    if spec is not None:
        _round_trips(spec)


@settings(PROFILE, max_examples=30)
@given(seed=st.integers(0, 2**16), n_inputs=st.integers(1, 6), n_neurons=st.integers(2, 9), quantized=st.booleans())
def test_a_generated_spec_round_trips(seed, n_inputs, n_neurons, quantized):
    _round_trips(_spec(seed, n_inputs, n_neurons, quantized))


@pytest.mark.parametrize(
    "path, value, error, name",
    [
        (("n_neurons",), 2.0, ParameterValueError, "n_neurons"),
        (("input_synapses", "source", 1), "1", ParameterValueError, "input_synapses.source[1]"),
        (("input_synapses", "weight", 0), 2**2000, ParameterValueError, "input_synapses.weight[0]"),
        (("input_synapses", "kind", 0), 2**64, ParameterValueError, "input_synapses.kind[0]"),
        (("recurrent_synapses", "kind", 0), 7, ParameterValueError, "recurrent_synapses.kind"),
        (("recurrent_synapses", "mask", 0), 1.0, ParameterValueError, "recurrent_synapses.mask[0]"),
        (("cores", 1, "currents", "Itau_mem"), -1.0, ParameterValueError, "cores[1].currents.Itau_mem"),
        (("cores", 0, "constants", "C_mem"), 0, ParameterValueError, "cores[0].constants.C_mem"),
        (("bases", 1), [1.0, 2.0], ParameterValueError, "bases[1]"),
        (("names", 0), 3, ParameterValueError, "names[0]"),
        (("core_of_neuron",), [0, 1], ShapeError, "core_of_neuron"),
        (("Iscale",), None, ParameterValueError, "Iscale"),
    ],
)
def test_each_bad_field_is_named_by_its_json_path(path, value, error, name):
    document = json.loads(json.dumps(QUANTIZED))
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(error) as info:
        NetworkSpec.from_json(json.dumps(document))
    assert info.value.name == name
    assert str(info.value).startswith(f"`{name}` must ")


def test_missing_and_unknown_keys_are_named():
    document = dict(QUANTIZED)
    del document["dt"]
    with pytest.raises(ParameterValueError, match="`dt` must be present"):
        NetworkSpec.from_dict(document)
    document = {**QUANTIZED, "cores": [{**QUANTIZED["cores"][0], "extra": 1}, QUANTIZED["cores"][1]]}
    with pytest.raises(ParameterValueError, match=r"`cores\[0\].extra` must be absent"):
        NetworkSpec.from_dict(document)


def test_a_spec_reads_from_gzip_compressed_bytes():
    spec = _spec()
    assert NetworkSpec.from_json(gzip.compress(spec.to_json().encode())).to_dict() == spec.to_dict()
    with pytest.raises(ParameterValueError, match="gzip"):
        NetworkSpec.from_json(gzip.compress(spec.to_json().encode())[:-20])
