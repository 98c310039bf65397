"""The demo's network, readout and training loops (JAX and torch).

The network is one recurrent layer of ``N = n_classes * neurons_per_class`` DYNAP-SE2
neurons in the *typed* input layout that the chip and the mapper's spec use:
``Sequential(Linear((C, 4 N)), DynapSim((4 N, N), w_rec=(N, 4 N)))``, where channel
``4 i + k`` drives synapse ``k`` (AMPA, NMDA, GABA, SHUNT) of neuron ``i``. Every weight is
non-negative (projected after each step) and only the AMPA and GABA channels are used, so
each synapse charges its own DPI, excitatory or inhibitory, exactly as on the chip.
(Rockpool's signed layout, ``DynapSim((N,))``, sums excitation and inhibition of a step
*before* the synapses; under mismatch of the AMPA and GABA circuits it is more forgiving
than the chip, see ``docs/cli.md``.)

Readout: the class whose group of ``neurons_per_class`` output neurons fires most over
the sample; a tie counts as an error. Training minimises the cross-entropy of the
group-mean spike counts (times a temperature) plus a penalty that keeps every output
neuron firing, with Adam, full batch; with injection every step draws new mismatched
chips, each on the whole batch (:func:`~rockpool_dynapse2.transform.mismatch.mismatch`
under ``jax.vmap`` in JAX; in torch the chips are rows of one batch, drawn by
:func:`~rockpool_dynapse2.transform.mismatch.mismatch_rows` for
:meth:`~rockpool_dynapse2.DynapSimTorch.simulate`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np
from ..chip import SIGNED_EXCITATORY, SIGNED_INHIBITORY, SynapseType
from ..errors import ShapeError, UnknownParameterError

__all__ = [
    "BACKENDS",
    "MISMATCH_FAMILIES",
    "TrainSettings",
    "TrainResult",
    "typed_weights",
    "project_typed",
    "recurrent_mask",
    "initial_weights",
    "build_network",
    "class_counts",
    "accuracy",
    "spike_counts",
    "train",
]

_TYPES = len(SynapseType)

BACKENDS = ("jax", "torch")
"""Simulation backends of the demo."""

MISMATCH_FAMILIES = ("currents", "layout", "weights")
"""Parameter families perturbed by injection and by the Monte-Carlo chips."""

CLIP_NORM = 1.0
"""Gradients are clipped to this global norm before Adam."""

W_MAX = 1.0
"""Largest input weight (units of ``Iscale``)."""

W_MAX_REC = 0.25
"""Largest recurrent weight: strong recurrent loops make the surrogate gradient unreliable
(the training loss rises again) and can run away."""


def typed_weights(xp: Any, w: Any) -> Any:
    """Signed weights ``(C, N)`` -> typed weights ``(C, 4 N)``.

    Channel ``4 i + k`` of the result drives synapse ``k`` of neuron ``i`` (0 AMPA,
    1 NMDA, 2 GABA, 3 SHUNT): positive weights go to AMPA, the magnitude of negative
    ones to GABA.

    Args:
        xp: the array namespace (``numpy``, ``jax.numpy`` or ``torch``).
        w: signed weights ``(C, N)`` in units of ``Iscale``.
    """
    zero = xp.zeros_like(w)
    by_type = {SIGNED_EXCITATORY: xp.maximum(w, zero), SIGNED_INHIBITORY: xp.maximum(-w, zero)}
    return xp.stack([by_type.get(k, zero) for k in SynapseType], -1).reshape(w.shape[0], _TYPES * w.shape[1])


def project_typed(xp: Any, w: Any, allowed: Any, w_max: float = None) -> Any:
    """The nearest chip-expressible typed weights: one synapse per source and target.

    A source may reach a target through AMPA or through GABA, not both (that would take
    two CAM entries for one signed weight): the AMPA and GABA weights ``a, g`` of a pair
    become ``(max(a - g, 0), max(g - a, 0))``, at most :data:`W_MAX`; NMDA and SHUNT stay
    0, and pairs not ``allowed`` get no synapse.

    Args:
        xp: array namespace (``numpy``, ``jax.numpy`` or ``torch``).
        w: typed weights ``(S, 4 N)``.
        allowed: ``(S, N)`` 0/1 array: which source may reach which neuron.
        w_max: largest magnitude (default :data:`W_MAX`).
    """
    n = w.shape[1] // _TYPES
    q = w.reshape(w.shape[0], n, _TYPES)
    signed = (q[..., SIGNED_EXCITATORY.value] - q[..., SIGNED_INHIBITORY.value]) * allowed
    w_max = W_MAX if w_max is None else w_max
    signed = xp.clip(signed, -w_max, w_max)
    return typed_weights(xp, signed)


def recurrent_mask(n: int, n_sources: int) -> np.ndarray:
    """``(n, n)`` 0/1: neuron ``i`` may reach neuron ``j`` if ``(j - i) mod n < n_sources``.

    Each neuron then receives from itself and the next ``n_sources - 1`` neurons, so its
    recurrent synapses fit next to its input synapses in the 64 CAM entries.
    """
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return (((j - i) % n) < n_sources).astype(np.float32)


def initial_weights(n_in: int, n: int, scale: float, rec_scale: float, rec_sources: int, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Initial typed weights: input ``(n_in, 4 n)`` and recurrent ``(n, 4 n)``.

    Each weight is drawn signed, ``N(0, scale)`` (recurrent: ``N(0, rec_scale)``, only
    where :func:`recurrent_mask` allows) and placed on the AMPA (positive) or GABA
    (negative) channel of its target.
    """
    rng = np.random.default_rng(seed)
    w_in = typed_weights(np, rng.normal(0.0, scale, (n_in, n)))
    w_rec = typed_weights(np, rng.normal(0.0, rec_scale, (n, n)) * recurrent_mask(n, rec_sources))
    return w_in, w_rec


