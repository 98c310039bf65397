"""``feedback_gradient`` (issue #15, session 24): the share of the positive feedback factor's
derivative the backward pass keeps (:mod:`rockpool_dynapse2.simulation.membrane`).

The forward pass is the same at every share, bit for bit, in both backends; the share
bounds a neuron's relative sensitivity to its own past between spikes (the cause of the
exploding gradient found in session 23); torch's hand-written backward pass keeps the same
share as JAX's automatic differentiation (its step is compared with autodiff at every share
in ``test_sim_step_vjp.py``); the option reaches the model from ``TrainSettings``, the
``train`` command and a saved network.
"""

import json

import numpy as np
import pytest

from rockpool_dynapse2.errors import ParameterValueError


def _drive(n_in: int, T: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.0, 1.0, (2, T, n_in)) * (rng.random((2, T, n_in)) < 0.2)).astype(np.float32)


def _recurrent(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(0.0, 0.3, (n, n)) * (rng.random((n, n)) < 0.5)).astype(np.float32)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_forward_pass_is_the_same_at_every_share(backend):
    import rockpool_dynapse2 as rd

    n, T = 6, 300
    x = _drive(n, T)
    kw = dict(w_rec=_recurrent(n), Idc=2e-10, Iscale=1e-9)
    runs = []
    for share in (1.0, 0.5, 0.0):
        if backend == "jax":
            spikes, _, rec = rd.DynapSimJax((n,), feedback_gradient=share, **kw)(x, record=True)
            runs.append((np.asarray(spikes), np.asarray(rec["imem"])))
        else:
            import torch

            mod = rd.DynapSimTorch((n,), feedback_gradient=share, **kw)
            spikes, _, rec = mod(torch.as_tensor(x), record=True)
            runs.append((spikes.detach().numpy(), rec["imem"].detach().numpy()))
    assert runs[0][0].sum() > 20  # the neurons fire: the feedback is exercised
    for spikes, imem in runs[1:]:
        np.testing.assert_array_equal(spikes, runs[0][0])
        np.testing.assert_array_equal(imem, runs[0][1])


def _relative_sensitivity(share: float) -> np.ndarray:
    """``d log I_mem(t+1) / d log I_mem(t)`` of every neuron and step of a driven trajectory
    between spikes (a spike resets ``I_mem``: no gradient passes it)."""
    import jax
    import jax.numpy as jnp

    import rockpool_dynapse2 as rd
    from rockpool_dynapse2.simulation.jax_module import OPS
    from rockpool_dynapse2.simulation.records import DynapState
    from rockpool_dynapse2.simulation.step import loop_state, prepare, split_signed_input, step_terms

    n, T = 8, 600
    rng = np.random.default_rng(0)
    mod = rd.DynapSimJax((n,), Idc=rng.uniform(5e-11, 5e-10, n), Iscale=1e-9)
    drive = _drive(n, T)[:1]
    spikes, _, rec = mod(jnp.asarray(drive), record=True)
    fired = np.asarray(spikes[0])[1:] > 0
    assert fired.sum(axis=0).min() >= 5  # every neuron fires regularly: stretches near threshold are covered
    c = prepare(OPS, mod.parameters_record(), jnp.asarray(1e-3, jnp.float32), True, share)
    at = lambda name: jnp.asarray(np.asarray(rec[name])[0, :-1])  # noqa: E731  the state before step t + 1
    isyn = jnp.stack([at(f"i{s}") for s in ("ampa", "nmda", "gaba", "shunt")], -1)
    before = loop_state(DynapState(isyn, at("iahp"), at("imem"), at("vmem"), at("timer_ref"), at("spikes")), (1, 3))

    def log_next(log_imem, s, u):  # log I_mem after a step (before a reset) of log I_mem before it
        terms = step_terms(OPS, c, s._replace(imem=jnp.exp(log_imem)), u, split_signed_input, jnp.asarray(np.inf))
        return jnp.log(terms.imem)

    relative = jax.vmap(lambda s, u: jax.jacfwd(lambda v: log_next(v, s, u))(jnp.log(s.imem)).diagonal())(
        before, jnp.asarray(drive[0, 1:]))
    relative = np.asarray(relative)[~fired]
    assert np.isfinite(relative).all() and relative.min() >= 0
    return relative


