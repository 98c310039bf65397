"""``rockpool-dynapse2 map MODEL --out DIR`` (a NIR file, a trained network, a network spec or
a mapped configuration -> config.json.gz and report.json), and ``deploy --labels`` /
``--classes`` / ``inspect`` with the class map and compressed configurations."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from rockpool_dynapse2.app.cli import main
from rockpool_dynapse2.app.map_command import MapOptions, load_model, model_kind, parse_classes, run_map
from rockpool_dynapse2.errors import CliError, Dynapse2DRCError, ParameterValueError
from rockpool_dynapse2.mapping import NetworkSpec, Synapses, quantize_spec
from rockpool_dynapse2.parameters import CoreParameters
from rockpool_dynapse2.placement import MappedConfiguration, config_from_specification

NIR_DIR = Path(__file__).resolve().parent / "data" / "nir"
LEAKY = NIR_DIR / "snntorch_leaky.nir"


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def nir_input(tmp_path_factory):
    """snnTorch's own test input, (1, 200, 16) spikes."""
    path = tmp_path_factory.mktemp("x") / "x.npy"
    np.save(path, np.load(NIR_DIR / "snntorch_leaky.npz")["x"][:1, :200])
    return path


@pytest.fixture(scope="module")
def mapped_nir(tmp_path_factory, nir_input):
    """snnTorch's Leaky network mapped, calibrated on its input, with 2 output channels per class."""
    out = tmp_path_factory.mktemp("map")
    code = main(["map", str(LEAKY), "--out", str(out), "--reset", "subtract", "--calibration-input", str(nir_input),
                 "--classes", "2", "--quiet"])
    assert code == 0
    return out


# --- map --------------------------------------------------------------------------------------


