"""Mismatch transforms: statistics, selection by family, reproducibility, both backends, training use."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from rockpool.nn.combinators import Sequential
from rockpool.nn.modules import LinearJax, LinearTorch
from rockpool.transform.mismatch import mismatch_generator
from rockpool.transform.torch_transform import make_param_T_network

from rockpool_dynapse2 import DynapSimJax, DynapSimTorch
from rockpool_dynapse2.errors import ParameterValueError, UnknownParameterError
from rockpool_dynapse2.transform.mismatch import (
    POSITIVE_FLOOR,
    MismatchJax,
    mismatch,
    mismatch_prototype,
    mismatch_T_config,
    monte_carlo,
    sigma_from_deviation,
)

N = 256


def jax_net(n=N, seed=0):
    w = np.random.default_rng(seed).normal(0, 1, (8, n))
    return Sequential(LinearJax((8, n), weight=w), DynapSimJax((n,), has_rec=True, seed=seed))


def torch_net(n=N, seed=0):
    w = torch.as_tensor(np.random.default_rng(seed).normal(0, 1, (8, n)), dtype=torch.float32)
    return Sequential(LinearTorch((8, n), weight=w), DynapSimTorch((n,), has_rec=True, seed=seed))


def as_np(value):
    return np.asarray(value.detach() if hasattr(value, "detach") else value, dtype=np.float64)


def relative(new, old):
    return as_np(new) / as_np(old) - 1.0


def _pooled_relative_deviation(net, chip, attrs):
    return np.concatenate([relative(getattr(chip[i], n), getattr(net[i], n)).ravel() for i, n in attrs])


CURRENTS = [(1, n) for n in ("Itau_mem", "Igain_mem", "Itau_ampa", "Itau_gaba", "Ispkthr", "Iref", "Ipulse", "Idc")]


@pytest.mark.parametrize("make", [jax_net, torch_net], ids=["jax", "torch"])
@pytest.mark.parametrize("percent, rule", [(0.3, 3.0), (0.2, 2.0), (0.05, 1.0)])
def test_relative_deviation_has_the_requested_sigma(make, percent, rule):
    net = make()
    chip = mismatch(net, 7, percent, rule, families="currents")
    dev = _pooled_relative_deviation(net, chip, CURRENTS)
    sigma = percent / rule
    n = dev.size
    # mean 0 and std sigma, within 4 standard errors
    assert abs(dev.mean()) < 4 * sigma / np.sqrt(n)
    assert abs(dev.std() - sigma) < 4 * sigma / np.sqrt(2 * n)


@pytest.mark.parametrize("make", [jax_net, torch_net], ids=["jax", "torch"])
def test_families_select_what_is_perturbed(make):
    net = make()
    chip = mismatch(net, 1, 0.3, families="weights")
    assert not np.array_equal(as_np(chip[0].weight), as_np(net[0].weight))
    assert not np.array_equal(as_np(chip[1].w_rec), as_np(net[1].w_rec))
    assert np.array_equal(as_np(chip[1].Itau_mem), as_np(net[1].Itau_mem))
    assert np.array_equal(as_np(chip[1].C_mem), as_np(net[1].C_mem))
    chip = mismatch(net, 1, 0.3, families=("layout",))
    assert not np.array_equal(as_np(chip[1].C_mem), as_np(net[1].C_mem))
    assert np.array_equal(as_np(chip[0].weight), as_np(net[0].weight))
    # the original is untouched
    assert np.array_equal(as_np(net[1].C_mem), as_np(make()[1].C_mem))


@pytest.mark.parametrize("make", [jax_net, torch_net], ids=["jax", "torch"])
def test_same_seed_same_chip_other_seed_other_chip(make):
    net = make(16)
    a = mismatch(net, 3, 0.3, families=("currents", "weights"))
    b = mismatch(net, 3, 0.3, families=("currents", "weights"))
    c = mismatch(net, 4, 0.3, families=("currents", "weights"))
    for name in ("Itau_mem", "w_rec"):
        assert np.array_equal(as_np(getattr(a[1], name)), as_np(getattr(b[1], name)))
        assert not np.array_equal(as_np(getattr(a[1], name)), as_np(getattr(c[1], name)))


def test_currents_stay_positive_under_extreme_noise():
    net = jax_net(64)
    chip = mismatch(net, 0, 3.0, 1.0, families=("currents", "layout"))  # sigma = 300 %
    for name in ("Itau_mem", "Ispkthr", "C_mem", "Io"):
        new = np.asarray(getattr(chip[1], name))
        assert (new > 0).all()
        assert (new >= POSITIVE_FLOOR * np.asarray(getattr(net[1], name)) * (1 - 1e-6)).all()
    # weights may change sign
    w = np.asarray(mismatch(net, 0, 3.0, 1.0, families="weights")[0].weight)
    assert (np.sign(w) != np.sign(np.asarray(net[0].weight))).any()


def test_jax_mismatch_keeps_dtype_and_works_under_jit_and_grad():
    net = jax_net(16)
    x = (np.random.default_rng(0).random((2, 50, 8)) < 0.2).astype("float32") * 3

    def loss(params, key):
        chip = mismatch(net.set_attributes(params), key, 0.3, families=("currents", "weights"))
        return jnp.mean(chip(x)[0])

    grads = jax.jit(jax.grad(loss))(net.parameters(), jax.random.PRNGKey(0))
    g = np.asarray(grads["0_LinearJax"]["weight"])
    assert np.isfinite(g).all() and np.abs(g).sum() > 0
    chip = mismatch(net, jax.random.PRNGKey(2))
    assert chip[1].Itau_mem.dtype == net[1].Itau_mem.dtype


def test_our_prototype_drives_rockpools_mismatch_generator():
    net = jax_net(64)
    proto = mismatch_prototype(net, "currents")
    assert proto["1_DynapSimJax"]["Itau_mem"] is True
    assert proto["1_DynapSimJax"]["C_mem"] is False
    assert proto["0_LinearJax"]["weight"] is False
    params = mismatch_generator(proto, 0.3, 3.0)(net, jax.random.PRNGKey(0))
    chip = net.set_attributes(params)
    dev = relative(chip[1].Itau_mem, net[1].Itau_mem)
    assert 0.05 < dev.std() < 0.15
    np.testing.assert_array_equal(np.asarray(chip[1].C_mem), np.asarray(net[1].C_mem))


def test_mismatch_module_draws_anew_each_call_when_state_is_carried():
    net = jax_net(16)
    x = (np.random.default_rng(0).random((1, 100, 8)) < 0.2).astype("float32") * 3
    mod = MismatchJax(net, 0.3, families=("currents", "weights"), seed=1)
    out1, state, _ = mod(x)
    out_again, _, _ = mod(x)
    np.testing.assert_array_equal(np.asarray(out1), np.asarray(out_again))
    mod2 = mod.set_attributes(state)
    out2, _, _ = mod2(x)
    assert not np.array_equal(np.asarray(out1), np.asarray(out2))
    jitted = jax.jit(lambda m, x: m(x)[0])(mod, x)
    np.testing.assert_array_equal(np.asarray(jitted), np.asarray(out1))


def test_torch_dynamic_transform_draws_anew_and_frozen_keeps_one_chip():
    net = torch_net(16)
    x = torch.as_tensor((np.random.default_rng(0).random((1, 100, 8)) < 0.2).astype("float32") * 3)
    dyn = make_param_T_network(net, mismatch_T_config(net, 0.3, families=("currents", "weights"), seed=0))
    dyn[1].reset_state()
    a = dyn(x)[0]
    dyn[1].reset_state()
    b = dyn(x)[0]
    assert not torch.equal(a, b)
    frozen = make_param_T_network(net, mismatch_T_config(net, 0.3, families=("currents", "weights"), frozen=True, seed=0))
    frozen[1].reset_state()
    c = frozen(x)[0]
    frozen[1].reset_state()
    d = frozen(x)[0]
    assert torch.equal(c, d)
    # gradients reach the nominal weights through the transform
    frozen[1].reset_state()
    out = frozen(x)[0]
    out.sum().backward()
    grads = [p.grad for _, p in frozen.named_parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_monte_carlo_returns_one_metric_per_chip_reproducibly():
    net = jax_net(32)
    x = (np.random.default_rng(0).random((1, 100, 8)) < 0.2).astype("float32") * 3
    values = monte_carlo(net, x, lambda out: jnp.sum(out), n_chips=12, families=("currents", "weights"), seed=5)
    again = monte_carlo(net, x, lambda out: jnp.sum(out), n_chips=12, families=("currents", "weights"), seed=5)
    assert values.shape == (12,)
    np.testing.assert_array_equal(values, again)
    assert np.unique(values).size > 1
    # chip k of the vmapped run is the chip mismatch() makes with the same key
    keys = jax.random.split(jax.random.PRNGKey(5), 12)
    chip3 = mismatch(net, keys[3], families=("currents", "weights"))
    assert values[3] == float(jnp.sum(chip3(x)[0]))


def test_monte_carlo_torch():
    net = torch_net(16)
    x = (np.random.default_rng(0).random((1, 60, 8)) < 0.2).astype("float32") * 3
    values = monte_carlo(net, x, lambda out: float(out.sum()), n_chips=3, families=("currents", "weights"))
    assert values.shape == (3,) and np.isfinite(values).all()
    assert np.unique(values).size > 1


def test_bad_arguments_raise_named_errors():
    net = jax_net(4)
    with pytest.raises(ParameterValueError, match="percent_deviation"):
        mismatch(net, 0, -0.1)
    with pytest.raises(ParameterValueError, match="sigma_rule"):
        sigma_from_deviation(0.3, 0.0)
    with pytest.raises(UnknownParameterError, match="family"):
        mismatch(net, 0, 0.3, families="biases")
    with pytest.raises(ParameterValueError, match="n_chips"):
        monte_carlo(net, np.zeros((1, 5, 8)), lambda o: o.sum(), n_chips=0)
    with pytest.raises(ParameterValueError, match="key"):
        mismatch(torch_net(4), jax.random.PRNGKey(0))
