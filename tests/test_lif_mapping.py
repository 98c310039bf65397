"""Converting Rockpool LIF networks: the analytic conversion, the calibration against the
original network, agreement on held-out input, Rockpool issue #10's network, a comparison
with Rockpool's own conversion, and the named errors.

Agreement is always measured on a held-out input (same distribution as the calibration
input, another draw). Measured figures these assertions leave a margin on (the issue
asks for totals within 10 % and correlations of at least 0.9):
16 -> 32, w ~ N(0, 0.5): total -2.8 %, correlation 0.94 per layer; -0.0 %, 0.997 per neuron;
w ~ N(0, 0.1): -1.2 %, 0.98; issue #10: -2.5 % / -2.6 % / -8.2 %, 0.98 / 0.95 / -.
See docs/lif_conversion.md and benchmarks/bench_lif_conversion.py (same networks and inputs).
"""

import logging

import numpy as np
import pytest

from rockpool_dynapse2.errors import ParameterValueError, ShapeError
from rockpool_dynapse2.mapping import CoreCapacityError, MappingError, mapper
from rockpool_dynapse2.mapping.calibration.calibrate import (
    CalibrationError,
    CalibrationReport,
    calibrate_to_reference,
    map_and_calibrate,
    reference_spike_counts,
    spec_spike_counts,
)
from rockpool_dynapse2.mapping.lif import lif_rheobase


def _poisson(rng, B, T, n, rate=0.05):
    return (rng.random((B, T, n)) < rate).astype("float32")


def _net_16_32(sd, seed=0):
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFJax, LinearJax

    rng = np.random.default_rng(seed)
    net = Sequential(LinearJax((16, 32), weight=rng.normal(0, sd, (16, 32))), LIFJax(32))
    return net, _poisson(rng, 4, 1000, 16), _poisson(rng, 4, 1000, 16)


def _lif_counts(net, x):
    return np.asarray(net(x)[0]).sum(axis=(0, 1))


def _agreement(ref, got):
    return (got.sum() - ref.sum()) / ref.sum(), np.corrcoef(ref, got)[0, 1]


@pytest.fixture(scope="module")
def high_rate():
    """The issue's 16 -> 32 network (LIF: ~0.8 spikes per neuron and step), per-layer calibration."""
    net, x, held_out = _net_16_32(0.5)
    spec, report = map_and_calibrate(net.as_graph(), x)
    return net, x, held_out, spec, report


@pytest.fixture(scope="module")
def issue10():
    """Rockpool issue #10's network, 12 -> 32 -> 32 (recurrent) -> 2 LIFTorch layers, with
    weights small enough that the LIF network does not run away."""
    import torch
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch

    rng = np.random.default_rng(1)
    w = lambda sd, shape: torch.as_tensor(rng.normal(0, sd, shape), dtype=torch.float32)
    net = Sequential(
        LinearTorch((12, 32), weight=w(0.3, (12, 32)), has_bias=False),
        LIFTorch(32),
        LinearTorch((32, 32), weight=w(0.03, (32, 32)), has_bias=False),
        LIFTorch(32, has_rec=True, w_rec=w(0.003, (32, 32))),
        LinearTorch((32, 2), weight=w(0.03, (32, 2)), has_bias=False),
        LIFTorch(2),
    )
    x, held_out = _poisson(rng, 2, 1000, 12), _poisson(rng, 2, 1000, 12)
    return net, x, held_out


# --- the analytic conversion ------------------------------------------------------------------


def test_lif_rheobase_is_where_a_lif_neuron_starts_firing():
    """A Rockpool LIF neuron with a constant bias fires iff bias >= threshold (1 - exp(-dt/tau_mem))."""
    from rockpool.nn.modules import LIFJax

    tau_mem, threshold = np.array([0.02, 0.05]), np.array([1.0, 2.0])
    rh = lif_rheobase(threshold, tau_mem, 1e-3)
    np.testing.assert_allclose(rh, threshold * (1 - np.exp(-1e-3 / tau_mem)))
    for factor, fires in ((0.98, False), (1.02, True)):
        lif = LIFJax(2, tau_mem=tau_mem, threshold=threshold, bias=factor * rh)
        out = np.asarray(lif(np.zeros((1, 2000, 2), "float32"))[0]).sum(axis=(0, 1))
        assert ((out > 0) == fires).all(), (factor, out)


