"""Rockpool's own DYNAP-SE2 test scenarios (``tests/tests_default/devices_dynapse`` in
Rockpool's repository, read at commit 42cee1c9), ported to this package's API, with
Rockpool's data (``tests/data/rockpool_dynapse``, see PROVENANCE.md there).

Each test here is named after the Rockpool test it ports. Where this package's API
differs, the test checks the equivalent statement, and says how in its docstring; where
Rockpool's tolerance was loose, ours is as tight as the result allows, with the reason.

Ported:

* ``test_deployment_steps.py``: network building, network from spec (with and without
  mismatch), quantization, network from configuration (here without samna);
* ``test_evolve_jit.py``: a compiled network equals the uncompiled one (it failed 1 run in 5
  here: fixed in the simulation, see the test);
* ``test_mapping.py``: the empty network, single and minimal networks (DynapSim and LIF),
  multi-layer placement (DynapSim and LIF), consecutive LIF and consecutive linear layers;
* ``test_mismatch.py``: distribution and statistics of frozen mismatch;
* ``test_parameter_translation.py``: code -> current -> code over every code, current ->
  code -> current over 1000 currents, configuration -> network -> configuration;
* ``test_samna_integration.py``: the full configuration's JSON, an event, destinations as
  keys (here against Rockpool's ``samna_alias``, without samna).

Not ported, and why:

* ``test_dynapse_interface.py::test_time_stamp``: it needs a DYNAP-SE2 board, and compares
  the FPGA clock with wall-clock time; this package has never met a board, and its
  virtual board's clock is simulated time (no wall-clock assertions in the suite);
* ``test_mapping.py::test_imports`` and ``test_parameter_translation.py::test_imports``:
  they only import samna and Rockpool's modules; importing this package without samna is
  tested in ``tests/test_samna_detection.py``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data" / "rockpool_dynapse"


def _rockpool_dynapse():
    """Rockpool's ``rockpool.devices.dynapse`` (it logs warnings about samna on import)."""
    logging.getLogger().setLevel(logging.ERROR)
    import rockpool.devices.dynapse as dynapse

    return dynapse


def optimized_weights():
    return np.load(DATA / "w_in_optimized.npy"), np.load(DATA / "w_rec_optimized.npy")


def tutorial_net(**dynapsim):
    """Rockpool's ``Sequential(LinearJax(w_in), DynapSim(Nrec, has_rec=True, w_rec))`` in
    this package: ``DynapSimJax`` takes signed inputs like Rockpool's ``DynapSim``."""
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearJax

    import rockpool_dynapse2 as rd

    w_in, w_rec = optimized_weights()
    n_in, n = w_in.shape
    return Sequential(LinearJax((n_in, n), has_bias=False, weight=w_in), rd.DynapSimJax(n, w_rec=w_rec, **dynapsim))


def signed(typed: np.ndarray) -> np.ndarray:
    """Signed weights ``(S, N)`` of typed weights ``(S, 4 N)`` (channel ``4 i + k``): AMPA - GABA."""
    from rockpool_dynapse2.chip import SIGNED_EXCITATORY, SIGNED_INHIBITORY

    t = np.asarray(typed, dtype=np.float64).reshape(typed.shape[0], -1, 4)
    return t[..., int(SIGNED_EXCITATORY)] - t[..., int(SIGNED_INHIBITORY)]


# --- test_evolve_jit.py ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [3, 4])
def test_evolve_jit(seed):
    """``jax.jit(net)`` gives the uncompiled network's spikes, state and record, bit for bit.

    Rockpool's test compares the states to 6 decimals (1.5e-6) with unseeded recurrent
    weights. Here it failed about 1 run in 5: ``jax.jit(net)`` closes over the module, so
    its currents became constants that XLA folded while compiling, rounding differently
    from the compiled loop, and the membrane voltage drifted by up to 2.2e-6 V over the
    1000 recurrent steps (seed 4 of these weights). The simulation now keeps its
    parameters behind an optimization barrier, so the two computations are the same and
    the comparison is exact. The seeds are the two with the largest drift before.
    """
    import jax

    import rockpool_dynapse2 as rd

    rng = np.random.RandomState(2023)
    T, N = 1000, 60
    x = (rng.rand(T, N) < 0.01).reshape(1, T, N)
    net = rd.DynapSimJax(N, has_rec=True, seed=seed)

    out, state, rec = net(x)
    out_jit, state_jit, rec_jit = jax.jit(net)(x)
    assert np.asarray(out).sum() > 0  # the network is active
    np.testing.assert_array_equal(np.asarray(out_jit), np.asarray(out))
    assert set(state) == set(state_jit) and rec == rec_jit == {}
    for key in state:
        np.testing.assert_array_equal(np.asarray(state_jit[key]), np.asarray(state[key]), err_msg=key)

    out, _, rec = net(x, record=True)
    _, _, rec_jit = jax.jit(lambda data: net(data, record=True))(x)
    for key in rec:
        np.testing.assert_array_equal(np.asarray(rec_jit[key]), np.asarray(rec[key]), err_msg=key)


