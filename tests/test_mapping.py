"""The mapper: Rockpool graphs -> network spec; the spec's validation and serialisation; cores."""

import numpy as np
import pytest
import torch
from rockpool.nn.combinators import Sequential
from rockpool.nn.modules import LIFTorch, LinearJax, LinearTorch, RateJax

from rockpool_dynapse2 import CoreParameters, DynapSimJax, DynapSimTorch
from rockpool_dynapse2.errors import ParameterValueError, ShapeError
from rockpool_dynapse2.mapping import (
    CoreCapacityError,
    MappingError,
    NetworkSpec,
    Synapses,
    cluster_cores,
    dynapsim_net_from_spec,
    mapper,
)
from rockpool_dynapse2.simulation import CURRENT_NAMES

AMPA, NMDA, GABA, SHUNT = range(4)


def two_layer_jax(rng, n_in=5, n1=7, n2=3):
    w1 = rng.normal(0, 1, (n_in, n1))
    wr = rng.normal(0, 0.5, (n1, n1))
    w2 = rng.normal(0, 1, (n1, n2))
    net = Sequential(
        LinearJax((n_in, n1), weight=w1, has_bias=False),
        DynapSimJax((n1,), w_rec=wr, Idc=2e-12),
        LinearJax((n1, n2), weight=w2, has_bias=False),
        DynapSimJax((n2,)),
    )
    return net, w1, wr, w2


def test_layers_become_one_population_with_explicit_channel_maps():
    rng = np.random.default_rng(0)
    net, w1, wr, w2 = two_layer_jax(rng)
    spec = mapper(net.as_graph())
    assert (spec.n_inputs, spec.n_neurons, spec.n_outputs) == (5, 10, 3)
    np.testing.assert_array_equal(spec.output_neurons, [7, 8, 9])
    np.testing.assert_array_equal(spec.layer_of_neuron, [0] * 7 + [1] * 3)
    w_in, w_rec = spec.dense_weights()
    # signed weights: positive -> AMPA, negative -> GABA, magnitudes kept
    np.testing.assert_allclose(w_in[:, :7, AMPA] - w_in[:, :7, GABA], w1)
    np.testing.assert_allclose(w_rec[:7, :7, AMPA] - w_rec[:7, :7, GABA], wr)
    np.testing.assert_allclose(w_rec[:7, 7:, AMPA] - w_rec[:7, 7:, GABA], w2)
    assert (w_in[:, 7:] == 0).all() and (w_rec[7:] == 0).all()
    assert (w_in[..., [NMDA, SHUNT]] == 0).all()
    # the two layers have different DC inputs: two cores
    assert spec.n_cores == 2
    assert spec.cores[spec.core_of_neuron[0]].Idc == pytest.approx(2e-12)


def test_torch_network_maps_like_the_same_jax_network():
    rng = np.random.default_rng(1)
    net, w1, wr, w2 = two_layer_jax(rng)
    f = lambda w: torch.as_tensor(w, dtype=torch.float64)
    tnet = Sequential(
        LinearTorch((5, 7), weight=f(w1), has_bias=False),
        DynapSimTorch((7,), w_rec=wr, Idc=2e-12, dtype="float64"),
        LinearTorch((7, 3), weight=f(w2), has_bias=False),
        DynapSimTorch((3,), dtype="float64"),
    )
    a, b = mapper(net.as_graph()), mapper(tnet.as_graph())
    for x, y in zip(a.dense_weights(), b.dense_weights()):
        np.testing.assert_allclose(x, y, rtol=1e-6)
    for ca, cb in zip(a.cores, b.cores):
        for name, value in ca.currents().items():
            assert getattr(cb, name) == pytest.approx(value, rel=1e-6), name
    np.testing.assert_array_equal(a.core_of_neuron, b.core_of_neuron)
    np.testing.assert_array_equal(a.output_neurons, b.output_neurons)


def test_typed_inputs_keep_their_synapse_type_and_refuse_negative_drive():
    w = np.array([[1.0, 0.0, 3.0, 4.0, 0.5, 0.0, 0.0, 0.0]])  # 1 input -> 2 neurons x 4 types
    net = Sequential(LinearJax((1, 8), weight=w, has_bias=False), DynapSimJax((8, 2)))
    w_in, _ = mapper(net.as_graph()).dense_weights()
    np.testing.assert_allclose(w_in[0, 0], [1.0, 0.0, 3.0, 4.0])
    np.testing.assert_allclose(w_in[0, 1], [0.5, 0.0, 0.0, 0.0])
    # A negative weight onto a typed input drives nothing in the simulation: refused, not dropped.
    w[0, 1] = -2.0
    net = Sequential(LinearJax((1, 8), weight=w, has_bias=False), DynapSimJax((8, 2)))
    with pytest.raises(MappingError, match=r"must be >= 0.*-2 at \[0, 1\]"):
        mapper(net.as_graph())


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_weights_that_are_not_finite_are_refused(bad):
    w = np.ones((3, 4))
    w[1, 2] = bad
    net = Sequential(LinearJax((3, 4), weight=w, has_bias=False), DynapSimJax((4,)))
    with pytest.raises(MappingError, match=r"must be finite.*at \[1, 2\]"):
        mapper(net.as_graph())


