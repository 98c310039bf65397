"""Quantization-aware training: quantized forward, straight-through backward, both backends."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from rockpool.nn.combinators import Sequential
from rockpool.nn.modules import LinearJax, LinearTorch
from rockpool.transform.torch_transform import make_param_T_config, make_param_T_network

from rockpool_dynapse2 import DynapSimJax, DynapSimTorch
from rockpool_dynapse2.transform.qat import QuantizeT, quantize_ste, quantized_weights_numpy
from rockpool_dynapse2.transform.quantization import quantize_weights


def _levels_per_core(w, core):
    return [np.unique(np.abs(w[:, core == c])).size for c in np.unique(core)]


def test_forward_is_the_joint_per_core_quantization():
    rng = np.random.default_rng(0)
    w_in, w_rec = rng.normal(0, 1, (10, 20)), rng.normal(0, 0.5, (20, 20))
    core = np.arange(20) // 10
    a, b = quantized_weights_numpy([w_in, w_rec], core)
    q = quantize_weights(np.concatenate([w_in, w_rec]), None, core, Iscale=1.0)
    np.testing.assert_array_equal(np.concatenate([a, b]), q.w_in)
    # each core's input and recurrent weights together take at most 16 magnitudes
    assert max(_levels_per_core(np.concatenate([a, b]), core)) <= 16
    assert np.all(np.sign(a)[a != 0] == np.sign(w_in)[a != 0])


def test_jax_straight_through_under_jit_and_grad():
    rng = np.random.default_rng(1)
    w1, w2 = jnp.asarray(rng.normal(0, 1, (6, 8))), jnp.asarray(rng.normal(0, 1, (8, 8)))
    f = lambda a, b: jnp.sum(jnp.stack(quantize_ste([a, b])[0]) * 3.0) + jnp.sum(quantize_ste([a, b])[1] ** 2)
    ga, gb = jax.jit(jax.grad(f, argnums=(0, 1)))(w1, w2)
    qa, qb = quantized_weights_numpy([np.asarray(w1), np.asarray(w2)])
    np.testing.assert_allclose(np.asarray(ga), 3.0)  # identity backward
    np.testing.assert_allclose(np.asarray(gb), 2 * qb, rtol=1e-6)  # d/db (q(b))^2 = 2 q(b) * 1
    out = jax.jit(lambda a, b: quantize_ste([a, b]))(w1, w2)
    np.testing.assert_allclose(np.asarray(out[0]), qa)


def test_torch_straight_through_and_transform_api():
    rng = np.random.default_rng(2)
    w = torch.tensor(rng.normal(0, 1, (5, 7)), requires_grad=True)
    (q,) = quantize_ste([w])
    np.testing.assert_allclose(q.detach().numpy(), quantized_weights_numpy([w.detach().numpy()])[0])
    (q * torch.arange(7.0)).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.tile(np.arange(7.0), (5, 1)))
    net = Sequential(LinearTorch((5, 7)), DynapSimTorch((7,)))
    T_net = make_param_T_network(net, make_param_T_config(net, QuantizeT(), "weights"))
    x = torch.as_tensor((rng.random((1, 50, 5)) < 0.3).astype("float32"))
    out = T_net(x)[0]
    out.sum().backward()
    assert net[0].weight.grad is None  # the copy inside T_net is trained, not the original
    assert T_net[0]._mod.weight.grad is not None


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_fine_tuning_with_quantized_forward_reduces_the_loss(backend):
    """A few steps of SGD through the quantized weights move the rate towards a target."""
    rng = np.random.default_rng(3)
    x = (rng.random((2, 200, 8)) < 0.1).astype("float32")
    target = 0.05
    w0 = rng.normal(0, 1.0, (8, 4))
    if backend == "jax":
        net = Sequential(LinearJax((8, 4), weight=w0, has_bias=False), DynapSimJax((4,), Iscale=1e-9))

        def loss(w):
            (wq,) = quantize_ste([w])
            n = net.set_attributes({"0_LinearJax": {"weight": wq}})
            return jnp.mean((jnp.mean(n(x)[0], axis=(0, 1)) - target) ** 2)

        g = jax.jit(jax.value_and_grad(loss))
        w = jnp.asarray(w0)
        first, _ = g(w)
        for _ in range(15):
            value, grad = g(w)
            w = w - 2.0 * grad / (jnp.linalg.norm(grad) + 1e-12)
        last = g(w)[0]
    else:
        w = torch.tensor(w0, dtype=torch.float32, requires_grad=True)
        mod = DynapSimTorch((4,), Iscale=1e-9)
        xt = torch.as_tensor(x)

        def loss():
            mod.reset_state()
            (wq,) = quantize_ste([w])
            return torch.mean((torch.mean(mod(xt @ wq)[0], dim=(0, 1)) - target) ** 2)

        first = float(loss().detach())
        for _ in range(15):
            w.grad = None
            value = loss()
            value.backward()
            with torch.no_grad():
                w -= 2.0 * w.grad / (w.grad.norm() + 1e-12)
        last = float(loss().detach())
    assert float(last) < float(first)