# --- test_deployment_steps.py ------------------------------------------------------------------


def test_network_building_first_step():
    """The network holds the weights it was given, exactly. Rockpool's
    ``DynapSim(percent_mismatch=0.05)`` is this package's frozen mismatch transform, which
    perturbs currents and layout constants and leaves the weights alone."""
    from rockpool_dynapse2.transform.mismatch import mismatch

    w_in, w_rec = optimized_weights()
    net = tutorial_net()
    chip = mismatch(net, 2023, percent_deviation=0.05)
    for n in (net, chip):
        np.testing.assert_array_equal(np.asarray(n[0].weight), w_in)
        np.testing.assert_array_equal(np.asarray(n[1].w_rec), w_rec)
    assert not np.array_equal(np.asarray(chip[1].Itau_mem), np.asarray(net[1].Itau_mem))


def _net_from_spec(net):
    from rockpool_dynapse2.mapping import dynapsim_net_from_spec, mapper

    spec = mapper(net.as_graph())
    return spec, dynapsim_net_from_spec(spec)


def test_net_from_spec():
    """Mapped and rebuilt, the network has the same weights (here in the typed layout, one
    input channel per synapse type: AMPA minus GABA gives them back), ``Iscale`` and
    currents."""
    from rockpool_dynapse2.simulation import CURRENT_NAMES

    w_in, w_rec = optimized_weights()
    net = tutorial_net()
    _, rebuilt = _net_from_spec(net)
    np.testing.assert_array_equal(signed(np.asarray(rebuilt[0].weight)), w_in)
    np.testing.assert_array_equal(signed(np.asarray(rebuilt[1].w_rec)), w_rec)
    assert float(rebuilt[1].Iscale) == float(net[1].Iscale)
    for name in CURRENT_NAMES:
        np.testing.assert_allclose(np.asarray(rebuilt[1].__getattribute__(name)), np.asarray(getattr(net[1], name)), rtol=1e-6, err_msg=name)


def test_net_from_spec_mismatch():
    """With 5 % frozen mismatch the weights are still exact; a core shares one parameter
    set, so each neuron's currents are within 5 % of its core's (Rockpool's tolerance,
    which the mapper's clustering tolerance of 5 % guarantees)."""
    from rockpool_dynapse2.simulation import CURRENT_NAMES
    from rockpool_dynapse2.transform.mismatch import mismatch

    w_in, w_rec = optimized_weights()
    chip = mismatch(tutorial_net(), 2023, percent_deviation=0.05)
    spec, rebuilt = _net_from_spec(chip)
    np.testing.assert_array_equal(signed(np.asarray(rebuilt[0].weight)), w_in)
    np.testing.assert_array_equal(signed(np.asarray(rebuilt[1].w_rec)), w_rec)
    assert float(rebuilt[1].Iscale) == float(chip[1].Iscale)
    for name in CURRENT_NAMES:
        np.testing.assert_allclose(np.asarray(getattr(rebuilt[1], name)), np.asarray(getattr(chip[1], name)), rtol=0.05, err_msg=name)
    assert spec.neuron_deviation.max() <= 0.05


def _quantized(net):
    from rockpool_dynapse2.mapping import mapper, quantize_spec

    return quantize_spec(mapper(net.as_graph()))


