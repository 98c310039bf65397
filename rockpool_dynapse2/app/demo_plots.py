"""Plots of a demo run, drawn with matplotlib's non-interactive Agg backend.

* ``raster.png``: one test sample per class (up to four): the input raster and the output
  raster of the network trained with injection (float simulation);
* ``accuracy.png``: test accuracy per stage for both networks (Monte-Carlo stages as
  mean with the 10th-90th percentile range, the worst chip marked);
* ``mismatch.png``: the distribution of the accuracy over the simulated chips, per
  mismatch level, both networks;
* ``training.png``: the training loss of both networks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import numpy as np

__all__ = ["save_plots"]

_COLORS = {"with injection": "tab:blue", "without injection": "tab:orange"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _raster(plt: Any, task: Any, out: np.ndarray, per_class: int, path: Path) -> None:
    K = task.n_classes
    shown = [int(np.flatnonzero(task.y_test == k)[0]) for k in range(min(K, 4)) if np.any(task.y_test == k)]
    fig, axes = plt.subplots(2, len(shown), figsize=(3.2 * len(shown), 5), sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1]})
    t_ms = np.arange(task.x_test.shape[1]) * task.dt * 1e3
    for col, b in enumerate(shown):
        ax_in, ax_out = axes[0, col], axes[1, col]
        t, ch = np.nonzero(task.x_test[b])
        ax_in.scatter(t_ms[t], ch, s=1, c="k", marker="|")
        ax_in.set_title(f"class {task.class_names[task.y_test[b]]}", fontsize=9)
        t, n = np.nonzero(out[b])
        ax_out.scatter(t_ms[t], n, s=6, c=[f"C{j // per_class}" for j in n], marker="|")
        ax_out.set_ylim(-0.5, out.shape[2] - 0.5)
        ax_out.set_xlabel("time (ms)")
        if col == 0:
            ax_in.set_ylabel("input channel")
            ax_out.set_ylabel("output neuron")
    fig.suptitle("test samples: input spikes and output spikes (trained with injection)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _accuracy(plt: Any, result: Any, n_classes: int, path: Path) -> None:
    s = result.settings
    stages = ["float", "quantized"] + [f"mismatch {d:.0%}" for d in s.deviations] + [result.board]
    fig, ax = plt.subplots(figsize=(1.4 * len(stages) + 2, 4))
    x = np.arange(len(stages))
    width = 0.38
    for i, (name, r) in enumerate(result.networks.items()):
        mc = [r.mismatch[d] for d in s.deviations]
        values = [r.float_accuracy, r.quantized_accuracy] + [m.mean() for m in mc] + [r.board_accuracy]
        # The chips' spread as the 10th-90th percentile range around the mean: it stays
        # within [0, 1], unlike mean +- std of a skewed distribution.
        low = [0.0, 0.0] + [max(m.mean() - np.percentile(m, 10), 0.0) for m in mc] + [0.0]
        high = [0.0, 0.0] + [max(np.percentile(m, 90) - m.mean(), 0.0) for m in mc] + [0.0]
        pos = x + (i - 0.5) * width
        ax.bar(pos, values, width, yerr=[low, high], capsize=3, label=name, color=_COLORS.get(name))
        for j, m in enumerate(mc):
            ax.plot(pos[2 + j], m.min(), "v", color="k", markersize=5, label="worst chip" if i == 0 and j == 0 else None)
    ax.set_xticks(x)
    ax.set_xticklabels(stages, fontsize=8)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.05)
    ax.axhline(1.0 / n_classes, color="gray", ls=":", lw=1, label="chance")
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(
        f"accuracy per stage ({s.task}; mismatch: mean, 10-90th percentile and worst of {s.n_chips} chips)", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _mismatch(plt: Any, result: Any, path: Path) -> None:
    devs = result.settings.deviations
    fig, axes = plt.subplots(1, len(devs), figsize=(4.2 * len(devs), 3.4), squeeze=False)
    bins = np.linspace(0, 1, 41)
    for ax, dev in zip(axes[0], devs):
        for name, r in result.networks.items():
            acc = r.mismatch[dev]
            ax.hist(acc, bins=bins, alpha=0.6, color=_COLORS.get(name), label=f"{name} (mean {acc.mean():.1%})")
        ax.set_title(f"{dev:.0%} mismatch: {result.settings.n_chips} simulated chips", fontsize=9)
        ax.set_xlabel("test accuracy of the quantized network")
        ax.set_ylabel("chips")
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _training(plt: Any, result: Any, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for name, r in result.networks.items():
        ax.plot(r.train_loss, label=name, color=_COLORS.get(name), lw=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_plots(result: Any, task: Any, output: np.ndarray, out_dir: Path) -> Dict[str, str]:
    """Write the demo's plots.

    Args:
        result: the :class:`~rockpool_dynapse2.app.demo.DemoResult` (its reports filled in).
        task: the :class:`~rockpool_dynapse2.app.tasks.Task`.
        output: the float output of the network trained with injection on the test set,
            ``(B, T, N)`` spike counts.
        out_dir: directory to write to.

    Returns:
        ``{plot name: path}``.
    """
    plt = _pyplot()
    files = {
        "raster plot": out_dir / "raster.png",
        "accuracy plot": out_dir / "accuracy.png",
        "mismatch plot": out_dir / "mismatch.png",
        "training plot": out_dir / "training.png",
    }
    _raster(plt, task, output, result.settings.neurons_per_class, files["raster plot"])
    _accuracy(plt, result, task.n_classes, files["accuracy plot"])
    _mismatch(plt, result, files["mismatch plot"])
    _training(plt, result, files["training plot"])
    return {k: str(v) for k, v in files.items()}
