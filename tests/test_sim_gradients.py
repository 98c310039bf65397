"""Gradients through the simulator are usable for training, in both backends.

The spike count's surrogate derivative is taken with respect to the dimensionless distance
to threshold ``log(Imem / Ispkthr)``, so weight gradients are of order one (Rockpool's
DynapSim passes 1 per ampere and leaves them near 1e-10). The training tests use
``Iscale = 1 nA``, so that the natural weights are of order 0.1-1 and an ordinary learning
rate fits them.
"""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from rockpool.nn.combinators import Sequential
from rockpool.nn.modules import LinearJax, LinearTorch

import rockpool_dynapse2 as rd
from rockpool_dynapse2.simulation import torch_loop

N_IN, N, T = 8, 4, 200
ISCALE = 1e-9
TARGET = 10.0  # spikes per neuron over T steps
LR = 3.0  # the surrogate (sharpness 3) gives about a third of the old slope near threshold
STEPS = 10


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(0)
    x = (rng.random((1, T, N_IN)) < 0.1).astype(np.float32)
    w0 = rng.uniform(0, 0.5, (N_IN, N)).astype(np.float32)
    return x, w0


def _rate_loss(counts):
    """Mean squared relative error of each neuron's spike count to the target."""
    return ((counts / TARGET - 1.0) ** 2).mean()


# --- JAX ---------------------------------------------------------------------------------------


def _jax_loss(params, net, x):
    out, _, _ = net.set_attributes(params)(x)
    return _rate_loss(out.sum(axis=(0, 1)))


_jax_value_and_grad = jax.jit(jax.value_and_grad(_jax_loss))


def test_jax_weight_gradient_is_usable_and_sgd_learns(task):
    x, w0 = task
    net = Sequential(LinearJax((N_IN, N), weight=jnp.asarray(w0)), rd.DynapSimJax((N,), Iscale=ISCALE))
    params = net.parameters()
    losses = []
    for step in range(STEPS):
        loss, grads = _jax_value_and_grad(params, net, x)  # jax.grad under jax.jit
        g = np.asarray(grads["0_LinearJax"]["weight"])
        if step == 0:
            assert np.all(np.isfinite(g)) and np.any(g != 0)
            assert 1e-6 < np.abs(g).mean() < 1e2, np.abs(g).mean()
        losses.append(float(loss))
        params = jax.tree_util.tree_map(lambda p, d: p - LR * d, params, grads)
    assert losses[0] > 0.1
    assert min(losses[-3:]) < 0.5 * losses[0], losses


def test_jax_trainable_currents_get_gradients():
    mod = rd.DynapSimJax((N,), Idc=3e-9, trainable=("Ispkthr", "Itau_mem"))
    assert set(mod.parameters()) == {"Ispkthr", "Itau_mem"}
    x = np.random.default_rng(1).uniform(0, 0.05, (1, T, N)).astype(np.float32)

    def loss(params):
        out, _, _ = mod.set_attributes(params)(x)
        return _rate_loss(out.sum(axis=(0, 1)))

    grads = jax.jit(jax.grad(loss))(mod.parameters())
    for name in ("Ispkthr", "Itau_mem"):
        g = np.asarray(grads[name])
        assert g.shape == (N,)
        assert np.all(np.isfinite(g)) and np.all(g != 0), (name, g)
    # A higher threshold means fewer spikes: it lowers the loss when there are too many.
    too_many = np.asarray(mod(x)[0].sum(axis=(0, 1))) > TARGET
    assert np.all(np.sign(grads["Ispkthr"]) == np.where(too_many, -1, 1))


def test_jax_second_call_does_not_retrace():
    """Counted from JAX's own trace and compile events, not from wall time."""
    import jax

    events = []
    jax.monitoring.register_event_duration_secs_listener(lambda name, duration, **kw: events.append(name))
    mod = rd.DynapSimJax((64,), Idc=1e-8)
    x = np.zeros((1, 200, 64), np.float32)
    mod(x)[0].block_until_ready()  # compiles
    assert any("trace" in e for e in events)
    before = len(events)
    for _ in range(3):
        out, state, _ = mod(x)
        out.block_until_ready()
    assert [e for e in events[before:] if "trace" in e or "compile" in e] == []
    assert np.asarray(out).sum() > 0


