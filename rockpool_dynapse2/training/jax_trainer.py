"""Training a :class:`~.model.ChipModel` in JAX (optax): the loop, evaluation, Monte Carlo.

One jitted step: the trained quantities -> the chip's view (per-core currents on bias
codes, weights on 16 levels per core) -> ``chips_per_step`` mismatched chips, each
simulating its slice of the batch, under ``jax.vmap`` -> the loss -> Adam. The simulation
is :func:`~rockpool_dynapse2.simulation.jax_module.evolve_arrays`, the pure core of
``DynapSimJax``: the trained network is, spike for spike, the ``DynapSimJax`` network
that :meth:`~.result.TrainResult.to_rockpool` returns.

Given one chip (``chip=``, its factors as :meth:`~.model.ChipModel.check_chip` reads
them: a twin of a board), every step simulates that chip instead of nominal ones; with
injection on, each of the step's chips is that chip times a random chip of the
settings' deviation (:func:`~.model.around_chip`), so a twin that is a little wrong does not
break the result. The validation loss then is measured on that chip too.
"""

from __future__ import annotations

import functools

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..parameters.validate import instance, integer, seed as check_seed
from ..simulation.records import CURRENT_NAMES, LAYOUT_NAMES, DynapParams, DynapState
from ..simulation.module_spec import initial_state_values
from ..transform.deviation import POSITIVE_FLOOR, sigma_from_deviation
from .constraints import jax_ops, typed_input
from .model import ChipModel, around_chip
from .result import VALIDATION_CHIP_SEED, EpochRecord, EpochTracker, TrainResult, batch_plan, split_validation, validation_accuracy

__all__ = ["train_jax", "step_parts", "simulate_jax", "counts_jax", "mismatch_counts_jax", "in_threads", "even_batch", "in_batches"]


def _chip_noise(key: Any, model: ChipModel, sigma: float) -> Dict[str, Any]:
    """Relative factors ``1 + sigma N(0, 1)`` of one mismatched chip: per neuron for every
    current and layout constant (floored at :data:`POSITIVE_FLOOR`), per synapse for the
    weights."""
    import jax
    import jax.numpy as jnp

    n = model.layout.n_neurons
    names = tuple(CURRENT_NAMES) + tuple(LAYOUT_NAMES)
    keys = jax.random.split(key, len(names) + 2)
    out = {name: jnp.maximum(1.0 + sigma * jax.random.normal(k, (n,)), POSITIVE_FLOOR) for name, k in zip(names, keys)}
    out["w_in"] = 1.0 + sigma * jax.random.normal(keys[-2], model.connections.input.shape)
    out["w_rec"] = 1.0 + sigma * jax.random.normal(keys[-1], model.connections.recurrent.shape)
    return out


def simulate_jax(model: ChipModel, params: Dict[str, Any], x: Any, noise: Optional[Dict[str, Any]] = None,
                 quantize: Optional[bool] = None, snap: Optional[bool] = None) -> Any:
    """Output spikes ``(B, T, N)`` of the chip's view of ``params`` on inputs ``x`` ``(B, T, C)``.

    Args:
        model: the model.
        params: trained quantities (jax arrays or numpy).
        x: input spike counts per step.
        noise: a mismatched chip's factors (see :func:`mismatch_counts_jax`), or None.
        quantize: weights on 16 levels per core (default: the settings').
        snap: currents on bias codes (default: the settings').
    """
    import jax.numpy as jnp

    from ..simulation.jax_module import evolve_arrays

    ops = jax_ops()
    view = model.chip_view(ops, params, quantize, snap)
    currents = {name: view.currents[name] for name in CURRENT_NAMES}
    layout = {name: jnp.full(model.layout.n_neurons, v, jnp.float32) for name, v in model.layout_constants.items()}
    w_in, w_rec = view.w_in, view.w_rec
    if noise is not None:
        currents = {k: v * noise[k] for k, v in currents.items()}
        layout = {k: v * noise[k] for k, v in layout.items()}
        w_in, w_rec = w_in * noise["w_in"], w_rec * noise["w_rec"]
    typed_in, typed_rec = typed_input(ops, w_in), typed_input(ops, w_rec)
    s = model.settings
    p = DynapParams(**currents, **layout, Iscale=jnp.asarray(s.Iscale, jnp.float32), w_rec=typed_rec)
    x = jnp.asarray(x, jnp.float32)
    drive = x @ typed_in
    B = x.shape[0]
    rest = initial_state_values(np.full(model.layout.n_neurons, model.layout_constants["Io"]))
    state = DynapState(**{k: jnp.broadcast_to(jnp.asarray(v, jnp.float32), (B,) + v.shape) for k, v in rest.items()})
    spikes, _, _ = evolve_arrays(p, state, drive, jnp.asarray(s.dt, jnp.float32), jnp.asarray(s.max_spikes, jnp.float32),
                                 signed=False, record=False, feedback_gradient=s.feedback_gradient)
    return spikes


