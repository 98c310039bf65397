"""spec -> quantized spec -> configuration -> JSON -> configuration -> spec -> simulation."""

import numpy as np
import pytest
from rockpool.nn.combinators import Sequential
from rockpool.nn.modules import LinearJax, LinearTorch, LIFTorch

from rockpool_dynapse2 import DynapSimJax
from rockpool_dynapse2.chip import SYNAPSE_TYPES
from rockpool_dynapse2.config import Configuration
from rockpool_dynapse2.placement import MappedConfiguration, config_from_specification, dynapsim_net_from_config, spec_from_config
from rockpool_dynapse2.placement.allocate import CONTROL_TAG, MONITOR_HOP, allocate
from rockpool_dynapse2.errors import ParameterValueError
from rockpool_dynapse2.mapping import dynapsim_net_from_spec, level_table, mapper, quantize_spec


def network(rng, n_in, n_hidden, n_out, p_in=0.3, p_rec=0.05, idc=3e-12):
    w1 = rng.normal(0, 1, (n_in, n_hidden)) * (rng.random((n_in, n_hidden)) < p_in)
    wr = rng.normal(0, 0.5, (n_hidden, n_hidden)) * (rng.random((n_hidden, n_hidden)) < p_rec)
    w2 = rng.normal(0, 1, (n_hidden, n_out)) * (rng.random((n_hidden, n_out)) < min(1.0, 40 / n_hidden))
    return Sequential(
        LinearJax((n_in, n_hidden), weight=w1, has_bias=False),
        DynapSimJax((n_hidden,), w_rec=wr, Idc=idc),
        LinearJax((n_hidden, n_out), weight=w2, has_bias=False),
        DynapSimJax((n_out,), Iw_ahp=2e-10),
    )


@pytest.fixture(scope="module")
def pipeline():
    rng = np.random.default_rng(0)
    spec = mapper(network(rng, 8, 300, 4).as_graph())  # > 256 neurons: several cores
    qspec, report = quantize_spec(spec)
    mapped = config_from_specification(qspec)
    return spec, qspec, report, mapped


def test_quantized_spec_is_chip_exact(pipeline):
    spec, qspec, report, _ = pipeline
    assert qspec.quantized and qspec.n_cores >= 2
    # weights are mask-selected sums of the core's bases
    w = qspec.weights(qspec.recurrent_synapses)
    expected = level_table(qspec.bases)[qspec.core_of_neuron[qspec.recurrent_synapses.target], qspec.recurrent_synapses.mask]
    np.testing.assert_array_equal(w, expected)
    # every current is a bias code's current (quantizing again changes nothing)
    for core in qspec.cores:
        assert core.quantized(clip=True) == core
    assert 0 < report.error < 0.3


def test_round_trip_through_json_preserves_the_network(pipeline):
    _, qspec, _, mapped = pipeline
    back = MappedConfiguration.from_json(mapped.to_json())
    assert back.configuration == mapped.configuration
    spec2 = spec_from_config(back)
    for a, b in zip(qspec.dense_weights(), spec2.dense_weights()):
        np.testing.assert_array_equal(a, b)
    assert spec2.cores == qspec.cores
    np.testing.assert_array_equal(spec2.bases, qspec.bases)
    np.testing.assert_array_equal(spec2.output_neurons, qspec.output_neurons)
    np.testing.assert_array_equal(spec2.core_of_neuron, qspec.core_of_neuron)


def test_configuration_simulates_spike_for_spike_as_the_quantized_spec(pipeline):
    _, qspec, _, mapped = pipeline
    x = (np.random.default_rng(1).random((2, 300, 8)) < 0.1).astype("float32")
    direct = np.asarray(dynapsim_net_from_spec(qspec)(x)[0])
    net = dynapsim_net_from_config(MappedConfiguration.from_json(mapped.to_json()))
    again = np.asarray(net(x)[0])
    assert direct.sum() > 0
    np.testing.assert_array_equal(direct, again)
    import torch

    net_t = dynapsim_net_from_config(mapped, backend="torch", dtype="float64")
    out_t = net_t(torch.as_tensor(x, dtype=torch.float64))[0].detach().numpy()
    assert (out_t != direct).mean() < 0.01  # float64 torch vs float32 JAX: spikes agree almost everywhere


def test_every_synapse_and_neuron_can_be_traced_in_the_configuration(pipeline):
    _, qspec, _, mapped = pipeline
    cfg = mapped.configuration
    alloc = allocate(qspec)
    for table, tags in ((qspec.input_synapses, alloc.input_tags), (qspec.recurrent_synapses, alloc.neuron_tags)):
        for src, tgt, kind, mask in zip(table.source, table.target, table.kind, table.mask):
            a = mapped.neurons[tgt]
            neuron = cfg.neuron(a.chip, a.core, a.neuron)
            tag = tags[src, a.chip]
            entries = [s for s in neuron.synapses if s.is_used and s.tag == tag and s.dendrite == SYNAPSE_TYPES[kind]]
            assert len(entries) == 1 and entries[0].weight_mask == mask
    summary = cfg.summary()
    assert summary.neurons_used == qspec.n_neurons
    n_syn = len(qspec.input_synapses) + len(qspec.recurrent_synapses)
    assert summary.cam_entries_used == n_syn
    monitors = [d for _, d in cfg.used_destinations() if d.x_hop == MONITOR_HOP and d.y_hop == MONITOR_HOP]
    assert sorted(d.tag for d in monitors) == list(mapped.outputs)
    assert CONTROL_TAG not in {s.tag for _, s in cfg.used_synapses()}