def test_quantization():
    """The 4-bit weights reconstruct the trained ones within Rockpool's tolerances (5 for
    the input weights, 3 for the recurrent ones). Rockpool's autoencoder, on the same
    weights, is the reference: our relative error is below half of its (measured: ours
    4.0 %, Rockpool's 16.5-21.6 % in three runs; its autoencoder starts at random)."""
    from rockpool_dynapse2.chip import SIGNED_EXCITATORY, SIGNED_INHIBITORY

    w_in, w_rec = optimized_weights()
    qspec, report = _quantized(tutorial_net())
    q_in, q_rec = qspec.dense_weights()  # (S, N, 4) magnitudes
    to_signed = lambda q: q[..., int(SIGNED_EXCITATORY)] - q[..., int(SIGNED_INHIBITORY)]
    np.testing.assert_allclose(to_signed(q_in), w_in, atol=5)
    np.testing.assert_allclose(to_signed(q_rec), w_rec, atol=3)
    ours = np.linalg.norm(to_signed(q_in) - w_in) / np.linalg.norm(w_in)
    assert ours < 0.5 * _rockpool_autoencoder_error(w_in, w_rec), ours


def _rockpool_autoencoder_error(w_in, w_rec):
    """Relative error of Rockpool's ``autoencoder_quantization`` on the input weights (about 2 s)."""
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearJax

    dynapse = _rockpool_dynapse()
    from rockpool.devices.dynapse.quantization.autoencoder.weight_handler import WeightHandler

    net = Sequential(LinearJax(w_in.shape, has_bias=False, weight=w_in), dynapse.DynapSim(w_in.shape[1], has_rec=True, w_rec=w_rec))
    spec = dynapse.mapper(net.as_graph())
    spec.update(dynapse.autoencoder_quantization(**spec))
    code = [spec[f"Iw_{k}"][0] for k in range(4)]
    bits = WeightHandler.int2bit_mask(n_bits=4, int_mask=spec["weights_in"][0]).T
    theirs = (np.sum(bits * code, axis=-1).T * spec["sign_in"] / spec["Iscale"])[0]
    return float(np.linalg.norm(theirs - w_in) / np.linalg.norm(w_in))


def test_network_from_config():
    """All deployment steps, mapper -> quantization -> configuration (samna's JSON, here
    without samna) -> network: weights within Rockpool's tolerances (5 and 3), currents
    within 20 % (bias codes; Rockpool's tolerance). The rebuilt network is also the
    quantized spec's, spike for spike."""
    from rockpool_dynapse2.mapping import dynapsim_net_from_spec
    from rockpool_dynapse2.placement import MappedConfiguration, config_from_specification, dynapsim_net_from_config
    from rockpool_dynapse2.simulation import CURRENT_NAMES

    w_in, w_rec = optimized_weights()
    net = tutorial_net()
    qspec, _ = _quantized(net)
    config = MappedConfiguration.from_json(config_from_specification(qspec).to_json())
    rebuilt = dynapsim_net_from_config(config)
    np.testing.assert_allclose(signed(np.asarray(rebuilt[0].weight)), w_in, atol=5)
    np.testing.assert_allclose(signed(np.asarray(rebuilt[1].w_rec)), w_rec, atol=3)
    for name in CURRENT_NAMES:
        np.testing.assert_allclose(np.asarray(getattr(rebuilt[1], name)), np.asarray(getattr(net[1], name)), rtol=0.2, err_msg=name)
    excitatory = (w_in > 0).any(1)  # channels that excite a neuron (most weights inhibit)
    x = ((np.random.default_rng(0).random((1, 300, 60)) < 0.2) * excitatory).astype(np.float32)
    out = np.asarray(rebuilt(x)[0])
    assert out.sum() > 10
    np.testing.assert_array_equal(out, np.asarray(dynapsim_net_from_spec(qspec)(x)[0]))


# --- test_mapping.py ---------------------------------------------------------------------------


def _signed_weights(spec):
    """``(w_in (C, N), w_rec (N, N))``: the spec's weights, signed (AMPA minus GABA)."""
    from rockpool_dynapse2.chip import SIGNED_EXCITATORY, SIGNED_INHIBITORY

    return tuple(q[..., int(SIGNED_EXCITATORY)] - q[..., int(SIGNED_INHIBITORY)] for q in spec.dense_weights())


def test_zero():
    """An empty network is refused: here already by the module (``ShapeError``, a
    ``ValueError`` as Rockpool's mapper raises), so there is no graph to map."""
    import rockpool_dynapse2 as rd
    from rockpool_dynapse2.errors import ShapeError

    with pytest.raises(ShapeError):
        rd.DynapSimJax(0)
    assert issubclass(ShapeError, ValueError)