# --- torch -------------------------------------------------------------------------------------


def test_torch_weight_gradient_is_usable_and_sgd_learns(task):
    x, w0 = task
    net = Sequential(LinearTorch((N_IN, N), weight=torch.as_tensor(w0)), rd.DynapSimTorch((N,), Iscale=ISCALE))
    weight = net[0].weight
    xs = torch.as_tensor(x)
    losses = []
    for step in range(STEPS):
        net.reset_state()
        out, _, _ = net(xs)
        loss = _rate_loss(out.sum(dim=(0, 1)))
        weight.grad = None  # (torch's zero_grad() expects torch's parameters(), not Rockpool's dict)
        loss.backward()
        g = weight.grad.detach().numpy()
        if step == 0:
            assert np.all(np.isfinite(g)) and np.any(g != 0)
            assert 1e-6 < np.abs(g).mean() < 1e2, np.abs(g).mean()
        losses.append(float(loss.detach()))
        with torch.no_grad():
            weight -= LR * weight.grad
    assert losses[0] > 0.1
    assert min(losses[-3:]) < 0.5 * losses[0], losses


def test_torch_trainable_currents_get_gradients():
    mod = rd.DynapSimTorch((N,), Idc=3e-9, trainable=("Ispkthr", "Itau_mem"))
    assert set(mod.parameters()) == {"Ispkthr", "Itau_mem"}
    x = np.random.default_rng(1).uniform(0, 0.05, (1, T, N)).astype(np.float32)
    out, _, _ = mod(x)
    _rate_loss(out.sum(dim=(0, 1))).backward()
    for name in ("Ispkthr", "Itau_mem"):
        g = getattr(mod, name).grad
        assert g is not None and g.shape == (N,)
        assert torch.all(torch.isfinite(g)) and torch.all(g != 0), (name, g)
    too_many = out.detach().sum(dim=(0, 1)) > TARGET
    assert torch.equal(torch.sign(mod.Ispkthr.grad), torch.where(too_many, -1.0, 1.0))


# --- JAX vs torch ------------------------------------------------------------------------------


def test_jax_and_torch_gradients_agree_in_float64():
    """Gradient of a spike-count loss w.r.t. input weights W (input = spikes @ W), float64."""
    n_in, n, t = 6, 5, 300
    rng = np.random.default_rng(2)
    spikes_in = (rng.random((2, t, n_in)) < 0.1).astype(np.float64)
    w = rng.uniform(-0.2, 1.0, (n_in, n))
    kwargs = dict(Iscale=ISCALE, Idc=1e-10, dtype="float64", w_rec=rng.uniform(0, 0.5, (n, n)))
    target = np.array([3.0, 5.0, 8.0, 12.0, 20.0])

    with jax.enable_x64(True):
        mod = rd.DynapSimJax((n,), **kwargs)

        def loss_jax(weights):
            out, _, _ = mod(jnp.asarray(spikes_in) @ weights)
            return jnp.sum((out.sum(axis=(0, 1)) - target) ** 2)

        value_j, grad_j = jax.value_and_grad(loss_jax)(jnp.asarray(w))
        value_j, grad_j = float(value_j), np.asarray(grad_j)

    mod_t = rd.DynapSimTorch((n,), **kwargs)
    w_t = torch.tensor(w, requires_grad=True)
    out_t, _, _ = mod_t(torch.as_tensor(spikes_in) @ w_t)
    loss_t = torch.sum((out_t.sum(dim=(0, 1)) - torch.as_tensor(target)) ** 2)
    loss_t.backward()
    grad_t = w_t.grad.numpy()

    assert value_j == float(loss_t.detach()) and value_j > 0
    assert np.all(np.isfinite(grad_j)) and np.abs(grad_j).max() > 0
    cosine = np.sum(grad_j * grad_t) / (np.linalg.norm(grad_j) * np.linalg.norm(grad_t))
    assert cosine > 0.99, cosine
    np.testing.assert_allclose(grad_j, grad_t, rtol=1e-5, atol=1e-8 * np.abs(grad_j).max())