def test_two_neuron_layers_without_weights_between_them_are_refused():
    from rockpool.nn.modules import LIFJax

    net = Sequential(LinearJax((8, 6)), LIFJax(6), LIFJax(6))
    with pytest.raises(MappingError, match="without a weight layer"):
        mapper(net.as_graph())


def test_weights_are_expressed_in_the_specs_Iscale():
    w = np.ones((2, 3))
    net = Sequential(LinearJax((2, 3), weight=w, has_bias=False), DynapSimJax((3,), Iscale=2e-8))
    spec = mapper(net.as_graph(), Iscale=1e-8)
    np.testing.assert_allclose(spec.dense_weights()[0][..., AMPA], 2 * w)


def test_neurons_wired_to_the_graph_inputs_get_identity_input_weights():
    spec = mapper(DynapSimJax((4,)).as_graph())
    np.testing.assert_allclose(spec.dense_weights()[0][..., AMPA], np.eye(4))


def test_rockpool_issue_10_network_keeps_every_neuron_and_both_outputs():
    net = Sequential(
        LinearTorch((12, 32)), LIFTorch(32), LinearTorch((32, 32)), LIFTorch(32, has_rec=True), LinearTorch((32, 2)), LIFTorch(2)
    )
    spec = mapper(net.as_graph())
    assert spec.n_neurons == 66
    np.testing.assert_array_equal(spec.output_neurons, [64, 65])
    np.testing.assert_array_equal(np.bincount(spec.layer_of_neuron), [32, 32, 2])
    # layer 3 (outputs) hears layer 2; layer 2 hears layer 1 and itself
    src = spec.recurrent_synapses.source
    tgt = spec.recurrent_synapses.target
    assert set(np.unique(src[tgt >= 64])) <= set(range(32, 64))
    assert set(np.unique(src[(tgt >= 32) & (tgt < 64)])) <= set(range(0, 64))
    assert (spec.input_synapses.target < 32).all()


def test_single_layer_spec_simulates_exactly_as_the_network():
    rng = np.random.default_rng(2)
    w = rng.normal(0, 2, (6, 5))
    wr = rng.normal(0, 0.5, (5, 5))
    net = Sequential(LinearJax((6, 5), weight=w, has_bias=False), DynapSimJax((5,), w_rec=wr, Idc=3e-12))
    spec = mapper(net.as_graph())
    x = (rng.random((2, 300, 6)) < 0.1).astype("float32")
    expected = np.asarray(net(x)[0])
    got = np.asarray(dynapsim_net_from_spec(spec)(x)[0])[..., spec.output_neurons]
    assert expected.sum() > 0
    np.testing.assert_array_equal(got, expected)


def test_spec_round_trips_through_dict_and_json():
    rng = np.random.default_rng(3)
    spec = mapper(two_layer_jax(rng)[0].as_graph())
    again = NetworkSpec.from_json(spec.to_json())
    assert again.to_dict() == spec.to_dict()
    assert again.cores == spec.cores
    for x, y in zip(again.dense_weights(), spec.dense_weights()):
        np.testing.assert_array_equal(x, y)


# --- cores ------------------------------------------------------------------------------------


def _currents(n, **overrides):
    base = CoreParameters()
    values = {k: np.full(n, getattr(base, k)) for k in CURRENT_NAMES}
    values.update(overrides)
    return values


def test_neurons_with_equal_parameters_share_cores_of_256():
    core_of, cores, dev = cluster_cores(_currents(600), 16, 256)
    np.testing.assert_array_equal(np.bincount(core_of), [256, 256, 88])
    assert len(cores) == 3 and (dev < 1e-12).all()


