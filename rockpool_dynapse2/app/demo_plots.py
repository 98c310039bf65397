"""Plots of a demo run, drawn with matplotlib's non-interactive Agg backend.

Each plot is built by a function that returns the matplotlib ``Figure`` (so that tests
can read its titles, legends and artists); :func:`save_plots` writes them all:

* ``raster.png`` (:func:`raster_figure`): one test sample per class (up to four): the
  input spikes, and the output spikes of the stage that made them (the board, for the
  network trained with injection), coloured by the class each output neuron votes for;
* ``accuracy.png`` (:func:`accuracy_figure`): test accuracy per stage for both networks
  (Monte-Carlo stages as mean with the 10th-90th percentile range, the worst chip
  marked), the legend below the axes;
* ``mismatch.png`` (:func:`mismatch_figure`): the distribution of the accuracy over the
  simulated chips, per mismatch level, both networks, in bins chosen from the data (one
  achievable accuracy a bin where they fit), each network's float accuracy marked;
* ``training.png`` (:func:`training_figure`): training loss and validation accuracy per
  epoch of both networks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Sequence, Tuple

import numpy as np

__all__ = ["save_plots", "raster_figure", "accuracy_figure", "mismatch_figure", "training_figure", "accuracy_bins"]

_COLORS = {"with injection": "tab:blue", "without injection": "tab:orange"}

MAX_BINS = 25
"""Most bins of a mismatch histogram."""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def raster_figure(task: Any, x: np.ndarray, y: np.ndarray, out: np.ndarray, per_class: int, stage: str) -> Any:
    """Input and output spikes of one sample per class (up to four).

    Args:
        task: the :class:`~rockpool_dynapse2.app.tasks.Task` (class names, ``dt``).
        x: input spike counts ``(B, T, C)``.
        y: labels ``(B,)``.
        out: output spike counts ``(B, T, n_outputs)``; output ``j`` votes for class
            ``j // per_class``.
        per_class: output neurons per class.
        stage: what made ``out`` (shown in the title).
    """
    from matplotlib.lines import Line2D

    plt = _pyplot()
    K = task.n_classes
    shown = [int(np.flatnonzero(y == k)[0]) for k in range(K) if np.any(y == k)][:4]
    fig, axes = plt.subplots(2, len(shown), figsize=(3.2 * len(shown) + 1.6, 5.2), sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1]})
    t_ms = np.arange(x.shape[1]) * task.dt * 1e3
    for col, b in enumerate(shown):
        ax_in, ax_out = axes[0, col], axes[1, col]
        t, ch = np.nonzero(x[b])
        ax_in.scatter(t_ms[t], ch, s=1, c="k", marker="|")
        ax_in.set_title(f"a test sample of class {task.class_names[y[b]]}", fontsize=9)
        t, n = np.nonzero(out[b])
        ax_out.scatter(t_ms[t], n, s=6, c=[f"C{j // per_class}" for j in n], marker="|")
        ax_out.set_ylim(-0.5, out.shape[2] - 0.5)
        ax_out.set_xlabel("time (ms)")
        if col == 0:
            ax_in.set_ylabel("input channel")
            ax_out.set_ylabel("output neuron")
    handles = [Line2D([], [], color=f"C{k}", marker="|", ls="", markersize=10, label=task.class_names[k]) for k in range(K)]
    fig.legend(handles=handles, title="output neurons of class", loc="center right", fontsize=8, title_fontsize=8)
    fig.suptitle(f"{stage}: input spikes (top) and output spikes (bottom) of test samples", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1 - 1.5 / fig.get_figwidth(), 1))
    return fig


def _stage_values(r: Any, deviations: Sequence[float]) -> Tuple[list, list, list]:
    """A network's accuracy per stage, and the chips' spread below and above the mean."""
    mc = [np.asarray(r.mismatch[d]) for d in deviations]
    values = [r.float_accuracy, r.quantized_accuracy] + [m.mean() for m in mc] + [r.board_accuracy]
    # The chips' spread as the 10th-90th percentile range around the mean: it stays
    # within [0, 1], unlike mean +- std of a skewed distribution.
    low = [0.0, 0.0] + [max(m.mean() - np.percentile(m, 10), 0.0) for m in mc] + [0.0]
    high = [0.0, 0.0] + [max(np.percentile(m, 90) - m.mean(), 0.0) for m in mc] + [0.0]
    return values, low, high


def accuracy_figure(result: Any, n_classes: int) -> Any:
    """Test accuracy per stage for both networks; the legend sits below the axes.

    Args:
        result: the :class:`~rockpool_dynapse2.app.demo.DemoResult`.
        n_classes: number of classes (the chance level is marked).
    """
    plt = _pyplot()
    s = result.settings
    stages = ["float", "quantized"] + [f"mismatch {d:.0%}" for d in s.deviations] + [result.board]
    fig, ax = plt.subplots(figsize=(1.4 * len(stages) + 2, 4.6))
    x = np.arange(len(stages))
    width = 0.38
    for i, (name, r) in enumerate(result.networks.items()):
        values, low, high = _stage_values(r, s.deviations)
        pos = x + (i - 0.5) * width
        ax.bar(pos, values, width, yerr=[low, high], capsize=3, label=name, color=_COLORS.get(name))
        for j, d in enumerate(s.deviations):
            ax.plot(pos[2 + j], np.min(r.mismatch[d]), "v", color="k", markersize=5,
                    label="worst chip" if i == 0 and j == 0 else None)
    ax.set_xticks(x)
    ax.set_xticklabels(stages, fontsize=8)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.05)
    ax.axhline(1.0 / n_classes, color="gray", ls=":", lw=1, label="chance")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4, frameon=False)
    ax.set_title(f"accuracy per stage ({s.task}; mismatch: mean, 10-90th percentile and worst of {s.n_chips} chips)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def accuracy_bins(values: np.ndarray, step: float, max_bins: int = MAX_BINS) -> np.ndarray:
    """Histogram bin edges for accuracies on ``1 / step`` test samples: from the smallest
    to the largest value, each bin centred on an achievable accuracy and ``step`` wide
    where at most ``max_bins`` bins cover the range (a multiple of ``step`` where not).

    Args:
        values: the accuracies (fractions).
        step: the accuracy of one test sample, ``1 / n_test``.
        max_bins: most bins (>= 2).
    """
    values = np.asarray(values, dtype=np.float64)
    lo, hi = float(values.min()), float(values.max())
    # n bins centred on lo, lo + width, ... cover hi when (n - 1) width >= hi - lo.
    width = step * max(1, int(np.ceil((hi - lo) / step / max(max_bins - 1, 1) - 1e-9)))
    n = int(np.ceil((hi - lo) / width - 1e-9)) + 1
    return lo - width / 2 + width * np.arange(n + 1)


def mismatch_figure(result: Any, n_test: int) -> Any:
    """The accuracy over the simulated chips, per mismatch level, both networks; each
    network's float accuracy marked by a dashed line.

    Args:
        result: the :class:`~rockpool_dynapse2.app.demo.DemoResult`.
        n_test: test samples (the accuracy's resolution is ``1 / n_test``).
    """
    plt = _pyplot()
    devs = result.settings.deviations
    fig, axes = plt.subplots(1, len(devs), figsize=(4.6 * len(devs), 3.6), squeeze=False)
    for ax, dev in zip(axes[0], devs):
        every = [np.asarray(r.mismatch[dev]) for r in result.networks.values()]
        floats = [r.float_accuracy for r in result.networks.values()]
        bins = accuracy_bins(np.concatenate(every + [np.asarray(floats)]), 1.0 / n_test)
        for (name, r), acc in zip(result.networks.items(), every):
            ax.hist(acc, bins=bins, alpha=0.6, color=_COLORS.get(name), label=f"{name} (mean {acc.mean():.1%})")
            ax.axvline(r.float_accuracy, color=_COLORS.get(name), ls="--", lw=1.2,
                       label=f"float accuracy, {name} ({r.float_accuracy:.1%})")
        pad = bins[1] - bins[0]
        ax.set_xlim(bins[0] - pad, bins[-1] + pad)
        ax.set_title(f"{dev:.0%} mismatch: {result.settings.n_chips} simulated chips", fontsize=9)
        ax.set_xlabel("test accuracy of the quantized network")
        ax.set_ylabel("chips")
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def training_figure(result: Any) -> Any:
    """Training loss and validation accuracy per epoch of both networks, the kept epoch
    of each marked.

    Args:
        result: the :class:`~rockpool_dynapse2.app.demo.DemoResult`.
    """
    plt = _pyplot()
    s = result.settings
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, r in result.networks.items():
        epochs = np.arange(1, len(r.train_loss) + 1)
        ax_loss.plot(epochs, r.train_loss, label=name, color=_COLORS.get(name), lw=1)
        ax_acc.plot(epochs, r.val_accuracy, label=name, color=_COLORS.get(name), lw=1)
        for ax in (ax_loss, ax_acc):
            ax.axvline(r.best_epoch + 1, color=_COLORS.get(name), ls=":", lw=0.8)
    ax_loss.set(xlabel="epoch", ylabel="training loss", yscale="log", title="training loss (injected chips, if on)")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02), title="validation accuracy (nominal chip)")
    ax_loss.legend(fontsize=8)
    fig.suptitle(f"training on {s.task} ({s.backend}); dotted: the epoch kept", fontsize=10)
    fig.tight_layout()
    return fig


def save_plots(result: Any, task: Any, raster: Tuple[np.ndarray, np.ndarray, np.ndarray], out_dir: Path,
               stage: str = "") -> Dict[str, str]:
    """Write the demo's plots.

    Args:
        result: the :class:`~rockpool_dynapse2.app.demo.DemoResult` (its reports filled in).
        task: the :class:`~rockpool_dynapse2.app.tasks.Task`.
        raster: ``(x, y, out)``: inputs ``(B, T, C)``, labels ``(B,)`` and the outputs
            ``(B, T, n_outputs)`` of the network trained with injection on the board.
        out_dir: directory to write to.
        stage: what made the outputs (default: the board, network trained with injection).

    Returns:
        ``{plot name: path}``.
    """
    plt = _pyplot()
    x, y, out = raster
    stage = stage or f"{result.board}, network trained with injection"
    figures = {
        "raster plot": (raster_figure(task, x, y, out, result.settings.neurons_per_class, stage), "raster.png"),
        "accuracy plot": (accuracy_figure(result, task.n_classes), "accuracy.png"),
        "mismatch plot": (mismatch_figure(result, len(task.y_test)), "mismatch.png"),
        "training plot": (training_figure(result), "training.png"),
    }
    files = {}
    for key, (fig, name) in figures.items():
        path = Path(out_dir) / name
        fig.savefig(path, dpi=100)
        plt.close(fig)
        files[key] = str(path)
    return files