def test_recurrent_gradients_stay_finite_over_long_sequences_and_match_the_plain_backward():
    """1000 steps of a recurrent network: finite gradients (the feedback's voltage carries
    none), and the after-the-loop recurrent gradient equals JAX's own scan backward."""
    import jax
    import jax.numpy as jnp

    from rockpool_dynapse2 import DynapSimJax
    from rockpool_dynapse2.simulation import jax_module as jm

    rng = np.random.default_rng(0)
    x = (rng.random((2, 1000, 48)) < 0.05).astype(np.float32) * 2
    mod = DynapSimJax((48,), has_rec=True, seed=0, trainable=("Ispkthr",))
    loss = lambda p: jnp.mean((mod.set_attributes(p)(x)[0] - 0.05) ** 2)
    fast = jax.grad(loss)(mod.parameters())
    assert all(bool(jnp.isfinite(g).all()) for g in fast.values())
    assert float(jnp.abs(fast["w_rec"]).sum()) > 0
    original = jm._run_recurrent
    try:
        jm._run_recurrent = jm._run  # JAX's own backward through the scan
        jm.evolve_arrays.clear_cache()
        plain = jax.grad(loss)(mod.parameters())
    finally:
        jm._run_recurrent = original
        jm.evolve_arrays.clear_cache()
    np.testing.assert_allclose(np.asarray(fast["w_rec"]), np.asarray(plain["w_rec"]), rtol=1e-4, atol=1e-7 * float(jnp.abs(plain["w_rec"]).max()))
    np.testing.assert_allclose(np.asarray(fast["Ispkthr"]), np.asarray(plain["Ispkthr"]), rtol=1e-4)


@pytest.mark.parametrize("max_spikes, batch, steps, scale", [(float("inf"), 3, 130, 3), (1.5, 2, 70, 300), (2.0, 1, 1, 3)])
def test_recurrent_gradient_after_the_loop_equals_the_scan_backward(max_spikes, batch, steps, scale):
    """The after-the-loop recurrent gradient (from a small-integer raster, in windows of
    steps, the last one shifted back) equals JAX's own scan backward, also with a
    fractional spike cap and T = 1."""
    from rockpool_dynapse2 import DynapSimJax
    from rockpool_dynapse2.simulation import jax_module as jm

    rng = np.random.default_rng(3)
    x = (rng.random((batch, steps, 24)) < 0.2).astype(np.float32) * scale  # 300: capped counts (1.5)
    mod = DynapSimJax((24,), has_rec=True, seed=1, Idc=2e-9, max_spikes_per_dt=max_spikes)
    mod = mod.set_attributes({"spikes": jnp.ones(24)})  # last step's spikes reach step 0 too
    loss = lambda p: jnp.mean((mod.set_attributes(p)(x)[0] - 0.3) ** 2)
    fast = jax.grad(loss)(mod.parameters())["w_rec"]
    assert float(jnp.abs(fast).sum()) > 0
    original = jm._run_recurrent
    try:
        jm._run_recurrent = jm._run
        jm.evolve_arrays.clear_cache()
        plain = jax.grad(loss)(mod.parameters())["w_rec"]
    finally:
        jm._run_recurrent = original
        jm.evolve_arrays.clear_cache()
    np.testing.assert_allclose(np.asarray(fast), np.asarray(plain), rtol=1e-4, atol=1e-6 * float(jnp.abs(plain).max()))


@pytest.mark.parametrize("chunk, stacked", [(None, None), (7, None), (None, 3)],
                         ids=["default-blocks", "blocks-of-7", "currents-3-steps-at-once"])