def test_single_dynapsim():
    """A lone module maps with its ``Iscale`` and every neuron; its inputs are the graph's
    inputs, so (unlike Rockpool's ``weights_in = None``) each gets one identity synapse.
    With recurrence, the recurrent weights are there, ``(n, n)``."""
    import rockpool_dynapse2 as rd
    from rockpool_dynapse2.mapping import mapper

    n = 10
    layer = rd.DynapSimJax(n)
    spec = mapper(layer.as_graph())
    w_in, _ = _signed_weights(spec)
    np.testing.assert_array_equal(w_in, np.eye(n))
    assert len(spec.recurrent_synapses) == 0
    assert spec.Iscale == float(layer.Iscale) and spec.n_neurons == n and len(spec.core_of_neuron) == n

    layer = rd.DynapSimJax(n, has_rec=True, seed=0)
    _, w_rec = _signed_weights(mapper(layer.as_graph()))
    assert w_rec.shape == (n, n) and w_rec.any()
    np.testing.assert_allclose(w_rec, np.asarray(layer.w_rec), rtol=1e-6)


def test_dynapsim_net_minimal():
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearJax

    import rockpool_dynapse2 as rd
    from rockpool_dynapse2.mapping import mapper

    n_in, n_rec = 10, 5
    spec = mapper(Sequential(LinearJax((n_in, n_rec)), rd.DynapSimJax(n_rec)).as_graph())
    w_in, w_rec = _signed_weights(spec)
    assert w_in.shape == (n_in, n_rec) and w_in.any()
    assert len(spec.recurrent_synapses) == 0 and spec.n_neurons == n_rec

    spec = mapper(Sequential(LinearJax((n_in, n_rec)), rd.DynapSimJax(n_rec, has_rec=True, seed=0)).as_graph())
    _, w_rec = _signed_weights(spec)
    assert w_rec.shape == (n_rec, n_rec) and w_rec.any()


def test_lif_net_minimal():
    """LIF layers are converted; without recurrence there is no recurrent synapse at all
    (Rockpool's spec holds an all-zero matrix)."""
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFJax, LinearJax

    from rockpool_dynapse2.mapping import mapper

    n_in, n_rec = 10, 5
    spec = mapper(Sequential(LinearJax((n_in, n_rec)), LIFJax(n_rec)).as_graph())
    w_in, w_rec = _signed_weights(spec)
    assert w_in.shape == (n_in, n_rec) and w_in.any()
    assert w_rec.shape == (n_rec, n_rec) and not w_rec.any() and spec.n_neurons == n_rec

    spec = mapper(Sequential(LinearJax((n_in, n_rec)), LIFJax(n_rec, has_rec=True)).as_graph())
    _, w_rec = _signed_weights(spec)
    assert w_rec.shape == (n_rec, n_rec) and w_rec.any()


SIZES = (32, 16, 8, 4, 2)  # inputs, then the four layers


def _multi_layer(neuron_layer):
    """``Linear -> neurons`` four times; returns the network and its layers."""
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearJax

    layers = []
    for k, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers += [LinearJax((a, b)), neuron_layer(b, k)]
    return Sequential(*layers), layers


def _check_placement(spec, layers, proportional):
    """Rockpool's placement checks: the input weights fill the first layer's columns,
    each layer's recurrent weights its diagonal block, each linear layer the block from its
    source to its target layer, and everything else is empty. ``proportional``: weights may
    be scaled per target neuron (the LIF conversion's unit), not equal."""
    w_in, w_rec = _signed_weights(spec)
    n = sum(SIZES[1:])
    edges = np.cumsum((0,) + SIZES[1:])
    assert w_in.shape == (SIZES[0], n) and w_rec.shape == (n, n)
    expected_in = np.zeros_like(w_in)
    expected_in[:, : edges[1]] = np.asarray(layers[0].weight)
    expected_rec = np.zeros_like(w_rec)
    for k in range(4):
        own = slice(edges[k], edges[k + 1])
        expected_rec[own, own] = np.asarray(layers[2 * k + 1].w_rec)
        if k < 3:
            expected_rec[own, edges[k + 1] : edges[k + 2]] = np.asarray(layers[2 * k + 2].weight)
    for got, want in ((w_in, expected_in), (w_rec, expected_rec)):
        np.testing.assert_array_equal(got != 0, want != 0)
        if proportional:
            for j in np.flatnonzero(want.any(0)):
                ratio = got[want[:, j] != 0, j] / want[want[:, j] != 0, j]
                assert np.ptp(ratio) <= 1e-6 * np.abs(ratio).max(), j
        else:
            np.testing.assert_allclose(got, want, rtol=1e-6)