def test_a_nir_file_is_mapped_with_a_report_of_what_happened(mapped_nir):
    report = json.loads((mapped_nir / "report.json").read_text())
    mapped = MappedConfiguration.load(mapped_nir / "config.json.gz")
    assert (mapped_nir / "config.json.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert report["kind"] == "nir" and report["config"] == str(mapped_nir / "config.json.gz")
    assert (report["inputs"], report["outputs"], report["neurons"]) == (16, 8, 40) == (mapped.n_inputs, mapped.n_outputs, len(mapped.neurons))
    assert report["layers"] == {"1": 32, "3": 8}
    assert [(c["chip"], c["core"], c["neurons"]) for c in report["cores"]] == [(0, 0, 32), (0, 1, 8)]
    summary = {(c.chip, c.core): c.cam_entries_used for chip in mapped.configuration.summary().chips for c in chip.cores}
    assert all(summary[(c["chip"], c["core"])] == c["cam_entries"] for c in report["cores"])
    q = report["quantization"]
    assert 0 < q["error"] < 0.2 and len(q["per_core"]) == 2 and q["dropped"] >= 0
    assert report["synapses"]["spec"] == report["synapses"]["placed"] == sum(c["cam_entries"] for c in report["cores"])
    assert report["design_rules"] == []
    assert report["classes"] == [[0, 1], [2, 3], [4, 5], [6, 7]] and mapped.classes == ((0, 1), (2, 3), (4, 5), (6, 7))
    assert "layer" in report["calibration"] and "total" in report["calibration"]
    assert any("quantized to weight 0" in n for n in report["notes"]) == (q["dropped"] > 0)
    assert len(q["dropped_synapses"]) == q["dropped"]  # each one listed: table, source, target, float weight
    assert all(d["table"] in ("input", "recurrent") and d["weight"] > 0 for d in q["dropped_synapses"])


def test_the_map_report_is_printed(tmp_path, capsys):
    code, out, _ = _run(["map", LEAKY, "--out", tmp_path, "--reset", "subtract", "--uncompressed", "--quiet"], capsys)
    assert code == 0
    for words in ("16 input and 8 output channels", "chip 0, core 0: 32 neurons", "quantization: weight error",
                  "design rules: all hold", "classes: none recorded", "not calibrated", f"configuration: {tmp_path / 'config.json'}"):
        assert words in out, words
    assert (tmp_path / "config.json").read_bytes()[:1] == b"{"
    assert json.loads((tmp_path / "report.json").read_text())["calibration"] is None


def _untrained_network(path: Path) -> Path:
    from rockpool_dynapse2.training import ChipModel, NetworkLayout, TrainResult, TrainSettings, save_parameters

    model = ChipModel(NetworkLayout.layered(8, hidden=(12,), n_classes=3, per_class=2), TrainSettings(quantize=True))
    return save_parameters(path, TrainResult(model=model, params=model.initial_parameters(), backend="jax"))


def test_a_trained_network_is_mapped_as_trained_with_its_class_map(tmp_path):
    from rockpool_dynapse2.mapping import spec_from_training
    from rockpool_dynapse2.training import load_parameters

    network = _untrained_network(tmp_path / "network.npz")
    report = run_map(network, tmp_path / "out", log=lambda m: None)
    assert report.kind == "network" and report.classes == [[0, 1], [2, 3], [4, 5]]
    expected = config_from_specification(spec_from_training(load_parameters(network)))
    mapped = MappedConfiguration.load(tmp_path / "out" / "config.json.gz")
    assert mapped.configuration == expected.configuration and mapped.outputs == expected.outputs
    assert mapped.classes == ((0, 1), (2, 3), (4, 5))
    q = report.quantization
    assert q["error"] > 0 and q["dropped"] == len(q["dropped_synapses"]) and "16 levels" in q["how"]
    assert report.synapses["spec"] == report.synapses["placed"] > 0


def _float_spec(fan_in: int = 3) -> NetworkSpec:
    rng = np.random.default_rng(0)
    w_in = np.zeros((fan_in, 4, 4))
    w_in[:, :, 0] = rng.random((fan_in, 4)) + 0.1
    return NetworkSpec(fan_in, 4, Synapses.from_dense(w_in), Synapses.empty(), [0, 0, 1, 1],
                       (CoreParameters(), CoreParameters(Itau_mem=2e-11)), [2, 3], names=("a", "b"), layer_of_neuron=[0, 0, 1, 1])


def test_a_network_spec_is_quantized_unless_it_is_and_read_compressed(tmp_path):
    spec = _float_spec()
    (tmp_path / "spec.json").write_text(spec.to_json())
    report = run_map(tmp_path / "spec.json", tmp_path / "a", log=lambda m: None)
    quantized, q_report = quantize_spec(spec)
    assert report.kind == "network-spec" and report.quantization["error"] == pytest.approx(q_report.error)
    assert MappedConfiguration.load(tmp_path / "a" / "config.json.gz") == config_from_specification(quantized)
    (tmp_path / "q.json").write_bytes(gzip.compress(quantized.to_json().encode()))  # compressed, not named .gz
    again = run_map(tmp_path / "q.json", tmp_path / "b", log=lambda m: None)
    assert again.quantization["error"] is None and "quantized already" in again.quantization["how"]
    assert (tmp_path / "b" / "config.json.gz").read_bytes() == (tmp_path / "a" / "config.json.gz").read_bytes()


def test_a_mapped_configuration_gets_a_class_map(tmp_path, capsys):
    spec, _ = quantize_spec(_float_spec())
    config_from_specification(spec).save(tmp_path / "plain.json")
    code, out, _ = _run(["map", tmp_path / "plain.json", "--out", tmp_path / "out", "--classes", "0", "1", "--quiet"], capsys)
    assert code == 0 and "classes: 2 (class: output channels) 0: 0; 1: 1" in out
    mapped = MappedConfiguration.load(tmp_path / "out" / "config.json.gz")
    assert mapped.classes == ((0,), (1,)) and mapped.configuration == config_from_specification(spec).configuration
    assert json.loads((tmp_path / "out" / "report.json").read_text())["kind"] == "mapped-configuration"


def test_a_design_rule_violation_is_reported_and_raised(tmp_path, capsys):
    spec = _float_spec(fan_in=70)  # 70 input synapses onto each neuron: 64 CAM entries
    (tmp_path / "spec.json").write_text(spec.to_json())
    with pytest.raises(Dynapse2DRCError):
        run_map(tmp_path / "spec.json", tmp_path / "out", log=lambda m: None)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["config"] is None and not (tmp_path / "out" / "config.json.gz").exists()
    assert {v["rule"] for v in report["design_rules"]} == {"cam_entries"} and len(report["design_rules"]) == 4
    assert report["design_rules"][0]["limit"] == 64 and report["design_rules"][0]["actual"] == 70
    code, _, err = _run(["map", tmp_path / "spec.json", "--out", tmp_path / "again"], capsys)
    assert code == 2 and err.startswith("error: the network must fit the chip; 4 design rule(s) broken")


# --- bad models, bad options ------------------------------------------------------------------


def _bare_samna(path: Path) -> Path:
    spec, _ = quantize_spec(_float_spec())
    config_from_specification(spec).configuration.save(path)
    return path


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda d: d / "missing.nir", "`MODEL` must be an existing file"),
        (lambda d: d, "`MODEL` must be a file, not a directory"),
        (lambda d: (d / "notes.txt").write_text("hello") and d / "notes.txt", "`MODEL` must be a NIR file (HDF5)"),
        (lambda d: (d / "x.json").write_text('{"format": "other"}') and d / "x.json", "`MODEL` must be a NIR file (HDF5)"),
        (lambda d: _bare_samna(d / "samna.json.gz"), "a bare samna configuration"),
    ],
)
def test_a_bad_model_path_or_format_is_a_named_error(tmp_path, make, words):
    path = make(tmp_path)
    with pytest.raises(CliError, match=words.replace("(", r"\(").replace(")", r"\)")):
        model_kind(path)


