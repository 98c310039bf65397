"""The surrogate gradient stays usable along training on a temporal task: bounded, lowering
the loss, pointing where finite differences of a smoothed loss go, and the same in both
backends (``benchmarks/gradient_fd_check.py`` measures the agreement at other sizes; see
docs/results.md).

The surrogate's width is what keeps it so (``simulation.spiking.SURROGATE_SHARPNESS``):
with a width of one e-fold of current, the summed surrogate of a DPI neuron was four
times its spike count, and through recurrent weights the backward pass grew without
bound (see docs/training.md).
"""

import numpy as np
import pytest

from rockpool_dynapse2.app.tasks import rate_frequency
from rockpool_dynapse2.simulation.spiking import SURROGATE_SHARPNESS, surrogate_antiderivative, surrogate_slope
from rockpool_dynapse2.training import ChipModel, NetworkLayout, TrainSettings


def _task():
    return rate_frequency(n_samples=96, seed=3, duration=0.2, n_channels=16, frequencies=(10.0, 40.0), test_fraction=0.0)


def _model(**kw):
    layout = NetworkLayout.layered(16, hidden=(16,), n_classes=2, per_class=4, recurrent_probability=0.5)
    settings = dict(epochs=12, batch_size=32, learning_rate=0.02, inject=False, quantize=False, snap_codes=False,
                    validation_fraction=0.0, recurrent_scale=0.3, seed=1)
    settings.update(kw)
    return ChipModel(layout, TrainSettings(**settings))


@pytest.fixture(scope="module")
def trained():
    from rockpool_dynapse2.training.jax_trainer import train_jax

    task = _task()
    model = _model()
    return model, task, train_jax(model, task.x_train, task.y_train)


def test_the_surrogate_is_the_derivative_of_its_antiderivative_and_narrow():
    x = np.linspace(-4, 4, 801)
    numeric = np.gradient(surrogate_antiderivative(x), x)
    smooth = np.abs(x) > 0.05  # the slope has a kink at threshold
    assert np.allclose(numeric[smooth][1:-1], surrogate_slope(x)[smooth][1:-1], atol=2e-3)
    # A factor e^2 below threshold (x = -2) passes less than a 20th of the peak slope.
    assert surrogate_slope(-2.0) < 0.05 and SURROGATE_SHARPNESS >= 3


def test_gradient_norms_stay_bounded_along_training(trained):
    _, _, result = trained
    norms = result.curve("grad_norm_max")
    assert np.isfinite(norms).all() and result.curve("skipped").sum() == 0
    assert norms[-4:].max() < 10 * np.median(norms[:4])
    losses = result.curve("loss")
    assert losses[-3:].mean() < losses[:3].mean()


def test_both_backends_give_the_same_gradient():
    import jax
    import jax.numpy as jnp
    import torch

    from rockpool_dynapse2.training.constraints import jax_ops, torch_ops
    from rockpool_dynapse2.training.jax_trainer import simulate_jax
    from rockpool_dynapse2.training.torch_trainer import _as_tensors, _neurons, simulate_torch

    task = _task()
    model = _model(quantize=True, snap_codes=True)
    params = model.initial_parameters()
    x, y = task.x_train[:8], task.y_train[:8]
    onehot = np.eye(2, dtype=np.float32)[y]

    def jax_loss(p):
        counts = simulate_jax(model, p, jnp.asarray(x)).sum(1)
        ce, rate = model.loss_terms(counts, jnp.asarray(onehot), jax_ops())
        return ce + rate

    g_jax = jax.grad(jax_loss)(jax.tree_util.tree_map(jnp.asarray, params))
    p_t = _as_tensors(params, requires_grad=True)
    counts = simulate_torch(model, _neurons(model, False), p_t, torch.as_tensor(x)).sum(1)
    ce, rate = model.loss_terms(counts, torch.as_tensor(onehot), torch_ops())
    (ce + rate).backward()
    assert torch_ops().name == "torch"
    for key in ("w_in", "w_rec"):
        a, b = np.asarray(g_jax[key]), p_t[key].grad.numpy()
        assert np.abs(a).max() > 0
        assert np.allclose(a, b, rtol=2e-3, atol=2e-4 * np.abs(a).max()), key
    for name, g in g_jax["core"].items():
        assert np.allclose(np.asarray(g), p_t["core"][name].grad.numpy(), rtol=2e-3, atol=2e-4 * max(1e-12, np.abs(np.asarray(g)).max())), name