def test_the_share_bounds_a_neurons_memory_of_its_past_between_spikes():
    """The cause of the exploding gradient found in session 23: with the exact derivative a
    neuron's relative sensitivity to its last step reaches 0.9999 between spikes (a
    perturbation is carried for thousands of steps, and through recurrent weights the
    backward pass of larger networks on mismatched chips grew a million-fold over a sample).
    A share ``s`` of the feedback factor's derivative brings the largest to about
    ``1 - 0.01 (1 - s)``: a memory of about 200 steps at ``s = 0.5``, 100 at ``s = 0``."""
    exact, half, none = (_relative_sensitivity(s) for s in (1.0, 0.5, 0.0))
    assert exact.max() > 0.999
    assert half.max() < 0.996 and none.max() < 0.991
    assert np.median(none) < np.median(half) < np.median(exact)
    assert (half <= exact + 1e-6).all() and (none <= half + 1e-6).all()


def test_both_backends_keep_the_same_share_of_the_gradient():
    """JAX differentiates the forward pass; torch runs the hand-written backward pass
    (:mod:`rockpool_dynapse2.simulation.step_vjp`): their gradients agree at a share below
    1, and differ from the exact derivative's."""
    import jax
    import jax.numpy as jnp
    import torch

    import rockpool_dynapse2 as rd

    n, T = 6, 200
    x = _drive(n, T, seed=2)
    kw = dict(w_rec=_recurrent(n), Idc=2e-10, Iscale=1e-9)

    def jax_grad(share):
        mod = rd.DynapSimJax((n,), feedback_gradient=share, **kw)
        w = jnp.asarray(kw["w_rec"])

        def loss(w):
            spikes, _, _ = mod.set_attributes({"w_rec": w})(jnp.asarray(x))
            return jnp.sum((spikes.sum(1) - 5.0) ** 2)

        return np.asarray(jax.grad(loss)(w))

    def torch_grad(share):
        mod = rd.DynapSimTorch((n,), feedback_gradient=share, **kw)
        spikes, _, _ = mod(torch.as_tensor(x))
        torch.sum((spikes.sum(1) - 5.0) ** 2).backward()
        return mod.w_rec.grad.numpy()

    g_half_jax, g_half_torch, g_exact = jax_grad(0.5), torch_grad(0.5), jax_grad(1.0)
    scale = np.abs(g_half_jax).max()
    assert scale > 0
    np.testing.assert_allclose(g_half_torch, g_half_jax, rtol=2e-3, atol=2e-4 * scale)
    assert np.abs(g_exact - g_half_jax).max() > 0.01 * scale


def test_train_takes_a_feedback_gradient_that_reaches_the_model_and_results(train_argv, train_jobs):
    from rockpool_dynapse2.app.cli import main
    from rockpool_dynapse2.app.train_pipeline import TrainJob, build_model

    for extra in ([], ["--feedback-gradient", "0.5"], ["--feedback-gradient", "0"]):
        assert main(train_argv + extra) == 0
    assert [build_model(task, job).settings.feedback_gradient for task, job in train_jobs] == [1.0, 0.5, 0.0]
    assert [j.resolved()["feedback_gradient"] for _, j in train_jobs] == [1.0, 0.5, 0.0]  # results.json's "job"
    for bad in (-0.01, 1.5, float("nan"), "0.5", True):
        with pytest.raises(ParameterValueError, match="--feedback-gradient"):
            TrainJob(feedback_gradient=bad)
    assert main(train_argv + ["--feedback-gradient", "2"]) != 0


def test_a_saved_network_keeps_its_share_and_an_older_one_reloads_with_the_exact_derivative(tmp_path):
    from rockpool_dynapse2.training import ChipModel, NetworkLayout, TrainResult, TrainSettings, load_parameters, save_parameters

    model = ChipModel(NetworkLayout.layered(4, [4], 2, per_class=1), TrainSettings(feedback_gradient=0.5))
    path = save_parameters(tmp_path / "n.npz", TrainResult(model, model.initial_parameters(), "jax"))
    reloaded = load_parameters(path)
    assert reloaded.model.settings.feedback_gradient == 0.5
    static = dict(list(reloaded.to_rockpool("jax").modules().values())[1]._static)
    assert static["feedback_gradient"] == 0.5  # the network rebuilt as modules trains with it too
    data = dict(np.load(path))
    meta = json.loads(str(data.pop("meta")))
    del meta["settings"]["feedback_gradient"]
    np.savez(tmp_path / "old.npz", meta=np.array(json.dumps(meta)), **data)
    assert load_parameters(tmp_path / "old.npz").model.settings.feedback_gradient == 1.0
