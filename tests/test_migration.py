"""Migrating networks of Rockpool's own ``DynapSim`` (``rockpool_dynapse2.mapping.migration``).

The example is Rockpool's DYNAP-SE2 tutorial network (``LinearJax((60, 2))`` ->
``DynapSim((2, 2), Iscale=1e-7, has_rec=True)``) with its trained weights
(``tests/data/rockpool_dynapse``, see PROVENANCE.md) and its two frozen-noise patterns.
Rockpool's simulation, run here, is the reference.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from rockpool_dynapse2.errors import MappingError, ParameterValueError, ShapeError, UnknownParameterError

DATA = Path(__file__).parent / "data" / "rockpool_dynapse"
ROCKPOOL_COUNTS = [[113, 53], [70, 114]]
"""Rockpool 3.1's output spike counts on the two patterns (measured; PROVENANCE.md)."""


def _rockpool():
    logging.getLogger().setLevel(logging.ERROR)  # Rockpool warns about samna on import
    from rockpool.devices.dynapse import DynapSim
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearJax

    return DynapSim, LinearJax, Sequential


def tutorial_network():
    DynapSim, LinearJax, Sequential = _rockpool()
    w_in, w_rec = np.load(DATA / "w_in_optimized.npy"), np.load(DATA / "w_rec_optimized.npy")
    return Sequential(LinearJax((60, 2), weight=w_in, has_bias=False), DynapSim((2, 2), Iscale=1e-7, has_rec=True, w_rec=w_rec))


def frozen_noise():
    """The tutorial's two patterns: ``FrozenNoiseDataset(2)`` (seed 2022, 50 Hz, 500 steps)."""
    np.random.seed(2022)
    return np.random.poisson(50 * 1e-3, (2, 500, 60)).astype(np.float32)


@pytest.fixture(scope="module")
def tutorial():
    from rockpool_dynapse2.mapping.migration import migrate

    return migrate(tutorial_network(), inputs=frozen_noise())


def test_tutorial_reference_is_rockpools(tutorial):
    """The stored weights and the regenerated patterns give Rockpool's published behaviour."""
    np.testing.assert_array_equal(tutorial.report.behaviour.rockpool, ROCKPOOL_COUNTS)


def test_report_measures_where_the_simulators_differ(tutorial):
    report = tutorial.report
    b = report.behaviour
    signs = {s.block: s for s in report.weight_signs}
    assert (signs["input -> 1_DynapSim"].negative, signs["input -> 1_DynapSim"].nonzero) == (87, 120)
    assert (signs["1_DynapSim -> 1_DynapSim"].negative, signs["1_DynapSim -> 1_DynapSim"].nonzero) == (2, 4)
    assert {"negative weights", "merged synapse", "bias codes", "weight levels"} <= set(report.topics())
    # Without the negative weights, the two simulations are the same model: the same spikes.
    np.testing.assert_array_equal(b.ours_without_inhibition, b.rockpool_without_inhibition)
    assert b.rockpool_without_inhibition.sum() > b.rockpool.sum() * 1.2  # inhibition acts in Rockpool ...
    # ... but there only within a step: the same weights as GABA synapses silence the network.
    assert b.ours.sum() < 0.05 * b.rockpool.sum() and b.agreement("ours") < 1
    assert b.chip.sum() < 0.05 * b.rockpool.sum()
    acted = report.inhibition_acted
    assert acted.shape == (2,) and np.all((acted > 0.1) & (acted < 0.5))
    text = str(report)
    assert "[[113, 53], [70, 114]]" in text and "negative weights" in text


def test_migrated_tutorial_classifies_like_rockpool(tutorial):
    """Negative weights scaled by the inhibition that acted in Rockpool: on the chip
    (bias codes, 16 weight levels), neuron k wins pattern k, as in Rockpool."""
    b = tutorial.report.behaviour
    assert b.agreement("migrated") == 1.0
    winners = b.migrated.max(1)
    assert np.all(winners >= 2 * np.sort(b.migrated, 1)[:, 0]) and np.all(winners > 40)
    scaled = tutorial.params["w_in"] / np.where(tutorial.network.w_in == 0, 1, tutorial.network.w_in)
    np.testing.assert_allclose(np.where(tutorial.network.w_in < 0, scaled, 1), np.where(
        tutorial.network.w_in < 0, tutorial.report.inhibition_acted[None, :], 1), rtol=1e-6)