def test_converted_bias_fires_like_the_lif_neuron():
    """The equal-rheobase unit: a LIF neuron's bias maps to an Idc that makes the DPI neuron fire
    exactly when the LIF neuron fires (10 % either side of the rheobase)."""
    from rockpool.nn.modules import LIFJax

    rh = lif_rheobase(np.ones(1), np.full(1, 0.02), 1e-3)[0]
    lif = LIFJax(2, bias=np.array([0.9, 1.1]) * rh)
    spec = mapper(lif.as_graph())
    counts = spec_spike_counts(spec, np.zeros((1, 1000, 2), "float32"))
    assert counts[0] == 0 and counts[1] > 0
    assert spec.cores[0].Iref > 1.5e-9  # t_ref = dt / 2 (Iref ~ 2.1 nA): one blocked step


# --- calibration: agreement on held-out input -----------------------------------------------


def test_high_rate_network_agrees_on_held_out_input(high_rate):
    net, x, held_out, spec, report = high_rate
    error, corr = _agreement(_lif_counts(net, held_out), spec_spike_counts(spec, held_out)[spec.output_neurons])
    assert abs(error) < 0.06, error  # measured: -2.8 %
    assert corr >= 0.9, corr  # measured: 0.94
    assert abs(report.relative_error) <= 0.03 and report.correlation >= 0.9


def test_calibration_raises_the_count_from_the_analytic_conversion(high_rate):
    net, x, held_out, spec, report = high_rate
    lif = _lif_counts(net, x).sum()
    assert report.uncalibrated_total < 0.05 * lif  # the analytic conversion alone fires ~2 %
    assert report.target == lif


def test_calibrated_spec_stays_within_the_chip_ranges(high_rate):
    """Weights within what the base weights can sum to; gains and threshold within their
    bias generator ranges; cores of at most 256 neurons."""
    from rockpool_dynapse2.chip import BIAS_PARAMETER_BY_CURRENT
    from rockpool_dynapse2.mapping.calibration.calibrate import MAX_WEIGHT_CURRENT
    from rockpool_dynapse2.parameters.biasgen import current_range

    *_, spec, report = high_rate
    w_in, w_rec = spec.dense_weights()
    assert max(w_in.max(), w_rec.max()) * spec.Iscale <= MAX_WEIGHT_CURRENT * (1 + 1e-9)
    for core in spec.cores:
        for name in ("Ispkthr", "Igain_ampa", "Igain_gaba"):
            low, high = current_range(BIAS_PARAMETER_BY_CURRENT[name])
            assert low <= getattr(core, name) <= high * (1 + 1e-9), name
    assert np.bincount(spec.core_of_neuron).max() <= 256


def test_per_neuron_refinement_agrees_per_neuron(high_rate):
    net, x, held_out, _, _ = high_rate
    spec, report = map_and_calibrate(net.as_graph(), x, calibration={"per_neuron": True})
    error, corr = _agreement(_lif_counts(net, held_out), spec_spike_counts(spec, held_out)[spec.output_neurons])
    assert abs(error) < 0.05, error  # measured: -0.04 %
    assert corr >= 0.99, corr  # measured: 0.997
    assert report.per_neuron and "per neuron" in str(report)


def test_low_rate_network_through_mapper_agrees_on_held_out_input():
    """``mapper(graph, calibration_input=x)`` returns the calibrated spec (w ~ N(0, 0.1): ~0.15 spikes per step)."""
    net, x, held_out = _net_16_32(0.1)
    spec = mapper(net.as_graph(), calibration_input=x)
    assert spec.cores[0].Ispkthr != pytest.approx(1e-7)  # the threshold was calibrated
    error, corr = _agreement(_lif_counts(net, held_out), spec_spike_counts(spec, held_out)[spec.output_neurons])
    assert abs(error) < 0.05, error  # measured: -1.2 %
    assert corr >= 0.95, corr  # measured: 0.98