def test_different_parameters_get_different_cores_and_merge_when_cores_run_out():
    itau = np.repeat([1e-12, 1.01e-12, 5e-12, 5.2e-12], 10)
    core_of, cores, dev = cluster_cores(_currents(40, Itau_mem=itau), 16, 256, tolerance=0.001)
    assert len(cores) == 4
    core_of, cores, dev = cluster_cores(_currents(40, Itau_mem=itau), 2, 256, tolerance=0.001)
    assert len(cores) == 2
    # the closest groups were merged: 1.0 with 1.01 pA, 5.0 with 5.2 pA
    assert len(set(core_of[:20])) == 1 and len(set(core_of[20:])) == 1 and core_of[0] != core_of[20]
    # each core's current is the geometric mean of its members; deviation reports the distance
    assert cores[core_of[0]].Itau_mem == pytest.approx(np.sqrt(1e-12 * 1.01e-12))
    assert dev.max() == pytest.approx(np.sqrt(5.2 / 5.0) - 1, rel=1e-9)


def test_too_many_neurons_for_the_cores_is_a_named_error():
    with pytest.raises(CoreCapacityError, match="at most 512"):
        cluster_cores(_currents(513), 2, 256)


# --- errors -----------------------------------------------------------------------------------


def test_unsupported_modules_and_wiring_are_mapping_errors():
    with pytest.raises(MappingError, match="RateJax|neuron module"):
        mapper(Sequential(LinearJax((2, 3)), RateJax(3)).as_graph())
    with pytest.raises(MappingError, match="end on neuron inputs"):  # a trailing readout layer
        mapper(Sequential(LinearJax((2, 3)), DynapSimJax((3,)), LinearJax((3, 2))).as_graph())
    with pytest.raises(MappingError, match="bias"):
        mapper(Sequential(LinearJax((2, 3), has_bias=True, bias=np.ones(3)), DynapSimJax((3,))).as_graph())
    with pytest.raises(MappingError, match="dt"):
        mapper(Sequential(LinearJax((2, 3)), DynapSimJax((3,), dt=1e-3), LinearJax((3, 2)), DynapSimJax((2,), dt=2e-3)).as_graph())


def test_spec_validation_names_what_is_wrong():
    good = mapper(DynapSimJax((3,)).as_graph())
    with pytest.raises(ParameterValueError, match="output_neurons"):
        good.replace(output_neurons=[5])
    with pytest.raises(ParameterValueError, match="core_of_neuron"):
        good.replace(core_of_neuron=[0, 0, 3])
    with pytest.raises(ShapeError, match="core_of_neuron"):
        good.replace(core_of_neuron=[0, 0])
    with pytest.raises(ParameterValueError, match="weight"):
        Synapses([0], [0], [0], [-1.0])
    with pytest.raises(ParameterValueError, match="kind"):
        Synapses([0], [0], [4], [1.0])
    with pytest.raises(ParameterValueError, match="one entry per"):
        Synapses([0, 0], [1, 1], [0, 0], [1.0, 2.0])
    with pytest.raises(ParameterValueError, match="input_synapses.source"):
        good.replace(input_synapses=Synapses([7], [0], [0], [1.0]))
    with pytest.raises(ParameterValueError, match="bases"):
        good.replace(input_synapses=Synapses([0], [0], [0], [1.0], mask=[3]))
    with pytest.raises(ParameterValueError, match="format"):
        NetworkSpec.from_dict({"format": "something else"})
    with pytest.raises(ParameterValueError, match="JSON"):
        NetworkSpec.from_json("{not json")


def test_the_quantization_report_lists_every_synapse_it_drops():
    """A weight far below the core's others quantizes to 0: it is removed from the spec and
    listed, by table, source, target and weight (nothing is removed without a trace)."""
    from rockpool_dynapse2.mapping import NetworkSpec, Synapses, quantize_spec
    from rockpool_dynapse2.parameters import CoreParameters

    weights = np.random.default_rng(0).uniform(0.5, 1.0, 40)
    weights[3] = 1e-4  # 16 levels spent on 0.5..1 leave nothing near it
    inputs = Synapses(np.arange(40), np.arange(40) % 2, np.zeros(40, int), weights)
    spec = NetworkSpec(n_inputs=40, n_neurons=2, input_synapses=inputs, recurrent_synapses=Synapses.empty(),
                       core_of_neuron=[0, 0], cores=(CoreParameters(),), output_neurons=[1])
    quantized, report = quantize_spec(spec)
    assert report.dropped == 1 == len(report.dropped_synapses)
    table, source, target, weight = report.dropped_synapses[0]
    assert (table, source, target) == ("input", 3, 1) and weight == pytest.approx(1e-4)
    assert len(quantized.input_synapses) == 39 and 3 not in quantized.input_synapses.source
    assert "dropped input synapse 3 -> 1" in str(report)
