"""What a training run gives back: the trained quantities, the history, and the network.

:class:`TrainResult` holds the parameters of the best epoch, one :class:`EpochRecord` per
epoch (loss, accuracies, gradient norms, learning rate, time), and turns the trained
quantities into the Rockpool network the chip runs (:meth:`TrainResult.to_rockpool`:
``Sequential(Linear((C, 4 N)), DynapSim((4 N, N), w_rec))`` with every neuron's currents
as its core holds them, the weights as the chip stores them), which the mapper maps.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from ..errors import ParameterValueError, Shown, UnknownParameterError
from ..parameters.validate import choice, flag, instance
from ..simulation.records import CURRENT_NAMES

__all__ = ["EpochRecord", "TrainResult", "EpochTracker", "split_validation", "batch_plan", "save_parameters", "load_parameters"]


@dataclass
class EpochRecord:
    """One epoch of training.

    Attributes:
        epoch: its index, from 0.
        loss: mean training loss (cross-entropy + rate penalty) over its steps.
        train_accuracy: accuracy on the training batches (with injected mismatch, if on).
        grad_norm: median global gradient norm of its steps (before clipping).
        grad_norm_max: largest global gradient norm of its steps.
        skipped: steps skipped because the loss or the gradient was not finite.
        learning_rate: the learning rate at its last step.
        seconds: wall time since the start of training.
        val_loss: loss on the validation set (nominal chip), if there is one.
        val_accuracy: accuracy on the validation set, if there is one.
        chips_clipped: with ``TrainSettings.chip_clip``, the fraction of its steps' injected
            chips whose gradient was clipped (NaN without per-chip clipping).
        margin: what its steps multiplied the relative margin's hinge by
            (``TrainSettings.margin_scale``: 1 once the margin is trained, 0 before; NaN:
            not recorded).
    """

    epoch: int
    loss: float
    train_accuracy: float
    grad_norm: float
    grad_norm_max: float
    skipped: int
    learning_rate: float
    seconds: float
    val_loss: float = float("nan")
    val_accuracy: float = float("nan")
    chips_clipped: float = float("nan")
    margin: float = float("nan")

    def line(self) -> str:
        """One line of text for logs and progress output."""
        val = f" val loss {self.val_loss:.3f} acc {self.val_accuracy:.2f}" if np.isfinite(self.val_loss) else ""
        skip = f" skipped {self.skipped}" if self.skipped else ""
        skip += f" chips clipped {self.chips_clipped:.0%}" if np.isfinite(self.chips_clipped) else ""
        return (f"epoch {self.epoch + 1}: loss {self.loss:.3f} acc {self.train_accuracy:.2f}{val} "
                f"|grad| {self.grad_norm:.3g} (max {self.grad_norm_max:.3g}) lr {self.learning_rate:.3g}{skip} "
                f"[{self.seconds:.0f} s]")


@dataclass
class TrainResult:
    """A trained :class:`~.model.ChipModel`.

    Attributes:
        model: the model (layout, connectivity, settings).
        params: the trained quantities of the best epoch (numpy).
        backend: ``"jax"`` or ``"torch"``.
        history: one :class:`EpochRecord` per epoch run.
        best_epoch: the epoch whose parameters are kept (lowest validation loss; with an
            injection ramp, from the ramp's last epoch on: ``TrainSettings.keep_from``).
        stopped_early: whether early stopping ended the run.
        seconds: wall time of the training.

    :attr:`margin_epoch` gives the first epoch whose steps trained the relative margin.
    """

    model: Any
    params: Dict[str, Any]
    backend: str
    history: List[EpochRecord] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False
    seconds: float = 0.0

    # --- what the chip holds -------------------------------------------------------------

    def chip_arrays(self, quantize: Optional[bool] = None) -> Dict[str, np.ndarray]:
        """The trained network as the chip holds it, as numpy arrays: ``currents`` per
        neuron, signed ``w_in`` ``(C, N)`` and ``w_rec`` ``(N, N)``, each core's base
        weights ``bases`` ``(n_cores, 4)`` (quantized) and ``core_of_neuron``."""
        from .constraints import jax_ops

        view = self.model.chip_view(jax_ops(), self.params, quantize=quantize)
        out = {"w_in": np.asarray(view.w_in), "w_rec": np.asarray(view.w_rec), "core_of_neuron": self.model.core_of_neuron}
        out["currents"] = {k: np.asarray(v) for k, v in view.currents.items()}
        if view.bases is not None:
            out["bases"] = np.asarray(view.bases)
        return out

    def to_rockpool(self, backend: Optional[str] = None, quantize: Optional[bool] = None) -> Any:
        """The trained network as a Rockpool network of this package's modules.

        ``Sequential(Linear((C, 4 N)), DynapSim((4 N, N), w_rec=(N, 4 N)))`` in the typed
        input layout, every neuron with its core's (snapped) currents and the weights the
        chip stores (quantized, unless ``quantize=False``). It simulates exactly what
        training simulated on the nominal chip, and ``mapping.mapper`` maps it.

        Args:
            backend: ``"jax"`` or ``"torch"`` (default: the one trained with).
            quantize: the quantized weights (default: whether training quantized).
        """
        from rockpool.nn.combinators import Sequential

        from .constraints import jax_ops, typed_input

        backend = self.backend if backend is None else choice("backend", backend, ("jax", "torch"))
        if quantize is not None:
            flag("quantize", quantize)
        arrays = self.chip_arrays(quantize)
        ops = jax_ops()
        w_in = np.asarray(typed_input(ops, arrays["w_in"]))
        w_rec = np.asarray(typed_input(ops, arrays["w_rec"]))
        s = self.model.settings
        n = w_rec.shape[0]
        currents = {k: arrays["currents"][k].astype(np.float64) for k in CURRENT_NAMES}
        kwargs = dict(w_rec=w_rec, dt=s.dt, Iscale=s.Iscale, max_spikes_per_dt=s.max_spikes,
                      feedback_gradient=s.feedback_gradient, **currents)
        if backend == "jax":
            from rockpool.nn.modules import LinearJax

            from ..simulation.jax_module import DynapSimJax

            return Sequential(LinearJax(w_in.shape, weight=w_in, has_bias=False), DynapSimJax((4 * n, n), **kwargs))
        if backend == "torch":
            import torch
            from rockpool.nn.modules import LinearTorch

            from ..simulation.torch_module import DynapSimTorch

            linear = LinearTorch(w_in.shape, weight=torch.as_tensor(w_in, dtype=torch.float32), has_bias=False)
            return Sequential(linear, DynapSimTorch((4 * n, n), **kwargs))
        raise UnknownParameterError("backend", backend, ("jax", "torch"))

    def continued_by(self, more: "TrainResult") -> "TrainResult":
        """This run followed by ``more``, a run started from its kept parameters: the
        history of both (``more``'s epochs and seconds counted on from this run's end), the
        parameters and kept epoch of ``more``, this run's model (the two differ only in
        their schedule)."""
        instance("more", more, TrainResult, "a TrainResult (a run started from this one's kept parameters)")
        offset = len(self.history)
        later = [replace(r, epoch=r.epoch + offset, seconds=r.seconds + self.seconds) for r in more.history]
        return TrainResult(model=self.model, params=more.params, backend=self.backend, history=self.history + later,
                           best_epoch=offset + more.best_epoch, stopped_early=more.stopped_early,
                           seconds=self.seconds + more.seconds)

    # --- history ---------------------------------------------------------------------------

    @property
    def margin_epoch(self) -> Optional[int]:
        """The first epoch (from 0) whose steps trained the relative margin
        (``TrainSettings.margin_ratio``; from ``margin_from``, once the accuracy reached
        ``margin_bar``), or None: no margin, or not reached."""
        if not self.model.settings.margin_ratio:
            return None
        return next((r.epoch for r in self.history if r.margin > 0), None)

    def curve(self, name: str) -> np.ndarray:
        """One field of every :class:`EpochRecord`, e.g. ``result.curve("val_accuracy")``."""
        choice("history field", name, tuple(EpochRecord.__dataclass_fields__))
        return np.array([getattr(r, name) for r in self.history], dtype=np.float64)

    def history_dict(self) -> List[Dict[str, Any]]:
        """The history as a list of plain dicts (for JSON)."""
        return [asdict(r) for r in self.history]

    def plot(self, path: Union[str, Path]) -> Path:
        """Save a figure of the training: loss, accuracies and gradient norm per epoch."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        epochs = self.curve("epoch") + 1
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
        axes[0].plot(epochs, self.curve("loss"), label="training")
        if np.isfinite(self.curve("val_loss")).any():
            axes[0].plot(epochs, self.curve("val_loss"), label="validation")
        axes[0].set(title="loss", xlabel="epoch")
        axes[1].plot(epochs, self.curve("train_accuracy"), label="training (injected chips)" if self.model.settings.inject else "training")
        if np.isfinite(self.curve("val_accuracy")).any():
            axes[1].plot(epochs, self.curve("val_accuracy"), label="validation (nominal chip)")
        axes[1].set(title="accuracy", xlabel="epoch", ylim=(0, 1.02))
        axes[2].semilogy(epochs, self.curve("grad_norm"), label="median")
        axes[2].semilogy(epochs, self.curve("grad_norm_max"), label="largest", alpha=0.6)
        axes[2].set(title="gradient norm (before clipping)", xlabel="epoch")
        for ax in axes:
            ax.axvline(self.best_epoch + 1, color="grey", lw=0.8, ls=":")
            ax.legend(fontsize=8)
        fig.suptitle(f"training ({self.backend}); dotted: the epoch kept ({self.best_epoch + 1})")
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