def test_issue10_network_maps_every_neuron_and_calibrates_layer_by_layer(issue10):
    net, x, held_out = issue10
    spec, report = map_and_calibrate(net.as_graph(), x)
    # All 66 neurons, in layer order, the 2 outputs identified as the last layer.
    assert spec.n_neurons == 66
    np.testing.assert_array_equal(np.bincount(spec.layer_of_neuron), [32, 32, 2])
    np.testing.assert_array_equal(spec.output_neurons, [64, 65])
    assert len(spec.recurrent_synapses) > 0
    # One set of cores per layer, so that each layer has its own threshold.
    assert spec.n_cores == 3 and len({c.Ispkthr for c in spec.cores}) >= 2
    assert [l.layer for l in report.layers] == [0, 1, 2]
    for l in report.layers:
        assert abs(l.relative_error) <= 0.05, l  # on the calibration input
    assert report.layers[0].correlation >= 0.95 and report.layers[1].correlation >= 0.9
    # Held-out input: per-layer totals and correlations.
    ref, got = reference_spike_counts(spec, net, held_out), spec_spike_counts(spec, held_out)
    for k, (max_error, min_corr) in enumerate(((0.06, 0.95), (0.06, 0.9), (0.15, None))):
        m = spec.layer_of_neuron == k
        error = (got[m].sum() - ref[m].sum()) / ref[m].sum()
        assert abs(error) < max_error, (k, error)  # measured: -2.5 %, -2.6 %, -8.2 %
        if min_corr is not None:
            assert np.corrcoef(ref[m], got[m])[0, 1] >= min_corr  # measured: 0.98, 0.95


def test_torch_reference_runs_on_a_copy_and_takes_torch_input(issue10):
    """Reference counts of a torch network: from rest, on a copy (the network's state is
    untouched), the same for a numpy and a torch input."""
    import torch

    net, x, _ = issue10
    spec = mapper(net.as_graph())
    a = reference_spike_counts(spec, net, x[:, :200])
    with torch.no_grad():
        net(torch.as_tensor(x[:, :200]))  # leaves the network away from rest
    vmem = [net[k].vmem.clone() for k in (1, 3, 5)]
    b = reference_spike_counts(spec, net, torch.as_tensor(x[:, :200]))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (66,) and a.sum() > 0
    for k, v in zip((1, 3, 5), vmem):
        assert torch.equal(net[k].vmem, v)
    net.reset_state()


def test_report_reads_as_a_table(high_rate):
    *_, report = high_rate
    assert isinstance(report, CalibrationReport)
    text = str(report)
    assert "1_LIFJax" in text and "total" in text and "before calibration" in text
    with pytest.raises(AttributeError):
        report.correlation = 0.0  # frozen


# --- against Rockpool's conversion -------------------------------------------------------------


def test_far_closer_to_the_lif_counts_than_rockpools_conversion(high_rate):
    """Rockpool's own conversion (no samna needed) fires ~3 % of the LIF spikes; ours within a few %."""
    logging.disable(logging.WARNING)  # Rockpool warns that samna is missing
    try:
        from rockpool.devices.dynapse import dynapsim_net_from_spec, mapper as rockpool_mapper
    finally:
        logging.disable(logging.NOTSET)
    net, _, held_out, spec, _ = high_rate
    lif = _lif_counts(net, held_out).sum()
    theirs = np.asarray(dynapsim_net_from_spec(**rockpool_mapper(net.as_graph()))(held_out)[0]).sum()
    ours = spec_spike_counts(spec, held_out)[spec.output_neurons].sum()
    assert theirs < 0.1 * lif  # measured: 2.6 %
    assert abs(np.log(ours / lif)) < 0.05 * abs(np.log(theirs / lif))  # measured: |log ratio| 0.029 vs 3.66


# --- fail cases -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    net, _, _ = _net_16_32(0.5)
    x = _poisson(np.random.default_rng(3), 1, 50, 16)
    return net, x, mapper(net.as_graph())


def test_calibration_input_of_the_wrong_width_is_a_shape_error(small):
    net, x, spec = small
    with pytest.raises(ShapeError):
        mapper(net.as_graph(), calibration_input=x[..., :15])
    with pytest.raises(ShapeError):
        calibrate_to_reference(spec, net, np.zeros((2, 3, 4, 16)))


def test_calibration_needs_lif_neurons():
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearJax

    from rockpool_dynapse2 import DynapSimJax

    net = Sequential(LinearJax((4, 3), has_bias=False), DynapSimJax(3))
    with pytest.raises(CalibrationError) as err:
        mapper(net.as_graph(), calibration_input=np.zeros((1, 10, 4), "float32"))
    assert isinstance(err.value, MappingError)


def test_calibration_needs_a_reference_or_targets(small):
    _, x, spec = small
    with pytest.raises(CalibrationError):
        calibrate_to_reference(spec, None, x)
    with pytest.raises(ShapeError):
        calibrate_to_reference(spec, None, x, targets=np.ones(5))