def _smoothed_loss(model, x, y, draws=8, sigma=0.05, seed=5):
    """The loss averaged over ``draws`` fixed random perturbations of the weights (the
    loss of a spiking network is piecewise constant in its weights; this average is smooth)."""
    import jax
    import jax.numpy as jnp

    from rockpool_dynapse2.training.constraints import jax_ops
    from rockpool_dynapse2.training.jax_trainer import simulate_jax

    masks = {"w_in": model.connections.input, "w_rec": model.connections.recurrent}
    rng = np.random.default_rng(seed)
    noise = {k: jnp.asarray(rng.normal(0, sigma, (draws,) + m.shape) * m, jnp.float32) for k, m in masks.items()}
    onehot = jax.nn.one_hot(jnp.asarray(y), model.layout.n_classes)

    def loss(p):
        def one(n_in, n_rec):
            q = {**p, "w_in": p["w_in"] + n_in, "w_rec": p["w_rec"] + n_rec}
            ce, rate = model.loss_terms(simulate_jax(model, q, jnp.asarray(x)).sum(1), onehot, jax_ops())
            return ce + rate

        return jnp.mean(jax.vmap(one)(noise["w_in"], noise["w_rec"]))

    return masks, jax.jit(loss), jax.jit(jax.grad(loss))


@pytest.mark.parametrize("when", ["initial", "trained"])
def test_the_surrogate_gradient_agrees_with_finite_differences_of_a_smoothed_loss(trained, when):
    """Along directions ``a g/|g| + 0.7 r`` (``a`` from -1 to 1, ``r`` a random direction
    orthogonal to the gradient ``g``), central differences of the smoothed loss rise with the
    gradient's prediction ``g . d``: strongly correlated, with a positive slope. A gradient that
    pointed nowhere in particular would leave the differences flat in ``a`` (only the random
    part would move them) and the correlation near zero."""
    import jax
    import jax.numpy as jnp

    model, task, result = trained
    params = model.initial_parameters() if when == "initial" else result.params
    params = jax.tree_util.tree_map(jnp.asarray, params)
    masks, loss, grad = _smoothed_loss(model, task.x_train[:48], task.y_train[:48])
    g = grad(params)
    norm = np.sqrt(sum(float((g[k] ** 2).sum()) for k in masks))
    assert np.isfinite(norm) and norm > 0
    ghat = {k: np.asarray(g[k]) / norm for k in masks}
    rng = np.random.default_rng(0)
    fd, predicted = [], []
    for a in np.linspace(-1, 1, 7):
        r = {k: rng.normal(0, 1, m.shape) * m for k, m in masks.items()}
        along = sum(float((r[k] * ghat[k]).sum()) for k in masks)
        r = {k: r[k] - along * ghat[k] for k in masks}
        r_norm = np.sqrt(sum(float((v**2).sum()) for v in r.values()))
        d = {k: jnp.asarray(a * ghat[k] + 0.7 * r[k] / r_norm, jnp.float32) for k in masks}
        h = 0.1
        up = float(loss({**params, **{k: params[k] + h * d[k] for k in d}}))
        down = float(loss({**params, **{k: params[k] - h * d[k] for k in d}}))
        fd.append((up - down) / (2 * h))
        predicted.append(float(sum((g[k] * d[k]).sum() for k in d)))
    fd, predicted = np.array(fd), np.array(predicted)
    assert np.corrcoef(fd, predicted)[0, 1] > 0.8
    assert np.polyfit(predicted, fd, 1)[0] > 0.05  # the loss falls along -g, measurably
