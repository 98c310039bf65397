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