def test_torch_backward_equals_jax_autodiff_for_every_gradient(chunk, stacked, monkeypatch):
    """torch's time loop is one autograd node with a hand-written backward pass; its
    gradients w.r.t. the input, the recurrent weights and trainable currents equal JAX's
    automatic differentiation (float64, multi-synapse layout, a loss on the spikes and on a
    recorded current), whether the forward pass keeps every state or blocks of 7 steps, and
    whether the currents' gradient differentiates a block's steps stacked all at once (the
    default) or 3 at a time (``STACKED_ELEMENTS``)."""
    n, t = 4, 150
    if stacked is not None:
        monkeypatch.setattr(torch_loop, "STACKED_ELEMENTS", stacked * 2 * 4 * n)  # steps x batch x inputs
    rng = np.random.default_rng(5)
    x = rng.uniform(0.0, 1.5, (2, t, 4 * n)) * (rng.random((2, t, 4 * n)) < 0.3)
    x[..., 2::4] *= 0.3  # GABA
    x[..., 3::4] *= 0.05  # SHUNT
    kwargs = dict(
        Iscale=ISCALE,
        Idc=rng.uniform(3e-9, 6e-9, n),
        If_nmda=1e-11,
        Iw_ahp=2e-10,
        dtype="float64",
        w_rec=rng.uniform(0, 0.8, (n, 4 * n)),
        trainable=("Itau_mem", "Ispkthr", "Igain_ampa"),
    )
    names = ("w_rec", "Itau_mem", "Ispkthr", "Igain_ampa")

    with jax.enable_x64(True):
        mod = rd.DynapSimJax((4 * n, n), **kwargs)

        def loss_jax(params, xx):
            out, _, rec = mod.set_attributes(params)(xx, record=True)
            return jnp.sum(out * jnp.arange(1.0, n + 1)) + jnp.sum(rec["imem"]) / 1e-9

        params = {k: v for k, v in mod.parameters().items()}
        value_j, (g_params_j, g_x_j) = jax.value_and_grad(loss_jax, argnums=(0, 1))(params, jnp.asarray(x))

    mod_t = rd.DynapSimTorch((4 * n, n), chunk=chunk, **kwargs)
    x_t = torch.tensor(x, requires_grad=True)
    out_t, _, rec_t = mod_t(x_t, record=True)
    loss_t = torch.sum(out_t * torch.arange(1.0, n + 1, dtype=torch.float64)) + torch.sum(rec_t["imem"]) / 1e-9
    loss_t.backward()

    assert float(value_j) == pytest.approx(float(loss_t.detach()), rel=1e-12)
    assert out_t.sum() > 5
    grads = {"x": (np.asarray(g_x_j), x_t.grad.numpy())}
    grads.update({k: (np.asarray(g_params_j[k]), getattr(mod_t, k).grad.numpy()) for k in names})
    for name, (want, got) in grads.items():
        assert np.abs(want).max() > 0, name
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9 * np.abs(want).max(), err_msg=name)


