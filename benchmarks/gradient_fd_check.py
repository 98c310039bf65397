"""Does the surrogate gradient point where the loss goes? Finite differences of a smoothed loss.

The loss of a spiking network is piecewise constant in its weights; its average over
small random perturbations of the weights (``--sigma``, ``--draws`` fixed draws) is
smooth. This trains a small network on a temporal task for ``--epochs``, then compares,
along ``--directions`` random unit directions of the weights, the surrogate gradient of
that smoothed loss with its central finite differences (step ``--step``), for two
independent sets of perturbations: the correlation of the two finite-difference estimates
with each other bounds what the gradient's correlation with them can show.

Random directions of many weights are nearly orthogonal to the gradient, so the
differences along them are small and noisy. ``--mixed`` uses the directions
``a g/|g| + 0.7 r`` instead (``a`` from -1 to 1, ``r`` random and orthogonal to the
gradient): a gradient that points where the loss goes makes the differences follow ``a``
(``tests/test_gradient_stability.py`` asserts this at the start and the end of training).

    python benchmarks/gradient_fd_check.py --epochs 12 --recurrent-scale 0.3
    python benchmarks/gradient_fd_check.py --epochs 12 --mixed
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np


def main() -> None:
    import jax
    import jax.numpy as jnp

    from rockpool_dynapse2.app.tasks import rate_frequency
    from rockpool_dynapse2.training import ChipModel, NetworkLayout, TrainSettings
    from rockpool_dynapse2.training.jax_trainer import simulate_jax, train_jax
    from rockpool_dynapse2.training.constraints import jax_ops

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--recurrent-scale", type=float, default=0.3)
    parser.add_argument("--sigma", type=float, default=0.05)
    parser.add_argument("--draws", type=int, default=48)
    parser.add_argument("--step", type=float, default=0.05)
    parser.add_argument("--directions", type=int, default=12)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--mixed", action="store_true", help="directions a g/|g| + 0.7 r (see the module docstring)")
    args = parser.parse_args()

    task = rate_frequency(n_samples=96, seed=3, duration=0.2, n_channels=16, frequencies=(10.0, 40.0), test_fraction=0.0)
    layout = NetworkLayout.layered(16, hidden=(16,), n_classes=2, per_class=4, recurrent_probability=0.5)
    model = ChipModel(layout, TrainSettings(epochs=max(1, args.epochs), batch_size=32, learning_rate=0.02, inject=False,
                                            quantize=False, snap_codes=False, validation_fraction=0.0,
                                            recurrent_scale=args.recurrent_scale, seed=1))
    params = model.initial_parameters()
    if args.epochs > 0:
        params = train_jax(model, task.x_train, task.y_train).params
    params = jax.tree_util.tree_map(jnp.asarray, params)
    x, y = jnp.asarray(task.x_train[: args.samples]), jnp.asarray(task.y_train[: args.samples])
    onehot = jax.nn.one_hot(y, 2)
    masks = {"w_in": model.connections.input, "w_rec": model.connections.recurrent}

    def smoothed(p, noise):
        def one(n_in, n_rec):
            q = {**p, "w_in": p["w_in"] + n_in, "w_rec": p["w_rec"] + n_rec}
            ce, rate = model.loss_terms(model.readout_counts(simulate_jax(model, q, x)), onehot, jax_ops())
            return ce + rate

        return jnp.mean(jax.vmap(one)(noise["w_in"], noise["w_rec"]))

    rng = np.random.default_rng(0)
    dirs = []
    for _ in range(args.directions):
        d = {k: rng.normal(0, 1, m.shape) * m for k, m in masks.items()}
        norm = np.sqrt(sum((v**2).sum() for v in d.values()))
        dirs.append({k: jnp.asarray(v / norm, jnp.float32) for k, v in d.items()})
    results = []
    for seed in (1, 2):
        r = np.random.default_rng(seed)
        noise = {k: jnp.asarray(r.normal(0, args.sigma, (args.draws,) + m.shape) * m, jnp.float32) for k, m in masks.items()}
        loss = jax.jit(lambda p: smoothed(p, noise))
        grad = jax.grad(lambda p: smoothed(p, noise))(params)
        if args.mixed:
            dirs = _mixed_directions(grad, masks, args.directions, rng)
        h = args.step
        fd = np.array([float(loss({**params, **{k: params[k] + h * d[k] for k in d}})
                             - loss({**params, **{k: params[k] - h * d[k] for k in d}})) / (2 * h) for d in dirs])
        an = np.array([float(sum((grad[k] * d[k]).sum() for k in d)) for d in dirs])
        results.append((fd, an))
        print(f"perturbations {seed}: corr(gradient, finite differences) = {np.corrcoef(fd, an)[0, 1]:+.2f}, "
              f"|gradient| / |finite differences| = {np.std(an) / np.std(fd):.2f}")
    print(f"corr(finite differences 1, 2) = {np.corrcoef(results[0][0], results[1][0])[0, 1]:+.2f} (the ceiling); "
          f"corr(gradient 1, 2) = {np.corrcoef(results[0][1], results[1][1])[0, 1]:+.2f}")


def _mixed_directions(grad, masks, n, rng):
    """``a g/|g| + 0.7 r`` for ``n`` values of ``a`` in [-1, 1], ``r`` random, orthogonal to ``g``."""
    import jax.numpy as jnp

    norm = np.sqrt(sum(float((grad[k] ** 2).sum()) for k in masks))
    ghat = {k: np.asarray(grad[k]) / norm for k in masks}
    dirs = []
    for a in np.linspace(-1, 1, n):
        r = {k: rng.normal(0, 1, m.shape) * m for k, m in masks.items()}
        along = sum(float((r[k] * ghat[k]).sum()) for k in masks)
        r = {k: r[k] - along * ghat[k] for k in masks}
        r_norm = np.sqrt(sum(float((v**2).sum()) for v in r.values()))
        dirs.append({k: jnp.asarray(a * ghat[k] + 0.7 * r[k] / r_norm, jnp.float32) for k in masks})
    return dirs


if __name__ == "__main__":
    main()