def test_reference_must_be_the_spec_network(small):
    _, x, spec = small
    other, _, _ = _net_16_32(0.5, seed=1)
    with pytest.raises(CalibrationError):
        calibrate_to_reference(spec, other, x)


def test_spec_layer_names_are_the_same_in_every_run():
    """Layer names come from the Rockpool modules, not from Python ids (which Rockpool's
    graph names end in), so mapping the same architecture twice gives the same names."""
    first, second = _net_16_32(0.5)[0], _net_16_32(0.5)[0]
    assert mapper(first.as_graph()).names == mapper(second.as_graph()).names == ("1_LIFJax",)


def test_a_spec_loaded_from_json_still_matches_its_network(high_rate):
    """The reference check compares content: a calibrated spec saved to JSON and loaded
    again (as in another session) matches the network it came from, and not a network of
    the same architecture with other weights."""
    from rockpool_dynapse2.mapping import NetworkSpec

    net, x, _, spec, _ = high_rate
    loaded = NetworkSpec.from_json(spec.to_json())
    x = x[:, :100]
    np.testing.assert_array_equal(reference_spike_counts(loaded, net, x), reference_spike_counts(spec, net, x))
    with pytest.raises(CalibrationError):
        reference_spike_counts(loaded, _net_16_32(0.5, seed=1)[0], x)


def test_reference_check_allows_one_drive_scale_per_neuron(small):
    """Calibration scales every synapse onto a neuron by one factor: such a spec still
    matches its network; one weight changed on its own does not."""
    net, x, spec = small
    syn = spec.input_synapses
    factor = np.random.default_rng(0).uniform(0.5, 2.0, spec.n_neurons)
    scaled = spec.replace(input_synapses=syn.replace(weight=syn.weight * factor[syn.target]))
    assert reference_spike_counts(scaled, net, x).shape == (spec.n_neurons,)
    weight = scaled.input_synapses.weight.copy()
    weight[0] *= 1.5
    with pytest.raises(CalibrationError):
        reference_spike_counts(scaled.replace(input_synapses=syn.replace(weight=weight)), net, x)


def test_quantized_spec_cannot_be_calibrated(small):
    net, x, spec = small
    quantized = spec.replace(
        input_synapses=spec.input_synapses.replace(mask=np.ones(len(spec.input_synapses), int)),
        recurrent_synapses=spec.recurrent_synapses.replace(mask=np.ones(len(spec.recurrent_synapses), int)),
        bases=np.ones((spec.n_cores, 4)),
    )
    with pytest.raises(CalibrationError):
        calibrate_to_reference(quantized, net, x)


@pytest.mark.parametrize(
    "options",
    [{"thresholds": ()}, {"thresholds": (-1e-9,)}, {"scale_range": (10.0, 1.0)}, {"points": 2}, {"layers": [3]}],
)
def test_bad_search_settings_are_parameter_value_errors(small, options):
    net, x, spec = small
    with pytest.raises(ParameterValueError):
        calibrate_to_reference(spec, net, x, targets=np.ones(spec.n_neurons), **options)


def test_layers_need_cores_of_their_own(issue10):
    """Three calibrated layers need three cores; a one-core board cannot hold them."""
    net, x, _ = issue10
    with pytest.raises(CoreCapacityError):
        map_and_calibrate(net.as_graph(), x[:, :20], max_cores=1)


def test_a_per_neuron_calibration_on_short_input_is_warned_about():
    """Per-neuron scales fitted on little input fit its noise: the report says so, in its
    text too; per-layer scales, or enough input, give no warning."""
    from rockpool_dynapse2.mapping.calibration.report import PER_NEURON_MIN_STEPS, CalibrationReport

    def report(shape, per_neuron):
        return CalibrationReport(layers=(), correlation=1.0, uncalibrated_total=0.0, input_shape=shape,
                                 per_neuron=per_neuron, n_cores=1, seconds=0.0)

    short = report((1, 400, 8), True)
    assert len(short.warnings) == 1 and "400 steps" in short.warnings[0]
    assert "warning: per-neuron scales were fitted on 400 steps" in str(short)
    assert report((1, 400, 8), False).warnings == ()
    assert report((4, PER_NEURON_MIN_STEPS // 4, 8), True).warnings == ()
