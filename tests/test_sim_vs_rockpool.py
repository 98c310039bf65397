"""Reference test: where the models overlap, we reproduce Rockpool 3.1's DynapSim.

Rockpool's DynapSim has one merged synapse driven by non-negative weights. Our AMPA synapse
(signed layout, non-negative input) is that synapse, so with the same currents the JAX
module must give bit-identical spikes and membrane currents, and the torch module (float32,
its own arithmetic) identical spikes and nearly equal currents. Rockpool clips the synaptic
drive at Io, so it ignores negative input; ours turns it into GABA inhibition.
"""

import logging

import jax
import numpy as np
import pytest
import torch

import rockpool_dynapse2 as rd

N, T = 16, 1000

REGIMES = {
    "defaults": ({}, False),
    "strong_dc_recurrent": ({"Idc": 2e-9}, True),
    "adaptation": ({"Idc": 1e-8, "Iw_ahp": 1e-6, "Igain_ahp": 2.8e-10}, False),
    "taus_gains_recurrent": (
        {
            "Itau_mem": 1e-11,
            "Igain_mem": 8e-11,
            "Itau_syn": 2e-10,
            "Igain_syn": 1e-8,
            "Ispkthr": 5e-8,
            "Iref": 3e-10,
            "Ipulse": 2e-8,
        },
        True,
    ),
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    x = ((rng.random((1, T, N)) < 0.05) * rng.uniform(0, 0.3, (1, T, N))).astype(np.float32)
    w_rec = ((rng.random((N, N)) < 0.2) * rng.uniform(0, 0.5, (N, N))).astype(np.float32)
    return x, w_rec


def _rockpool(x, w_rec=None, **currents):
    logging.getLogger().setLevel(logging.ERROR)  # Rockpool warns about samna on import
    from rockpool.devices.dynapse import DynapSim

    extra = {"w_rec": w_rec, "has_rec": True} if w_rec is not None else {}
    mod = DynapSim((N, N), rng_key=jax.random.PRNGKey(0), **currents, **extra)
    out, _, rec = mod(x, record=True)
    return np.asarray(out), np.asarray(rec["imem"])


def _ours(backend, x, w_rec=None, **currents):
    extra = {"w_rec": w_rec} if w_rec is not None else {}
    if backend == "jax":
        out, _, rec = rd.DynapSimJax((N,), **currents, **extra)(x, record=True)
        return np.asarray(out), np.asarray(rec["imem"])
    mod = rd.DynapSimTorch((N,), **currents, **extra)
    with torch.no_grad():
        out, _, rec = mod(x, record=True)
    return out.numpy(), rec["imem"].numpy()


@pytest.mark.parametrize("regime", list(REGIMES))
def test_reproduces_rockpool_dynapsim(data, regime):
    x, w_rec = data
    currents, recurrent = REGIMES[regime]
    w = w_rec if recurrent else None
    ref_out, ref_imem = _rockpool(x, w, **currents)
    assert ref_out.shape == (1, T, N)
    assert ref_out.sum() > 50  # the comparison means something only if neurons fire

    jax_out, jax_imem = _ours("jax", x, w, **currents)
    np.testing.assert_array_equal(jax_out, ref_out)
    np.testing.assert_array_equal(jax_imem, ref_imem)

    torch_out, torch_imem = _ours("torch", x, w, **currents)
    np.testing.assert_array_equal(torch_out, ref_out)
    rel = np.abs(torch_imem.astype(np.float64) - ref_imem) / ref_imem
    assert np.percentile(rel, 99) < 1e-3
    assert rel.max() < 5e-2


def test_recurrence_changes_the_result(data):
    """Guard for the recurrent regimes: w_rec really acts (in Rockpool and in ours)."""
    x, w_rec = data
    plain, _ = _rockpool(x, **REGIMES["strong_dc_recurrent"][0])
    recurrent, _ = _rockpool(x, w_rec, **REGIMES["strong_dc_recurrent"][0])
    assert recurrent.sum() > plain.sum()


def test_rockpool_ignores_inhibition_ours_does_not(data):
    x, _ = data
    zero = np.zeros_like(x)
    x_neg = np.full_like(x, -0.07)  # steady inhibition: ~60 pA of GABA current
    currents = {"Idc": 1e-9}
    ref_zero, _ = _rockpool(zero, **currents)
    ref_neg, _ = _rockpool(x_neg, **currents)
    assert ref_zero.sum() > 100
    np.testing.assert_array_equal(ref_neg, ref_zero)  # Rockpool clips the drive at Io

    for backend in ("jax", "torch"):
        ours_zero, _ = _ours(backend, zero, **currents)
        ours_neg, _ = _ours(backend, x_neg, **currents)
        np.testing.assert_array_equal(ours_zero, ref_zero)
        assert ours_neg.sum() < 0.8 * ours_zero.sum(), backend


RANDOM_NAMES = (
    "Idc", "Itau_mem", "Igain_mem", "Ispkthr", "Iref", "Ipulse",
    "Itau_ahp", "Igain_ahp", "Iw_ahp", "Ipulse_ahp", "Itau_syn", "Igain_syn",
)  # fmt: skip


def _random_regime(seed):
    """Per-neuron currents drawn within a decade of Rockpool's defaults (each current set
    with probability 1/2), a random dt, Iscale, recurrence and input, batch of 2."""
    from rockpool.devices.dynapse import DynapSim

    logging.getLogger().setLevel(logging.ERROR)
    n = 8
    rng = np.random.default_rng(seed)
    defaults = DynapSim((n, n), rng_key=jax.random.PRNGKey(0))
    currents = {
        name: (np.asarray(getattr(defaults, name)) * 10 ** rng.uniform(-1, 1, n)).astype(np.float32)
        for name in RANDOM_NAMES
        if rng.random() < 0.5
    }
    settings = {"dt": float(rng.choice([1e-4, 5e-4, 1e-3])), "Iscale": float(rng.choice([1e-9, 1e-8, 3e-8]))}
    x = ((rng.random((2, T, n)) < 0.05) * rng.uniform(0, 1.0, (2, T, n))).astype(np.float32)
    w_rec = ((rng.random((n, n)) < 0.3) * rng.uniform(0, 0.5, (n, n))).astype(np.float32) if seed % 2 else None
    return n, currents, settings, x, w_rec


@pytest.mark.parametrize("seed", range(16))
def test_reproduces_rockpool_in_random_regimes(seed):
    """Random currents (per neuron), dt, Iscale and recurrence: the JAX module gives
    Rockpool's spikes exactly and its membrane currents to float32 rounding (the step's
    operations are fused differently, so a current may differ in its last bit); the torch
    module (float32 with its own exp and log, which round differently from XLA's) gives the
    same spikes almost everywhere."""
    from rockpool.devices.dynapse import DynapSim

    n, currents, settings, x, w_rec = _random_regime(seed)
    rec_kw = {} if w_rec is None else {"w_rec": w_rec}
    ref = DynapSim((n, n), rng_key=jax.random.PRNGKey(0), **settings, **currents, **rec_kw, has_rec=w_rec is not None)
    ref_out, _, ref_rec = ref(x, record=True)
    ref_out = np.asarray(ref_out)
    assert ref_out.sum() > 10  # the comparison means something only if neurons fire

    out, _, rec = rd.DynapSimJax((n,), **settings, **currents, **rec_kw)(x, record=True)
    np.testing.assert_array_equal(np.asarray(out), ref_out)
    np.testing.assert_allclose(np.asarray(rec["imem"]), np.asarray(ref_rec["imem"]), rtol=1e-4, atol=0)

    mod = rd.DynapSimTorch((n,), **settings, **currents, **rec_kw)
    with torch.no_grad():
        out_t, _, _ = mod(torch.as_tensor(x))
    assert (out_t.numpy() != ref_out).mean() < 1e-3
    assert abs(float(out_t.sum()) - ref_out.sum()) <= 0.01 * ref_out.sum()
