"""The hand-written backward pass of a step (:mod:`rockpool_dynapse2.simulation.step_vjp`)
equals automatic differentiation of the step, in float64, on random states that cover
its branches: neurons below and above threshold, refractory and not, synaptic inputs of
both signs, each layout, idle and active NMDA and SHUNT, and states at the ``Io`` floors.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rockpool_dynapse2 as rd
from rockpool_dynapse2.simulation.jax_module import OPS
from rockpool_dynapse2.simulation.records import DynapState
from rockpool_dynapse2.simulation.step import (
    loop_state,
    neuron_update,
    prepare,
    split_multi_input,
    split_signed_input,
    synapse_major,
)
from rockpool_dynapse2.simulation.step_vjp import neuron_update_vjp

B, N = 6, 5


@pytest.fixture(autouse=True, scope="module")
def x64():
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


def _case(seed: int, signed: bool, idle: tuple):
    """Constants, a batch of B states taken from a simulated trajectory (half of them
    just before a spike), and a random synaptic input of both signs with zeros."""
    rng = np.random.default_rng(seed)
    kwargs = dict(
        Idc=rng.uniform(5e-11, 5e-10, N),
        Iw_ahp=rng.uniform(0, 1e-9, N),
        If_nmda=rng.uniform(1e-12, 1e-10, N),
        Iscale=1e-9,
    )
    shape = (N,) if signed else (4 * N, N)
    n_in = N if signed else 4 * N
    mod = rd.DynapSimJax(shape, dtype="float64", **kwargs)
    T = 400
    drive = rng.uniform(0.0, 1.0, (1, T, n_in)) * (rng.random((1, T, n_in)) < 0.2)
    if not signed:  # channel 4 i + k drives type k of neuron i: little GABA and SHUNT
        drive[..., 2::4] *= 0.1
        drive[..., 3::4] *= 0.01
    spikes, _, rec = mod(jnp.asarray(drive), record=True)
    before_spike = np.flatnonzero(np.asarray(spikes[0]).sum(axis=1)[1:] > 0)
    times = np.concatenate([rng.choice(before_spike, B // 2, replace=False), rng.choice(T - 1, B - B // 2)])
    pick = lambda name: jnp.asarray(np.asarray(rec[name])[0, times])
    isyn = jnp.stack([pick(f"i{s}") for s in ("ampa", "nmda", "gaba", "shunt")], axis=-1)
    state = DynapState(isyn, pick("iahp"), pick("imem"), pick("vmem"), pick("timer_ref"), pick("spikes"))
    if idle:
        state = state._replace(isyn=state.isyn.at[..., list(idle)].set(0.0))
    else:  # give NMDA and SHUNT currents of their own
        extra = rng.uniform(0, 1, (B, N, 2)) * np.array([2e-10, 2e-12])  # NMDA, SHUNT
        state = state._replace(isyn=state.isyn.at[..., (1, 3)].add(jnp.asarray(extra)))
    # Large drives only where the trajectory was about to fire; zeros elsewhere exercise the floors.
    u = rng.normal(0.0, 0.5, (B, n_in))
    u[rng.random((B, n_in)) < 0.3] = 0.0
    c = prepare(OPS, mod.parameters_record(), jnp.asarray(1e-3), signed)
    return c, loop_state(state, idle), jnp.asarray(u), rng


@pytest.mark.parametrize(
    "signed, idle",
    [(True, (1, 3)), (True, ()), (False, ())],
    ids=["signed-idle-nmda-shunt", "signed-all-types", "multi-synapse"],
)
@pytest.mark.parametrize("seed, share", [(0, 1.0), (1, 1.0), (2, 1.0), (0, 0.5), (1, 0.0)])
def test_step_vjp_equals_autodiff(signed, idle, seed, share):
    """At every share of the positive feedback factor's derivative (``feedback_gradient``)."""
    c, state, u, rng = _case(seed, signed, idle)
    c = c._replace(feedback_gradient=share)
    split = split_signed_input if signed else split_multi_input
    max_spikes = jnp.asarray(np.inf)

    def step(s, u):
        return neuron_update(OPS, c, s, u, split, max_spikes)[0]

    new, vjp = jax.vjp(step, state, u)
    # Every neuron state in the batch: some fired, some not (the branches are exercised).
    fired = np.asarray(new.spikes) > 0
    assert 0 < fired.sum() < fired.size
    cot = jax.tree_util.tree_map(lambda a: jnp.asarray(rng.normal(size=a.shape)), new)
    want_state, want_u = vjp(cot)
    got_state, got_u = neuron_update_vjp(OPS, c, state, u, split, max_spikes, cot)
    np.testing.assert_allclose(got_u, want_u, rtol=1e-9, atol=1e-12 * float(jnp.abs(want_u).max()))
    # A timer at exactly dt ends in this step: max(timer - dt, 0) is a tie, which autodiff
    # splits in halves; the timer's cotangent reaches no loss anyway (it is only compared).
    tie = np.asarray(state.timer_ref - c.dt) == 0.0
    for field in ("iahp", "imem", "vmem", "timer_ref", "spikes"):
        want, got = np.asarray(getattr(want_state, field)), np.asarray(getattr(got_state, field))
        if field == "timer_ref":
            want, got = np.where(tie, 0.0, want), np.where(tie, 0.0, got)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * (np.abs(want).max() + 1e-300), err_msg=field)
    for k in range(4):
        want, got = want_state.isyn[k], got_state.isyn[k]
        assert (want is None) == (got is None), k
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * float(jnp.abs(want).max()), err_msg=f"isyn {k}")


def test_multi_synapse_input_cotangent_is_in_synapse_major_order():
    """The multi-synapse layout's input cotangent lands on the channels that drive each type."""
    c, state, u, rng = _case(3, False, ())
    u = jnp.zeros_like(u).at[:, 2 * N + 1].set(3.0)  # only GABA of neuron 1 is driven
    cot = DynapState((None,) * 4, *(jnp.zeros((B, N)),) * 5)
    cot = cot._replace(isyn=tuple(jnp.ones((B, N)) for _ in range(4)))
    _, g_u = neuron_update_vjp(OPS, c, state, u, split_multi_input, jnp.asarray(np.inf), cot)
    nonzero = np.flatnonzero(np.abs(np.asarray(g_u)).sum(axis=0))
    np.testing.assert_array_equal(nonzero, [2 * N + 1])
    assert synapse_major(jnp.arange(4 * N))[2 * N + 1] == 4 * 1 + 2