def test_dynapsim_net_multi():
    import rockpool_dynapse2 as rd
    from rockpool_dynapse2.mapping import mapper

    net, layers = _multi_layer(lambda n, k: rd.DynapSimJax(n, has_rec=True, seed=k))
    _check_placement(mapper(net.as_graph()), layers, proportional=False)


def test_lif_net_multi():
    from rockpool.nn.modules import LIFJax

    from rockpool_dynapse2.mapping import mapper

    net, layers = _multi_layer(lambda n, k: LIFJax(n, has_rec=True))
    _check_placement(mapper(net.as_graph()), layers, proportional=True)


def test_negative_consecutive_lif():
    """Two neuron layers without weights between them are refused (a ``MappingError``,
    a ``ValueError`` as Rockpool's)."""
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFJax, LinearJax

    from rockpool_dynapse2.errors import MappingError
    from rockpool_dynapse2.mapping import mapper

    net = Sequential(LinearJax((32, 16)), LIFJax(16, has_rec=True), LIFJax(16, has_rec=True))
    with pytest.raises(MappingError, match="two neuron layers follow each other"):
        mapper(net.as_graph())


def test_negative_consecutive_linear():
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFJax, LinearJax

    from rockpool_dynapse2.errors import MappingError
    from rockpool_dynapse2.mapping import mapper

    net = Sequential(LinearJax((32, 16)), LinearJax((16, 8)), LIFJax(8, has_rec=True))
    with pytest.raises(MappingError, match="weights must end on neuron inputs"):
        mapper(net.as_graph())


# --- test_mismatch.py --------------------------------------------------------------------------


def _mismatch_network():
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearJax

    import rockpool_dynapse2 as rd

    return Sequential(LinearJax((64, 256), has_bias=False), rd.DynapSimJax((256, 256), has_rec=True, seed=0))


def _attributes(prototype, net, new):
    """``(flagged, name, original, mismatched)`` for every attribute of the prototype."""
    for layer, attrs in prototype.items():
        for name, flagged in attrs.items():
            yield flagged, f"{layer}.{name}", np.asarray(getattr(getattr(net, layer), name)), np.asarray(getattr(getattr(new, layer), name))


def test_mismatch_distribution():
    """Every attribute the prototype marks deviates; the others (weights, ``Iscale``,
    ``dt``) are untouched, bit for bit; and each attribute gets its own draw: no more
    than 3 attributes in a row deviate in the same direction everywhere."""
    import jax.numpy as jnp

    from rockpool_dynapse2.transform.mismatch import mismatch, mismatch_prototype

    net = _mismatch_network()
    prototype = mismatch_prototype(net)
    new = mismatch(net, jnp.array([2021, 2022], dtype=jnp.uint32), percent_deviation=0.30)
    previous, same_in_a_row, flagged_count = None, 0, 0
    for flagged, name, before, after in _attributes(prototype, net, new):
        if flagged:
            flagged_count += 1
            assert not np.allclose(after, before, rtol=1e-7, atol=0), name
        else:
            np.testing.assert_array_equal(after, before, err_msg=name)
        sign = np.sign(before - after)
        same_in_a_row = same_in_a_row + 1 if previous is not None and np.array_equal(sign, previous) else 0
        previous = sign
        assert same_in_a_row <= 3, f"the same deviations again at {name}: the draws are not independent"
    assert flagged_count >= 20  # every current and layout constant of the neurons


def test_mismatch_statistics():
    """At 10 % deviation (3 sigma) over 256 neurons: each mismatched attribute keeps its
    mean (within 1 %: the standard error is 0.2 %) and gets a relative spread of about
    3.3 % from none. Rockpool compares means in amperes to 2 decimals, which any two
    currents below 5 mA pass; here the comparison is relative. Attributes not mismatched
    keep their mean and spread exactly."""
    import jax.numpy as jnp

    from rockpool_dynapse2.transform.mismatch import mismatch, mismatch_prototype

    net = _mismatch_network()
    prototype = mismatch_prototype(net)
    new = mismatch(net, jnp.array([2021, 2022], dtype=jnp.uint32), percent_deviation=0.1)
    for flagged, name, before, after in _attributes(prototype, net, new):
        if flagged:
            assert abs(after.mean() / before.mean() - 1) < 0.01, name
            assert before.std() / before.mean() < 1e-6, name
            assert 0.02 < after.std() / after.mean() < 0.05, name
        else:
            assert after.mean() == before.mean() and after.std() == before.std(), name


