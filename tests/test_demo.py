"""The demo's parts that need no training run: its settings and network, the plots (read
from matplotlib's objects, not pixels), the training summaries, and the command line's
usage errors. The demo run itself is tested in ``test_cli.py``."""

import numpy as np
import pytest

from rockpool_dynapse2.app.cli import main
from rockpool_dynapse2.app.demo import NETWORKS, DemoResult, DemoSettings, NetworkReport, demo_layout
from rockpool_dynapse2.app.demo_plots import (
    accuracy_bins,
    accuracy_figure,
    mismatch_figure,
    raster_figure,
    training_figure,
)
from rockpool_dynapse2.app.tasks import frozen_noise, rate_frequency
from rockpool_dynapse2.app.train_pipeline import epoch_lines
from rockpool_dynapse2.errors import ParameterValueError, UnknownParameterError
from rockpool_dynapse2.training import EpochRecord, connectivity

N_TEST = 100


def _result(chips=None, floats=(1.0, 0.97)):
    settings = DemoSettings.preset("quick")
    rng = np.random.default_rng(0)
    nets = {}
    for i, (name, f) in enumerate(zip(NETWORKS, floats)):
        r = NetworkReport(name, float_accuracy=f, quantized_accuracy=f, board_accuracy=f, best_epoch=30 + i)
        default = lambda: np.round(1.0 - rng.integers(0, 10, settings.n_chips) / N_TEST, 2)
        r.mismatch = {d: np.asarray(chips[name]) if chips else default() for d in settings.deviations}
        r.train_loss = list(np.linspace(1.0, 0.1, settings.epochs))
        r.val_accuracy = list(np.linspace(0.5, 1.0, settings.epochs))
        nets[name] = r
    return DemoResult(settings=settings, networks=nets, board="virtual board")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


# --- settings and network ----------------------------------------------------------------


def test_torch_trains_fewer_epochs():
    assert DemoSettings.preset("default", backend="torch").epochs < DemoSettings.preset("default").epochs
    quick = DemoSettings.preset("quick", backend="torch")
    assert (quick.epochs, quick.n_samples, quick.n_chips) == (20, 100, 16)
    assert DemoSettings.preset("quick", backend="torch", epochs=5).epochs == 5  # an override wins


def test_the_two_jobs_differ_only_in_injection():
    s = DemoSettings.preset("quick", seed=3, neurons_per_class=4)
    with_inj, without = s.job(True), s.job(False)
    assert with_inj.inject and not without.inject
    assert (with_inj.n_epochs, with_inj.n_batch, with_inj.n_chips_per_step, with_inj.chips) == (100, 32, 8, 16)
    assert with_inj.per_class == 4 and with_inj.seed == 3 and with_inj.board_samples == 20
    from dataclasses import replace

    assert replace(with_inj, inject=False) == without


@pytest.mark.parametrize("bad, error", [
    (dict(task="mnist"), UnknownParameterError),
    (dict(backend="tensorflow"), UnknownParameterError),
    (dict(epochs=0), ParameterValueError),
    (dict(batch_size=True), ParameterValueError),
    (dict(neurons_per_class=1.5), ParameterValueError),
])
def test_bad_settings_get_named_errors(bad, error):
    with pytest.raises(error):
        DemoSettings(**bad)


def test_the_demo_network_is_one_recurrent_population_within_the_fan_in():
    task = rate_frequency(16, 0, n_channels=100, duration=0.02)  # more channels than CAM entries
    layout = demo_layout(task, per_class=3)
    assert [p.size for p in layout.populations] == [12] and layout.per_class == 3 and layout.n_cores == 1
    c = connectivity(layout, 0)
    assert c.fan_in.max() <= 64 and c.recurrent.sum(0).min() >= 1 and c.input.sum(0).min() >= 1
    assert demo_layout(task, per_class=100).n_cores == 2  # 400 neurons: a population may take several cores
    with pytest.raises(ParameterValueError, match="16 cores"):
        demo_layout(task, per_class=1100)  # more than a board


# --- training summaries ------------------------------------------------------------------


def test_epoch_lines_log_the_first_and_every_tenth_epoch():
    lines = []
    report = epoch_lines(40, lines.append, prefix="  net, ")
    for e in range(40):
        report(EpochRecord(e, 1.0 / (e + 1), 0.5, 1.0, 2.0, 0, 0.01, float(e)))
    assert [line.split(":")[0] for line in lines] == ["  net, epoch 1"] + [f"  net, epoch {e}" for e in range(4, 41, 4)]
    assert "loss" in lines[0] and "acc" in lines[0]


