"""Per-chip readout calibration without a ChipModel: ``ReadoutCalibration.measure``, its
file, ``MappedConfiguration.predict(counts, calibration)`` and ``rockpool-dynapse2 deploy
--calibration-input / --readout-calibration / --save-calibration`` on the virtual board."""

import dataclasses
import json

import numpy as np
import pytest

from rockpool_dynapse2.app.cli import main
from rockpool_dynapse2.errors import ParameterValueError, ShapeError
from rockpool_dynapse2.training import ChipModel, NetworkLayout, ReadoutCalibration, TrainSettings

BURSTS = dict(T=40, starts=(3, 23), width=12, p=0.7)  # conftest's burst task, as in test_readout_window
WINDOW = 30  # readout_start 0.75 of 40 steps


@pytest.fixture(scope="module")
def board(burst_task, tmp_path_factory):
    """A tiny untrained network (2 classes of 2 output channels, readout from step 30 of 40),
    its configuration on disk, a labelled raster X and an unlabelled raster U, and the
    virtual board's outputs for both."""
    from rockpool_dynapse2.app.train_pipeline import board_outputs
    from rockpool_dynapse2.hardware import board_factory
    from rockpool_dynapse2.mapping.trained import spec_from_training
    from rockpool_dynapse2.placement import config_from_specification
    from rockpool_dynapse2.placement.mapped import trained_readout
    from rockpool_dynapse2.training.result import TrainResult

    tmp = tmp_path_factory.mktemp("deploycal")
    x, y = burst_task(**BURSTS)
    u, _ = burst_task(**BURSTS, n=6, seed=1)
    layout = NetworkLayout.layered(8, hidden=(12,), n_classes=2, per_class=2)
    model = ChipModel(layout, TrainSettings(readout_start=0.75, recurrent_scale=1.0, input_scale=4.0))
    result = TrainResult(model=model, params=model.initial_parameters(), backend="jax")
    mapped = trained_readout(config_from_specification(spec_from_training(result)), model)
    mapped.save(tmp / "config.json.gz")
    dataclasses.replace(mapped, classes=None).save(tmp / "no_classes.json.gz")
    for name, array in (("x", x), ("y", y), ("u", u), ("u1", u[:1]), ("u_wrong", u[..., :5])):
        np.save(tmp / f"{name}.npy", array)
    out_x = board_outputs(mapped, x, board_factory("virtual"), rest_steps=0)
    out_u = board_outputs(mapped, u, board_factory("virtual"), rest_steps=0)
    return dict(tmp=tmp, model=model, mapped=mapped, y=y, out_x=out_x, out_u=out_u)


def _classes_line(classes) -> str:
    return " ".join("-" if c < 0 else str(c) for c in classes)


def _by_hand(board):
    """The calibration and calibrated classes computed here with numpy, from the board's
    outputs: counts from step 30 on, mean and floored spread over U's samples, each class's
    mean of (count - mean) / spread over its channels, -1 for a tie."""
    cx, cu = board["out_x"][:, WINDOW:].sum(1), board["out_u"][:, WINDOW:].sum(1)
    mean, std = cu.mean(0), np.maximum(cu.std(0), 0.5)
    z = (cx - mean) / std
    scores = np.stack([z[:, [0, 1]].mean(1), z[:, [2, 3]].mean(1)], axis=1)
    tied = scores[:, 0] == scores[:, 1]
    return cx, cu, mean, std, np.where(tied, -1, scores.argmax(1))


def test_deploy_measures_the_calibration_on_the_board_and_reads_the_classes_both_ways(board, capsys):
    tmp, model, y = board["tmp"], board["model"], board["y"]
    cx, cu, mean, std, calibrated = _by_hand(board)
    argv = ["deploy", str(tmp / "config.json.gz"), "--input", str(tmp / "x.npy"), "--labels", str(tmp / "y.npy"),
            "--calibration-input", str(tmp / "u.npy"), "--save-calibration", str(tmp / "cal.json")]
    assert main(argv) == 0
    text = capsys.readouterr().out
    saved = ReadoutCalibration.load(tmp / "cal.json")
    assert saved.samples == 6 and np.allclose(saved.mean, mean, rtol=1e-12) and np.allclose(saved.std, std, rtol=1e-12)
    by_model = model.calibrate_readout(cu)  # ChipModel's calibration of the same counts
    assert np.array_equal(by_model.mean, saved.mean) and np.array_equal(by_model.std, saved.std)
    assert np.array_equal(model.output_predict(cx, by_model), calibrated)
    assert "readout calibration: measured on 6 unlabelled samples of 40 steps" in text
    assert f"calibrated class per sample: {_classes_line(calibrated)}\n" in text
    raw = board["mapped"].predict(cx)
    assert f"class per sample (-: a tie, no class): {_classes_line(raw)}\n" in text
    correct, correct_raw = int((calibrated == y).sum()), int((raw == y).sum())
    assert f"accuracy, calibrated readout: {correct / 8:.1%} ({correct} of 8 samples)\n" in text
    assert f"accuracy: {correct_raw / 8:.1%} ({correct_raw} of 8 samples)\n" in text
    assert text.index("readout calibration: measured") < text.index("ran 8 sample(s)")  # U first, on the same board