@functools.lru_cache(maxsize=8)
def _count_runner(model: ChipModel, quantize: Optional[bool], snap: Optional[bool]) -> Callable:
    """The jitted nominal-chip count function of a model (compiled once per model, options
    and input shape, not once per call)."""
    import jax

    return jax.jit(lambda p, xb: model.readout_counts(simulate_jax(model, p, xb, quantize=quantize, snap=snap)))


@functools.lru_cache(maxsize=8)
def _chip_runner(model: ChipModel, quantize: Optional[bool], snap: Optional[bool]) -> Callable:
    """The jitted count function of a model on a given chip (its factors an argument, so
    every chip uses the same compiled function)."""
    import jax

    return jax.jit(lambda p, xb, chip: model.readout_counts(simulate_jax(model, p, xb, noise=chip, quantize=quantize, snap=snap)))


@functools.lru_cache(maxsize=8)
def _mismatch_runner(model: ChipModel) -> Callable:
    """The jitted count function of a batch of mismatched chips (``sigma`` an argument, so
    every deviation uses the same compiled function)."""
    import jax

    def run(p: Any, ks: Any, xb: Any, sigma: Any) -> Any:
        return jax.vmap(lambda k: model.readout_counts(simulate_jax(model, p, xb, noise=_chip_noise(k, model, sigma))))(ks)

    return jax.jit(run)