def test_latches_follow_dc_and_adaptation(pipeline):
    _, qspec, _, mapped = pipeline
    for j, a in enumerate(mapped.neurons):
        core = qspec.cores[qspec.core_of_neuron[j]]
        neuron = mapped.configuration.neuron(a.chip, a.core, a.neuron)
        assert neuron.latch_so_dc == core.dc_on
        assert neuron.latch_so_adaptation == core.adaptation_on
    hidden, output = qspec.cores[qspec.core_of_neuron[0]], qspec.cores[qspec.core_of_neuron[-1]]
    assert hidden.dc_on and not hidden.adaptation_on
    assert output.adaptation_on and not output.dc_on
    assert output.Idc == output.constants.Io  # off stays exactly off through the round trip


def test_multi_chip_network_places_neurons_on_several_chips():
    rng = np.random.default_rng(5)
    # 1100 hidden neurons, with chip-local recurrence only, to stay within the tags per chip
    n = 1100
    wr = np.zeros((n, n))
    for j in range(n):
        chip_start = (j // 1024) * 1024
        src = rng.choice(np.arange(chip_start, min(n, chip_start + 1024)), 5, replace=False)
        wr[src, j] = rng.normal(0, 0.5, 5)
    w1 = rng.normal(0, 1, (4, n)) * (rng.random((4, n)) < 0.5)
    net = Sequential(LinearJax((4, n), weight=w1, has_bias=False), DynapSimJax((n,), w_rec=wr))
    qspec, _ = quantize_spec(mapper(net.as_graph()))
    mapped = config_from_specification(qspec)
    chips = {a.chip for a in mapped.neurons}
    assert chips == {0, 1}
    assert len(mapped.configuration.chips) == 2
    # inputs reaching both chips are injected on both, with each chip's tag
    assert any(len(routes) == 2 for routes in mapped.inputs)
    spec2 = spec_from_config(MappedConfiguration.from_json(mapped.to_json()))
    for a, b in zip(qspec.dense_weights(), spec2.dense_weights()):
        np.testing.assert_array_equal(a, b)


def test_issue_10_network_through_the_whole_flow():
    net = Sequential(
        LinearTorch((12, 32)), LIFTorch(32), LinearTorch((32, 32)), LIFTorch(32, has_rec=True), LinearTorch((32, 2)), LIFTorch(2)
    )
    qspec, _ = quantize_spec(mapper(net.as_graph()))
    mapped = config_from_specification(qspec)
    cfg = MappedConfiguration.from_json(mapped.to_json()).configuration
    assert cfg.summary().neurons_used == 66
    monitors = [loc for loc, d in cfg.used_destinations() if d.x_hop == MONITOR_HOP]
    assert len(monitors) == 2
    out_addresses = {(mapped.neurons[j].chip, mapped.neurons[j].core, mapped.neurons[j].neuron) for j in qspec.output_neurons}
    assert {(loc.chip, loc.core, loc.neuron) for loc in monitors} == out_addresses


def test_bare_configuration_infers_channels():
    rng = np.random.default_rng(7)
    qspec, _ = quantize_spec(mapper(network(rng, 3, 10, 2, p_in=1.0).as_graph()))
    mapped = config_from_specification(qspec)
    # a bare configuration does not know the weight unit: give it
    spec2 = spec_from_config(Configuration.from_json(mapped.configuration.to_json()), Iscale=qspec.Iscale)
    assert spec2.n_neurons == qspec.n_neurons
    assert spec2.n_inputs == qspec.n_inputs  # one input channel per (chip, tag) no neuron sends
    np.testing.assert_array_equal(spec2.output_neurons, qspec.output_neurons)
    for a, b in zip(qspec.dense_weights(), spec2.dense_weights()):
        np.testing.assert_array_equal(a, b)


def test_float_spec_cannot_be_configured():
    spec = mapper(DynapSimJax((3,)).as_graph())
    with pytest.raises(ParameterValueError, match="quantized"):
        config_from_specification(spec)


def test_malformed_configuration_files_are_named_errors():
    with pytest.raises(ParameterValueError, match="JSON"):
        MappedConfiguration.from_json("{oops")
    with pytest.raises(ParameterValueError, match="format"):
        MappedConfiguration.from_json('{"format": "x"}')
    with pytest.raises(ParameterValueError, match="`dt` must be present"):
        MappedConfiguration.from_json('{"format": "rockpool-dynapse2/mapped-configuration/1"}')


def test_feedforward_network_without_recurrent_synapses_round_trips_and_deploys():
    # An empty synapse table read back from a configuration must still carry (empty) masks.
    from rockpool_dynapse2.hardware import DynapseSamna, VirtualBoard

    net = Sequential(LinearJax((20, 4), weight=np.full((20, 4), 0.5, "float32")), DynapSimJax((4,)))
    qspec = quantize_spec(mapper(net.as_graph()))[0]
    mapped = config_from_specification(qspec)
    back = spec_from_config(mapped)
    assert len(back.recurrent_synapses) == 0 and back.recurrent_synapses.mask is not None
    assert len(back.input_synapses) == len(qspec.input_synapses)
    x = (np.random.default_rng(2).random((1, 200, 20)) < 0.2).astype("float32")
    direct = np.asarray(dynapsim_net_from_spec(qspec)(x)[0])
    with DynapseSamna(VirtualBoard(), mapped) as chip:
        board = chip(x[0])[0]
    assert direct.sum() > 0
    np.testing.assert_array_equal(np.asarray(board).reshape(direct.shape), direct)
