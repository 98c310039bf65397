"""One fail case per design rule: a named error (a Rockpool DRCError) listing every violation."""

import numpy as np
import pytest
from rockpool.typehints import DRCError

from rockpool_dynapse2 import CoreParameters
from rockpool_dynapse2.placement import Dynapse2DRCError, allocate, config_from_specification
from rockpool_dynapse2.mapping import NetworkSpec, Synapses


def spec(n_neurons, n_cores, input_syn=None, rec_syn=None, n_inputs=1, outputs=(0,), core_of_neuron=None, cores=None):
    """A quantized spec built by hand: synapses as (source, target) lists, AMPA, mask 1."""

    def table(pairs):
        if not pairs:
            return Synapses.empty().replace(mask=np.zeros(0, dtype=np.int8))
        src, tgt = np.array(pairs).T
        return Synapses(src, tgt, np.zeros(len(src)), np.ones(len(src)), np.ones(len(src)))

    core_of_neuron = np.arange(n_neurons) % n_cores if core_of_neuron is None else core_of_neuron
    return NetworkSpec(
        n_inputs=n_inputs,
        n_neurons=n_neurons,
        input_synapses=table(input_syn),
        recurrent_synapses=table(rec_syn),
        core_of_neuron=core_of_neuron,
        cores=cores or tuple(CoreParameters() for _ in range(n_cores)),
        output_neurons=list(outputs),
        bases=np.tile([1.0, 0, 0, 0], (n_cores, 1)),
    )


def violations(s, **kwargs):
    with pytest.raises(Dynapse2DRCError) as info:
        allocate(s, **kwargs)
    assert isinstance(info.value, DRCError)
    return info.value.violations


def test_a_valid_spec_allocates():
    alloc = allocate(spec(4, 1, input_syn=[(0, j) for j in range(4)]))
    np.testing.assert_array_equal(alloc.input_tags[:, 0], [0])


def test_cam_entries():
    (v,) = violations(spec(2, 1, input_syn=[(i, 1) for i in range(70)], n_inputs=70))
    assert (v.rule, v.limit, v.actual) == ("cam_entries", 64, 70)
    assert "neuron 1 (chip 0, core 0, neuron 1)" in v.where


def test_tags_per_chip():
    # 2100 input channels, each onto its own synapse of 1024 neurons of one chip
    n_in = 2100
    pairs = [(i, i % 1024) for i in range(n_in)]
    (v,) = violations(spec(1024, 4, input_syn=pairs, n_inputs=n_in, core_of_neuron=np.arange(1024) // 256))
    assert (v.rule, v.limit, v.actual, v.where) == ("tags_per_chip", 2047, 2100, "chip 0")


def test_destinations():
    # neuron 0 reaches neurons on 4 chips and is an output: 5 SRAM entries
    n = 16
    core_of = np.arange(n)  # 16 cores of one neuron: chips 0..3
    (v,) = violations(spec(n, n, rec_syn=[(0, 1), (0, 4), (0, 8), (0, 12)], core_of_neuron=core_of, outputs=(0,)))
    assert (v.rule, v.limit, v.actual) == ("destinations", 4, 5)
    assert v.where.startswith("neuron 0")


def test_cores_on_the_board():
    (v,) = violations(spec(6, 6), n_chips=1)
    assert (v.rule, v.limit, v.actual) == ("cores", 4, 6)


def test_neurons_per_core():
    (v,) = violations(spec(300, 1))
    assert (v.rule, v.limit, v.actual, v.where) == ("neurons_per_core", 256, 300, "logical core 0")


def test_hops():
    # a board of 9 chips in a row: chip 0 -> chip 8 is 8 hops
    n = 36
    (v,) = violations(spec(n, n, rec_syn=[(0, 35)], core_of_neuron=np.arange(n), outputs=(35,)), n_chips=9)
    assert (v.rule, v.limit, v.actual) == ("hops", 7, 8)


def test_output_channels():
    n = 2100
    (v,) = violations(spec(n, 9, outputs=range(n), core_of_neuron=np.arange(n) // 256))
    assert (v.rule, v.limit, v.actual) == ("output_channels", 2047, 2100)


def test_bias_range():
    bad = CoreParameters().replace(Itau_mem=1e-17)
    (v,) = violations(spec(2, 1, cores=(bad,)))
    assert v.rule == "bias_range" and "SOIF_LEAK_N" in v.where and "1e-17" in v.actual


def test_every_violation_is_listed_at_once():
    s = spec(2, 1, input_syn=[(i, 1) for i in range(70)] + [(i, 0) for i in range(65)], n_inputs=70, cores=(CoreParameters().replace(Iref=1.0),))
    vs = violations(s)
    assert sorted(v.rule for v in vs) == ["bias_range", "cam_entries", "cam_entries"]
    with pytest.raises(Dynapse2DRCError) as info:
        config_from_specification(s)
    assert info.value.rules.count("cam_entries") == 2