def test_a_malformed_model_is_refused_with_its_path(tmp_path, capsys):
    document = json.loads(_float_spec().to_json())
    document["input_synapses"]["weight"][1] = "heavy"
    (tmp_path / "spec.json").write_text(json.dumps(document))
    code, _, err = _run(["map", tmp_path / "spec.json", "--out", tmp_path / "out"], capsys)
    assert code == 2 and err.strip() == "error: `input_synapses.weight[1]` must be a finite JSON number; got 'heavy'"
    (tmp_path / "bad.nir").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)  # HDF5's signature, then nothing
    code, _, err = _run(["map", tmp_path / "bad.nir", "--out", tmp_path / "out"], capsys)
    assert code == 2 and err.startswith("error: `MODEL` must be a NIR graph nir can read")


def test_nir_options_are_refused_for_other_kinds(tmp_path):
    (tmp_path / "spec.json").write_text(_float_spec().to_json())
    with pytest.raises(CliError, match="`--dt, --reset` must be given only for a NIR file; got a network-spec"):
        load_model(tmp_path / "spec.json", MapOptions(dt=1e-3, reset="subtract"))
    with pytest.raises(ParameterValueError, match="--chips"):
        MapOptions(chips=0)


def test_bad_nir_options_and_class_maps_are_named_errors(tmp_path, capsys):
    code, _, err = _run(["map", LEAKY, "--out", tmp_path, "--reset", "sideways"], capsys)
    assert code == 2 and "`reset` must be one of zero, subtract; got 'sideways'" in err
    code, _, err = _run(["map", LEAKY, "--out", tmp_path, "--reset", "subtract", "--classes", "3"], capsys)
    assert code == 2 and "`per_class` must be an integer >= 1 that divides the 8 output channels; got 3" in err
    assert parse_classes(["4"]) == 4 and parse_classes(["0,1", "2"]) == ((0, 1), (2,))
    with pytest.raises(CliError, match="`--classes` must be M"):
        parse_classes(["two"])


