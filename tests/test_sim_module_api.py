"""The Rockpool module API of ``DynapSimJax`` and ``DynapSimTorch``.

Shapes and dtypes of inputs, outputs and records; state handling; constructors (currents,
aliases, per-neuron arrays, ``core``, ``from_high_level``); parameter registration;
``as_graph``; use inside ``Sequential``; float64.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from rockpool.graph import GraphHolder, LinearWeights, find_modules_of_subclass
from rockpool.nn.combinators import Sequential
from rockpool.nn.modules import LinearJax, LinearTorch

import rockpool_dynapse2 as rd
from rockpool_dynapse2 import CoreParameters
from rockpool_dynapse2.simulation.graph import Dynapse2Neurons
from rockpool_dynapse2.simulation import CURRENT_NAMES, LAYOUT_NAMES, SYNAPSE_NAMES

N = 3
T = 40  # (tests share shapes and lengths so that JAX compiles the simulation only a few times)
RECORD_KEYS = {"iampa", "inmda", "igaba", "ishunt", "iahp", "imem", "vmem", "timer_ref", "spikes"}
UT, KAPPA, IO = 25e-3, (0.75 + 0.66) / 2, 0.5e-12


def _np(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _call(mod, x, record=False):
    """Call a module of either backend; returns numpy ``(out, state, record)`` and the module
    that holds the new state."""
    if isinstance(mod, rd.DynapSimJax):
        out, state, rec = mod(x, record=record)
        mod = mod.set_attributes(state)
    else:
        with torch.no_grad():
            out, state, rec = mod(x, record=record)
    return _np(out), {k: _np(v) for k, v in state.items()}, {k: _np(v) for k, v in rec.items()}, mod


# --- inputs, outputs, records ----------------------------------------------------------------


@pytest.mark.parametrize("shape, n_in", [((N,), N), ((N, N), N), ((4 * N, N), 4 * N)])
def test_shapes_and_sizes(backend, module_class, shape, n_in):
    mod = module_class(backend)(shape)
    assert mod.size_in == n_in and mod.size_out == N
    assert mod.signed == (n_in == N)
    x = np.zeros((T, n_in))
    out, _, _, mod = _call(mod, x)
    assert out.shape == (1, T, N)
    mod = mod.reset_state()
    out, _, _, _ = _call(mod, np.zeros((2, T, n_in)))
    assert out.shape == (2, T, N)


def test_output_dtype_and_counts(backend, module_class):
    mod = module_class(backend)((N,), Idc=1e-6)
    out, _, _, _ = _call(mod, np.zeros((2, T, N)))
    assert out.dtype == np.float32
    assert np.all(out >= 0) and np.all(out == np.round(out)) and out.sum() > 0


def test_record_keys_and_shapes(backend, module_class):
    mod = module_class(backend)((4 * N, N))
    out, state, rec, _ = _call(mod, np.zeros((2, T, 4 * N)), record=True)
    assert set(rec) == RECORD_KEYS
    for name, value in rec.items():
        assert value.shape == (2, T, N), name
    np.testing.assert_array_equal(rec["spikes"], out)
    assert set(state) == {"isyn", "iahp", "imem", "vmem", "timer_ref", "spikes"}
    assert state["isyn"].shape == (2, N, 4) and state["imem"].shape == (2, N)
    # The state after the call is the last recorded step.
    np.testing.assert_array_equal(state["imem"], rec["imem"][:, -1])
    np.testing.assert_array_equal(state["isyn"][..., 2], rec["igaba"][:, -1])
    _, _, no_rec, _ = _call(module_class(backend)((4 * N, N)), np.zeros((2, T, 4 * N)), record=False)
    assert no_rec == {}


def test_rest_state_values(backend, module_class):
    mod = module_class(backend)((N,))
    state = {k: _np(v) for k, v in mod.state().items()}
    np.testing.assert_allclose(state["isyn"][:, 0], IO, rtol=1e-6)  # AMPA at the dark current
    np.testing.assert_array_equal(state["isyn"][:, 1:], 0.0)
    np.testing.assert_allclose(state["imem"], IO, rtol=1e-6)
    np.testing.assert_allclose(state["iahp"], IO, rtol=1e-6)
    for name in ("vmem", "timer_ref", "spikes"):
        np.testing.assert_array_equal(state[name], 0.0)


# --- state -------------------------------------------------------------------------------------


def test_jax_set_attributes_and_reset_state_round_trip():
    mod = rd.DynapSimJax((N,), Idc=1e-7)
    rest = {k: np.asarray(v) for k, v in mod.state().items()}
    x = np.zeros((T, N))
    out1, state, _ = mod(x)
    assert np.asarray(out1).sum() > 0
    # Functional: calling does not change the module itself.
    np.testing.assert_array_equal(np.asarray(mod.imem), rest["imem"])
    moved = mod.set_attributes(state)
    for k, v in state.items():
        np.testing.assert_array_equal(np.asarray(getattr(moved, k)), np.asarray(v))
    # The carried state continues: two calls of T steps equal one of 2 T.
    out2, _, _ = moved(x)
    long, _, _ = mod(np.zeros((2 * T, N)))
    np.testing.assert_array_equal(np.concatenate([out1, out2], axis=1), np.asarray(long))
    back = moved.reset_state()
    for k, v in back.state().items():
        np.testing.assert_array_equal(np.asarray(v), rest[k])
    out3, _, _ = back(x)
    np.testing.assert_array_equal(np.asarray(out3), np.asarray(out1))


def test_torch_keeps_state_and_reset_state_round_trip():
    mod = rd.DynapSimTorch((N,), Idc=1e-7)
    rest = {k: v.clone() for k, v in mod.state().items()}
    x = np.zeros((T, N))
    with torch.no_grad():
        out1, state, _ = mod(x)
    assert out1.sum() > 0
    for k, v in state.items():  # the new state is stored in place
        assert torch.equal(getattr(mod, k), v)
    with torch.no_grad():
        out2, _, _ = mod(x)  # continues from the stored state
    mod.reset_state()
    for k, v in mod.state().items():
        assert torch.equal(v, rest[k]), k
    with torch.no_grad():
        long, _, _ = mod(np.zeros((2 * T, N)))
    assert torch.equal(torch.cat([out1, out2], dim=1), long)


def test_state_attribute_sets_initial_condition(backend, module_class):
    """A membrane started above threshold (100 nA) fires in the first step; one at rest does not."""
    mod = module_class(backend)((N,))
    imem = np.array([IO, IO, 5e-6])
    if backend == "jax":
        mod = mod.set_attributes({"imem": jnp.asarray(imem, jnp.float32)})
    else:
        mod.imem = torch.as_tensor(imem, dtype=torch.float32)
    out, _, _, _ = _call(mod, np.zeros((T, N)))
    assert out[0, 0, 0] == 0 and out[0, 0, 2] >= 1


# --- constructors ----------------------------------------------------------------------------


def test_from_high_level_matches_core_parameters(backend, module_class):
    cls = module_class(backend)
    mod = cls.from_high_level((N,), tau_mem=30e-3, gain_ampa=50.0, t_ref=2e-3, Idc=1e-9, dt=5e-4)
    core = CoreParameters.from_high_level(tau_mem=30e-3, gain_ampa=50.0, t_ref=2e-3, Idc=1e-9)
    for name in CURRENT_NAMES:
        np.testing.assert_allclose(_np(getattr(mod, name)), getattr(core, name), rtol=1e-6, err_msg=name)
    # ... and those currents are the circuit's: tau = Ut C / (kappa Itau), Igain = gain Itau.
    np.testing.assert_allclose(_np(mod.Itau_mem), UT * 3e-12 / (KAPPA * 30e-3), rtol=1e-6)
    np.testing.assert_allclose(_np(mod.Igain_ampa), 50.0 * _np(mod.Itau_ampa), rtol=1e-6)
    np.testing.assert_allclose(_np(mod.Iref), 0.7 * 1.5e-12 / 2e-3, rtol=1e-6)
    assert float(mod.dt) == 5e-4


def test_core_parameters_and_overrides(backend, module_class):
    core = CoreParameters(Itau_mem=7e-12, Idc=2e-9, Ispkthr=2e-7)
    mod = module_class(backend)((N,), core=core, Idc=3e-9)
    np.testing.assert_allclose(_np(mod.Itau_mem), 7e-12, rtol=1e-6)
    np.testing.assert_allclose(_np(mod.Ispkthr), 2e-7, rtol=1e-6)
    np.testing.assert_allclose(_np(mod.Idc), 3e-9, rtol=1e-6)  # explicit keyword wins


def test_merged_synapse_aliases(backend, module_class):
    mod = module_class(backend)((N,), Itau_syn=1e-10, Igain_syn=3e-9, C_syn=20e-12, Itau_nmda=2e-10)
    for s in SYNAPSE_NAMES:
        np.testing.assert_allclose(_np(getattr(mod, f"Igain_{s}")), 3e-9, rtol=1e-6)
        np.testing.assert_allclose(_np(getattr(mod, f"C_{s}")), 20e-12, rtol=1e-6)
        expected = 2e-10 if s == "nmda" else 1e-10  # the per-type name overrides the alias
        np.testing.assert_allclose(_np(getattr(mod, f"Itau_{s}")), expected, rtol=1e-6, err_msg=s)


def test_per_neuron_arrays(backend, module_class):
    idc = np.array([1e-10, 1e-8, 1e-6])
    mod = module_class(backend)((N,), Idc=idc, Itau_mem=5e-12)
    np.testing.assert_allclose(_np(mod.Idc), idc, rtol=1e-6)
    np.testing.assert_allclose(_np(mod.Itau_mem), np.full(N, 5e-12), rtol=1e-6)
    for name in CURRENT_NAMES + LAYOUT_NAMES:
        assert _np(getattr(mod, name)).shape == (N,), name
    out, _, _, _ = _call(mod, np.zeros((2 * T, N)))
    counts = out.sum(axis=(0, 1))
    assert counts[0] < counts[1] < counts[2]


def test_layout_constants_are_used(backend, module_class):
    """A larger membrane capacitance slows the membrane: fewer spikes under the same DC."""
    mod = module_class(backend)((N,), Idc=1e-8, C_mem=np.array([3e-12, 30e-12, 3e-12]))
    out, _, _, _ = _call(mod, np.zeros((2 * T, N)))
    counts = out.sum(axis=(0, 1))
    assert counts[0] > counts[1]


def test_parameters_and_simulation_parameters(backend, module_class):
    mod = module_class(backend)((N,), has_rec=True, trainable=("Ispkthr", "Itau_mem"))
    params = mod.parameters()
    assert set(params) == {"w_rec", "Ispkthr", "Itau_mem"}
    assert tuple(_np(params["w_rec"]).shape) == (N, N)
    sim = mod.simulation_parameters()
    for name in CURRENT_NAMES + LAYOUT_NAMES:
        assert (name in sim) != (name in ("Ispkthr", "Itau_mem")), name
    assert "Iscale" in sim and "dt" in sim
    plain = module_class(backend)((N,))
    assert set(plain.parameters()) == set()  # no recurrence, nothing trainable
    assert not plain.has_rec


def test_w_rec_given_is_used(backend, module_class):
    w = np.array([[0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    mod = module_class(backend)((N,), w_rec=w, Idc=np.array([1e-7, IO, IO]))
    assert mod.has_rec
    np.testing.assert_allclose(_np(mod.w_rec), w, rtol=1e-6)
    out, _, rec, _ = _call(mod, np.zeros((2 * T, N)), record=True)
    assert out[0, :, 0].sum() > 0
    assert rec["iampa"][0, :, 1].max() > 1e-10  # neuron 0's spikes drive neuron 1's AMPA
    assert rec["iampa"][0, :, 2].max() < 1e-12


def test_max_spikes_and_iscale(backend, module_class):
    mod = module_class(backend)((N,), Iscale=2e-9, max_spikes_per_dt=3)
    np.testing.assert_allclose(float(_np(mod.Iscale)), 2e-9, rtol=1e-6)


# --- graph -----------------------------------------------------------------------------------


def _graph(mod):
    """``mod.as_graph()``, which must not warn (DeprecationWarnings are errors here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return mod.as_graph()


@pytest.mark.parametrize("shape, signed", [((N,), True), ((4 * N, N), False)])
def test_as_graph(backend, module_class, shape, signed):
    idc = np.array([1e-10, 2e-9, 3e-8])
    w_rec = np.arange(N * shape[0], dtype=float).reshape(N, shape[0]) / 10
    mod = module_class(backend)(shape, Idc=idc, Iscale=2e-9, dt=5e-4, w_rec=w_rec)
    graph = _graph(mod)
    assert isinstance(graph, GraphHolder)
    (neurons,) = find_modules_of_subclass(graph, Dynapse2Neurons)
    assert neurons.signed is signed
    assert len(neurons.input_nodes) == shape[0] and len(neurons.output_nodes) == N
    assert neurons.Iscale == pytest.approx(2e-9, rel=1e-6)
    assert neurons.dt == pytest.approx(5e-4)
    assert set(neurons.values) == set(CURRENT_NAMES + LAYOUT_NAMES)
    np.testing.assert_allclose(neurons.values["Idc"], idc, rtol=1e-6)
    np.testing.assert_allclose(neurons.values["C_mem"], 3e-12, rtol=1e-6)
    assert all(v.shape == (N,) for v in neurons.values.values())
    (recurrent,) = find_modules_of_subclass(graph, LinearWeights)
    np.testing.assert_allclose(np.asarray(recurrent.weights), w_rec, rtol=1e-6)
    assert list(recurrent.input_nodes) == list(neurons.output_nodes)
    assert list(recurrent.output_nodes) == list(neurons.input_nodes)


def test_as_graph_without_recurrence(backend, module_class):
    graph = _graph(module_class(backend)((N,)))
    assert find_modules_of_subclass(graph, LinearWeights) == []
    assert len(find_modules_of_subclass(graph, Dynapse2Neurons)) == 1


# --- composition and precision ----------------------------------------------------------------


def test_sequential_jax():
    net = Sequential(LinearJax((3, N)), rd.DynapSimJax((N,)))
    out, state, rec = net(np.ones((1, T, 3), np.float32), record=True)
    assert out.shape == (1, T, N)
    assert "1_DynapSimJax" in state and "1_DynapSimJax" in rec
    assert np.all(np.isfinite(np.asarray(out)))


def test_sequential_torch():
    net = Sequential(LinearTorch((3, N)), rd.DynapSimTorch((N,)))
    out, state, rec = net(torch.ones((1, T, 3)))
    assert out.shape == (1, T, N)
    assert torch.all(torch.isfinite(out))


def test_float64_jax():
    with jax.enable_x64(True):
        mod = rd.DynapSimJax((N,), dtype="float64", Idc=1e-7)
        assert mod.Itau_mem.dtype == jnp.float64
        out, state, rec = mod(np.zeros((T, N)), record=True)
        assert out.dtype == jnp.float64 and rec["imem"].dtype == jnp.float64
        assert state["imem"].dtype == jnp.float64
        assert float(out.sum()) > 0


def test_float64_torch():
    mod = rd.DynapSimTorch((N,), dtype="float64", Idc=1e-7, has_rec=True, trainable=("Itau_mem",))
    assert mod.Itau_mem.dtype == torch.float64 and mod.w_rec.dtype == torch.float64
    # Trainable parameters keep their full-precision value (not a float32 round trip).
    assert float(mod.Itau_mem.detach()[0]) == float(CoreParameters().Itau_mem)
    out, state, rec = mod(np.zeros((T, N)), record=True)
    assert out.dtype == torch.float64 and rec["imem"].dtype == torch.float64
    assert state["imem"].dtype == torch.float64
    assert float(out.detach().sum()) > 0