def test_torch_gradients_are_the_same_whether_the_forward_pass_keeps_every_step(monkeypatch):
    """A run that fits in ``KEPT_BYTES`` keeps every step's state (and, eagerly, its terms)
    for the backward pass; one that does not keeps the start of each block and runs the
    blocks again. Spikes and gradients (input, ``w_rec``, trained currents) are the same."""
    n, t = 4, 150
    rng = np.random.default_rng(5)
    x = rng.uniform(0.0, 1.5, (2, t, 4 * n)) * (rng.random((2, t, 4 * n)) < 0.3)
    x[..., 2::4] *= 0.3  # GABA
    x[..., 3::4] *= 0.05  # SHUNT
    kwargs = dict(Iscale=ISCALE, Idc=rng.uniform(3e-9, 6e-9, n), If_nmda=1e-11, Iw_ahp=2e-10, dtype="float64",
                  w_rec=rng.uniform(0, 0.8, (n, 4 * n)), trainable=("Itau_mem", "Ispkthr"))
    results = []
    for kept_bytes in (torch_loop.KEPT_BYTES, 0):
        monkeypatch.setattr(torch_loop, "KEPT_BYTES", kept_bytes)
        mod = rd.DynapSimTorch((4 * n, n), **kwargs)
        xt = torch.tensor(x, requires_grad=True)
        out, _, _ = mod(xt)
        (out * torch.arange(1.0, n + 1, dtype=torch.float64)).sum().backward()
        results.append((out.detach(), xt.grad, mod.w_rec.grad, mod.Itau_mem.grad, mod.Ispkthr.grad))
    assert results[0][0].sum() > 5
    for kept, again, name in zip(*results, ("spikes", "x", "w_rec", "Itau_mem", "Ispkthr")):
        assert torch.abs(kept).max() > 0, name
        torch.testing.assert_close(kept, again, rtol=1e-12, atol=0, msg=name)


def test_torch_per_row_parameters_equal_separate_chips():
    """``DynapSimTorch.simulate(x, rows=...)``: every batch element its own chip (currents,
    layout constants, ``w_rec``); spikes and gradients equal separate runs of each chip."""
    n, t, chips = 4, 120, 3
    rng = np.random.default_rng(8)
    kwargs = dict(Iscale=ISCALE, Idc=3e-9, dtype="float64", w_rec=rng.uniform(0, 0.5, (n, n)))
    mod = rd.DynapSimTorch((n,), **kwargs)
    x = torch.as_tensor(rng.uniform(-0.5, 1.5, (1, t, n)) * (rng.random((1, t, n)) < 0.3))
    itau = mod.Itau_mem.detach() * torch.as_tensor(rng.uniform(0.7, 1.3, (chips, n)))
    c_mem = mod.C_mem.detach() * torch.as_tensor(rng.uniform(0.7, 1.3, (chips, n)))
    w_rec = mod.w_rec.detach() * torch.as_tensor(rng.uniform(0.7, 1.3, (chips, n, n)))
    w_rows = w_rec.clone().requires_grad_(True)
    xs = x.repeat(chips, 1, 1).requires_grad_(True)
    out = mod.simulate(xs, rows={"Itau_mem": itau, "C_mem": c_mem, "w_rec": w_rows})
    (out * torch.arange(1.0, n + 1, dtype=torch.float64)).sum().backward()
    assert out.sum() > 10
    for k in range(chips):
        chip = {"w_rec": w_rec[k].numpy(), "Itau_mem": itau[k].numpy(), "C_mem": c_mem[k].numpy()}
        single = rd.DynapSimTorch((n,), **{**kwargs, **chip})
        xk = x.clone().requires_grad_(True)
        out_k, _, _ = single(xk)
        (out_k * torch.arange(1.0, n + 1, dtype=torch.float64)).sum().backward()
        assert torch.equal(out[k], out_k[0]), k
        torch.testing.assert_close(xs.grad[k], xk.grad[0], rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(w_rows.grad[k], single.w_rec.grad, rtol=1e-9, atol=1e-12)
    # Chips differ: the rows are not all the same network.
    assert not torch.equal(out[0], out[1])


def test_torch_per_row_parameters_reject_bad_names_and_shapes():
    mod = rd.DynapSimTorch((4,), Idc=3e-9)
    x = torch.zeros(2, 10, 4)
    with pytest.raises(rd.errors.UnknownParameterError, match="Itau_membrane"):
        mod.simulate(x, rows={"Itau_membrane": torch.ones(2, 4)})
    with pytest.raises(rd.errors.ShapeError, match="Itau_mem"):
        mod.simulate(x, rows={"Itau_mem": torch.ones(3, 4) * 1e-12})
    with pytest.raises(rd.errors.ParameterValueError, match="w_rec"):
        mod.simulate(x, rows={"w_rec": torch.ones(2, 4, 4)})
