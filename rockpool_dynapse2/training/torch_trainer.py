"""Training a :class:`~.model.ChipModel` in torch (``torch.optim``): the same semantics as
:mod:`.jax_trainer`.

The chip's view of the trained quantities comes from the same code
(:meth:`~.model.ChipModel.chip_view` with :func:`~.constraints.torch_ops`); the simulation
is :meth:`DynapSimTorch.simulate <rockpool_dynapse2.simulation.torch_module.DynapSimTorch.simulate>`
with per-row parameters, so the ``chips_per_step`` mismatched chips of a step run as the
rows of one batch, each chip on its slice of the batch. A fixed chip (``chip=``) is
used as in :mod:`.jax_trainer`: alone, or around each injected chip (:func:`~.model.around_chip`).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..parameters.validate import instance, integer
from ..simulation.records import CURRENT_NAMES, LAYOUT_NAMES
from ..transform.deviation import POSITIVE_FLOOR
from .constraints import torch_ops, typed_input
from .model import ChipModel, ChipView, around_chip
from .result import VALIDATION_CHIP_SEED, EpochRecord, EpochTracker, TrainResult, batch_plan, split_validation, validation_accuracy

__all__ = ["train_torch", "simulate_torch", "counts_torch"]


def _neurons(model: ChipModel, compile: bool) -> Any:
    """A ``DynapSimTorch`` of the model's size whose parameters every call replaces by rows."""
    from ..simulation.torch_module import DynapSimTorch

    n = model.layout.n_neurons
    s = model.settings
    return DynapSimTorch((4 * n, n), w_rec=np.zeros((n, 4 * n), np.float32), dt=s.dt, Iscale=s.Iscale,
                         max_spikes_per_dt=s.max_spikes, feedback_gradient=s.feedback_gradient, compile=compile)


def _validate(model: ChipModel, neurons: Any, p: Dict[str, Any], x_val: np.ndarray, y_val: np.ndarray,
              noise: Optional[Dict[str, Any]]) -> Tuple[float, float]:
    """``(loss, accuracy)`` on the validation set: on the nominal chip, or the mean over the
    fixed chips of ``noise``."""
    import torch

    ops = torch_ops()
    eye = torch.eye(model.layout.n_classes)
    x = torch.as_tensor(x_val, dtype=torch.float32)
    with torch.no_grad():
        if noise is None:
            counts = model.readout_counts(simulate_torch(model, neurons, p, x))
            ce, rate = model.loss_terms(counts, eye[torch.as_tensor(y_val)], ops)
            return float(ce + rate), model.accuracy(counts.numpy(), y_val)
        chips = noise["w_in"].shape[0]
        counts = model.readout_counts(simulate_torch(model, neurons, p, x.repeat(chips, 1, 1), noise)).reshape(chips, len(x_val), -1)
        losses = [sum(model.loss_terms(c, eye[torch.as_tensor(y_val)], ops)) for c in counts]
    return float(torch.stack(losses).mean()), validation_accuracy(model, counts.numpy(), y_val)


def _chip_noise(model: ChipModel, chips: int, sigma: float, generator: Any) -> Dict[str, Any]:
    """Relative factors of ``chips`` mismatched chips (as :func:`.jax_trainer._chip_noise`)."""
    import torch

    n = model.layout.n_neurons
    draw = lambda shape: 1.0 + sigma * torch.randn((chips,) + shape, generator=generator)
    out = {name: torch.clamp(draw((n,)), min=POSITIVE_FLOOR) for name in tuple(CURRENT_NAMES) + tuple(LAYOUT_NAMES)}
    out["w_in"] = draw(model.connections.input.shape)
    out["w_rec"] = draw(model.connections.recurrent.shape)
    return out


def simulate_torch(model: ChipModel, neurons: Any, params: Dict[str, Any], x: Any, noise: Optional[Dict[str, Any]] = None,
                   quantize: Optional[bool] = None, snap: Optional[bool] = None) -> Any:
    """Output spikes ``(B, T, N)`` for inputs ``x`` ``(B, T, C)``.

    Args:
        model: the model.
        neurons: the ``DynapSimTorch`` from :func:`_neurons`.
        params: trained quantities (tensors).
        x: input spike counts per step.
        noise: factors of ``K`` mismatched chips (each ``(K, ...)``), ``B`` divisible by
            ``K``: chip ``k`` runs rows ``k B/K .. (k+1) B/K - 1``.
        quantize: weights on 16 levels per core (default: the settings').
        snap: currents on bias codes (default: the settings').
    """
    return _simulate_view(model, neurons, model.chip_view(torch_ops(), params, quantize, snap), x, noise)