# --- test_parameter_translation.py ---------------------------------------------------------------


def _branches():
    """One bias parameter per branch of the bias generator (transistor type and scale
    factor): the conversions differ by nothing else."""
    from rockpool_dynapse2.chip import BIAS_PARAMETERS

    seen = {}
    for p in BIAS_PARAMETERS:
        seen.setdefault((p.transistor.name, p.scale_factor), p)
    return list(seen.values())


@pytest.mark.parametrize("parameter", _branches(), ids=lambda p: p.name)
def test_digital_to_analog(parameter):
    """Every (coarse, fine) code -> its current -> the same code."""
    from rockpool_dynapse2.parameters.biasgen import BiasCode, code_from_current, current_from_code

    for coarse in range(6):
        for fine in range(256):
            back = code_from_current(parameter, current_from_code(parameter, BiasCode(coarse, fine)))
            assert (back.coarse, back.fine) == (coarse, fine)


@pytest.mark.parametrize("parameter", _branches(), ids=lambda p: p.name)
def test_analog_to_digital(parameter):
    """1000 currents from 0.1 pA to 10 uA -> the nearest code -> its current.

    Rockpool's own conversion (its table, this parameter's transistor type and scale
    factor) is the reference: it picks the same code for every current. Rockpool bounds
    the deviation by a mean of 1 % and a largest of 15 % (the codes at the ends of the
    range excluded); N-type branches keep both. P-type branches reach 16.6 % where the
    P table has its widest gap between neighbouring codes, and Rockpool's conversion
    deviates exactly as much there: the bound for them is that of the table, 17 %.
    """
    from rockpool_dynapse2.parameters.biasgen import code_from_current, current_from_code

    dynapse = _rockpool_dynapse()
    from rockpool.devices.dynapse.parameters.biasgen import analog_to_digital

    deviation = []
    for current in np.logspace(-13, -5, 1000):
        code = code_from_current(parameter, current, clip=True)
        theirs = analog_to_digital(current, scaling_factor=parameter.scale_factor, type=parameter.transistor.name)
        assert (code.coarse, code.fine) == tuple(int(v) for v in theirs), current
        if (code.coarse, code.fine) not in ((0, 0), (5, 255)):
            deviation.append(abs(current - current_from_code(parameter, code)) / current)
    assert dynapse is not None and len(deviation) > 800
    assert np.mean(deviation) < 0.01
    assert np.max(deviation) < (0.15 if parameter.transistor.name == "N" else 0.17)


def test_high_level():
    """A configuration with one input synapse -> its network -> mapped, quantized,
    configured again: every bias code of the core is the same, except the base weights
    (quantization chooses them) and the DC bias, whose latch is off in both. Its code (0, 0)
    comes back as (0, 4): a DC input that is off is the dark current ``Io`` in the
    simulation, whose nearest code is (0, 4); the chip ignores the code while the latch
    is off."""
    from rockpool_dynapse2.chip import Dendrite
    from rockpool_dynapse2.config import Configuration, Synapse
    from rockpool_dynapse2.mapping import mapper, quantize_spec
    from rockpool_dynapse2.placement import config_from_specification, dynapsim_net_from_config

    config = Configuration.empty(1)
    neuron = config.neuron(0, 0, 0).with_synapse(0, Synapse(dendrite=Dendrite.AMPA, weight=(True, False, False, False), tag=1024))
    config = config.with_neuron(0, 0, 0, neuron)
    net = dynapsim_net_from_config(config)
    qspec, _ = quantize_spec(mapper(net.as_graph()))
    again = config_from_specification(qspec)
    assert again.neurons[0].chip == 0 and again.neurons[0].core == 0
    before, after = config.core(0, 0).codes(), again.configuration.core(0, 0).codes()
    differ = {name for name in before if before[name] != after[name]}
    assert differ - {f"SYAM_W{k}_P" for k in range(4)} == {"SOIF_DC_P"}
    a = again.neurons[0]
    assert not config.neuron(0, 0, 0).latch_so_dc and not again.configuration.neuron(a.chip, a.core, a.neuron).latch_so_dc


