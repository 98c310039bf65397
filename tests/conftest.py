"""Shared helpers: build a simulation module of either backend and run it; the small chain
network of the virtual-chip and placement tests; the burst-timing task of the training tests."""

import numpy as np
import pytest


def _module_class(backend):
    import rockpool_dynapse2 as rd

    return {"jax": rd.DynapSimJax, "torch": rd.DynapSimTorch}[backend]


def _simulate(backend, shape, x, state=None, record=True, **kwargs):
    """Build a ``backend`` module of ``shape``, set initial ``state`` (``{name: array}``), run ``x``.

    ``dtype="float64"`` runs JAX under ``jax.enable_x64``. Returns ``(spikes, record)`` as
    float64 numpy arrays, ``(B, T, N)`` each.
    """
    if backend == "jax":
        import jax

        with jax.enable_x64(kwargs.get("dtype") == "float64"):
            mod = _module_class(backend)(shape, **kwargs)
            if state:
                mod = mod.set_attributes(state)
            out, _, rec = mod(x, record=record)
            return np.asarray(out, np.float64), {k: np.asarray(v, np.float64) for k, v in rec.items()}
    import torch

    mod = _module_class(backend)(shape, **kwargs)
    for name, value in (state or {}).items():
        setattr(mod, name, torch.as_tensor(np.asarray(value), dtype=mod.Io.dtype))
    with torch.no_grad():
        out, _, rec = mod(x, record=record)
    convert = lambda t: t.detach().numpy().astype(np.float64)
    return convert(out), {k: convert(v) for k, v in rec.items()}


@pytest.fixture(params=["jax", "torch"])
def backend(request):
    """Each test that takes ``backend`` runs once per simulation backend."""
    return request.param


@pytest.fixture
def simulate():
    """``simulate(backend, shape, x, state=None, record=True, **kwargs) -> (spikes, record)``."""
    return _simulate


@pytest.fixture
def module_class():
    """``module_class(backend)``: ``DynapSimJax`` or ``DynapSimTorch``."""
    return _module_class


@pytest.fixture(scope="module")
def chain_spec():
    """3 inputs -> 4 neurons -> 2 outputs, strong weights, every output fires: its quantized
    spec and 200 steps of Poisson input (the small network the virtual-chip tests share)."""
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearJax

    from rockpool_dynapse2 import DynapSimJax
    from rockpool_dynapse2.mapping import mapper, quantize_spec

    rng = np.random.default_rng(0)
    net = Sequential(
        LinearJax((3, 4), weight=np.abs(rng.normal(0, 1, (3, 4))) + 2.0, has_bias=False),
        DynapSimJax((4,), Idc=2e-12),
        LinearJax((4, 2), weight=np.full((4, 2), 3.0), has_bias=False),
        DynapSimJax((2,)),
    )
    qspec, _ = quantize_spec(mapper(net.as_graph()))
    return qspec, rng.poisson(0.5, (200, qspec.n_inputs)).astype(np.float32)


def _burst_task(n=8, T=60, C=8, seed=0, *, starts, width, p, noise=0.0):
    """Two classes with the same spike counts: a burst of ``width`` steps (each spike with
    probability ``p``) on the first half of the channels from step ``starts[label]``; the
    other channels fire with probability ``noise`` per step."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, T, C), np.float32)
    y = np.arange(n) % 2
    for b in range(n):
        t0 = starts[y[b]]
        x[b, t0 : t0 + width, : C // 2] = rng.random((width, C // 2)) < p
        if noise:
            x[b, :, C // 2 :] = rng.random((T, C - C // 2)) < noise
    return x, y


@pytest.fixture(scope="session")
def burst_task():
    """``burst_task(n=8, T=60, C=8, seed=0, *, starts, width, p, noise=0.0) -> (x, y)`` (see ``_burst_task``)."""
    return _burst_task


@pytest.fixture
def train_jobs(monkeypatch):
    """Run ``train`` on a data file without training: every call of ``run_training`` is
    recorded as ``(task, job)`` in the returned list and answers with perfect figures."""
    from rockpool_dynapse2.app import train_pipeline

    jobs = []

    def run_training(task, job, out_dir, **kwargs):
        jobs.append((task, job))
        acc = {"float": 1.0, "unrounded": 1.0, "quantized": 1.0, "mismatch": {}, "board": 1.0}
        return {"accuracy": acc, "board_samples": 0, "files": {}}

    monkeypatch.setattr(train_pipeline, "run_training", run_training)
    return jobs


@pytest.fixture
def train_argv(tmp_path):
    """``train --quick --quiet`` arguments on a small two-class data file in ``tmp_path``
    (with :func:`train_jobs`, a test of how an option reaches the job)."""
    rng = np.random.default_rng(1)
    x, y = rng.poisson(0.2, (24, 20, 4)).astype(np.float32), np.arange(24) % 2
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    return ["train", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "out"), "--quiet", "--quick"]