def test_fine_tuning_alone_brings_back_rockpools_classes(tutorial):
    """From Rockpool's weights as they are (which silence the network here), the training
    library (on the chip: bias codes, 16 weight levels) learns Rockpool's classes; the
    network it returns is the one it trained, and it maps."""
    from rockpool_dynapse2.mapping import spec_from_training

    x = frozen_noise()
    before = tutorial.output_counts(tutorial.counts(x, tutorial.original))
    assert before.max() <= 2
    result = tutorial.fine_tune(params=tutorial.original, epochs=40, learning_rate=0.1, warmup=1, inject=False)
    counts = tutorial.output_counts(tutorial.counts(x, result.params))
    assert list(np.argmax(counts, 1)) == [0, 1] and np.all(counts.max(1) >= 2 * counts.min(1)) and counts.min() > 0
    assert counts.max(1).min() > 40  # as active as Rockpool's winners, not just ahead
    net = result.to_rockpool()
    out, _, _ = net(x)
    np.testing.assert_array_equal(np.asarray(out).sum(1), counts)
    spec = spec_from_training(result)
    assert spec.n_neurons == 2 and len(spec.input_synapses) > 0


def test_excitatory_network_migrates_spike_for_spike():
    """Without negative weights the two simulators are the same model: the migrated
    network (without bias codes and weight levels) fires Rockpool's spikes exactly, and the
    report names no inhibition."""
    DynapSim, LinearJax, Sequential = _rockpool()
    from rockpool_dynapse2.mapping.migration import migrate

    rng = np.random.default_rng(3)
    net = Sequential(LinearJax((8, 3), weight=rng.uniform(0, 2, (8, 3)), has_bias=False),
                     DynapSim((3, 3), has_rec=True, w_rec=rng.uniform(0, 0.5, (3, 3)), Idc=1e-10))
    x = (rng.random((2, 200, 8)) < 0.1).astype(np.float32)
    migration = migrate(net, inputs=x, quantize=False, snap_codes=False)
    b = migration.report.behaviour
    assert b.rockpool.sum() > 20
    np.testing.assert_array_equal(b.migrated, b.rockpool)
    np.testing.assert_array_equal(migration.params["w_in"], migration.original["w_in"])
    assert not {"negative weights", "inhibition that acted", "bias codes"} & set(migration.report.topics())


def test_inhibition_scale_counts_the_cancelled_part():
    """One neuron, an excitatory and an inhibitory channel overlapping for 5 of 10 steps:
    half of the inhibitory drive met excitation in the same step."""
    DynapSim, LinearJax, Sequential = _rockpool()
    from rockpool_dynapse2.mapping.migration.convert import inhibition_scale, scale_inhibition
    from rockpool_dynapse2.mapping.migration.read import read_rockpool

    net = read_rockpool(Sequential(LinearJax((2, 1), weight=np.array([[1.0], [-2.0]]), has_bias=False), DynapSim(1)))
    x = np.zeros((1, 20, 2))
    x[0, 0:10, 0] = 1.0  # +1 per step
    x[0, 5:15, 1] = 1.0  # -2 per step: 5 steps meet +1 (1 of 2 acts), 5 steps meet nothing
    scale = inhibition_scale(net, x, np.zeros((1, 20, 1)))
    np.testing.assert_allclose(scale, [5 * 1.0 / (10 * 2.0)])
    scaled = scale_inhibition({"w_in": net.w_in, "w_rec": net.w_rec}, scale)
    np.testing.assert_allclose(scaled["w_in"], [[1.0], [-0.5]])