def _simulate_view(model: ChipModel, neurons: Any, view: ChipView, x: Any, noise: Optional[Dict[str, Any]],
                   per_chip: bool = False) -> Any:
    """:func:`simulate_torch` of a chip's view; with ``per_chip``, the view's currents and
    weights are one copy per chip of ``noise`` (``(K, ...)``: :func:`_per_chip_view`)."""
    import torch

    ops = torch_ops()
    neurons.reset_state()  # every call starts from rest (simulate keeps the state it ends in)
    x = torch.as_tensor(x, dtype=torch.float32)
    B = x.shape[0]
    n = model.layout.n_neurons
    currents = {name: view.currents[name] for name in CURRENT_NAMES}
    layout = {name: torch.full((n,), v) for name, v in model.layout_constants.items()}
    if noise is None:
        typed_in, typed_rec = typed_input(ops, view.w_in), typed_input(ops, view.w_rec)
        # One nominal chip: parameters shared by the rows (one recurrent product per step,
        # not one per row), as the module's own parameters would be.
        rows = {**currents, **layout, "w_rec": typed_rec}
        return neurons.simulate(x @ typed_in, rows=rows)
    K = noise["w_in"].shape[0]
    per = B // K
    each = (lambda v: v) if per_chip else (lambda v: v[None])  # noqa: E731  (K, ...) of the view's quantities
    w_in = each(view.w_in) * noise["w_in"]
    w_rec = each(view.w_rec) * noise["w_rec"]
    typed_in = torch.stack([typed_input(ops, w) for w in w_in])  # (K, C, 4N)
    typed_rec = torch.stack([typed_input(ops, w) for w in w_rec])  # (K, N, 4N)
    drive = torch.einsum("kstc,kcm->kstm", x.reshape((K, per) + x.shape[1:]), typed_in).reshape(B, x.shape[1], -1)
    rows = {k: (each(v) * noise[k]).repeat_interleave(per, 0) for k, v in currents.items()}
    rows.update({k: (v[None] * noise[k]).repeat_interleave(per, 0) for k, v in layout.items()})
    rows["w_rec"] = typed_rec.repeat_interleave(per, 0)
    return neurons.simulate(drive, rows=rows)


def _per_chip_view(view: ChipView, chips: int) -> ChipView:
    """A copy of ``view``'s currents and weights for each of ``chips`` chips ``(K, ...)``,
    leaves of their own (detached from the trained quantities), so that a backward pass
    leaves each chip's gradient apart in their ``.grad`` (:func:`_chip_clipped`)."""
    own = lambda v: v.detach()[None].repeat((chips,) + (1,) * v.dim()).requires_grad_(True)  # noqa: E731
    return ChipView({k: own(v) for k, v in view.currents.items()}, own(view.w_in), own(view.w_rec), view.bases)


def _chip_gradients(view: ChipView, own: ChipView, leaves: Sequence[Any]) -> List[Any]:
    """Each chip's gradient of the trained ``leaves`` ``(K, ...)`` after a backward pass
    through ``own`` (:func:`_per_chip_view` of ``view``): the chip's gradient of its view,
    taken back through the view (one small backward pass per chip)."""
    import torch

    pairs = [(view.w_in, own.w_in), (view.w_rec, own.w_rec)] + [(view.currents[k], own.currents[k]) for k in view.currents]
    outputs, chip_grads = zip(*[(v, o.grad) for v, o in pairs if v.requires_grad and o.grad is not None])
    per_chip = [torch.autograd.grad(outputs, leaves, [g[c] for g in chip_grads], retain_graph=True, allow_unused=True)
                for c in range(own.w_in.shape[0])]
    zero = lambda g, leaf: torch.zeros_like(leaf) if g is None else g  # noqa: E731  (a leaf no chip's view uses)
    return [torch.stack([zero(g[i], leaf) for g in per_chip]) for i, leaf in enumerate(leaves)]


def _chip_clipped(model: ChipModel, view: ChipView, own: ChipView, leaves: Sequence[Any], losses: Any) -> Tuple[List[Any], float, float]:
    """``(the step's gradient of each leaf, the norm logged, the fraction of chips clipped)``:
    each chip's gradient (:func:`_chip_gradients`) clipped by its loss ``losses`` ``(K,)``
    (:meth:`~.model.ChipModel.chip_gradient_scales`) and summed; the norm of their plain
    sum, as :mod:`.jax_trainer`'s ``merge``."""
    merged, plain, clipped = model.clip_chip_gradients(_chip_gradients(view, own, leaves), losses, torch_ops())
    return merged, float(plain), float(clipped)