# --- test_samna_integration.py ------------------------------------------------------------------


def test_full_config():
    """A whole default configuration (one chip, 50 MB of samna's JSON) is written and read
    back to the same text and the same tree. That the text is samna's (Rockpool's
    ``samna_alias`` writes the same) is ``tests/test_config_tree.py``'s test."""
    from rockpool_dynapse2.config import Configuration

    original = Configuration.empty(1)
    text = original.to_json()
    back = Configuration.from_json(text)
    assert back == original and back.to_json() == text and len(text) > 10**7


def test_event():
    """Rockpool's event (cores 0 and 2, hops -1 and 1, tag 1234, at 12.56 s in µs) as this
    package's ``GridEvent``: the same fields, and its destination written as samna's JSON is
    Rockpool's ``samna_alias`` text of the same destination."""
    import json

    from rockpool_dynapse2.config import Destination, to_json
    from rockpool_dynapse2.hardware.board import GridEvent

    core, x_hop, y_hop, tag = (True, False, True, False), -1, 1, 1234
    timestamp = int(12.56 / 1e-6)
    event = GridEvent(timestamp=timestamp, tag=tag, x_hop=x_hop, y_hop=y_hop, core=core)
    assert (event.timestamp, event.tag, event.x_hop, event.y_hop, event.core) == (12560000, tag, x_hop, y_hop, core)

    alias = _rockpool_dynapse().samna_alias
    theirs = alias.NormalGridEvent(event=alias.Dynapse2Destination(list(core), x_hop, y_hop, tag), timestamp=timestamp)
    ours = {"value0": {"event": json.loads(to_json(Destination(core, x_hop, y_hop, tag)))["value0"], "timestamp": event.timestamp}}
    assert ours == json.loads(theirs.to_json())


def test_destination_key():
    """Destinations are values: equal ones hash alike and find each other in a dict."""
    from rockpool_dynapse2.config import Destination

    cores = [
        (True, False, True, False), (False, False, True, False), (True, False, True, True), (True, True, True, False),
        (True, True, True, True), (False, False, False, False), (False, False, True, False),
    ]  # fmt: skip
    x_hops = [-1, 0, 3, 4, -5, 6, 7]
    y_hops = [0, 1, 2, -3, 4, 5, 6]
    tags = [10, 20, 2000, 1000, 48, 1024, 32]
    times = [1000, 1023, 1056, 1068, 1096, 2022, 2023]
    table = {Destination(c, x, y, t): time for c, x, y, t, time in zip(cores, x_hops, y_hops, tags, times)}
    assert len(table) == 7
    assert table[Destination(cores[4], x_hops[4], y_hops[4], tags[4])] == times[4]


# --- against Rockpool, where the models overlap -------------------------------------------------


def test_mapper_agrees_with_rockpools_on_the_tutorial_network():
    """Rockpool's mapper on its own network and ours on the same network in this package
    give the same weights and the same currents (Rockpool's merged synapse is our AMPA and
    GABA synapse)."""
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearJax

    from rockpool_dynapse2.mapping import mapper

    dynapse = _rockpool_dynapse()
    w_in, w_rec = optimized_weights()
    theirs = dynapse.mapper(Sequential(LinearJax(w_in.shape, has_bias=False, weight=w_in), dynapse.DynapSim(2, has_rec=True, w_rec=w_rec)).as_graph())
    spec = mapper(tutorial_net().as_graph())
    ours_in, ours_rec = _signed_weights(spec)
    np.testing.assert_array_equal(ours_in, theirs["weights_in"])
    np.testing.assert_array_equal(ours_rec, theirs["weights_rec"])
    assert spec.Iscale == pytest.approx(theirs["Iscale"], rel=1e-7)
    core = spec.cores[0]
    for ours_name, their_name in (("Itau_mem", "Itau_mem"), ("Ispkthr", "Ispkthr"), ("Itau_ampa", "Itau_syn"),
                                  ("Igain_ampa", "Igain_syn"), ("Iref", "Iref"), ("Ipulse", "Ipulse")):
        np.testing.assert_allclose(getattr(core, ours_name), theirs["unclustered"][their_name], rtol=1e-6, err_msg=ours_name)