class EpochTracker:
    """The bookkeeping both training loops share: each step's loss, gradient norm and
    predictions; per epoch an :class:`EpochRecord`, the best parameters (lowest validation
    loss, or training loss without a validation set) and early stopping.

    Args:
        result: the :class:`TrainResult` to fill.
        patience: epochs without improvement before stopping (0: never).
        progress: called with every epoch's record.
        keep_from: the first epoch that may be kept as the best and that early stopping
            counts (an earlier one is kept only while no later epoch has ended: a run
            shorter than ``keep_from + 1`` epochs still returns its best). Training with an
            injection ramp starts here at the ramp's last epoch
            (:meth:`~.model.TrainSettings.keep_from`).
        tolerance: a score at most this much above the lowest so far is a tie, and the
            later epoch is kept (:attr:`~.model.TrainSettings.keep_tolerance`; 0: strictly
            lower). The bar stays the lowest score seen, so ties do not creep upwards.
        learn_bar: the accuracy an epoch must reach for :attr:`learnt`
            (:meth:`~.model.TrainSettings.margin_bar`; 0: learnt from the start).

    Attributes:
        learnt: whether an ended epoch's validation accuracy (training accuracy without a
            validation set) reached ``learn_bar``: the relative margin waits for it
            (:meth:`~.model.TrainSettings.margin_scale`).
    """

    def __init__(self, result: TrainResult, patience: int, progress: Any = None, keep_from: int = 0,
                 tolerance: float = 0.0, learn_bar: float = 0.0):
        self.result = result
        self.patience = patience
        self.progress = progress
        self.keep_from = keep_from
        self.tolerance = tolerance
        self.learn_bar = learn_bar
        self.learnt = learn_bar <= 0
        self.best = np.inf
        self.waited = 0
        self.start = time.perf_counter()
        self._new_epoch()

    def _new_epoch(self) -> None:
        self.losses: List[float] = []
        self.norms: List[float] = []
        self.correct: List[np.ndarray] = []
        self.clipped: List[float] = []

    def step(self, loss: float, norm: float, correct: Optional[np.ndarray] = None, clipped: Optional[float] = None) -> bool:
        """Count one step; False (and counted as skipped) if its loss or gradient is not finite.
        ``clipped``: the fraction of its chips whose gradient was clipped (None or NaN: no
        per-chip clipping)."""
        self.norms.append(float(norm))
        if clipped is not None and np.isfinite(clipped):
            self.clipped.append(float(clipped))
        if not (np.isfinite(loss) and np.isfinite(norm)):
            return False
        self.losses.append(float(loss))
        if correct is not None:
            self.correct.append(np.asarray(correct))
        return True

    def end_epoch(self, epoch: int, learning_rate: float, validation: Optional[Tuple[float, float]], params: Any,
                  margin: float = float("nan")) -> bool:
        """Close an epoch: its record, the best parameters (``params()`` gives them as numpy
        when they are the best so far), :attr:`learnt`; True if training should stop early.

        Args:
            epoch: its index.
            learning_rate: the learning rate at its last step.
            validation: ``(loss, accuracy)`` on the validation set, or None.
            params: a function returning the current parameters as numpy arrays.
            margin: what its steps multiplied the margin's hinge by (the record's ``margin``).
        """
        norms, losses = self.norms, self.losses
        record = EpochRecord(
            epoch=epoch,
            loss=_reduced(np.mean, losses),
            train_accuracy=float(np.concatenate(self.correct).mean()) if self.correct else float("nan"),
            grad_norm=_reduced(np.median, norms),
            grad_norm_max=_reduced(np.max, norms),
            skipped=len(norms) - len(losses),
            learning_rate=float(learning_rate),
            seconds=time.perf_counter() - self.start,
            chips_clipped=_reduced(np.mean, self.clipped),
            margin=float(margin),
        )
        if validation is not None:
            record.val_loss, record.val_accuracy = float(validation[0]), float(validation[1])
        accuracy = record.val_accuracy if validation is not None else record.train_accuracy
        self.learnt = self.learnt or bool(accuracy >= self.learn_bar - LEARNT_SLACK)  # NaN: not reached
        self._keep_if_best(epoch, record.val_loss if validation is not None else record.loss, params)
        self.result.history.append(record)
        self.result.seconds = record.seconds
        if self.progress is not None:
            self.progress(record)
        self._new_epoch()
        stop = bool(self.patience) and epoch >= self.keep_from and self.waited >= self.patience
        self.result.stopped_early = stop
        return stop


    def _keep_if_best(self, epoch: int, score: float, params: Any) -> None:
        """Keep the epoch's parameters if its score is the lowest so far (or a tie within the
        tolerance); else count it towards early stopping."""
        if epoch == self.keep_from:  # the first epoch that counts: the ramp's best are forgotten
            self.best, self.waited = np.inf, 0
        if np.isfinite(score) and (score < self.best or (self.tolerance > 0 and score <= self.best + self.tolerance)):
            self.best, self.waited = min(score, self.best), 0
            self.result.params = params()
            self.result.best_epoch = epoch
        else:
            self.waited += 1