def even_batch(n: int, batch: int) -> int:
    """The samples per call when ``n`` samples run in calls of at most ``batch``: as few
    calls as ``batch`` allows, all of one size (600 samples at most 256 at a time: three
    calls of 200, not 256, 256 and 88), so a jitted function compiles once for them."""
    n, batch = integer("n", n, low=1), integer("batch", batch, low=1)
    calls = -(-n // batch)
    return -(-n // calls)


def in_batches(run: Callable[[np.ndarray], Any], x: np.ndarray, batch: int = 256) -> np.ndarray:
    """``run`` over the samples of ``x`` ``(n, ...)`` in calls of one shape
    (:func:`even_batch`'s size, the last call's missing rows zeros whose outputs are
    dropped); its outputs, whose second-to-last axis is the sample axis (``(B, N)`` counts,
    ``(chips, B, N)`` per chip), concatenated along it as numpy.

    A sample's output does not depend on the others of its call (each starts from rest), so
    the result is the one of any other batching, bit for bit (tested), while a run of
    several sample counts (a test set, a calibration set) compiles once."""
    size = even_batch(len(x), batch)
    out = []
    for i in range(0, len(x), size):
        xb, n = x[i : i + size], min(size, len(x) - i)
        if n < size:
            xb = np.concatenate([xb, np.zeros((size - n,) + xb.shape[1:], xb.dtype)])
        out.append(np.asarray(run(xb))[..., :n, :])
    return np.concatenate(out, axis=-2)


def counts_jax(model: ChipModel, params: Dict[str, Any], x: np.ndarray, batch: int = 256,
               quantize: Optional[bool] = None, snap: Optional[bool] = None,
               chip: Optional[Dict[str, Any]] = None) -> np.ndarray:
    """Spike counts ``(B, N)`` in the readout window (:meth:`~.model.ChipModel.readout_counts`)
    on the nominal chip (or on ``chip``), in calls of at most ``batch`` samples, all of one
    shape (:func:`in_batches`).

    Args:
        quantize: weights on 16 levels per core (default: the settings').
        snap: currents on bias codes (default: the settings').
        chip: one chip's factors (:meth:`~.model.ChipModel.check_chip`); default: the nominal chip.
    """
    instance("model", model, ChipModel)
    x, batch = model.check_inputs(x), integer("batch", batch, low=1)
    if chip is not None:
        factors = model.check_chip(chip)
        run_chip = _chip_runner(model, quantize, snap)
        return in_batches(lambda xb: run_chip(params, xb, factors), x, batch)
    run = _count_runner(model, quantize, snap)
    return in_batches(lambda xb: run(params, xb), x, batch)


def mismatch_counts_jax(model: ChipModel, params: Dict[str, Any], x: np.ndarray, deviation: float, n_chips: int,
                        seed: int = 0, sigma_rule: float = 3.0, chips_at_once: int = 4, batch: int = 256,
                        workers: int = 1) -> np.ndarray:
    """Spike counts ``(n_chips, B, N)`` in the readout window of ``n_chips`` simulated chips
    with frozen mismatch.

    Each chip is drawn once (``seed``), as Rockpool's percent-deviation / sigma-rule
    convention defines it, and runs every sample. The chips run ``chips_at_once`` at a time,
    those groups in ``workers`` threads at once (on separate cores; the counts are the same,
    bit for bit, whatever ``workers``).
    """
    import jax
    import jax.numpy as jnp

    instance("model", model, ChipModel)
    x, n_chips, seed = model.check_inputs(x), integer("n_chips", n_chips, low=1), check_seed("seed", seed)
    chips_at_once, batch = integer("chips_at_once", chips_at_once, low=1), integer("batch", batch, low=1)
    sigma = jnp.asarray(sigma_from_deviation(deviation, sigma_rule), jnp.float32)
    keys = jax.random.split(jax.random.PRNGKey(seed), n_chips)
    run = _mismatch_runner(model)
    groups = [keys[c : c + chips_at_once] for c in range(0, n_chips, chips_at_once)]
    out = in_threads(lambda ks: in_batches(lambda xb: run(params, ks, jnp.asarray(xb), sigma), x, batch), groups, workers)
    return np.concatenate(out, axis=0)


def in_threads(work: Callable[[Any], Any], items: Sequence[Any], workers: int = 1) -> List[Any]:
    """``[work(item) for item in items]``, in ``workers`` threads at once (JAX releases the
    interpreter while it computes, so the calls run on separate cores); in order.

    Raises:
        ParameterValueError: ``workers`` is not an integer >= 1.
    """
    workers = integer("workers", workers, low=1)
    if workers == 1 or len(items) < 2:
        return [work(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(workers, len(items)), thread_name_prefix="chips") as pool:
        return list(pool.map(work, items))


def train_jax(model: ChipModel, x: np.ndarray, y: np.ndarray, progress: Optional[Callable[[EpochRecord], None]] = None,
              params: Optional[Dict[str, Any]] = None, chip: Optional[Dict[str, Any]] = None, workers: int = 1) -> TrainResult:
    """Train ``model`` on ``x`` ``(n, T, C)``, ``y`` ``(n,)`` with the settings' constraints.

    Args:
        model: the model and its settings.
        x: input spike counts per step.
        y: integer labels ``0..K-1``.
        progress: called after every epoch with its :class:`~.result.EpochRecord`.
        params: start from these trained quantities (default: the model's initial ones).
        chip: train on this one chip (its factors, :meth:`~.model.ChipModel.check_chip`):
            every step and the validation simulate it; with ``inject``, each step's chips
            are it times random chips of the settings' deviation (:func:`~.model.around_chip`).
            Default: the nominal chip (random chips with ``inject``).
        workers: threads that simulate a step's chips (with injection; else its samples)
            at the same time, in :func:`step_parts` parts: the forward runs and their
            gradients are computed part by part, in parallel, and the loss of the whole
            step between them, so the step is the same one up to the rounding of a sum
            (an epoch about two thirds of its one-thread time on two cores; 1, the default:
            one call, bit for bit the single-threaded step).

    Returns:
        The :class:`~.result.TrainResult`, holding the parameters of the best epoch (by
        validation loss; the last epoch without a validation set).
    """
    import jax
    import jax.numpy as jnp
    import optax

    instance("model", model, ChipModel)
    x, y = model.check_data(x, y)
    fixed = None if chip is None else jax.tree_util.tree_map(jnp.asarray, model.check_chip(chip))
    s = model.settings
    (x_tr, y_tr), (x_val, y_val) = split_validation(x, y, s.validation_fraction, s.seed)
    chips, slice_size, batch, steps_per_epoch = batch_plan(s, len(x_tr))
    total = s.epochs * steps_per_epoch
    warm = min(s.warmup * steps_per_epoch, max(0, total - 1))  # a warm-up longer than the run is cut
    schedule = optax.warmup_cosine_decay_schedule(0.0, s.learning_rate, warm, max(total, warm + 1), s.learning_rate * 0.05)
    opt = optax.chain(optax.clip_by_global_norm(s.clip_norm), optax.adam(schedule))
    params = jax.tree_util.tree_map(jnp.asarray, params if params is not None else model.initial_parameters())
    opt_state = opt.init(params)
    sigma = s.injected_sigma()  # the validation chips'; a step's is an argument (the ramp: TrainSettings.inject_ramp)
    K = model.layout.n_classes

    def rows(xb: Any, key: Any) -> Tuple[Any, Any]:
        """A step's inputs as the simulation takes them: with injection one slice per chip
        ``(chips, S, T, C)`` and the chips' keys; else the batch and no keys."""
        if s.inject:
            return xb.reshape((chips, slice_size) + xb.shape[1:]), jax.random.split(key, chips)
        return xb, None

    per_chip = s.per_chip_gradients  # each chip's gradient apart (TrainSettings.chip_clip)

    def spread(p: Any, n: int) -> Any:
        """The trained quantities as :func:`counts_of` takes them for ``n`` chips: one copy
        per chip with ``per_chip`` (so that the gradient comes chip by chip), else as they are."""
        return jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a, (n,) + a.shape), p) if per_chip else p

    def counts_of(p: Any, xs: Any, keys: Any, sigma: Any) -> Any:
        """Readout counts of :func:`rows`' inputs: ``(chips, S, N)`` with injection, else
        ``(B, N)``; ``p`` from :func:`spread`."""
        if s.inject:
            noise = lambda k: around_chip(fixed, _chip_noise(k, model, sigma))  # noqa: E731
            run = lambda q, k, xc: model.readout_counts(simulate_jax(model, q, xc, noise=noise(k)))  # noqa: E731
            return jax.vmap(run, in_axes=(0 if per_chip else None, 0, 0))(p, keys, xs)
        return model.readout_counts(simulate_jax(model, p, xs, noise=fixed))

    def merge(grads: Any, counts: Any, yb: Any, margin: Any) -> Tuple[Any, Any, Any]:
        """``(the step's gradient, the norm logged, the fraction of chips clipped)`` from the
        gradient of :func:`spread`'s quantities, the step's counts ``(B, N)``, labels and
        margin scale (:meth:`TrainSettings.margin_scale`):
        with ``per_chip``, each chip's clipped (``chip_clip``, by its loss) and summed, and
        the norm of their plain sum; else the gradient, its norm and NaN."""
        norm_of = lambda g: jnp.sqrt(sum(jnp.sum(a**2) for a in jax.tree_util.tree_leaves(g)))  # noqa: E731
        if not per_chip:
            return grads, norm_of(grads), jnp.float32(np.nan)
        each = lambda a: a.reshape((chips, -1) + a.shape[1:])  # noqa: E731  (chips, S, ...)
        losses = model.chip_losses(each(counts), each(jax.nn.one_hot(yb, K)), jax_ops(), margin)
        leaves, tree = jax.tree_util.tree_flatten(grads)
        merged, plain, clipped = model.clip_chip_gradients(leaves, losses, jax_ops())
        return jax.tree_util.tree_unflatten(tree, merged), plain, clipped

    def loss_of_counts(counts: Any, yb: Any, margin: Any) -> Tuple[Any, Any]:
        """A step's loss of :func:`counts_of`'s counts, with its margin scale
        (:meth:`TrainSettings.margin_scale`)."""
        onehot = jax.nn.one_hot(yb, K)
        if s.inject:
            if s.chip_tilt > 0:
                ce, rate = model.chip_loss_terms(counts, onehot.reshape((chips, slice_size, K)), jax_ops(), margin)
                return ce + rate, (ce, counts.reshape((batch,) + counts.shape[2:]))
            counts = counts.reshape((batch,) + counts.shape[2:])
        ce, rate = model.loss_terms(counts, onehot, jax_ops(), margin)
        return ce + rate, (ce, counts)

    def loss_of(p: Any, xb: Any, yb: Any, key: Any, sigma: Any, margin: Any) -> Tuple[Any, Any]:
        """The loss of :func:`spread`'s quantities ``p``."""
        return loss_of_counts(counts_of(p, *rows(xb, key), sigma), yb, margin)

    def apply(p: Any, st: Any, avg: Any, grads: Any) -> Tuple[Any, Any, Any]:
        updates, st = opt.update(grads, st, p)
        new = optax.apply_updates(p, updates)
        new = {**new, **dict(zip(("w_in", "w_rec"), model.pull_to_levels(jax_ops(), new["w_in"], new["w_rec"])))}
        if s.average > 0:
            avg = jax.tree_util.tree_map(lambda a, q: s.average * a + (1.0 - s.average) * q, avg, new)
        else:
            avg = new
        return new, st, avg

    @jax.jit
    def one_call_step(p: Any, st: Any, avg: Any, xb: Any, yb: Any, key: Any, sigma: Any, margin: Any):
        (loss, (ce, counts)), grads = jax.value_and_grad(loss_of, has_aux=True)(spread(p, chips), xb, yb, key, sigma, margin)
        grads, norm, clipped = merge(grads, counts, yb, margin)
        new, st, avg = apply(p, st, avg, grads)
        return new, st, avg, loss, (norm, clipped), counts

    parts = step_parts(workers, chips if s.inject else batch)
    step = one_call_step if parts == 1 else ThreadedStep(parts, jax.jit(rows), counts_of, loss_of_counts, apply, spread, merge, per_chip)

    val_keys = jax.random.split(jax.random.PRNGKey(s.seed + VALIDATION_CHIP_SEED), max(1, s.validation_chips))
    on_chips = s.inject and s.validation_chips > 0

    @jax.jit
    def evaluate(p: Any, xb: Any, yb: Any) -> Tuple[Any, Any]:
        if on_chips:  # the mean over fixed mismatched chips (around the given chip); counts (chips, B, N)
            run = lambda k: model.readout_counts(simulate_jax(model, p, xb, noise=around_chip(fixed, _chip_noise(k, model, sigma))))
            counts = jax.vmap(run)(val_keys)
            terms = jax.vmap(lambda c: model.loss_terms(c, jax.nn.one_hot(yb, K), jax_ops()))(counts)
            return (terms[0] + terms[1]).mean(), counts
        counts = model.readout_counts(simulate_jax(model, p, xb, noise=fixed))
        ce, rate = model.loss_terms(counts, jax.nn.one_hot(yb, K), jax_ops())
        return ce + rate, counts

    rng = np.random.default_rng(s.seed + 1)
    key = jax.random.PRNGKey(s.seed)
    result = TrainResult(model=model, params=jax.tree_util.tree_map(np.asarray, params), backend="jax")
    tracker = EpochTracker(result, s.patience, progress, keep_from=s.keep_from, tolerance=s.keep_tolerance,
                           learn_bar=s.margin_bar(K))
    average = params  # the moving average (TrainSettings.average; with 0, the last step's quantities)
    try:  # the threads of a ThreadedStep end with the run, whatever ends it
        for epoch in range(s.epochs):
            order = rng.permutation(len(x_tr))
            epoch_sigma = jnp.asarray(s.injected_sigma(epoch), jnp.float32)  # an argument: one compile for every epoch
            epoch_margin = jnp.asarray(s.margin_scale(epoch, tracker.learnt), jnp.float32)  # the same (TrainSettings.margin_during_ramp)
            for b in range(steps_per_epoch):
                idx = order[b * batch : (b + 1) * batch]
                key, sub = jax.random.split(key)
                new, new_state, new_average, loss, (norm, clipped), counts = step(params, opt_state, average, jnp.asarray(x_tr[idx]),
                                                                                  jnp.asarray(y_tr[idx]), sub, epoch_sigma,
                                                                                  epoch_margin)
                if tracker.step(float(loss), float(norm), model.predict(np.asarray(counts)) == y_tr[idx], float(clipped)):
                    params, opt_state, average = new, new_state, new_average  # a non-finite step is skipped, and counted
            validation = None
            if len(x_val):
                val_loss, val_counts = evaluate(average, jnp.asarray(x_val), jnp.asarray(y_val))
                validation = (float(val_loss), validation_accuracy(model, np.asarray(val_counts), y_val))
            lr = schedule((epoch + 1) * steps_per_epoch - 1)
            if tracker.end_epoch(epoch, float(lr), validation, lambda: jax.tree_util.tree_map(np.asarray, average), float(epoch_margin)):
                break
    finally:
        if parts > 1:
            step.close()
    return result


def step_parts(workers: int, rows: int) -> int:
    """How many parts a step is split into for ``workers`` threads: the most, up to
    ``workers``, that divide its ``rows`` (chips with injection, else samples) evenly.

    Raises:
        ParameterValueError: ``workers`` is not an integer >= 1.
    """
    workers = integer("workers", workers, low=1)
    return max(p for p in range(1, min(workers, rows) + 1) if rows % p == 0)


class ThreadedStep:
    """A training step whose simulation runs in ``parts`` threads: each part's forward run
    keeps its pullback (:func:`jax.vjp`), the loss of the whole step gives the gradient of
    every part's counts, and each part's pullback turns its share into a gradient of the
    trained quantities in parallel again; their sum is the step's gradient (with
    ``per_chip``, each part's per-chip gradients are put side by side, and ``merge`` clips
    and sums them as one call would). JAX releases the interpreter while it computes, so
    the parts run on separate cores. The same step as one call (the same chips, samples and
    loss, the rate penalty on the whole batch), up to the rounding of a sum.
    """

    def __init__(self, parts: int, rows: Callable, counts_of: Callable, loss_of_counts: Callable, apply: Callable,
                 spread: Callable, merge: Callable, per_chip: bool):
        import jax
        import jax.numpy as jnp
        from concurrent.futures import ThreadPoolExecutor

        self.parts, self.rows, self.concatenate = parts, rows, jnp.concatenate
        self.forward = jax.jit(lambda p, xs, keys, sigma: jax.vjp(lambda q: counts_of(q, xs, keys, sigma), spread(p, xs.shape[0])))
        self.head = jax.jit(jax.value_and_grad(loss_of_counts, has_aux=True))
        self.backward = jax.jit(lambda pullback, ct: pullback(ct)[0])
        join = jnp.concatenate if per_chip else lambda g: functools.reduce(lambda a, b: a + b, g)
        self.total = jax.jit(lambda grads, counts, yb, margin: merge(jax.tree_util.tree_map(lambda *g: join(g), *grads), counts, yb,
                                                                     margin))
        self.apply = jax.jit(apply)
        self.pool = ThreadPoolExecutor(parts, thread_name_prefix="train-step")

    def _each(self, work: Callable[[int], Any]) -> list:
        import jax

        return list(self.pool.map(lambda j: jax.block_until_ready(work(j)), range(self.parts)))

    def __call__(self, p: Any, st: Any, avg: Any, xb: Any, yb: Any, key: Any, sigma: Any, margin: Any):
        xs, keys = self.rows(xb, key)
        n = xs.shape[0] // self.parts
        part = lambda a, j: None if a is None else a[j * n : (j + 1) * n]  # noqa: E731
        runs = self._each(lambda j: self.forward(p, part(xs, j), part(keys, j), sigma))
        (loss, (ce, counts)), d_counts = self.head(self.concatenate([r[0] for r in runs]), yb, margin)
        grads, norm, clipped = self.total(self._each(lambda j: self.backward(runs[j][1], part(d_counts, j))), counts, yb, margin)
        new, st, avg = self.apply(p, st, avg, grads)
        return new, st, avg, loss, (norm, clipped), counts

    def close(self) -> None:
        self.pool.shutdown()