def test_reads_layers_and_runs_like_rockpools_sequential():
    """Two layers with different Iscale: the read network runs Rockpool's modules layer by
    layer exactly as Rockpool's Sequential does, and becomes two populations."""
    DynapSim, LinearJax, Sequential = _rockpool()
    from rockpool_dynapse2.mapping.migration import migrate

    rng = np.random.default_rng(0)
    net = Sequential(
        LinearJax((8, 4), weight=rng.uniform(-1, 3, (8, 4)), has_bias=False),
        DynapSim((4, 4), has_rec=True, w_rec=rng.uniform(-1, 1, (4, 4))),
        LinearJax((4, 2), weight=rng.uniform(0, 30, (4, 2)), has_bias=False),
        DynapSim((2, 2), Iscale=3e-9),
    )
    x = (rng.random((2, 200, 8)) < 0.1).astype(np.float32)
    migration = migrate(net)
    spikes = migration.network.run(x)
    out, _, _ = net(x)
    assert np.asarray(out).sum() > 0
    np.testing.assert_array_equal(spikes[..., 4:], np.asarray(out))
    layout = migration.model.layout
    assert [p.size for p in layout.populations] == [4, 2] and layout.n_cores == 2
    assert {(p.source, p.target) for p in layout.projections} == {
        ("input", "1_DynapSim"), ("1_DynapSim", "1_DynapSim"), ("1_DynapSim", "3_DynapSim")}
    np.testing.assert_allclose(migration.network.w_rec[:4, 4:], np.asarray(net[2].weight) * 3e-9 / 1e-8, rtol=1e-6)
    assert {"timing between layers", "Iscale"} <= set(migration.report.topics())


def test_per_neuron_currents_take_the_core_median():
    DynapSim, LinearJax, Sequential = _rockpool()
    import jax

    from rockpool_dynapse2.mapping.migration import migrate

    net = Sequential(LinearJax((4, 6), has_bias=False), DynapSim((6, 6), percent_mismatch=0.05, rng_key=jax.random.PRNGKey(1)))
    migration = migrate(net.as_graph())  # a graph, no inputs: a static report
    layer = {k: np.asarray(getattr(net[1], k), np.float64) for k in ("Itau_mem", "C_mem", "Ut", "kappa_n", "kappa_p")}
    tau = layer["Ut"] / ((layer["kappa_n"] + layer["kappa_p"]) / 2) * layer["C_mem"] / layer["Itau_mem"]
    assert np.ptp(tau) > 0.01 * tau.mean()  # the mismatch gave each neuron its own
    np.testing.assert_allclose(np.exp(migration.params["core"]["tau_mem"]), [np.median(tau)], rtol=1e-5)
    assert "per-neuron currents" in migration.report.topics()
    assert migration.report.behaviour is None and "No inputs given" in str(migration.report)


def test_fan_in_keeps_the_largest_synapses_and_says_so():
    DynapSim, LinearJax, Sequential = _rockpool()
    from rockpool_dynapse2.mapping.migration import migrate

    w = np.tile(np.arange(1, 71, dtype=np.float32)[:, None], (1, 2))  # 70 synapses per neuron
    migration = migrate(Sequential(LinearJax((70, 2), weight=w, has_bias=False), DynapSim(2)))
    kept = migration.model.connections.input
    assert kept.sum(0).tolist() == [64, 64] and not kept[:6].any()  # the 6 smallest went
    assert "fan-in" in migration.report.topics()


def test_refuses_what_it_cannot_migrate():
    DynapSim, LinearJax, Sequential = _rockpool()
    from rockpool.nn.modules import LIFJax

    import rockpool_dynapse2 as rd
    from rockpool_dynapse2.mapping.migration import migrate

    with pytest.raises(MappingError, match="Rockpool's DynapSim"):
        migrate(Sequential(LinearJax((3, 2)), LIFJax(2)))
    with pytest.raises(MappingError, match="Rockpool's DynapSim"):
        migrate(Sequential(LinearJax((3, 2)), rd.DynapSimJax(2)))
    with pytest.raises(MappingError, match="`0_LinearJax` must end on a DynapSim layer"):
        migrate(Sequential(LinearJax((3, 2)), LinearJax((2, 2)), DynapSim(2)))
    with pytest.raises(MappingError, match="Rockpool network"):
        migrate(np.zeros(3))
    net = Sequential(LinearJax((3, 2)), DynapSim(2))
    with pytest.raises(ParameterValueError, match="Iscale"):
        migrate(net, Iscale=1e-9)
    with pytest.raises(ShapeError, match="inputs"):
        migrate(net, inputs=np.zeros((1, 10, 4)))
    with pytest.raises(ParameterValueError, match="compensate"):
        migrate(net, compensate=1)
    with pytest.raises(UnknownParameterError, match="tau"):
        migrate(net, tau=1.0)
    with pytest.raises(ParameterValueError, match="inputs"):
        migrate(net).fine_tune()
    x = np.ones((2, 5, 3), np.float32)
    with pytest.raises(ParameterValueError, match="labels"):
        migrate(net, inputs=x).fine_tune(labels=[0, 2])