def _gradient(model: ChipModel, neurons: Any, p: Dict[str, Any], leaves: Sequence[Any], xb: Any, onehot: Any,
              noise: Optional[Dict[str, Any]], chips: int, margin: float = 1.0) -> Tuple[Any, Any, float, float]:
    """One step's loss (its margin's hinge times ``margin``, :meth:`TrainSettings.margin_scale`),
    counts, gradient norm (before clipping) and fraction of chips
    clipped (NaN: no per-chip clipping), its gradient, clipped, left in the ``leaves``'
    ``.grad``: with injection and ``chip_clip``, each chip's apart (:func:`_chip_clipped`),
    then the global clip (``clip_norm``)."""
    import torch

    s = model.settings
    per_chip = s.per_chip_gradients
    if per_chip:  # each chip's gradient apart, to clip it (TrainSettings.chip_clip)
        view = model.chip_view(torch_ops(), p)
        own = _per_chip_view(view, chips)
        counts = model.readout_counts(_simulate_view(model, neurons, own, xb, noise, per_chip=True))
    else:
        counts = model.readout_counts(simulate_torch(model, neurons, p, xb, noise))
    if s.inject and s.chip_tilt > 0:
        K = onehot.shape[-1]
        ce, rate = model.chip_loss_terms(counts.reshape(chips, -1, counts.shape[-1]), onehot.reshape(chips, -1, K), torch_ops(), margin)
    else:
        ce, rate = model.loss_terms(counts, onehot, torch_ops(), margin)
    loss = ce + rate
    if not per_chip:
        loss.backward()
        return loss, counts, float(torch.nn.utils.clip_grad_norm_(leaves, s.clip_norm)), float("nan")
    loss.backward(inputs=[own.w_in, own.w_rec, *own.currents.values()])
    with torch.no_grad():
        each = lambda a: a.reshape((chips, -1) + tuple(a.shape[1:]))  # noqa: E731  (chips, S, ...)
        losses = model.chip_losses(each(counts), each(onehot), torch_ops(), margin)
    merged, norm, clipped = _chip_clipped(model, view, own, leaves, losses)
    for leaf, g in zip(leaves, merged):
        leaf.grad = g
    torch.nn.utils.clip_grad_norm_(leaves, s.clip_norm)  # the global clip, after the chips'
    return loss, counts, norm, clipped


def counts_torch(model: ChipModel, params: Dict[str, Any], x: np.ndarray, batch: int = 256, neurons: Any = None,
                 chip: Optional[Dict[str, Any]] = None) -> np.ndarray:
    """Spike counts ``(B, N)`` in the readout window (:meth:`~.model.ChipModel.readout_counts`)
    on the nominal chip (or on ``chip``, one chip's factors: :meth:`~.model.ChipModel.check_chip`),
    in batches."""
    import torch

    instance("model", model, ChipModel)
    x, batch = model.check_inputs(x), integer("batch", batch, low=1)
    fixed = _one_chip(model, chip)
    neurons = neurons if neurons is not None else _neurons(model, compile=False)
    p = _as_tensors(params, requires_grad=False)
    with torch.no_grad():
        out = [model.readout_counts(simulate_torch(model, neurons, p, x[i : i + batch], fixed)).numpy() for i in range(0, len(x), batch)]
    return np.concatenate(out)