def _reduced(reduce: Any, values: List[float]) -> float:
    """``reduce(values)`` as a float; NaN for no values (an epoch whose steps were all skipped)."""
    return float(reduce(values)) if values else float("nan")


LEARNT_SLACK = 1e-9
"""How far below :attr:`EpochTracker.learn_bar` an accuracy may fall and still count as
reaching it: a fraction of samples equal to the bar (40 of 60 against 2/3) must not miss it
by a rounding."""

VALIDATION_CHIP_SEED = 104729
"""Added to the training seed to draw the validation chips (``TrainSettings.validation_chips``),
so they are the same every epoch and differ from the training steps' chips."""


def validation_accuracy(model: Any, counts: np.ndarray, labels: np.ndarray) -> float:
    """The accuracy of validation counts ``(B, N)``, or their mean over chips ``(chips, B, N)``."""
    if counts.ndim == 3:
        return float(np.mean([model.accuracy(c, labels) for c in counts]))
    return model.accuracy(counts, labels)


def batch_plan(settings: Any, n_train: int) -> Tuple[int, int, int, int]:
    """``(chips, slice_size, batch, steps_per_epoch)`` of a training run: every step draws
    ``chips`` mismatched chips (1 without injection), each simulating ``slice_size`` of
    the ``batch`` samples. With fewer training samples than ``chips_per_step``, each
    sample runs on a chip of its own (``chips = n_train``)."""
    chips = min(settings.chips_per_step, n_train) if settings.inject else 1
    slice_size = max(1, min(settings.batch_size, n_train) // chips)
    batch = slice_size * chips
    return chips, slice_size, batch, max(1, n_train // batch)


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> Tuple[Tuple[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]]:
    """``((x_train, y_train), (x_val, y_val))``: a stratified random ``fraction`` of each class held out."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed + 12345)
    val = []
    for k in np.unique(y):
        idx = np.flatnonzero(y == k)
        rng.shuffle(idx)
        val.extend(idx[: int(round(fraction * len(idx)))])
    val_mask = np.zeros(len(y), bool)
    val_mask[np.asarray(val, dtype=np.int64)] = True
    return (x[~val_mask], y[~val_mask]), (x[val_mask], y[val_mask])


def save_parameters(path: Union[str, Path], result: TrainResult) -> Path:
    """Save the trained quantities and what is needed to rebuild the model (``.npz``)."""
    path = _path(path)
    instance("result", result, TrainResult)
    arrays = {"w_in": result.params["w_in"], "w_rec": result.params["w_rec"],
              "mask_in": result.model.connections.input, "mask_rec": result.model.connections.recurrent}
    arrays.update({f"core.{k}": v for k, v in result.params["core"].items()})
    meta = {"layout": _layout_dict(result.model.layout), "settings": _settings_dict(result.model.settings), "backend": result.backend,
            "best_epoch": result.best_epoch}
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), **{k: np.asarray(v) for k, v in arrays.items()})
    return path


def load_parameters(path: Union[str, Path]) -> TrainResult:
    """A :class:`TrainResult` (without history) from :func:`save_parameters`' file."""
    from .layout import Connectivity, NetworkLayout, Population, Projection
    from .model import ChipModel, TrainSettings

    path = _path(path)
    try:
        data = np.load(path, allow_pickle=False)
        meta = json.loads(str(data["meta"]))
    except (OSError, ValueError, KeyError) as error:
        raise ParameterValueError("path", "a file written by save_parameters", f"{str(path)!r} ({error})") from None
    lay = meta["layout"]
    layout = NetworkLayout(
        lay["n_inputs"], tuple(Population(**p) for p in lay["populations"]),
        tuple(Projection(**p) for p in lay["projections"]), lay["output"], lay["n_classes"], lay["fan_in"], lay["neurons_per_core"])
    # a file without "logits" was trained before the option existed: with the counts' logits
    settings = TrainSettings(**{"logits": "counts", **meta["settings"], "trainable": tuple(meta["settings"]["trainable"])})
    model = ChipModel(layout, settings, Connectivity(data["mask_in"], data["mask_rec"]))
    core = {k.split(".", 1)[1]: data[k] for k in data.files if k.startswith("core.")}
    params = {"w_in": data["w_in"], "w_rec": data["w_rec"], "core": core}
    return TrainResult(model=model, params=params, backend=meta["backend"], best_epoch=int(meta["best_epoch"]))


def _path(path: Any) -> Path:
    """``path`` as a :class:`~pathlib.Path`, else :class:`ParameterValueError`."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ParameterValueError("path", "a file path (str or os.PathLike)", path if isinstance(path, str) else Shown(f"a {type(path).__name__}"))
    return Path(path)


def _layout_dict(layout: Any) -> Dict[str, Any]:
    return {
        "n_inputs": layout.n_inputs,
        "populations": [{"name": p.name, "size": p.size, **({"start": p.start_values} if p.start else {})} for p in layout.populations],
        "projections": [{"source": p.source, "target": p.target, "probability": p.probability} for p in layout.projections],
        "output": layout.output,
        "n_classes": layout.n_classes,
        "fan_in": layout.fan_in,
        "neurons_per_core": layout.neurons_per_core,
    }


def _settings_dict(settings: Any) -> Dict[str, Any]:
    d = asdict(settings)
    d["trainable"] = list(d["trainable"])
    return d
