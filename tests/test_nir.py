"""Our NIR reader, writer and reference simulator (``rockpool_dynapse2.nir``).

* the reference simulator against closed forms of NIR's equations (forward Euler);
* the reader on files written by snnTorch, norse and spyx (``tests/data/nir``): the time
  step, broadcasting, subgraphs, and where each framework's own simulation departs from
  the NIR semantics of the file it wrote (and the options that reproduce the framework);
* every file on the chip: the calibrated DYNAP-SE2 network against the NIR reference;
* the writer: a network spec (mapped, quantized, trained) written as NIR, read back by
  ``nir.read`` and by our reader;
* every bad input with its named error.

Needs ``nir`` (the ``test`` extra), none of the frameworks.
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

nir = pytest.importorskip("nir")

from rockpool_dynapse2.errors import (  # noqa: E402
    MappingError,
    NIRError,
    NIRGraphError,
    ParameterValueError,
    ShapeError,
    TimeStepError,
    UnknownParameterError,
    UnsupportedNodeError,
)
from rockpool_dynapse2.nir import (  # noqa: E402
    INPUT,
    network_from_graph,
    nir_from_spec,
    read_nir,
    simulate_nir,
    spec_from_nir,
    write_nir,
)

DATA = pathlib.Path(__file__).resolve().parent / "data" / "nir"


def _load(name):
    data = np.load(DATA / f"{name}.npz")
    return data["x"].astype(np.float32), {k[len("spikes:"):]: data[k].astype(np.float64) for k in data.files if k != "x"}


def _layer(net, key):
    """The layer of ``net`` a framework calls ``key`` (spyx's subgraph ``layer_1`` holds ``layer_1.lif``)."""
    return next(l.name for l in net.layers if l.name == key or l.name.startswith(key + "."))


def _graph(nodes, edges):
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def _lif(n, tau=1e-2, r=1.0, v_leak=0.0, v_threshold=1.0, v_reset=0.0):
    full = lambda v: np.full(n, v, dtype=np.float64)
    return nir.LIF(tau=full(tau), r=full(r), v_leak=full(v_leak), v_threshold=full(v_threshold), v_reset=full(v_reset))


def _ff(n_in=3, n=2, weight=None, neuron=None, bias=None):
    """Input -> Affine -> neuron -> Output."""
    weight = np.eye(n, n_in) if weight is None else weight
    return _graph(
        {
            "input": nir.Input(input_type=np.array([n_in])),
            "w": nir.Affine(weight=weight, bias=np.zeros(n) if bias is None else bias),
            "lif": _lif(n) if neuron is None else neuron,
            "output": nir.Output(output_type=np.array([n])),
        },
        [("input", "w"), ("w", "lif"), ("lif", "output")],
    )


# --- the reference simulator: closed forms ------------------------------------------------------


def test_a_lif_membrane_follows_forward_euler_to_its_fixed_point():
    dt, tau, r, u = 1e-3, 1e-2, 2.0, 0.3
    net = network_from_graph(_ff(1, 1, weight=np.ones((1, 1)), neuron=_lif(1, tau=tau, r=r, v_threshold=10.0)), dt=dt)
    rec = simulate_nir(net, np.full((1, 200, 1), u))
    v = rec.v["lif"][0, :, 0]
    expected = r * u * (1 - (1 - dt / tau) ** np.arange(1, 201))
    assert np.allclose(v, expected, rtol=1e-12)
    assert rec.spikes["lif"].sum() == 0


def test_a_cubalif_synaptic_current_jumps_by_dt_over_tau_syn_and_decays():
    dt, tau_syn, w_in = 1e-3, 5e-3, 3.0
    node = nir.CubaLIF(tau_syn=np.array([tau_syn]), tau_mem=np.array([1e-2]), r=np.array([1.0]), v_leak=np.array([0.0]),
                       v_threshold=np.array([100.0]), w_in=np.array([w_in]))
    net = network_from_graph(_ff(1, 1, weight=np.ones((1, 1)), neuron=node), dt=dt)
    x = np.zeros((1, 10, 1))
    x[0, 0, 0] = 1.0
    rec = simulate_nir(net, x)
    # v after step 0 holds dt / tau_mem * r * I_0, I_0 = dt / tau_syn * w_in
    i0 = dt / tau_syn * w_in
    assert np.isclose(rec.v["lif"][0, 0, 0], dt / 1e-2 * i0)
    # the membrane's input current decays geometrically: v_t - a v_{t-1} = (dt / tau_mem) I_t
    v = rec.v["lif"][0, :, 0]
    current = (v[1:] - (1 - dt / 1e-2) * v[:-1]) / (dt / 1e-2)
    assert np.allclose(current, i0 * (1 - dt / tau_syn) ** np.arange(1, 10))


def test_an_if_neuron_integrates_without_leak_fires_and_resets_to_v_reset():
    dt = 1e-3
    node = nir.IF(r=np.array([100.0]), v_threshold=np.array([1.0]), v_reset=np.array([-0.5]))
    net = network_from_graph(_ff(1, 1, weight=np.ones((1, 1)), neuron=node), dt=dt)
    rec = simulate_nir(net, np.full((1, 40, 1), 1.0))  # v grows by dt r u = 0.1 per step
    spikes = np.flatnonzero(rec.spikes["lif"][0, :, 0])
    assert spikes[0] == 10  # v = 1.1 > 1 after 11 steps
    assert np.isclose(rec.v["lif"][0, spikes[0], 0], -0.5)
    assert spikes[1] - spikes[0] == 16  # from -0.5, 15 steps reach 1.0 (not above), the 16th fires


def test_reset_subtract_keeps_the_excess_and_acts_one_step_late_as_snntorch():
    dt, tau = 1e-3, 1e-2
    graph = _ff(1, 1, weight=np.ones((1, 1)), neuron=_lif(1, tau=tau, r=tau / dt))  # v <- 0.9 v + u
    x = np.zeros((1, 3, 1))
    x[0, 0, 0] = 1.5
    zero = simulate_nir(network_from_graph(graph, dt=dt), x).v["lif"][0, :, 0]
    sub = simulate_nir(network_from_graph(graph, dt=dt, reset="subtract"), x).v["lif"][0, :, 0]
    assert np.allclose(zero, [0.0, 0.0, 0.0])
    assert np.allclose(sub, [1.5, 0.9 * 1.5 - 1.0, 0.9 * (0.9 * 1.5 - 1.0)])


def test_an_li_readout_outputs_its_membrane():
    dt = 1e-3
    node = nir.LI(tau=np.array([1e-2]), r=np.array([1.0]), v_leak=np.array([0.0]))
    net = network_from_graph(_ff(1, 1, weight=np.ones((1, 1)), neuron=node), dt=dt)
    rec = simulate_nir(net, np.ones((1, 5, 1)))
    assert rec.spikes == {}
    assert np.allclose(rec.outputs[0, :, 0], rec.v["lif"][0, :, 0])
    assert rec.outputs[0, -1, 0] > 0


def test_recurrent_weights_deliver_the_previous_steps_spikes():
    # one neuron exciting itself: an input spike at step 0 fires it, the loop at every later step
    sub = _graph(
        {"in": nir.Input(input_type=np.array([1])), "lif": _lif(1, tau=1e-3, r=1.0), "w_rec": nir.Linear(weight=np.array([[5.0]])),
         "out": nir.Output(output_type=np.array([1]))},
        [("in", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "out")],
    )
    graph = _graph(
        {"input": nir.Input(input_type=np.array([1])), "w": nir.Linear(weight=np.array([[5.0]])), "rec": sub,
         "output": nir.Output(output_type=np.array([1]))},
        [("input", "w"), ("w", "rec"), ("rec", "output")],
    )
    net = network_from_graph(graph, dt=1e-3)  # tau = dt: v <- r u every step
    assert [l.name for l in net.layers] == ["rec.lif"]
    assert any(net.delayed(p) for p in net.projections)
    x = np.zeros((1, 4, 1))
    x[0, 0, 0] = 1.0
    assert np.array_equal(simulate_nir(net, x).spikes["rec.lif"][0, :, 0], [1, 1, 1, 1])


def test_scale_linear_and_affine_compose_into_one_weight_and_bias():
    w1 = np.array([[1.0, 2.0], [0.5, -1.0]])
    w2 = np.array([[2.0, 0.0], [1.0, 1.0]])
    graph = _graph(
        {"input": nir.Input(input_type=np.array([2])), "s": nir.Scale(scale=np.array([2.0, 3.0])),
         "a": nir.Affine(weight=w1, bias=np.array([0.1, 0.2])), "b": nir.Linear(weight=w2), "id": nir.Flatten(input_type={"input": np.array([2])}, start_dim=0, end_dim=-1),
         "lif": _lif(2), "output": nir.Output(output_type=np.array([2]))},
        [("input", "s"), ("s", "a"), ("a", "b"), ("b", "id"), ("id", "lif"), ("lif", "output")],
    )
    net = network_from_graph(graph, dt=1e-3)
    (p,) = net.projections
    assert p.source == INPUT
    assert np.allclose(p.weight, (w2 @ w1 @ np.diag([2.0, 3.0])).T)
    assert np.allclose(net.layer("lif").bias, w2 @ np.array([0.1, 0.2]))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_any_chain_of_linear_nodes_composes_into_their_product(data):
    """Property: Input -> (Affine | Linear | Scale)* -> LIF reads as one weight, the product
    of the chain, and one bias, the chain applied to the biases."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    kinds = data.draw(st.lists(st.sampled_from(["Affine", "Linear", "Scale"]), min_size=1, max_size=4))
    size = data.draw(st.integers(1, 5))
    nodes, edges, prev = {"input": nir.Input(input_type=np.array([size]))}, [], "input"
    matrix, bias = np.eye(size), np.zeros(size)
    for k, kind in enumerate(kinds):
        out = size if kind == "Scale" else data.draw(st.integers(1, 5))
        if kind == "Scale":
            s = rng.normal(size=size)
            node, w, b = nir.Scale(scale=s), np.diag(s), np.zeros(size)
        else:
            w = rng.normal(size=(out, size))
            b = rng.normal(size=out) if kind == "Affine" else np.zeros(out)
            node = nir.Affine(weight=w, bias=b) if kind == "Affine" else nir.Linear(weight=w)
        nodes[f"n{k}"] = node
        edges.append((prev, f"n{k}"))
        matrix, bias, prev, size = w @ matrix, w @ bias + b, f"n{k}", out
    nodes["lif"], nodes["output"] = _lif(size), nir.Output(output_type=np.array([size]))
    edges += [(prev, "lif"), ("lif", "output")]
    net = network_from_graph(_graph(nodes, edges), dt=1e-3)
    weight = sum((p.weight for p in net.projections), np.zeros((matrix.shape[1], size)))
    assert np.allclose(weight, matrix.T)
    assert np.allclose(net.layer("lif").bias, bias)


def test_scalar_parameters_are_broadcast_to_the_size_of_the_weights_that_feed_them():
    scalar = nir.LIF(tau=np.array(1e-2), r=np.array(1.0), v_leak=np.array(0.0), v_threshold=np.array(1.0), v_reset=np.array(0.0))
    net = network_from_graph(_ff(3, 5, weight=np.ones((5, 3)), neuron=scalar), dt=1e-3)
    assert net.layer("lif").size == 5
    assert np.array_equal(net.layer("lif").params.tau_mem, np.full(5, 1e-2))


# --- the reader on the frameworks' files ----------------------------------------------------------


def test_snntorch_files_give_their_time_step_and_rockpools_per_layer_dts_do_not_arise():
    # snnTorch writes r = tau_mem / dt and w_in = tau_syn / dt with dt = 1e-4 in every layer
    for name in ("snntorch_leaky", "snntorch_synaptic", "snntorch_rleaky"):
        net = read_nir(DATA / f"{name}.nir")
        assert np.isclose(net.dt, 1e-4, rtol=1e-5), name
        assert len(net.implied_dt) == 2 and all(np.isclose(v, 1e-4, rtol=1e-5) for v in net.implied_dt.values())


@pytest.mark.parametrize("name", ["snntorch_leaky", "snntorch_synaptic", "snntorch_rleaky"])
def test_reset_subtract_reproduces_snntorchs_own_spikes_exactly(name):
    x, framework = _load(name)
    as_written = simulate_nir(read_nir(DATA / f"{name}.nir"), x)
    net = read_nir(DATA / f"{name}.nir", reset="subtract")
    subtract = simulate_nir(net, x)
    for key, spikes in framework.items():
        layer = _layer(net, key)
        assert np.array_equal(subtract.spikes[layer], spikes), (name, key)
        # NIR's reset to v_reset loses the excess: 70-90 % of snnTorch's spikes on these files
        assert as_written.spikes[layer].sum() < 0.95 * spikes.sum(), (name, key)


@pytest.mark.parametrize("name", ["norse_lif", "norse_lifbox_li"])
def test_norse_files_need_time_scale_and_then_reproduce_norse(name):
    x, framework = _load(name)
    with pytest.raises(TimeStepError, match="time_scale"):
        read_nir(DATA / f"{name}.nir", dt=1e-3)  # norse 1.1 writes tau dt times too small: 1e-5 s
    discrete = "synapse" if name == "norse_lif" else "none"  # norse's LIFCell adds each input to its current
    net = read_nir(DATA / f"{name}.nir", dt=1e-3, time_scale=1e3, discrete=discrete)
    assert net.layer("1").size == 32  # scalar parameters, broadcast
    rec = simulate_nir(net, x)
    for key, spikes in framework.items():
        assert np.array_equal(rec.spikes[key], spikes), key


@pytest.mark.parametrize("name", ["spyx_lif", "spyx_rlif"])
def test_spyx_files_and_the_options_that_reproduce_spyx(name):
    x, framework = _load(name)
    with pytest.raises(TimeStepError, match="must agree"):
        read_nir(DATA / f"{name}.nir")  # spyx writes r = beta, which implies no common dt
    as_written = simulate_nir(read_nir(DATA / f"{name}.nir", dt=1.0), x)
    net = read_nir(DATA / f"{name}.nir", dt=1e-3, time_scale=1e-3, reset="subtract", discrete="membrane")
    rec = simulate_nir(net, x)
    first = _layer(net, "layer_1")
    assert as_written.spikes[first].sum() < 0.01 * framework["layer_1"].sum()  # r = beta: a 0.09x drive
    if name == "spyx_lif":
        # spyx emits the spike of the previous step's membrane: the same train, one step late
        assert np.array_equal(rec.spikes[first][:, :-1], framework["layer_1"][:, 1:])
        for key in framework:
            assert abs(rec.spikes[_layer(net, key)].sum() / framework[key].sum() - 1) < 0.02
    else:
        # spyx's RLIF subgraph sends the layer's input through w_rec: NIR's semantics differ
        assert net.layer(first).size == 32 and any(p.source == p.target == first for p in net.projections)
        assert rec.spikes[first].sum() > 1.3 * framework["layer_1"].sum()


def test_spyx_rlif_repaired_as_docs_nir_says_reproduces_spyx():
    x, framework = _load("spyx_rlif")
    graph = nir.read(str(DATA / "spyx_rlif.nir"), type_check=False)
    sub = graph.nodes["layer_1"]
    sub.edges = [("layer_1.input", "layer_1.lif") if e == ("layer_1.input", "layer_1.w_rec") else e for e in sub.edges]
    net = read_nir(graph, dt=1e-3, time_scale=1e-3, reset="subtract", discrete="membrane")
    rec = simulate_nir(net, x)
    assert np.array_equal(rec.spikes["layer_1.lif"][:, :-1], framework["layer_1"][:, 1:])  # one step late
    assert abs(rec.spikes["layer_3"].sum() / framework["layer_3"].sum() - 1) < 0.01


# --- every file on the chip, against the NIR reference -------------------------------------------------

OPTIONS = {
    "snntorch_leaky": {"reset": "subtract"},
    "snntorch_synaptic": {"reset": "subtract"},
    "snntorch_rleaky": {"reset": "subtract"},
    "norse_lif": {"dt": 1e-3, "time_scale": 1e3, "discrete": "synapse"},
    "norse_lifbox_li": {"dt": 1e-3, "time_scale": 1e3},
    "spyx_lif": {"dt": 1e-3, "time_scale": 1e-3, "reset": "subtract", "discrete": "membrane"},
    "spyx_rlif": {"dt": 1e-3, "time_scale": 1e-3, "reset": "subtract", "discrete": "membrane"},
}
# spyx's files need one drive scale per neuron (per-layer calibration: correlations 0.84-0.90).
PER_NEURON = {"spyx_lif", "spyx_rlif"}
# One drive per neuron fitted on one 400-step batch fits that batch's noise too (spyx_lif's
# output layer: 0.88-0.99 on six held-out batches). Per-neuron calibration gets the file's
# first batch and three more from the same Poisson process (1600 steps).
CALIBRATION_BATCHES = {name: 4 for name in PER_NEURON}
# Held out: the file's second batch alone (as the frameworks' spikes) and pooled with five
# more batches of the same process (2400 steps): the two rows of each file in docs/nir.md.
HELD_OUT_BATCHES = 6
# spyx_rlif's output layer on the second batch alone: 0.970 with these calibration batches,
# 0.850 and 0.875 with two other draws (pooled: 0.99 with each). That batch is atypical (the
# reference's own mean counts over 16 batches correlate 0.908 with its counts there), and the
# chip follows only part of each batch's deviation from the mean, see docs/nir.md.
MIN_BATCH_CORRELATION = {("spyx_rlif", "layer_3"): 0.85}


def _poisson(seed, batches, like):
    """``batches`` more inputs like ``like`` (B, T, C): Poisson, 10 % per channel and step, as the files'."""
    return (np.random.default_rng(seed).random((batches,) + like.shape[1:]) < 0.1).astype(np.float32)


def _agreement(imported, chip, reference, label, min_correlation=None):
    """Assert every layer's total within 10 % of the reference and its per-neuron correlation
    at least 0.9 (or ``min_correlation[layer]``)."""
    for k, layer in enumerate(imported.spec.names):
        members = imported.spec.layer_of_neuron == k
        a, b = reference[members], chip[members]
        r = np.corrcoef(a, b)[0, 1]
        print(f"{label} {layer}: reference {a.sum():.0f}, chip {b.sum():.0f} ({b.sum() / a.sum() - 1:+.1%}), "
              f"r = {r:.3f}")  # the figures of docs/nir.md (pytest -s)
        assert abs(b.sum() / a.sum() - 1) <= 0.10, (label, layer, a.sum(), b.sum())
        assert r >= (min_correlation or {}).get(layer, 0.9), (label, layer, r)


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_every_file_on_the_chip_matches_the_nir_reference_on_held_out_input(name):
    from rockpool_dynapse2.mapping import dynapsim_net_from_spec

    x, _ = _load(name)
    calibration_input = np.concatenate([x[:1], _poisson(7, CALIBRATION_BATCHES.get(name, 1) - 1, x)])
    imported = spec_from_nir(
        DATA / f"{name}.nir", calibration_input=calibration_input, calibration={"per_neuron": name in PER_NEURON},
        readout="host", **OPTIONS[name],
    )
    assert imported.report is not None and imported.report.input_shape[0] == calibration_input.shape[0]
    held_out = np.concatenate([x[1:], _poisson(99, HELD_OUT_BATCHES - 1, x)])
    chip = np.asarray(dynapsim_net_from_spec(imported.spec)(held_out)[0])
    _agreement(imported, chip[:1].sum(axis=(0, 1)), imported.reference_counts(x[1:]), f"{name} (second batch)",
               {layer: r for (n, layer), r in MIN_BATCH_CORRELATION.items() if n == name})
    _agreement(imported, chip.sum(axis=(0, 1)), imported.reference_counts(held_out), f"{name} (pooled)")


def test_an_li_readout_runs_on_the_host_from_the_chips_spikes():
    from rockpool_dynapse2.mapping import dynapsim_net_from_spec

    x, _ = _load("norse_lifbox_li")
    with pytest.raises(UnsupportedNodeError, match="readout='host'"):
        spec_from_nir(DATA / "norse_lifbox_li.nir", **OPTIONS["norse_lifbox_li"])
    imported = spec_from_nir(DATA / "norse_lifbox_li.nir", calibration_input=x[:1], readout="host", **OPTIONS["norse_lifbox_li"])
    assert imported.spec.names == ("1",) and imported.spec.n_outputs == 32
    assert any("host" in note for note in imported.notes)
    reference = imported.reference(x[1:])
    exact = imported.run_readout(reference.spikes["1"])  # from the reference's own spikes: the reference's outputs
    assert np.allclose(exact, reference.outputs)
    spikes = np.asarray(dynapsim_net_from_spec(imported.spec)(x[1:])[0])[..., imported.spec.output_neurons]
    readout = imported.run_readout(spikes)
    assert readout.shape == reference.outputs.shape == (1, 400, 4)
    # from the chip's spikes (held-out input): the membranes follow the reference's (0.75: spike
    # times differ by a step or more, counts agree) with the same amplitude (within 15 %)
    assert np.corrcoef(readout.ravel(), reference.outputs.ravel())[0, 1] >= 0.7
    rms = lambda a: np.sqrt(np.mean(a**2))
    assert abs(rms(readout) / rms(reference.outputs) - 1) <= 0.15


def test_the_import_holds_no_framework_tensor_and_calibrates_without_a_reference_network():
    imported = spec_from_nir(DATA / "snntorch_leaky.nir", reset="subtract")
    for layer in imported.network.layers:
        assert all(type(v) is np.ndarray for v in vars(layer.params).values())
    for p in imported.network.projections:
        assert type(p.weight) is np.ndarray
    assert imported.report is None and imported.spec.names == ("1", "3")


# --- the writer ---------------------------------------------------------------------------------------


def _mapped_spec():
    return spec_from_nir(DATA / "snntorch_leaky.nir", reset="subtract").spec


def test_a_written_spec_reads_back_with_nir_and_with_our_reader_and_the_same_weights(tmp_path):
    from rockpool_dynapse2.nir.reader import lif_view

    spec = _mapped_spec()
    write_nir(spec, tmp_path / "spec.nir")
    graph = nir.read(str(tmp_path / "spec.nir"))  # NIR's own type check passes
    assert {type(n).__name__ for n in graph.nodes.values()} == {"Input", "Output", "CubaLIF", "Linear"}
    net = read_nir(tmp_path / "spec.nir")
    assert np.isclose(net.dt, spec.dt) and set(net.implied_dt) == {"1", "3", "metadata"}
    original = read_nir(DATA / "snntorch_leaky.nir")
    for p in original.projections:  # in LIF units (weight x gain) the weights come back
        q = next(q for q in net.projections if (q.source, q.target) == (p.source, p.target))
        a = p.weight * lif_view(original.layer(p.target), original.dt).gain
        b = q.weight * lif_view(net.layer(q.target), net.dt).gain
        assert np.allclose(a, b, rtol=1e-6, atol=1e-12)
    again = spec_from_nir(tmp_path / "spec.nir").spec
    assert np.allclose(again.input_synapses.weight, spec.input_synapses.weight, rtol=1e-6)
    assert np.array_equal(again.output_neurons, spec.output_neurons)


def test_a_written_graph_fitted_to_the_chip_fires_as_the_chip_on_held_out_input():
    from rockpool_dynapse2.mapping import dynapsim_net_from_spec

    x, _ = _load("snntorch_leaky")
    spec = spec_from_nir(DATA / "snntorch_leaky.nir", reset="subtract", calibration_input=x[:1]).spec
    chip = np.asarray(dynapsim_net_from_spec(spec)(x[1:])[0]).sum(axis=(0, 1))
    results = {}
    for fitted in (False, True):
        net = network_from_graph(nir_from_spec(spec, calibration_input=x[:1] if fitted else None))
        record = simulate_nir(net, x[1:])
        results[fitted] = [(chip[spec.layer_of_neuron == k], record.counts(name)) for k, name in enumerate(spec.names)]
    # equal rheobases alone: the LIF's linear rate misses the calibrated DPI's (858 chip spikes, 332 NIR)
    assert any(abs(analytic.sum() / chip_k.sum() - 1) > 0.3 for chip_k, analytic in results[False])
    for (chip_k, _), (_, fitted) in zip(results[False], results[True]):
        # fitted per layer on x[:1]: -3 % and -15 % on x[1:], correlations 0.97 and 0.98
        assert abs(fitted.sum() / chip_k.sum() - 1) <= 0.2
        assert np.corrcoef(fitted, chip_k)[0, 1] >= 0.9


def test_a_quantized_spec_is_written_with_the_weights_its_masks_select():
    from rockpool_dynapse2.chip import SIGNED_EXCITATORY
    from rockpool_dynapse2.mapping import quantize_spec

    spec, _ = quantize_spec(_mapped_spec())
    net = network_from_graph(nir_from_spec(spec))
    w_in, _ = spec.dense_weights()
    chip = w_in[..., int(SIGNED_EXCITATORY)]  # (n_inputs, N): the levels the masks select
    written = next(p for p in net.projections if p.source == INPUT).weight  # (n_inputs, 32), LIF units
    on = chip[:, :32] > 0
    ratio = written[on] / chip[:, :32][on]
    assert np.allclose(ratio, ratio[0], rtol=1e-9)  # one factor per core: the levels, scaled
    assert np.all(written[(chip[:, :32] == 0) & (written > 0)] == 0)


def test_a_trained_network_is_written_and_read_back(tmp_path):
    from rockpool_dynapse2.mapping import spec_from_training
    from rockpool_dynapse2.training import ChipModel, NetworkLayout, TrainResult, TrainSettings

    model = ChipModel(NetworkLayout.layered(8, hidden=(12,), n_classes=2, per_class=2), TrainSettings(quantize=True))
    spec = spec_from_training(TrainResult(model=model, params=model.initial_parameters(), backend="jax"))
    write_nir(spec, tmp_path / "trained.nir")
    net = read_nir(tmp_path / "trained.nir")
    assert np.isclose(net.dt, spec.dt)
    assert sum(l.size for l in net.layers) == spec.n_neurons
    assert len(net.outputs) == spec.n_outputs
    assert net.n_inputs == spec.n_inputs


def test_nmda_synapses_are_refused_by_the_writer():
    from rockpool_dynapse2.chip import SynapseType
    from rockpool_dynapse2.mapping import Synapses

    spec = _mapped_spec()
    t = spec.input_synapses
    nmda = Synapses(t.source, t.target, np.full(len(t), int(SynapseType.NMDA)), t.weight)
    with pytest.raises(NIRError, match="NMDA"):
        nir_from_spec(spec.replace(input_synapses=nmda))


# --- bad NIR input: one named error each ----------------------------------------------------------


@pytest.mark.parametrize(
    "node, advice",
    [
        (nir.Conv1d(input_shape=3, weight=np.ones((2, 3, 1)), stride=1, padding=0, dilation=1, groups=1, bias=np.zeros(2)),
         "dense weight matrix"),
        (nir.Delay(delay=np.ones(3)), "delays"),
        (nir.Threshold(threshold=np.ones(3)), "LIF or IF"),
        (nir.I(r=np.ones(3)), "IF"),
    ],
)
def test_an_unsupported_node_is_named_with_what_to_do_instead(node, advice):
    graph = _graph(
        {"input": nir.Input(input_type=np.array([3])), "odd": node, "lif": _lif(3), "output": nir.Output(output_type=np.array([3]))},
        [("input", "odd"), ("odd", "lif"), ("lif", "output")],
    )
    with pytest.raises(UnsupportedNodeError, match=advice) as err:
        network_from_graph(graph, dt=1e-3)
    assert err.value.node == "odd" and err.value.node_type == type(node).__name__


def test_an_unknown_node_type_lists_the_supported_ones():
    class Mystery:
        pass

    graph = _ff()
    graph.nodes["w"] = Mystery()
    with pytest.raises(UnsupportedNodeError, match="Supported node types: LIF, CubaLIF"):
        network_from_graph(graph, dt=1e-3)


def test_an_edge_to_a_missing_node_is_refused():
    graph = _ff()
    graph.edges.append(("lif", "nowhere"))
    with pytest.raises(NIRGraphError, match="`nowhere` is not one"):
        network_from_graph(graph, dt=1e-3)


def test_a_node_without_incoming_edge_is_refused():
    graph = _ff()
    graph.edges.remove(("w", "lif"))
    with pytest.raises(NIRGraphError, match="`lif` .* must have an incoming edge"):
        network_from_graph(graph, dt=1e-3)


def test_a_shape_mismatch_along_an_edge_is_refused():
    with pytest.raises(NIRGraphError, match=r"edge \('w', 'lif'\) must join equal sizes; `w` gives 2, `lif` takes 4"):
        network_from_graph(_ff(3, 2, weight=np.ones((2, 3)), neuron=_lif(4)), dt=1e-3)


def test_a_loop_without_a_neuron_is_refused():
    graph = _ff()
    graph.nodes["loop"] = nir.Linear(weight=np.eye(2))
    graph.edges += [("w", "loop"), ("loop", "w")]
    graph.nodes["w"] = nir.Linear(weight=np.eye(2))
    graph.nodes["pre"] = nir.Linear(weight=np.eye(2, 3))
    graph.edges = [("input", "pre"), ("pre", "w"), ("w", "loop"), ("loop", "w"), ("w", "lif"), ("lif", "output")]
    with pytest.raises(NIRGraphError, match="loop without a neuron"):
        network_from_graph(graph, dt=1e-3)


def test_an_output_that_is_not_a_neurons_spikes_is_refused():
    graph = _ff()
    graph.nodes["read"] = nir.Linear(weight=np.array([[1.0, 1.0], [0.0, 2.0]]))
    graph.edges = [("input", "w"), ("w", "lif"), ("lif", "read"), ("read", "output")]
    with pytest.raises(NIRGraphError, match="channel 0 of NIR Output `output` must be one neuron's output.*got a sum of 2"):
        network_from_graph(graph, dt=1e-3)
    del graph.nodes["read"]
    graph.edges = [("input", "w"), ("w", "lif"), ("input", "output")]
    graph.nodes["output"] = nir.Output(output_type=np.array([3]))
    with pytest.raises(NIRGraphError, match="got the graph's input"):
        network_from_graph(graph, dt=1e-3)


def test_inconsistent_time_steps_are_refused_and_a_given_dt_wins():
    graph = _ff(neuron=_lif(2, tau=1e-2, r=100.0))  # implies 1e-4
    graph.nodes["lif2"] = _lif(2, tau=1e-2, r=50.0)  # implies 2e-4
    graph.nodes["w2"] = nir.Linear(weight=np.eye(2))
    graph.edges = [("input", "w"), ("w", "lif"), ("lif", "w2"), ("w2", "lif2"), ("lif2", "output")]
    with pytest.raises(TimeStepError, match="must agree within rtol"):
        network_from_graph(graph)
    assert network_from_graph(graph, dt=1e-4).dt == 1e-4
    assert np.isclose(network_from_graph(graph, rtol=1.5).dt, 1.5e-4)


def test_an_undetermined_or_too_long_time_step_is_refused():
    with pytest.raises(TimeStepError, match="`dt` must be given"):
        network_from_graph(_ff())  # r = 1 everywhere, no metadata
    with pytest.raises(TimeStepError, match="at most every time constant"):
        network_from_graph(_ff(), dt=0.1)  # tau = 10 ms
    with pytest.raises(ParameterValueError, match="`dt` must be positive"):
        network_from_graph(_ff(), dt=-1e-3)


@pytest.mark.parametrize("field, value", [("tau", np.nan), ("v_threshold", np.nan), ("r", np.inf), ("tau", -1e-3)])
def test_a_nan_or_out_of_domain_neuron_parameter_is_named(field, value):
    node = _lif(2)
    getattr(node, field)[1] = value
    with pytest.raises(ParameterValueError, match=rf"`lif\.{field}` must be .*at index 1"):
        network_from_graph(_ff(neuron=node), dt=1e-3)


def test_a_nan_weight_and_a_threshold_at_the_reset_are_named():
    w = np.eye(2, 3)
    w[0, 2] = np.nan
    with pytest.raises(ParameterValueError, match=r"`w\.weight` must be finite; got nan at index \(0, 2\)"):
        network_from_graph(_ff(weight=w), dt=1e-3)
    with pytest.raises(ParameterValueError, match=r"`lif\.v_threshold` must be above v_reset"):
        network_from_graph(_ff(neuron=_lif(2, v_threshold=0.0)), dt=1e-3)


def test_parameters_of_different_sizes_in_one_node_are_refused():
    node = _lif(2)
    node.tau = np.full(3, 1e-2)
    with pytest.raises(NIRGraphError, match="parameters of one size"):
        network_from_graph(_ff(neuron=node), dt=1e-3)


def test_an_li_that_feeds_another_layer_cannot_go_on_the_chip():
    graph = _ff(neuron=nir.LI(tau=np.full(2, 1e-2), r=np.ones(2), v_leak=np.zeros(2)))
    graph.nodes["w2"] = nir.Linear(weight=np.eye(2))
    graph.nodes["lif2"] = _lif(2)
    graph.edges = [("input", "w"), ("w", "lif"), ("lif", "w2"), ("w2", "lif2"), ("lif2", "output")]
    net = network_from_graph(graph, dt=1e-3)
    simulate_nir(net, np.ones((1, 3, 3)))  # NIR's semantics run it
    with pytest.raises(UnsupportedNodeError, match="readout"):
        spec_from_nir(net, readout="host")


def test_bad_options_are_refused_by_name():
    with pytest.raises(UnknownParameterError, match="`reset` must be one of zero, subtract"):
        network_from_graph(_ff(), dt=1e-3, reset="to_zero")
    with pytest.raises(UnknownParameterError, match="`discrete` must be one of"):
        network_from_graph(_ff(), dt=1e-3, discrete="yes")
    with pytest.raises(ParameterValueError, match="`time_scale` must be positive"):
        network_from_graph(_ff(), dt=1e-3, time_scale=0.0)
    with pytest.raises(UnknownParameterError, match="`readout` must be one of error, host"):
        spec_from_nir(_ff(), dt=1e-3, readout="drop")
    with pytest.raises(ParameterValueError, match="read options"):
        spec_from_nir(network_from_graph(_ff(), dt=1e-3), dt=1e-3)
    with pytest.raises(ShapeError, match="`x` must have shape"):
        simulate_nir(network_from_graph(_ff(), dt=1e-3), np.zeros((1, 5, 4)))


def test_the_named_errors_are_mapping_errors():
    assert issubclass(NIRError, MappingError)
    for cls in (UnsupportedNodeError, NIRGraphError, TimeStepError):
        assert issubclass(cls, NIRError)


def test_reading_a_file_without_nir_asks_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "nir", None)
    with pytest.raises(ImportError, match=r"rockpool-dynapse2\[nir\]"):
        read_nir(DATA / "snntorch_leaky.nir")
