"""The ``rockpool-dynapse2`` command line (demo, inspect, deploy, errors) and the built-in tasks."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rockpool_dynapse2.app.cli import main
from rockpool_dynapse2.placement import MappedConfiguration
from rockpool_dynapse2.errors import ParameterValueError, UnknownParameterError
from rockpool_dynapse2.app.tasks import Task, frozen_noise, make_task, rate_frequency

STAGES = ("float simulation", "quantized", "mismatch 30%", "virtual board")


# --- tasks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [frozen_noise, rate_frequency])
def test_tasks_are_deterministic_for_a_seed(make):
    a, b, c = make(24, 3), make(24, 3), make(24, 4)
    for x, y in zip(a[:4], b[:4]):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.x_train, c.x_train)


def test_frozen_noise_has_the_documented_shapes_and_rate():
    task = frozen_noise(200, 0)
    assert isinstance(task, Task) and task.n_classes == 2 and task.dt == 1e-3
    assert task.x_train.shape == (100, 500, 60) and task.x_test.shape == (100, 500, 60)
    assert task.x_train.dtype == np.float32 and task.y_train.dtype == np.int64
    assert np.bincount(task.y_train).tolist() == [50, 50] and np.bincount(task.y_test).tolist() == [50, 50]
    x = np.concatenate([task.x_train, task.x_test])
    assert x.min() >= 0 and np.all(x == np.round(x))
    rate = x.mean() / task.dt
    # The samples share their class pattern: the sampling error is that of the patterns'
    # spike counts (Poisson, 1500 expected per pattern), 70 % of which a sample keeps.
    expected = 50.0 * 0.5 * 60
    sigma = 50.0 * 0.7 * np.sqrt(expected / 2) / expected
    assert abs(rate - 50.0) < 4 * sigma + 0.5


def test_frozen_noise_samples_are_noisy_copies_of_their_class_pattern():
    task = frozen_noise(40, 1)
    x, y = task.x_train, task.y_train
    binned = x.reshape(len(y), 25, 20, 60).sum(2)  # 20 ms bins: the jitter is at most 5 ms
    corr = lambda i, j: np.corrcoef(binned[i].ravel(), binned[j].ravel())[0, 1]
    same = [corr(i, j) for i in range(len(y)) for j in range(i) if y[i] == y[j]]
    other = [corr(i, j) for i in range(len(y)) for j in range(i) if y[i] != y[j]]
    assert min(same) > 0.25 and abs(np.mean(other)) < 0.02
    assert not any(np.array_equal(x[i], x[j]) for i in range(len(y)) for j in range(i))


def test_rate_frequency_modulates_at_the_class_frequency():
    freqs = (5.0, 10.0, 20.0, 40.0)
    task = rate_frequency(80, 0, frequencies=freqs)
    assert task.x_train.shape == (40, 500, 32) and task.n_classes == 4
    assert task.class_names == ("5 Hz", "10 Hz", "20 Hz", "40 Hz")
    x = np.concatenate([task.x_train, task.x_test])
    y = np.concatenate([task.y_train, task.y_test])
    assert abs(x.mean() / task.dt - 50.0) < 3.0
    # power spectrum of every channel, summed over channels (the wave reaches them at different times)
    spectrum = (np.abs(np.fft.rfft(x - x.mean(1, keepdims=True), n=4000, axis=1)) ** 2).sum(2)
    f = np.fft.rfftfreq(4000, task.dt)
    band = (f > 2) & (f < 60)
    peak = f[band][spectrum[:, band].argmax(1)]
    np.testing.assert_allclose(peak, np.asarray(freqs)[y], rtol=0.15)


def test_tasks_refuse_bad_arguments():
    with pytest.raises(ParameterValueError):
        frozen_noise(3, 0)  # fewer than 2 samples per class
    with pytest.raises(ParameterValueError):
        frozen_noise(20, 0, p_drop=1.5)
    with pytest.raises(ParameterValueError):
        rate_frequency(20, 0, frequencies=(5.0,))
    with pytest.raises(UnknownParameterError):
        make_task("mnist", 10, 0)


# --- demo -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    capture = pytest.MonkeyPatch()
    import io

    buffer = io.StringIO()
    capture.setattr(sys, "stdout", buffer)
    try:
        status = main(["demo", "--smoke", "--out", str(out), "--no-progress", "--seed", "1"])
    finally:
        capture.undo()
    return status, buffer.getvalue(), out


def test_demo_completes_and_prints_every_stage(demo_run):
    status, text, _ = demo_run
    assert status == 0
    table = text[text.index("stage") :]
    assert "with injection" in table and "without injection" in table
    for stage in STAGES:
        assert stage in table, stage


def test_demo_writes_a_readable_configuration_and_plots(demo_run):
    _, _, out = demo_run
    mapped = MappedConfiguration.load(out / "config.json.gz")
    assert mapped.n_inputs == 60 and mapped.n_outputs == 4  # 2 classes x 2 neurons
    assert mapped.classes == ((0, 1), (2, 3))  # deploy --labels scores it at once
    MappedConfiguration.load(out / "config_without_injection.json.gz")
    for name in ("raster.png", "accuracy.png", "mismatch.png", "training.png"):
        data = (out / name).read_bytes()
        assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n", name
    results = json.loads((out / "results.json").read_text())
    for report in results["networks"].values():
        assert 0.0 <= report["float_accuracy"] <= 1.0
        assert len(report["mismatch"]["0.3"]["accuracies"]) == results["settings"]["n_chips"]


def test_demo_trains_both_networks_with_the_training_library(demo_run):
    """Both networks are the training library's: their saved networks reload as
    ``TrainResult``s of the same synapses, one trained with injection and one without,
    each with its epoch history."""
    from rockpool_dynapse2.training import load_parameters

    _, _, out = demo_run
    with_inj, without = load_parameters(out / "network.npz"), load_parameters(out / "network_without_injection.npz")
    assert with_inj.model.settings.inject and not without.model.settings.inject
    np.testing.assert_array_equal(with_inj.model.connections.input, without.model.connections.input)
    assert with_inj.model.layout.population("output").size == 4 and with_inj.model.connections.fan_in.max() <= 64
    results = json.loads((out / "results.json").read_text())
    for name in ("with injection", "without injection"):
        history = results["training"][name]["history"]
        assert len(history) == results["settings"]["epochs"] and "grad_norm" in history[0]
        assert len(results["networks"][name]["train_loss"]) == len(history)


def test_demo_output_to_a_file_has_a_line_per_stage_and_training_summaries(demo_run):
    """Not on a terminal (here a buffer), where no progress bar draws: a line as every
    stage starts and ends, and a training summary every tenth of the epochs."""
    _, text, _ = demo_run
    log = text[: text.index("\nstage ")]  # up to the summary table's head (a line starting "stage")
    for name in ("with injection", "without injection"):
        for line in (f"training {name}: 2 epochs", f"  {name}, epoch 1: loss", f"  {name}, epoch 2: loss",
                     f"trained {name} in", f"measuring {name}", f"virtual board ({name}): sending 2 test samples",
                     f"virtual board ({name}): test accuracy"):
            assert line in log, line
    assert log.index("training without injection") < log.index("measuring with injection")


def test_deploy_runs_at_once_on_the_test_set_the_demo_saved(demo_run, tmp_path, capsys):
    _, text, out = demo_run
    x, y = np.load(out / "x_test.npy"), np.load(out / "y_test.npy")
    assert x.shape == (8, 500, 60) and y.shape == (8,)
    assert f"rockpool-dynapse2 deploy {out / 'config.json.gz'} --input {out / 'x_test.npy'}" in text
    assert main(["deploy", str(out / "config.json.gz"), "--input", str(out / "x_test.npy"), "--labels", str(out / "y_test.npy"),
                 "--output", str(tmp_path / "o.npy")]) == 0
    assert "accuracy" in capsys.readouterr().out
    assert np.load(tmp_path / "o.npy").shape == (8, 500, 4)


def test_demo_torch_backend_smoke(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    threads = torch.get_num_threads()
    seen = []
    import rockpool_dynapse2.app.demo as demo

    original = demo.train_model
    monkeypatch.setattr(demo, "train_model", lambda *a, **k: (seen.append((torch.get_num_threads(), a[2].backend)), original(*a, **k))[1])
    assert main(["demo", "--smoke", "--backend", "torch", "--out", str(tmp_path), "--no-progress", "--quiet"]) == 0
    text = capsys.readouterr().out
    for stage in STAGES:
        assert stage in text
    MappedConfiguration.load(tmp_path / "config.json.gz")
    assert seen == [(1, "torch")] * 2  # the small torch networks train on one thread ...
    assert torch.get_num_threads() == threads  # ... and the caller's setting comes back


# --- inspect ----------------------------------------------------------------------------------


def test_inspect_shows_use_and_core_parameters(demo_run, capsys):
    _, _, out = demo_run
    assert main(["inspect", str(out / "config.json.gz")]) == 0
    text = capsys.readouterr().out
    assert "mapped configuration" in text and "60 input, 4 output" in text
    assert "chip 0, core 0: parameters" in text
    for name in ("SOIF_LEAK_N", "tau_mem", "SYAM_W0_P", "DEAM_ETAU_P", "CAM"):
        assert name in text, name


def test_inspect_accepts_a_bare_samna_configuration(demo_run, tmp_path, capsys):
    _, _, out = demo_run
    mapped = MappedConfiguration.load(out / "config.json.gz")
    bare = tmp_path / "samna.json"
    bare.write_text(mapped.configuration.to_json())
    assert main(["inspect", str(bare)]) == 0
    text = capsys.readouterr().out
    assert "samna configuration" in text and "SOIF_LEAK_N" in text and "tau_mem" in text


# --- deploy -----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(200, 60), (2, 150, 60)])
def test_deploy_writes_an_output_raster_of_the_right_shape(demo_run, tmp_path, capsys, shape):
    _, _, out = demo_run
    raster = np.random.default_rng(0).poisson(0.05, shape).astype(np.float32)
    np.save(tmp_path / "in.npy", raster)
    status = main(["deploy", str(out / "config.json.gz"), "--input", str(tmp_path / "in.npy"), "--output", str(tmp_path / "out.npy")])
    assert status == 0
    result = np.load(tmp_path / "out.npy")
    assert result.shape == shape[:-1] + (4,)
    assert result.min() >= 0 and result.sum() > 0
    assert "output raster" in capsys.readouterr().out


# --- errors -----------------------------------------------------------------------------------


def _error_cases(config: Path, tmp: Path):
    (tmp / "broken.json").write_text('{"format": "rockpool-dynapse2/mapped-configuration/1", "dt": ')
    (tmp / "garbage.json").write_text("this is not json")
    np.save(tmp / "wrong.npy", np.zeros((100, 7), dtype=np.float32))
    np.save(tmp / "negative.npy", -np.ones((100, 60), dtype=np.float32))
    (tmp / "text.npy").write_text("not an array")
    mapped = MappedConfiguration.load(config)
    (tmp / "bare.json").write_text(mapped.configuration.to_json())
    np.save(tmp / "ok.npy", np.zeros((50, 60), dtype=np.float32))
    c, ok = str(config), str(tmp / "ok.npy")
    return {
        "missing config": ["inspect", str(tmp / "nope.json")],
        "config is a directory": ["inspect", str(tmp)],
        "malformed mapped JSON": ["inspect", str(tmp / "broken.json")],
        "not JSON": ["inspect", str(tmp / "garbage.json")],
        "deploy missing config": ["deploy", str(tmp / "nope.json"), "--input", ok],
        "deploy missing raster": ["deploy", c, "--input", str(tmp / "nope.npy")],
        "wrong raster shape": ["deploy", c, "--input", str(tmp / "wrong.npy")],
        "negative spike counts": ["deploy", c, "--input", str(tmp / "negative.npy")],
        "raster not npy": ["deploy", c, "--input", str(tmp / "text.npy")],
        "bare config to deploy": ["deploy", str(tmp / "bare.json"), "--input", ok],
        "deploy on a board": ["deploy", c, "--input", ok, "--board", "0"],
        "demo on a board": ["demo", "--smoke", "--out", str(tmp / "d"), "--board", "0"],
    }


def test_every_error_path_exits_2_with_one_error_line(demo_run, tmp_path, capsys):
    _, _, out = demo_run
    for case, argv in _error_cases(out / "config.json.gz", tmp_path).items():
        status = main(argv)
        captured = capsys.readouterr()
        assert status == 2, case
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (case, captured.err)
        assert "Traceback" not in captured.err + captured.out, case
    assert not (tmp_path / "d").exists()  # the board check comes before any work


def test_a_configuration_file_that_is_not_there_is_named_as_map_names_its_model(tmp_path, capsys):
    """``inspect`` and ``deploy`` read CONFIG with the check ``map`` reads MODEL with."""
    cases = {"`CONFIG` must be an existing file": str(tmp_path / "nope.json"),
             "`CONFIG` must be a file, not a directory": str(tmp_path)}
    for message, path in cases.items():
        for argv in (["inspect", path], ["deploy", path, "--input", str(tmp_path / "x.npy")]):
            assert main(argv) == 2, argv
            assert capsys.readouterr().err.startswith(f"error: {message}; got {path!r}"), argv


def test_board_errors_name_what_is_missing(demo_run, tmp_path, capsys):
    _, _, out = demo_run
    np.save(tmp_path / "ok.npy", np.zeros((10, 60), dtype=np.float32))
    assert main(["deploy", str(out / "config.json.gz"), "--input", str(tmp_path / "ok.npy"), "--board", "1"]) == 2
    err = capsys.readouterr().err
    assert "samna" in err.lower() and "board" in err.lower()


def test_board_options_name_a_kind_of_the_board_registry(capsys):
    from rockpool_dynapse2.app.cli import board_request
    from rockpool_dynapse2.hardware import VirtualBoard, board_kinds

    virtual = board_request(None, "torch")
    assert (virtual.kind, virtual.options, virtual.label) == ("virtual", {"backend": "torch"}, "virtual board")
    board = virtual.factory()()
    assert isinstance(board, VirtualBoard) and board.backend == "torch"
    chip = board_request(3, "jax")
    assert (chip.kind, chip.options) == ("samna", {"index": 3}) and chip.kind in board_kinds()
    assert main(["deploy", "c.json", "--input", "x.npy", "--board", "-1"]) == 2  # checked before the files
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "index" in err and "-1" in err


@pytest.mark.parametrize(
    "argv",
    [[], ["demo", "--backend", "tensorflow"], ["deploy", "config.json"], ["deploy", "c.json", "--input", "x.npy", "--virtual", "--board", "0"]],
)
def test_usage_errors_stay_argparse(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_console_script_is_installed(demo_run):
    script = shutil.which("rockpool-dynapse2") or str(Path(sys.executable).parent / "rockpool-dynapse2")
    _, _, out = demo_run
    done = subprocess.run([script, "inspect", str(out / "config.json.gz")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "SOIF_LEAK_N" in done.stdout
    done = subprocess.run([script, "inspect", str(out / "missing.json")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr


def _result_with(with_acc, without_acc):
    from rockpool_dynapse2.app.demo import NETWORKS, DemoResult, DemoSettings, NetworkReport

    settings = DemoSettings.preset("quick")
    nets = {}
    for name, acc in zip(NETWORKS, (with_acc, without_acc)):
        r = NetworkReport(name, float_accuracy=1.0, quantized_accuracy=1.0, board_accuracy=1.0)
        r.mismatch = {d: np.asarray(acc[d]) for d in settings.deviations}
        nets[name] = r
    return DemoResult(settings=settings, networks=nets, board="virtual board")


def test_a_run_where_injection_did_not_help_gets_a_note():
    """The note explains a single run that goes against the measured result, and names the
    numbers; a run where injection helps gets none."""
    from rockpool_dynapse2.app.demo import injection_note

    worse = _result_with({0.2: [0.95, 0.9], 0.3: [0.8, 0.9]}, {0.2: [0.9, 0.9], 0.3: [0.9, 0.9]})
    note = injection_note(worse)
    assert note is not None and "30%" in note and "85.0% against 90.0%" in note and "docs/results.md" in note
    assert "100 epochs, 8 chips per training step, 16 evaluation chips" in note  # quick's recipe, from the settings
    better = _result_with({0.2: [0.9, 0.9], 0.3: [0.95, 0.9]}, {0.2: [0.95, 0.95], 0.3: [0.9, 0.9]})
    assert injection_note(better) is None  # judged at the highest mismatch level only
    tie = _result_with({0.2: [0.9], 0.3: [0.9]}, {0.2: [0.9], 0.3: [0.9]})
    assert injection_note(tie) is not None


def test_demo_command_prints_the_note(monkeypatch, tmp_path, capsys):
    import rockpool_dynapse2.app.demo as demo

    worse = _result_with({0.2: [0.9], 0.3: [0.8]}, {0.2: [0.9], 0.3: [0.9]})
    monkeypatch.setattr(demo, "run_demo", lambda *args, **kwargs: worse)
    assert main(["demo", "--quick", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "note: in this run, injection did not raise" in out
    assert out.index("note:") > out.index("virtual board")  # after the summary table