@pytest.mark.parametrize("run", [5, 3])  # every epoch, or stopped early
def test_the_epoch_bar_counts_the_epochs_run_and_closes(run):
    import io

    from tqdm import tqdm

    from rockpool_dynapse2.app.demo import epoch_reporter

    bars, records = [], []
    progress = lambda it, **kw: bars.append(tqdm(it, file=io.StringIO(), mininterval=0, **kw)) or bars[-1]
    report, finish = epoch_reporter(progress, "training x", 5, records.append)
    assert bars[0].n == 0 and bars[0].total == 5 and bars[0].desc.startswith("training x")
    for e in range(run):
        report(e)
        assert bars[0].n == e + 1
    finish()
    assert bars[0].n == 5 and bars[0].disable  # closed, full
    assert records == list(range(run))
    report_only, finish_only = epoch_reporter(None, "x", 5, records.append)
    report_only(7)
    finish_only()
    assert records[-1] == 7


# --- plots ---------------------------------------------------------------------------------


def test_accuracy_bins_centre_each_achievable_accuracy_within_the_data():
    edges = accuracy_bins(np.array([0.91, 0.95, 1.0]), 1 / N_TEST)
    np.testing.assert_allclose(np.diff(edges), 0.01)
    assert edges[0] == pytest.approx(0.905) and edges[-1] == pytest.approx(1.005)
    counts, _ = np.histogram([0.91, 0.95, 0.95, 1.0], edges)
    assert counts.max() == 2 and (counts > 0).sum() == 3  # one achievable value a bin
    wide = accuracy_bins(np.linspace(0.0, 1.0, 101), 1 / N_TEST, max_bins=25)
    assert len(wide) - 1 <= 25 and wide[0] <= 0.0 and wide[-1] >= 1.0
    single = accuracy_bins(np.array([1.0, 1.0]), 1 / N_TEST)
    assert single[0] < 1.0 < single[-1] and len(single) == 2


def test_the_mismatch_histogram_spreads_the_chips_and_marks_the_float_accuracy():
    chips = {"with injection": [1.0] * 10 + [0.99] * 10 + [0.95, 0.9], "without injection": [1.0] * 12 + [0.97] * 10}
    result = _result(chips, floats=(1.0, 0.98))
    fig = mismatch_figure(result, N_TEST)
    for ax in fig.axes:
        assert ax.get_xlim()[0] > 0.8 and ax.get_xlim()[1] < 1.05  # the data's range, not 0..1
        heights = [p.get_height() for p in ax.patches]
        assert max(heights) < 0.8 * 22  # no single bin holds nearly every chip
        marks = {line.get_label(): line.get_xdata()[0] for line in ax.get_lines()}
        assert marks["float accuracy, with injection (100.0%)"] == pytest.approx(1.0)
        assert marks["float accuracy, without injection (98.0%)"] == pytest.approx(0.98)


def test_the_accuracy_legend_covers_no_bar():
    fig = accuracy_figure(_result(), n_classes=2)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent(renderer)
    bars = [p.get_window_extent(renderer) for p in ax.patches]
    assert len(bars) == 2 * 5 and not any(legend.overlaps(bar) for bar in bars)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(NETWORKS) <= set(texts) and "worst chip" in texts and "chance" in texts


def test_the_raster_names_its_stage_and_its_colours():
    task = frozen_noise(8, 0, n_channels=10, duration=0.05)
    out = np.zeros((len(task.y_test), task.x_test.shape[1], 4), np.float32)
    out[:, ::5, :] = 1.0
    fig = raster_figure(task, task.x_test, task.y_test, out, per_class=2, stage="virtual board, network trained with injection")
    assert fig.get_suptitle().startswith("virtual board, network trained with injection: ")
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == list(task.class_names)
    assert "class" in legend.get_title().get_text()
    colours = [h.get_color() for h in legend.legend_handles]
    assert colours == ["C0", "C1"]  # output neuron j has the colour of class j // per_class


def test_the_training_plot_has_a_title_and_both_networks():
    fig = training_figure(_result())
    assert "frozen-noise" in fig.get_suptitle()
    loss, acc = fig.axes
    assert loss.get_title() and acc.get_title()
    assert [t.get_text() for t in loss.get_legend().get_texts()] == list(NETWORKS)
    assert len(loss.get_lines()[0].get_xdata()) == DemoSettings.preset("quick").epochs


# --- command line --------------------------------------------------------------------------


@pytest.mark.parametrize("argv, command", [
    (["demo", "--learning-rate", "0.1"], "demo"),
    (["demo", "--quick", "--hidden", "3"], "demo"),
    (["train", "--data", "d.npz", "--neurons", "3"], "train"),
])
def test_an_option_the_command_does_not_know_shows_the_commands_usage(argv, command, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: rockpool-dynapse2 {command} ")
    assert f"rockpool-dynapse2 {command}: error: unrecognized arguments: {' '.join(argv[-2:])}" in err
    assert "--seed" in err  # the command's own options are listed


def test_demo_takes_epochs_and_per_class(monkeypatch, tmp_path, capsys):
    import rockpool_dynapse2.app.demo as demo

    seen = []
    monkeypatch.setattr(demo, "run_demo", lambda settings, *a, **k: (seen.append(settings), _result())[1])
    assert main(["demo", "--quick", "--epochs", "7", "--per-class", "3", "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert (seen[0].epochs, seen[0].neurons_per_class, seen[0].n_chips) == (7, 3, 16)
