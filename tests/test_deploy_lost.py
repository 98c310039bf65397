"""``rockpool-dynapse2 deploy`` loses no input silently.

* input events that would reach no neuron (a route to a tag no CAM entry listens to)
  stop ``deploy`` with a named error, exit status 2, saying how many and where, before
  any board is opened; ``--allow-lost-inputs`` runs anyway and prints the count;
* an input routed to a chip the configuration does not have is refused.
"""

import dataclasses
import json

import numpy as np
import pytest
from rockpool.nn.combinators import Sequential
from rockpool.nn.modules import LinearJax

from rockpool_dynapse2 import DynapSimJax
from rockpool_dynapse2.app.cli import main
from rockpool_dynapse2.errors import LostInputsError
from rockpool_dynapse2.hardware import VirtualBoard, lost_inputs
from rockpool_dynapse2.mapping import mapper, quantize_spec
from rockpool_dynapse2.placement import InputRoute, config_from_specification

DEAD_CHANNEL = 1


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A configuration whose input channel 1 goes to a tag nobody listens to, and rasters."""
    tmp = tmp_path_factory.mktemp("deploy")
    rng = np.random.default_rng(0)
    net = Sequential(LinearJax((4, 3), weight=np.abs(rng.normal(0, 1, (4, 3))) + 1.5, has_bias=False), DynapSimJax((3,)))
    qspec, _ = quantize_spec(mapper(net.as_graph()))
    mapped = config_from_specification(qspec)
    heard = {s.tag for _, s in mapped.configuration.used_synapses()}
    live = mapped.inputs[DEAD_CHANNEL][0]
    dead = InputRoute(live.chip, live.core_mask, next(t for t in range(2047) if t not in heard))
    inputs = tuple((dead,) if i == DEAD_CHANNEL else r for i, r in enumerate(mapped.inputs))
    lossy = dataclasses.replace(mapped, inputs=inputs)
    (tmp / "lossy.json").write_text(lossy.to_json())
    # the same with channel 1 routed to chip 1 of a configuration of one chip (only the JSON can say so)
    head, sep, tail = lossy.to_json().partition(', "configuration": ')
    maps = json.loads(head + "}")
    maps["inputs"][DEAD_CHANNEL] = [[1, [True, False, False, False], live.tag]]
    (tmp / "nochip.json").write_text(json.dumps(maps)[:-1] + sep + tail)
    x = rng.poisson(0.5, (2, 30, 4)).astype(np.float32)
    x[..., DEAD_CHANNEL] += 1  # spikes on the dead channel in every step
    np.save(tmp / "x.npy", x)
    quiet = x.copy()
    quiet[..., DEAD_CHANNEL] = 0  # nothing sent to the dead route: nothing lost
    np.save(tmp / "quiet.npy", quiet)
    return tmp, lossy, dead, x


def _deploy(tmp, config, raster, *extra):
    return main(["deploy", str(tmp / config), "--input", str(tmp / raster), *extra])


def test_deploy_refuses_lost_inputs_saying_how_many_and_where(files, capsys, monkeypatch):
    tmp, lossy, dead, x = files
    opened = []
    monkeypatch.setattr(VirtualBoard, "apply_configuration", lambda self, config: opened.append(config))
    assert _deploy(tmp, "lossy.json", "x.npy", "--output", str(tmp / "y.npy")) == 2
    captured = capsys.readouterr()
    n_lost = int(x[..., DEAD_CHANNEL].sum())
    line = captured.err.strip()
    assert line.startswith("error: `input routes` must reach a neuron") and len(line.splitlines()) == 1
    assert f"got {n_lost} of {int(x.sum())} input events lost" in line
    assert f"input channel {DEAD_CHANNEL} -> chip 0, cores 0, tag {dead.tag}: {n_lost} events" in line
    assert "--allow-lost-inputs" in line
    assert opened == [] and not (tmp / "y.npy").exists()  # refused before any board was opened


def test_the_error_is_named_and_carries_the_counts(files):
    _, lossy, dead, x = files
    report = lost_inputs(x, lossy)
    err = LostInputsError(report.lost, report.sent, report.where)
    assert isinstance(err, ValueError)
    assert (err.lost, err.sent) == (int(x[..., DEAD_CHANNEL].sum()), int(x.sum()))
    assert err.where == (f"input channel {DEAD_CHANNEL} -> chip 0, cores 0, tag {dead.tag}: {err.lost} events",)


def test_allow_lost_inputs_runs_and_prints_the_count(files, capsys):
    tmp, lossy, dead, x = files
    assert _deploy(tmp, "lossy.json", "x.npy", "--allow-lost-inputs", "--output", str(tmp / "y.npy")) == 0
    out = capsys.readouterr().out
    n_lost = int(x[..., DEAD_CHANNEL].sum())
    assert f"lost inputs: {n_lost} of {int(x.sum())} input events reached no neuron" in out
    assert f"tag {dead.tag}: {n_lost} events" in out
    assert np.load(tmp / "y.npy").shape == (2, 30, lossy.n_outputs)


def test_a_raster_that_sends_nothing_to_the_dead_route_loses_nothing(files, capsys):
    tmp, _, _, _ = files
    assert _deploy(tmp, "lossy.json", "quiet.npy") == 0
    assert "lost inputs" not in capsys.readouterr().out


def test_an_input_routed_to_a_chip_the_configuration_lacks_is_refused(files, capsys):
    tmp, _, _, _ = files
    assert _deploy(tmp, "nochip.json", "x.npy", "--allow-lost-inputs") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and f"inputs[{DEAD_CHANNEL}][0].chip" in err and "0..0" in err