# --- deploy and inspect with the class map ------------------------------------------------------


def test_deploy_prints_classes_and_the_accuracy_of_the_labels(mapped_nir, tmp_path, capsys):
    x = np.load(NIR_DIR / "snntorch_leaky.npz")["x"][:, 200:320].astype(np.float32)  # (2, 120, 16), held out
    np.save(tmp_path / "x.npy", x)
    labels = np.array([1, 3])
    np.save(tmp_path / "y.npy", labels)
    code, text, _ = _run(["deploy", mapped_nir / "config.json.gz", "--input", tmp_path / "x.npy", "--labels",
                          tmp_path / "y.npy", "--output", tmp_path / "o.npy"], capsys)
    assert code == 0
    counts = np.load(tmp_path / "o.npy").sum(1)
    mapped = MappedConfiguration.load(mapped_nir / "config.json.gz")
    predicted = mapped.predict(counts)
    assert counts.sum() > 0
    shown = " ".join("-" if c < 0 else str(c) for c in predicted)
    assert f"class per sample (-: a tie, no class): {shown}" in text
    correct = int((predicted == labels).sum())
    assert f"accuracy: {correct / 2:.1%} ({correct} of 2 samples)" in text


def test_deploy_labels_need_a_class_map_and_classes_give_one(tmp_path, capsys):
    spec, _ = quantize_spec(_float_spec())
    config_from_specification(spec).save(tmp_path / "c.json.gz")
    np.save(tmp_path / "x.npy", np.ones((2, 10, 3), np.float32))
    np.save(tmp_path / "y.npy", np.array([0, 1]))
    base = ["deploy", tmp_path / "c.json.gz", "--input", tmp_path / "x.npy", "--labels", tmp_path / "y.npy"]
    code, _, err = _run(base, capsys)
    assert code == 2 and err.startswith("error: `--labels` must come with a class map") and "--classes M" in err
    code, text, _ = _run(base + ["--classes", "1"], capsys)
    assert code == 0 and "class per sample" in text and "accuracy: " in text
    np.save(tmp_path / "y.npy", np.array([0, 1, 1]))
    code, _, err = _run(base + ["--classes", "1"], capsys)
    assert code == 2 and "`--labels` must have shape (2,)" in err
    np.save(tmp_path / "y.npy", np.array([0, 5]))
    code, _, err = _run(base + ["--classes", "1"], capsys)
    assert code == 2 and "`--labels` must be integer classes in 0..1" in err


def test_inspect_reads_a_compressed_configuration_and_shows_its_classes(mapped_nir, capsys):
    code, out, _ = _run(["inspect", mapped_nir / "config.json.gz"], capsys)
    assert code == 0 and "mapped configuration" in out
    assert "classes (class: output channels): 0: 0, 1; 1: 2, 3; 2: 4, 5; 3: 6, 7" in out


def test_a_nir_network_too_large_for_the_board_names_its_layer_in_the_report(tmp_path, capsys):
    import nir

    n = 5000
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([2])),
            "w": nir.Linear(weight=np.ones((n, 2))),
            "big": nir.LIF(tau=np.full(n, 1e-2), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n)),
            "output": nir.Output(output_type=np.array([n])),
        },
        edges=[("input", "w"), ("w", "big"), ("big", "output")],
        type_check=False,
    )
    nir.write(tmp_path / "big.nir", graph)
    code, _, err = _run(["map", tmp_path / "big.nir", "--out", tmp_path / "out", "--dt", "1e-3"], capsys)
    assert code == 2 and "neurons needs 5000; the chip allows at most 4096" in err
    (violation,) = json.loads((tmp_path / "out" / "report.json").read_text())["design_rules"]
    assert violation == {"rule": "neurons", "limit": 4096, "actual": 5000,
                         "where": "network (16 cores x 256 neurons); layers 'big' (5000 neurons)"}
