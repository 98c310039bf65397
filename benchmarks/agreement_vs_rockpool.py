"""Spike-for-spike agreement of DynapSimJax and DynapSimTorch with Rockpool's DynapSim in
random regimes (the same kind of regimes as tests/test_sim_vs_rockpool.py, with a size and
a number of cases of your choice).

Each case draws, with its seed: about half of the currents, each per neuron within a decade
of Rockpool's defaults; dt in {0.1, 0.5, 1} ms; Iscale in {1, 10, 30} nA; recurrent weights
or none; sparse non-negative AMPA input (Rockpool's DynapSim drops negative input). All
three modules run the same currents, float32, from rest.

Usage (the figures in docs/simulation.md)::

    python benchmarks/agreement_vs_rockpool.py --cases 20
    python benchmarks/agreement_vs_rockpool.py --neurons 256 --batch 4 --cases 8
"""

from __future__ import annotations

import argparse
import logging

import jax
import numpy as np
import torch

import rockpool_dynapse2 as rd

CURRENTS = ("Idc", "Itau_mem", "Igain_mem", "Ispkthr", "Iref", "Ipulse", "Itau_ahp", "Igain_ahp", "Iw_ahp", "Ipulse_ahp", "Itau_syn", "Igain_syn")


def run_case(case: int, n: int, batch: int, steps: int) -> dict:
    from rockpool.devices.dynapse import DynapSim

    rng = np.random.default_rng(case)
    defaults = DynapSim((n, n), rng_key=jax.random.PRNGKey(0))
    currents = {}
    for name in CURRENTS:
        if rng.random() < 0.5:
            currents[name] = (np.asarray(getattr(defaults, name)) * 10 ** rng.uniform(-1, 1, n)).astype(np.float32)
    dt = float(rng.choice([1e-4, 5e-4, 1e-3]))
    Iscale = float(rng.choice([1e-9, 1e-8, 3e-8]))
    recurrent = bool(rng.random() < 0.5)
    x = ((rng.random((batch, steps, n)) < 0.05) * rng.uniform(0, 1.0, (batch, steps, n))).astype(np.float32)
    w_rec = ((rng.random((n, n)) < 0.3) * rng.uniform(0, 0.5, (n, n))).astype(np.float32) if recurrent else None
    extra = {"w_rec": w_rec} if recurrent else {}
    reference = DynapSim((n, n), rng_key=jax.random.PRNGKey(0), dt=dt, Iscale=Iscale, has_rec=recurrent, **currents, **extra)
    ref = np.asarray(reference(x)[0])
    ours_jax = np.asarray(rd.DynapSimJax((n,), dt=dt, Iscale=Iscale, **currents, **extra)(x)[0])
    with torch.no_grad():
        ours_torch = rd.DynapSimTorch((n,), dt=dt, Iscale=Iscale, **currents, **extra)(torch.as_tensor(x))[0].numpy()
    return {
        "case": case,
        "dt": dt,
        "Iscale": Iscale,
        "recurrent": recurrent,
        "spikes": float(ref.sum()),
        "jax_differing": int((ours_jax != ref).sum()),
        "torch_differing": int((ours_torch != ref).sum()),
        "entries": int(ref.size),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20, help="random regimes (seeds 0 .. cases-1)")
    parser.add_argument("--neurons", type=int, default=8)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # Rockpool's warnings about its own defaults
    exact = {"jax": 0, "torch": 0}
    worst = {"jax": 0.0, "torch": 0.0}
    for case in range(args.cases):
        r = run_case(case, args.neurons, args.batch, args.steps)
        for backend in exact:
            differing = r[f"{backend}_differing"]
            exact[backend] += differing == 0
            worst[backend] = max(worst[backend], differing / r["entries"])
        print(
            f"case {case:3d}  dt={r['dt']:g} Iscale={r['Iscale']:g} recurrent={r['recurrent']!s:5}  "
            f"spikes {r['spikes']:8.0f}  entries differing: jax {r['jax_differing']}, torch {r['torch_differing']}",
            flush=True,
        )
    for backend in exact:
        print(f"{backend}: spike for spike in {exact[backend]} of {args.cases} cases; at most {100 * worst[backend]:.3f} % of entries differ")


if __name__ == "__main__":
    main()
