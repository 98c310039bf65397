"""Agreement of converted LIF networks with the originals: ours vs Rockpool's conversion.

For each network the LIF original and every conversion run on a *held-out* input (the
same distribution as the calibration input, a different draw): 5 % Poisson input spikes
per channel and step, ``dt`` = 1 ms. Each cell is ``total spikes (relative error,
per-neuron count correlation)`` against the LIF network, per layer. Conversions:

* ``Rockpool``: ``rockpool.devices.dynapse.mapper`` + ``dynapsim_net_from_spec`` (its
  neurons assumed in layer order);
* ``analytic``: our ``mapper`` without calibration (rheobase conversion, :mod:`.lif`);
* ``per layer``: ``map_and_calibrate`` (a drive scale and a threshold per layer);
* ``per neuron``: the same with ``per_neuron=True``.

Then the calibrated 16 -> 32 network on inputs of other rates (calibrated at 5 %), which
shows what the calibration does not carry over, and before and after weight quantization. Run from the repository root; the table
goes to ``docs/lif_conversion.md`` by hand::

    python benchmarks/bench_lif_conversion.py          # about 1-2 min on 2 cores
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Dict, List, Tuple

import numpy as np

logging.disable(logging.WARNING)  # Rockpool's "samna not found" warnings


def poisson(rng: np.random.Generator, B: int, T: int, n: int, rate: float = 0.05) -> np.ndarray:
    return (rng.random((B, T, n)) < rate).astype("float32")


def net_16_32(sd: float, seed: int = 0) -> Tuple[object, np.random.Generator]:
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFJax, LinearJax

    rng = np.random.default_rng(seed)
    return Sequential(LinearJax((16, 32), weight=rng.normal(0, sd, (16, 32))), LIFJax(32)), rng


def net_issue10(seed: int = 1) -> Tuple[object, np.random.Generator]:
    """Rockpool issue #10's network: 12 -> 32 -> 32 (recurrent) -> 2 LIFTorch layers, with
    weights small enough that the LIF network does not run away (its multi-spike steps
    make recurrent LIF layers explode with Rockpool's default initialisation)."""
    import torch
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch

    rng = np.random.default_rng(seed)
    w = lambda sd, shape: torch.as_tensor(rng.normal(0, sd, shape), dtype=torch.float32)
    net = Sequential(
        LinearTorch((12, 32), weight=w(0.3, (12, 32)), has_bias=False),
        LIFTorch(32),
        LinearTorch((32, 32), weight=w(0.03, (32, 32)), has_bias=False),
        LIFTorch(32, has_rec=True, w_rec=w(0.003, (32, 32))),
        LinearTorch((32, 2), weight=w(0.03, (32, 2)), has_bias=False),
        LIFTorch(2),
    )
    return net, rng


def rockpool_counts(net: object, x: np.ndarray) -> np.ndarray:
    from rockpool.devices.dynapse import dynapsim_net_from_spec, mapper

    spec = mapper(net.as_graph())
    return np.asarray(dynapsim_net_from_spec(**spec)(x)[0]).sum(axis=(0, 1))


def cell(ref: np.ndarray, got: np.ndarray) -> str:
    err = (got.sum() - ref.sum()) / max(ref.sum(), 1.0)
    corr = np.corrcoef(ref, got)[0, 1] if ref.size > 2 and np.ptp(ref) and np.ptp(got) else float("nan")
    if np.isfinite(corr):
        return f"{got.sum():.0f} ({err:+.0%}, {corr:.2f})"
    per_neuron = np.abs(got - ref).sum() / max(ref.sum(), 1.0)  # for layers too small for a correlation
    return f"{got.sum():.0f} ({err:+.0%}, per neuron {per_neuron:.0%} off)"


def scenario(name: str, make: Callable, B: int, T: int) -> List[str]:
    from rockpool_dynapse2.mapping import mapper
    from rockpool_dynapse2.mapping.calibration.calibrate import map_and_calibrate, reference_spike_counts, spec_spike_counts

    net, rng = make()
    n_in = net.shape[0]
    x, held_out = poisson(rng, B, T, n_in), poisson(rng, B, T, n_in)
    spec = mapper(net.as_graph())
    ref = reference_spike_counts(spec, net, held_out)
    counts: Dict[str, np.ndarray] = {"Rockpool": rockpool_counts(net, held_out), "analytic": spec_spike_counts(spec, held_out)}
    seconds = {}
    for label, per_neuron in (("per layer", False), ("per neuron", True)):
        t0 = time.perf_counter()
        calibrated, report = map_and_calibrate(net.as_graph(), x, calibration={"per_neuron": per_neuron})
        seconds[label] = time.perf_counter() - t0
        counts[label] = spec_spike_counts(calibrated, held_out)
        print(report, flush=True)
    rows = []
    layer_of = spec.layer_of_neuron
    for k in range(len(spec.names)):
        m = layer_of == k
        label = f"{name}, layer {k + 1} ({m.sum()})" if len(spec.names) > 1 else name
        rows.append(
            f"| {label} | {ref[m].sum():.0f} | " + " | ".join(cell(ref[m], counts[c][m]) for c in counts) + " |"
        )
    rows.append(
        f"| {name}: calibration time | | | | {seconds['per layer']:.1f} s | {seconds['per neuron']:.1f} s |"
    )
    return rows


def rate_shift() -> List[str]:
    from rockpool_dynapse2.mapping.calibration.calibrate import map_and_calibrate, spec_spike_counts

    net, rng = net_16_32(0.5)
    x = poisson(rng, 4, 1000, 16)
    specs = {pn: map_and_calibrate(net.as_graph(), x, calibration={"per_neuron": pn})[0] for pn in (False, True)}
    rows = []
    for rate in (0.02, 0.05, 0.10):
        held_out = poisson(rng, 4, 1000, 16, rate)
        ref = np.asarray(net(held_out)[0]).sum(axis=(0, 1))
        rows.append(
            f"| 16 -> 32 (sd 0.5), input rate {rate:.0%} | {ref.sum():.0f} | "
            + " | ".join(cell(ref, spec_spike_counts(specs[pn], held_out)) for pn in (False, True))
            + " |"
        )
    return rows


def quantized() -> List[str]:
    """The calibrated 16 -> 32 network before and after ``quantize_spec`` (4-bit masks, 4
    bases per core, snapped currents)."""
    from rockpool_dynapse2.mapping import quantize_spec
    from rockpool_dynapse2.mapping.calibration.calibrate import map_and_calibrate, spec_spike_counts

    net, rng = net_16_32(0.5)
    x, held_out = poisson(rng, 4, 1000, 16), poisson(rng, 4, 1000, 16)
    ref = np.asarray(net(held_out)[0]).sum(axis=(0, 1))
    rows = []
    for label, per_neuron in (("per layer", False), ("per neuron", True)):
        spec, _ = map_and_calibrate(net.as_graph(), x, calibration={"per_neuron": per_neuron})
        cells = [cell(ref, spec_spike_counts(s, held_out)) for s in (spec, quantize_spec(spec)[0])]
        rows.append(f"| 16 -> 32 (sd 0.5), {label} | {ref.sum():.0f} | " + " | ".join(cells) + " |")
    return rows


def main() -> None:
    rows = ["| network | LIF | Rockpool | analytic | per layer | per neuron |", "|---|---|---|---|---|---|"]
    rows += scenario("16 -> 32, w ~ N(0, 0.5)", lambda: net_16_32(0.5), 4, 1000)
    rows += scenario("16 -> 32, w ~ N(0, 0.1)", lambda: net_16_32(0.1), 4, 1000)
    rows += scenario("issue #10 (LIFTorch)", net_issue10, 2, 1000)
    shift = ["| held-out input | LIF | per layer | per neuron |", "|---|---|---|---|"] + rate_shift()
    quant = ["| calibration | LIF | float weights | after quantize_spec |", "|---|---|---|---|"] + quantized()
    for table in (rows, shift, quant):
        print("\n".join(table))
        print()


if __name__ == "__main__":
    main()