def test_a_saved_calibration_is_read_back_and_gives_the_same_classes(board, capsys):
    tmp = board["tmp"]
    *_, mean, std, calibrated = _by_hand(board)
    ReadoutCalibration(mean, std, 6).save(tmp / "hand.json.gz")
    argv = ["deploy", str(tmp / "config.json.gz"), "--input", str(tmp / "x.npy"), "--readout-calibration", str(tmp / "hand.json.gz")]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "unlabelled samples" not in text and f"readout calibration: read {tmp / 'hand.json.gz'} (measured on 6 samples)" in text
    assert f"calibrated class per sample: {_classes_line(calibrated)}\n" in text
    assert "accuracy" not in text  # no labels, no accuracy


def test_deploy_help_lists_the_calibration_options(capsys):
    with pytest.raises(SystemExit) as done:
        main(["deploy", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for option in ("--calibration-input U.npy", "--readout-calibration CAL.json", "--save-calibration CAL.json"):
        assert option in text, option


# --- the record and its file ----------------------------------------------------------------


def test_measure_is_the_mean_and_the_floored_spread_and_chip_model_uses_it():
    counts = np.array([[0.0, 3.0, 1.0, 7.0], [4.0, 3.0, 2.0, 9.0], [2.0, 3.0, 6.0, 2.0]])
    calibration = ReadoutCalibration.measure(counts)
    assert calibration.samples == 3 and calibration.n_outputs == 4
    assert np.array_equal(calibration.mean, counts.mean(0))
    assert np.array_equal(calibration.std, [np.sqrt(8 / 3), 0.5, counts[:, 2].std(), counts[:, 3].std()])
    model = ChipModel(NetworkLayout.layered(3, hidden=(4,), n_classes=2, per_class=2))
    by_model = model.calibrate_readout(counts)
    assert np.array_equal(by_model.mean, calibration.mean) and np.array_equal(by_model.std, calibration.std)
    for bad, error in ((counts[:1], ShapeError), (-counts, ParameterValueError), (counts * np.nan, ParameterValueError),
                       (counts[0], ShapeError)):
        with pytest.raises(error, match="`output_counts` must"):
            ReadoutCalibration.measure(bad)


@pytest.mark.parametrize("name", ["cal.json", "cal.json.gz"])
def test_a_calibration_round_trips_through_its_file_exactly(tmp_path, name):
    calibration = ReadoutCalibration.measure(np.random.default_rng(3).poisson(4.0, (9, 5)).astype(float))
    path = calibration.save(tmp_path / name)
    back = ReadoutCalibration.load(path)
    assert np.array_equal(back.mean, calibration.mean) and np.array_equal(back.std, calibration.std)
    assert back.samples == 9 and back.to_json() == calibration.to_json()
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")


GOOD = {"format": "rockpool-dynapse2/readout-calibration/1", "samples": 4, "mean": [1.0, 2.0], "std": [0.5, 1.5]}


@pytest.mark.parametrize("change, error, name", [
    ({"format": "rockpool-dynapse2/mapped-configuration/1"}, ParameterValueError, "format"),
    ({"std": None}, ParameterValueError, "std"),  # missing (removed below)
    ({"extra": 1}, ParameterValueError, "extra"),
    ({"std": [0.5]}, ParameterValueError, "std"),
    ({"std": [0.5, 0.0]}, ParameterValueError, "std"),
    ({"std": [0.5, -1.0]}, ParameterValueError, "std"),
    ({"std": [0.5, "1"]}, ParameterValueError, r"std\[1\]"),
    ({"mean": [1.0, -2.0]}, ParameterValueError, "mean"),
    ({"samples": 1}, ParameterValueError, "samples"),
    ({"samples": True}, ParameterValueError, "samples"),
    ({"mean": [], "std": []}, ShapeError, "mean"),
])
def test_a_bad_calibration_file_is_a_named_error_with_its_path(tmp_path, change, error, name):
    document = {**GOOD, **change}
    if change == {"std": None}:
        del document["std"]
    (tmp_path / "bad.json").write_text(json.dumps(document))
    with pytest.raises(error, match=f"`{name}` must"):
        ReadoutCalibration.load(tmp_path / "bad.json")


def test_non_finite_numbers_and_other_files_are_refused(tmp_path):
    (tmp_path / "nan.json").write_text(json.dumps(GOOD).replace("1.5", "NaN"))
    with pytest.raises(ParameterValueError, match=r"`std\[1\]` must be a finite JSON number"):
        ReadoutCalibration.load(tmp_path / "nan.json")
    (tmp_path / "text.json").write_text("not json")
    with pytest.raises(ParameterValueError, match="readout calibration file"):
        ReadoutCalibration.load(tmp_path / "text.json")
    with pytest.raises(ParameterValueError, match="an existing file"):
        ReadoutCalibration.load(tmp_path / "nope.json")


def test_the_configuration_reads_calibrated_classes_as_chip_model_does(board):
    mapped, model = board["mapped"], board["model"]
    counts = np.random.default_rng(4).poisson(3.0, (20, 4)).astype(float)
    calibration = ReadoutCalibration.measure(counts[:10])
    assert np.array_equal(mapped.predict(counts, calibration), model.output_predict(counts, calibration))
    with pytest.raises(ShapeError, match="`calibration` must have shape \\(4,\\)"):
        mapped.predict(counts, ReadoutCalibration.measure(counts[:, :3]))
    with pytest.raises(ParameterValueError, match="`calibration` must be a ReadoutCalibration"):
        mapped.predict(counts, {"mean": [0] * 4})
    # ChipModel refuses them with the same check (ReadoutCalibration.checked), naming the calibration
    with pytest.raises(ShapeError, match="`calibration` must have shape \\(4,\\): one mean and spread per output channel of the network"):
        model.output_predict(counts, ReadoutCalibration.measure(counts[:, :3]))
    with pytest.raises(ParameterValueError, match="`calibration` must be a ReadoutCalibration"):
        model.output_predict(counts, {"mean": [0] * 4})


# --- the command's bad inputs ---------------------------------------------------------------------


def _deploy(board, *options):
    tmp = board["tmp"]
    return main(["deploy", str(tmp / "config.json.gz"), "--input", str(tmp / "x.npy"), *options])


def test_every_bad_calibration_option_exits_2_with_one_error_line(board, tmp_path, capsys):
    tmp = board["tmp"]
    ReadoutCalibration(np.ones(3), np.ones(3), 2).save(tmp_path / "three.json")
    (tmp_path / "broken.json").write_text(json.dumps({k: v for k, v in GOOD.items() if k != "mean"}))
    cases = {
        "`--readout-calibration` must have shape (4,): one mean and spread per output channel": ("--readout-calibration", str(tmp_path / "three.json")),
        "`mean` must be present": ("--readout-calibration", str(tmp_path / "broken.json")),
        "`--calibration-input` must hold B >= 2 samples": ("--calibration-input", str(tmp / "u1.npy")),
        "`--calibration-input` must have shape (T, 8) or (B, T, 8)": ("--calibration-input", str(tmp / "u_wrong.npy")),
        "`--calibration-input` must be an existing .npy file": ("--calibration-input", str(tmp_path / "nope.npy")),
        "`--save-calibration` must come with --calibration-input": ("--save-calibration", str(tmp_path / "c.json")),
    }
    for message, options in cases.items():
        assert _deploy(board, *options) == 2, message
        captured = capsys.readouterr()
        assert captured.err.startswith(f"error: {message}") and captured.err.count("\n") == 1, captured.err
        assert "ran " not in captured.out  # refused before the input ran
    assert not (tmp_path / "c.json").exists()


def test_a_calibration_needs_a_class_map_and_one_source(board, capsys):
    tmp = board["tmp"]
    for option, value in (("--calibration-input", "u.npy"), ("--readout-calibration", "cal.json")):
        argv = ["deploy", str(tmp / "no_classes.json.gz"), "--input", str(tmp / "x.npy"), option, str(tmp / value)]
        assert main(argv) == 2
        assert capsys.readouterr().err.startswith(f"error: `{option}` must come with a class map")
    assert main(["deploy", str(tmp / "no_classes.json.gz"), "--input", str(tmp / "x.npy"), "--classes", "2",
                 "--calibration-input", str(tmp / "u.npy")]) == 0  # --classes gives one
    assert "calibrated class per sample" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        _deploy(board, "--calibration-input", str(tmp / "u.npy"), "--readout-calibration", str(tmp / "cal.json"))
    assert done.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_the_helpers_raise_the_named_errors(board, tmp_path):
    from rockpool_dynapse2.app.deploy_command import CalibrationRequest, prepare_calibration
    from rockpool_dynapse2.errors import CliError

    mapped = board["mapped"]
    ReadoutCalibration(np.ones(5), np.ones(5), 2).save(tmp_path / "five.json")
    with pytest.raises(ShapeError):
        prepare_calibration(CalibrationRequest(load=str(tmp_path / "five.json")), mapped, "c", False)
    with pytest.raises(CliError):
        prepare_calibration(CalibrationRequest(load=str(tmp_path / "five.json")), dataclasses.replace(mapped, classes=None), "c", False)
    assert prepare_calibration(CalibrationRequest(), mapped, "c", False) is None


def test_load_raster_batches_a_file_as_float32_and_remembers_its_layout(tmp_path):
    from rockpool_dynapse2.app.deploy_command import load_raster

    one = np.arange(10, dtype=np.int64).reshape(5, 2)  # (T, C): one sample
    np.save(tmp_path / "one.npy", one)
    np.save(tmp_path / "three.npy", np.stack([one] * 3))
    single, batch = load_raster(str(tmp_path / "one.npy"), 2), load_raster(str(tmp_path / "three.npy"), 2)
    assert single.x.shape == (1, 5, 2) and single.x.dtype == np.float32 and single.single and single.shape == (5, 2)
    assert np.array_equal(single.x[0], one)
    assert batch.x.shape == (3, 5, 2) and batch.x.dtype == np.float32 and not batch.single