def build_network(backend: str, w_in: np.ndarray, w_rec: np.ndarray) -> Any:
    """The demo network: ``Sequential(Linear((C, 4 N)), DynapSim((4 N, N), w_rec))``.

    Args:
        backend: ``"jax"`` or ``"torch"``.
        w_in: typed input weights ``(C, 4 N)`` (non-negative; units of ``Iscale``).
        w_rec: typed recurrent weights ``(N, 4 N)``.

    Returns:
        A Rockpool ``Sequential``; its output is the N neurons' spike counts ``(B, T, N)``.
    """
    from rockpool.nn.combinators import Sequential

    if backend not in BACKENDS:
        raise UnknownParameterError("backend", backend, BACKENDS)
    n_in, n4 = np.shape(w_in)
    if n4 % _TYPES or np.shape(w_rec) != (n4 // _TYPES, n4):
        raise ShapeError("w_rec", f"(N, 4 N) = ({n4 // _TYPES}, {n4})", np.shape(w_rec))
    if backend == "jax":
        from rockpool.nn.modules import LinearJax

        from ..simulation.jax_module import DynapSimJax

        return Sequential(LinearJax((n_in, n4), weight=w_in, has_bias=False), DynapSimJax((n4, n4 // _TYPES), w_rec=w_rec))
    import torch
    from rockpool.nn.modules import LinearTorch

    from ..simulation.torch_module import DynapSimTorch

    linear = LinearTorch((n_in, n4), weight=torch.as_tensor(w_in, dtype=torch.float32), has_bias=False)
    return Sequential(linear, DynapSimTorch((n4, n4 // _TYPES), w_rec=w_rec))


# --- readout ---------------------------------------------------------------------------


def class_counts(xp: Any, out: Any, n_classes: int, per_class: int, outputs: Optional[Any] = None) -> Any:
    """Spike counts per class ``(B, K)``: summed over time and over each class's neurons.

    Args:
        xp: array namespace of ``out``.
        out: output spike counts ``(B, T, N_out)``.
        n_classes: K.
        per_class: neurons per class; output neuron ``j`` belongs to class ``j // per_class``.
        outputs: indices of the K * per_class output neurons in ``out`` (default: all).
    """
    c = out.sum(1)
    if outputs is not None:
        c = c[:, outputs]
    return c.reshape(c.shape[0], n_classes, per_class).sum(-1)


def accuracy(xp: Any, counts: Any, labels: Any) -> Any:
    """Fraction of samples whose class fires strictly more than every other class.

    Args:
        xp: array namespace.
        counts: ``(B, K)`` spike counts per class.
        labels: ``(B,)`` integer labels.
    """
    K = counts.shape[1]
    onehot = (xp.arange(K)[None, :] == labels[:, None])
    target = (counts * onehot).sum(1)
    others = xp.amax(xp.where(onehot, -1.0, counts), 1)
    return (target > others).sum() / target.shape[0]


def spike_counts(backend: str, net: Any, x: np.ndarray) -> np.ndarray:
    """Run a network from rest on ``x`` ``(B, T, C)``; its output spike counts ``(B, T, N)`` (numpy)."""
    if backend == "jax":
        return np.asarray(net.reset_state()(x)[0])
    import torch

    net.reset_state()
    with torch.no_grad():
        out = net(torch.as_tensor(x, dtype=torch.float32))[0]
    return out.detach().cpu().numpy()


# --- training ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainSettings:
    """Settings of one training run.

    Attributes:
        epochs: passes over the training set (one Adam step each: full batch).
        learning_rate: Adam's peak learning rate (cosine decay to 10 % of it).
        temperature: scale of the group-mean spike counts in the cross-entropy.
        min_count: every output neuron's mean spike count below this is penalised.
        inject: draw a new mismatched chip at every step.
        deviation: injected deviation reached at ``sigma_rule`` standard deviations.
        sigma_rule: see :func:`~rockpool_dynapse2.transform.mismatch.sigma_from_deviation`.
        seed: seed of the injected draws.
        chips_per_step: mismatched chips drawn per step, each on the whole batch, their
            losses averaged (JAX: ``jax.vmap`` over the chips; torch: the chips as rows of
            one batch, :func:`~rockpool_dynapse2.transform.mismatch.mismatch_rows`).
    """

    epochs: int
    learning_rate: float
    temperature: float
    min_count: float
    inject: bool
    deviation: float = 0.3
    sigma_rule: float = 3.0
    seed: int = 0
    chips_per_step: int = 1


@dataclass
class TrainResult:
    """A trained network and its training curve.

    Attributes:
        net: the trained network (nominal parameters, no mismatch).
        loss: training loss per epoch.
        seconds: wall time of the training.
    """

    net: Any
    loss: List[float] = field(default_factory=list)
    seconds: float = 0.0


def _loss_terms(xp: Any, counts: Any, labels: Any, n_classes: int, per_class: int, s: TrainSettings, log_softmax: Callable) -> Any:
    """Cross-entropy of the group-mean counts plus the keep-firing penalty."""
    c = class_counts(xp, counts, n_classes, per_class) / per_class
    logp = log_softmax(s.temperature * c)
    onehot = (xp.arange(n_classes)[None, :] == labels[:, None])
    ce = -(logp * onehot).sum(1).mean()
    rates = counts.sum(1).mean(0)  # (N,) mean count of every neuron
    quiet = xp.maximum(s.min_count - rates, 0.0 * rates)
    return ce + (quiet**2).mean()


def _train_jax(net: Any, x: np.ndarray, y: np.ndarray, n_classes: int, per_class: int, rec_sources: int, s: TrainSettings, progress: Any) -> TrainResult:
    import jax
    import jax.numpy as jnp
    import optax

    from ..transform.mismatch import mismatch

    schedule = optax.cosine_decay_schedule(s.learning_rate, max(1, s.epochs), alpha=0.1)
    # Clipped, and a step with a non-finite gradient is skipped (surrogate gradients
    # through the recurrent loop occasionally explode).
    opt = optax.apply_if_finite(optax.chain(optax.clip_by_global_norm(CLIP_NORM), optax.adam(schedule)), 20)
    params = net.parameters()  # the input and recurrent weights, both (., 4 N)
    state = opt.init(params)
    xs, ys = jnp.asarray(x), jnp.asarray(y)

    def one_chip(p: Any, key: Any) -> Any:
        model = net.set_attributes(p)
        if s.inject:
            model = mismatch(model, key, s.deviation, s.sigma_rule, families=MISMATCH_FAMILIES)
        out = model(xs)[0]
        return _loss_terms(jnp, out, ys, n_classes, per_class, s, jax.nn.log_softmax)

    def loss_fn(p: Any, key: Any) -> Any:
        if not s.inject or s.chips_per_step == 1:
            return one_chip(p, key)
        keys = jax.random.split(key, s.chips_per_step)
        return jax.vmap(lambda k: one_chip(p, k))(keys).mean()

    allow_in, allow_rec = (jnp.asarray(a) for a in _allowed(net, rec_sources))
    lin, dyn = net.modules()  # the names of the two submodules

    def project(p: Any) -> Any:
        return {
            lin: {"weight": project_typed(jnp, p[lin]["weight"], allow_in)},
            dyn: {"w_rec": project_typed(jnp, p[dyn]["w_rec"], allow_rec, W_MAX_REC)},
        }

    @jax.jit
    def step(p: Any, st: Any, key: Any):
        loss, grads = jax.value_and_grad(loss_fn)(p, key)
        updates, st = opt.update(grads, st, p)
        return project(optax.apply_updates(p, updates)), st, loss

    key = jax.random.PRNGKey(s.seed)
    result = TrainResult(net)
    start = time.perf_counter()
    for _ in progress(range(s.epochs)):
        key, sub = jax.random.split(key)
        params, state, loss = step(params, state, sub)
        result.loss.append(float(loss))
    result.net = net.set_attributes(params).reset_state()
    result.seconds = time.perf_counter() - start
    return result


def _train_torch(net: Any, x: np.ndarray, y: np.ndarray, n_classes: int, per_class: int, rec_sources: int, s: TrainSettings, progress: Any) -> TrainResult:
    import torch

    from ..transform.mismatch import mismatch_rows

    torch.manual_seed(s.seed)
    params = [p for _, p in net.named_parameters() if p.requires_grad]
    allow_in, allow_rec = (torch.as_tensor(a) for a in _allowed(net, rec_sources))
    named = [(name, p) for name, p in net.named_parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=s.learning_rate)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, s.epochs), eta_min=0.1 * s.learning_rate)
    xs = torch.as_tensor(x, dtype=torch.float32)
    ys = torch.as_tensor(y, dtype=torch.int64)
    log_softmax = lambda z: torch.log_softmax(z, dim=-1)
    linear, neurons = net[0], net[1]
    chips = max(1, s.chips_per_step)
    generator = torch.Generator().manual_seed(s.seed)
    draw = lambda module, families: mismatch_rows(module, chips, s.deviation, s.sigma_rule, families, generator)
    result = TrainResult(net)
    start = time.perf_counter()
    for _ in progress(range(s.epochs)):
        opt.zero_grad()
        neurons.reset_state()
        if s.inject:
            # `chips` mismatched chips, each on the whole batch, as one batch of rows: the
            # input weights per chip, then every neuron parameter per row (as JAX's vmap).
            w_in = draw(linear, ("weights",))["weight"]
            rows = {k: v.repeat_interleave(len(xs), dim=0) for k, v in draw(neurons, MISMATCH_FAMILIES).items()}
            drive = torch.einsum("btc,kcn->kbtn", xs, w_in).reshape((chips * len(xs),) + xs.shape[1:2] + w_in.shape[-1:])
            out = neurons.simulate(drive, rows=rows).reshape((chips, len(xs)) + (xs.shape[1], -1))
            loss = sum(_loss_terms(torch, out[k], ys, n_classes, per_class, s, log_softmax) for k in range(chips)) / chips
        else:
            out = net(xs)[0]
            loss = _loss_terms(torch, out, ys, n_classes, per_class, s, log_softmax)
        loss.backward()
        if not all(bool(torch.isfinite(p.grad).all()) for p in params if p.grad is not None):
            opt.zero_grad()  # skip a step with a non-finite gradient, as optax.apply_if_finite
        torch.nn.utils.clip_grad_norm_(params, CLIP_NORM)
        opt.step()
        sched.step()
        with torch.no_grad():
            for name, p in named:
                rec = name.endswith("w_rec")
                p.copy_(project_typed(torch, p, allow_rec if rec else allow_in, W_MAX_REC if rec else W_MAX))
        result.loss.append(float(loss.detach()))
    net.reset_state()
    result.seconds = time.perf_counter() - start
    return result


def _allowed(net: Any, rec_sources: int) -> Tuple[np.ndarray, np.ndarray]:
    """Allowed pairs ``(C, N)`` of the input weights and ``(N, N)`` of the recurrent ones."""
    n_in, n = net[0].size_in, net[1].size_out
    return np.ones((n_in, n), dtype=np.float32), recurrent_mask(n, rec_sources)


def train(
    backend: str,
    w_in: np.ndarray,
    w_rec: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    per_class: int,
    rec_sources: int,
    settings: TrainSettings,
    progress: Callable[[Sequence], Sequence] = lambda it: it,
) -> TrainResult:
    """Train the demo network from initial weights on ``(x, y)`` (full batch).

    Args:
        backend: ``"jax"`` or ``"torch"``.
        w_in: initial typed input weights ``(C, 4 N)`` (:func:`initial_weights`).
        w_rec: initial typed recurrent weights ``(N, 4 N)``.
        x: training inputs ``(B, T, C)``.
        y: labels ``(B,)``.
        n_classes: K.
        per_class: output neurons per class (N = K * per_class).
        rec_sources: recurrent sources per neuron (see :func:`recurrent_mask`).
        settings: the :class:`TrainSettings`.
        progress: wraps the epoch iterator (e.g. a tqdm bar).

    Returns:
        The :class:`TrainResult`.
    """
    net = build_network(backend, w_in, w_rec)
    runner = _train_jax if backend == "jax" else _train_torch
    return runner(net, x, y, n_classes, per_class, rec_sources, settings, progress)
