"""Time of the graph-to-hardware flow on a full board: 4 chips, 4096 neurons, 64 synapses each.

The network: 64 input channels, 4080 hidden DYNAP-SE2 neurons and 16 output neurons
(4096 neurons, 16 cores). Every hidden neuron receives 8 input synapses and 56 recurrent
synapses from random neurons of its own chip (so every chip hears at most 1024 + 64
sources, within its 2047 tags); every output neuron 64 synapses from hidden neurons of
the last chip. Stages:
``net.as_graph()``, ``mapper``, ``quantize_spec``, ``config_from_specification``, the
configuration's JSON, reading it back, and ``spec_from_config``.

Run from the repository root::

    python benchmarks/bench_mapping.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def build_network(n_chips: int = 4, n_inputs: int = 64, n_out: int = 16, in_per_neuron: int = 8, rec_per_neuron: int = 56, seed: int = 0):
    """A Rockpool network of ``1024 * n_chips`` DYNAP-SE2 neurons with chip-local recurrence."""
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearJax

    from rockpool_dynapse2 import DynapSimJax

    rng = np.random.default_rng(seed)
    n = 1024 * n_chips - n_out
    w_in = np.zeros((n_inputs, n), dtype=np.float32)
    w_rec = np.zeros((n, n), dtype=np.float32)
    for j in range(n):
        w_in[rng.choice(n_inputs, in_per_neuron, replace=False), j] = rng.normal(0, 1, in_per_neuron)
        chip = j // 1024
        local = np.arange(chip * 1024, min(n, (chip + 1) * 1024))
        w_rec[rng.choice(local, rec_per_neuron, replace=False), j] = rng.normal(0, 0.5, rec_per_neuron)
    w_out = np.zeros((n, n_out), dtype=np.float32)
    last_chip = np.arange((n_chips - 1) * 1024, n)
    for j in range(n_out):
        w_out[rng.choice(last_chip, 64, replace=False), j] = rng.normal(0, 1, 64)
    return Sequential(
        LinearJax((n_inputs, n), weight=w_in, has_bias=False),
        DynapSimJax((n,), w_rec=w_rec),
        LinearJax((n, n_out), weight=w_out, has_bias=False),
        DynapSimJax((n_out,), Idc=2e-12),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chips", type=int, default=4)
    args = parser.parse_args()

    from rockpool_dynapse2.placement import MappedConfiguration, config_from_specification, spec_from_config
    from rockpool_dynapse2.mapping import mapper, quantize_spec

    net = build_network(args.chips)
    times = {}

    def stage(name, fn):
        t = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - t
        print(f"{name:>28}: {times[name]:7.2f} s", flush=True)
        return out

    graph = stage("as_graph", net.as_graph)
    spec = stage("mapper", lambda: mapper(graph))
    qspec, report = stage("quantize_spec", lambda: quantize_spec(spec))
    mapped = stage("config_from_specification", lambda: config_from_specification(qspec))
    text = stage("to_json", mapped.to_json)
    back = stage("from_json", lambda: MappedConfiguration.from_json(text))
    spec2 = stage("spec_from_config", lambda: spec_from_config(back))
    total = times["mapper"] + times["quantize_spec"] + times["config_from_specification"]
    print(f"{'map + quantize + configure':>28}: {total:7.2f} s")
    print(f"neurons {qspec.n_neurons}, cores {qspec.n_cores}, synapses {len(qspec.input_synapses) + len(qspec.recurrent_synapses)}, "
          f"max CAM/neuron {qspec.synapse_counts().max()}, JSON {len(text) / 2**20:.0f} MiB, weight error {report.error:.2%}")
    same = np.array_equal(qspec.dense_weights()[1], spec2.dense_weights()[1])
    print(f"round trip preserves the recurrent weights: {same}")


if __name__ == "__main__":
    main()