def _one_chip(model: ChipModel, chip: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """``chip``'s factors, checked, as tensors of one chip ``(1, ...)`` (``None`` stays ``None``)."""
    import torch

    if chip is None:
        return None
    return {k: torch.as_tensor(v)[None] for k, v in model.check_chip(chip).items()}


def _as_tensors(params: Dict[str, Any], requires_grad: bool) -> Dict[str, Any]:
    import torch

    def leaf(v: Any) -> Any:
        t = torch.tensor(np.asarray(v.detach() if hasattr(v, "detach") else v), dtype=torch.float32)
        return t.requires_grad_(requires_grad)

    return {"w_in": leaf(params["w_in"]), "w_rec": leaf(params["w_rec"]), "core": {k: leaf(v) for k, v in params["core"].items()}}


def _numpy(params: Dict[str, Any]) -> Dict[str, Any]:
    return {"w_in": params["w_in"].detach().numpy().copy(), "w_rec": params["w_rec"].detach().numpy().copy(),
            "core": {k: v.detach().numpy().copy() for k, v in params["core"].items()}}


class _Average:
    """The moving average of the trained quantities (``TrainSettings.average``): with a
    decay of 0, the trained tensors themselves."""

    def __init__(self, p: Dict[str, Any], decay: float):
        self.decay = decay
        self.params = _as_tensors(p, requires_grad=False) if decay > 0 else p

    def update(self, p: Dict[str, Any]) -> None:
        import torch

        if self.decay == 0:
            return
        with torch.no_grad():
            pairs = [(self.params["w_in"], p["w_in"]), (self.params["w_rec"], p["w_rec"])]
            pairs += [(self.params["core"][k], v) for k, v in p["core"].items()]
            for a, q in pairs:
                a.mul_(self.decay).add_(q.detach(), alpha=1.0 - self.decay)


def train_torch(model: ChipModel, x: np.ndarray, y: np.ndarray, progress: Optional[Callable[[EpochRecord], None]] = None,
                params: Optional[Dict[str, Any]] = None, compile: bool = False,
                chip: Optional[Dict[str, Any]] = None) -> TrainResult:
    """Train ``model`` in torch; the same arguments (``chip`` included) and result as
    :func:`.jax_trainer.train_jax`.

    Args:
        compile: compile the simulation's time loop with ``torch.compile`` (pays for
            longer runs; the first step then takes tens of seconds to compile).
    """
    import torch

    instance("model", model, ChipModel)
    x, y = model.check_data(x, y)
    fixed = _one_chip(model, chip)
    s = model.settings
    torch.manual_seed(s.seed)
    generator = torch.Generator().manual_seed(s.seed)
    (x_tr, y_tr), (x_val, y_val) = split_validation(x, y, s.validation_fraction, s.seed)
    chips, _, batch, steps_per_epoch = batch_plan(s, len(x_tr))
    total = max(1, s.epochs * steps_per_epoch)
    warm = min(s.warmup * steps_per_epoch, total - 1)  # a warm-up longer than the run is cut
    p = _as_tensors(params if params is not None else model.initial_parameters(), requires_grad=True)
    leaves = [p["w_in"], p["w_rec"], *p["core"].values()]
    opt = torch.optim.Adam(leaves, lr=s.learning_rate)
    lr_at = lambda k: s.learning_rate * (k / warm if k < warm else 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (k - warm) / max(1, total - warm))))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: lr_at(k) / s.learning_rate)
    neurons = _neurons(model, compile)
    sigma = s.injected_sigma()  # the validation chips' (a step's: s.injected_sigma(epoch), the ramp)
    K = model.layout.n_classes
    eye = torch.eye(K)
    rng = np.random.default_rng(s.seed + 1)
    val_noise = fixed  # the given chip (None: the nominal one)
    if s.inject and s.validation_chips > 0:  # fixed chips (around the given chip), the same every epoch
        drawn = _chip_noise(model, s.validation_chips, sigma, torch.Generator().manual_seed(s.seed + VALIDATION_CHIP_SEED))
        val_noise = around_chip(fixed, drawn)
    result = TrainResult(model=model, params=_numpy(p), backend="torch")
    tracker = EpochTracker(result, s.patience, progress, keep_from=s.keep_from, tolerance=s.keep_tolerance,
                           learn_bar=s.margin_bar(K))
    average = _Average(p, s.average)
    for epoch in range(s.epochs):
        order = rng.permutation(len(x_tr))
        epoch_sigma = s.injected_sigma(epoch)  # the ramp's (TrainSettings.inject_ramp), as JAX's loop
        epoch_margin = s.margin_scale(epoch, tracker.learnt)  # TrainSettings.margin_during_ramp
        for b in range(steps_per_epoch):
            idx = order[b * batch : (b + 1) * batch]
            xb = torch.as_tensor(x_tr[idx], dtype=torch.float32)
            noise = around_chip(fixed, _chip_noise(model, chips, epoch_sigma, generator)) if s.inject else fixed
            opt.zero_grad()
            onehot = eye[torch.as_tensor(y_tr[idx])]
            loss, counts, norm, clipped = _gradient(model, neurons, p, leaves, xb, onehot, noise, chips, epoch_margin)
            if tracker.step(float(loss.detach()), norm, model.predict(counts.detach().numpy()) == y_tr[idx], clipped):
                opt.step()  # a non-finite step is skipped, and counted
                with torch.no_grad():
                    for name, w in zip(("w_in", "w_rec"), model.pull_to_levels(torch_ops(), p["w_in"], p["w_rec"])):
                        if w is not p[name]:  # without a pull the weights come back as they are
                            p[name].copy_(w)
                average.update(p)
            sched.step()
        validation = _validate(model, neurons, average.params, x_val, y_val, val_noise) if len(x_val) else None
        if tracker.end_epoch(epoch, float(opt.param_groups[0]["lr"]), validation, lambda: _numpy(average.params), epoch_margin):
            break
    return result
