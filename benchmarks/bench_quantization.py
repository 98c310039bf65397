"""Weight quantization: ours vs the best binary grid vs the lower bound vs Rockpool's autoencoder.

For each case, the relative Frobenius error ``||Q - W|| / ||W||`` over all weights and
the wall time of:

* **ours**: :func:`rockpool_dynapse2.transform.quantize_weights` (one call, in process);
* **binary grid**: the best binary-weighted bases ``s * (1, 2, 4, 8)`` per core (the
  uniform grid ``s * arange(16)``), as found inside ours (no separate time);
* **lower bound**: the optimal 16-level scalar quantizer with a level at 0, per core
  (no choice of 4 bases can do better);
* **Rockpool**: ``rockpool.devices.dynapse.quantization.autoencoder_quantization`` with
  ``n_cluster=1``, all neurons in core 0, ``n_bits=4`` and otherwise its defaults (adam,
  step 1e-4), twice: **RP-conv** keeps its default stopping rule (``fixed_epoch=False``:
  stop when the mean loss of a 1000-epoch checkpoint has not improved by 1e-6 for five
  checkpoints; at most 1e7 epochs) and **RP-N** runs ``fixed_epoch=True,
  num_epoch=N`` (``--epochs``, default 100 000; Rockpool's default ``num_epoch`` of 1e7
  fixed epochs is not feasible). Reconstructed with Rockpool's own
  ``WeightHandler.restore_weight_matrix``. Each Rockpool run has its own Python process
  under a timeout (``--timeout``); its time is the call alone (jit compilation included,
  imports excluded). Rockpool's autoencoder initialises from the global numpy RNG:
  seeded with 0.

Cases (signed weights; input matrix ``(N_in, N)`` and, for networks, recurrent ``(N, N)``):
64x64 and 256x256 uniform U(-1, 1), Gaussian N(0, 1) and log-normal (sigma 1, random
sign) matrices in one core; a 16-input, 32-neuron network like the paper's (Kaiming-scaled
Gaussian input and recurrent weights) in one core; a 1024-neuron network (4 cores, 256
inputs, 64 non-zero synapses per neuron) for ours only. ``--search-check`` instead
compares ours with a dense random search (30 x 40 000 random base vectors, the best of
each round refined by local descent) on 256x256 Gaussian, log-normal, Laplace and
two-scale matrices and the 16x32 network.

Run from the repository root::

    python benchmarks/bench_quantization.py            # all cases, Rockpool timeout 600 s
    python benchmarks/bench_quantization.py --quick    # no 256x256 cases, timeout 120 s
    python benchmarks/bench_quantization.py --case rockpool gauss-64 --epochs 0   # one run (JSON)
    python benchmarks/bench_quantization.py --search-check   # ours vs a dense random search
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ISCALE = 1e-8


def make_case(name: str):
    """``(w_in, w_rec or None, core_of_neuron)`` of a named case, from a fixed seed."""
    rng = np.random.default_rng(0)
    kind, _, size = name.rpartition("-")
    if kind == "net":  # 16 inputs, 32 neurons
        w_in = rng.standard_normal((16, 32)) * np.sqrt(2 / 16)
        w_rec = rng.standard_normal((32, 32)) * np.sqrt(2 / 32) * 0.5
        return w_in, w_rec, np.zeros(32, int)
    if kind == "chip":  # 1024 neurons in 4 cores, 256 inputs, 64 synapses per neuron
        n, n_in, fan_in = 1024, 256, 64
        w_in, w_rec = np.zeros((n_in, n)), np.zeros((n, n))
        for j in range(n):
            pre = rng.choice(n_in + n, fan_in, replace=False)
            w = rng.standard_normal(fan_in)
            w_in[pre[pre < n_in], j] = w[pre < n_in]
            w_rec[pre[pre >= n_in] - n_in, j] = w[pre >= n_in]
        return w_in, w_rec, np.arange(n) // 256
    n = int(size)
    if kind == "uniform":
        w = rng.uniform(-1.0, 1.0, (n, n))
    elif kind == "gauss":
        w = rng.standard_normal((n, n))
    elif kind == "laplace":
        w = rng.laplace(size=(n, n))
    elif kind == "mixture":  # two scales, as input and recurrent weights often have
        w = rng.standard_normal((n, n)) * np.where(rng.random((n, n)) < 0.33, 1.0, 0.35)
    elif kind == "lognormal":
        w = rng.lognormal(0.0, 1.0, (n, n)) * rng.choice([-1.0, 1.0], (n, n))
    else:
        raise ValueError(f"unknown case {name!r}")
    return w, None, np.zeros(n, int)


def relative_error(w_in, w_rec, q_in, q_rec) -> float:
    num = np.sum((q_in - w_in) ** 2) + (np.sum((q_rec - w_rec) ** 2) if w_rec is not None else 0.0)
    den = np.sum(w_in**2) + (np.sum(w_rec**2) if w_rec is not None else 0.0)
    return float(np.sqrt(num / den))


def run_rockpool(name: str, epochs: int = 0) -> dict:
    """Rockpool's autoencoder on a case: its defaults, or ``epochs`` fixed epochs if > 0."""
    import logging

    logging.disable(logging.WARNING)  # Rockpool's device package logs about samna
    from rockpool.devices.dynapse.quantization import autoencoder_quantization
    from rockpool.devices.dynapse.quantization.autoencoder import WeightHandler

    w_in, w_rec, cores = make_case(name)
    np.random.seed(0)
    t = time.perf_counter()
    fixed = {"fixed_epoch": True, "num_epoch": epochs} if epochs > 0 else {}
    spec = autoencoder_quantization(
        n_cluster=1, core_map=cores, weights_in=w_in, weights_rec=w_rec, Iscale=float(ISCALE), n_bits=4, **fixed
    )
    elapsed = time.perf_counter() - t
    code = np.array([spec[f"Iw_{k}"][0] for k in range(4)]) / ISCALE
    q_in = WeightHandler.restore_weight_matrix(4, code, spec["weights_in"][0], spec["sign_in"][0])
    q_rec = None
    if w_rec is not None:
        q_rec = WeightHandler.restore_weight_matrix(4, code, spec["weights_rec"][0], spec["sign_rec"][0])
    return {"error": relative_error(w_in, w_rec, q_in, q_rec), "time": elapsed}


def rockpool_in_subprocess(name: str, epochs: int, timeout: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--case", "rockpool", name, "--epochs", str(epochs)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": None, "time": None, "note": f"timeout > {timeout:.0f} s"}
    if out.returncode != 0:
        return {"error": None, "time": None, "note": "failed: " + out.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_ours(name: str) -> dict:
    from rockpool_dynapse2.transform import quantize_magnitudes, quantize_weights

    w_in, w_rec, cores = make_case(name)
    t = time.perf_counter()
    q = quantize_weights(w_in, w_rec, cores, Iscale=ISCALE)
    elapsed = time.perf_counter() - t
    # The best binary grid of each core (found inside the same fit; re-run to read it out).
    stacked = w_in if w_rec is None else np.vstack([w_in, w_rec])
    binary_sse = 0.0
    for c in np.unique(cores):
        block = np.abs(stacked[:, cores == c])
        m = quantize_magnitudes(block, lower_bound=False)
        binary_sse += m.binary_grid_error**2 * np.sum(block**2)
    return {
        "error": q.error,
        "time": elapsed,
        "binary": float(np.sqrt(binary_sse / np.sum(stacked**2))),
        "bound": q.lower_bound,
        "nnz": int(np.count_nonzero(stacked)),
        "shape": f"{w_in.shape[0]}x{w_in.shape[1]}" + ("" if w_rec is None else f" + {w_rec.shape[0]}x{w_rec.shape[1]}"),
        "cores": len(np.unique(cores)),
    }


def search_check(names, n_rounds: int = 30, n_candidates: int = 40_000, n_descents: int = 10) -> None:
    """Ours vs a dense random search: ``n_rounds * n_candidates`` random base vectors, each
    scored exactly, the ``n_descents`` best of every round refined by local descent."""
    from rockpool_dynapse2.transform import quantize_magnitudes
    from rockpool_dynapse2.transform._subset_sum import SortedMagnitudes, local_descent, subset_masks

    bits = subset_masks(4)
    print(f"Dense random search: {n_rounds} x {n_candidates} random base vectors (half uniform, half log-uniform), "
          f"the {n_descents} best of each round refined by local descent.\n")
    print("| case | ours | random search + descent | ours / random | binary grid | ours / binary | lower bound |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        w_in, w_rec, _ = make_case(name)
        x = np.abs(w_in if w_rec is None else np.vstack([w_in, w_rec]))
        q = quantize_magnitudes(x)
        v, c = np.unique(x[x > 0], return_counts=True)
        data = SortedMagnitudes(v / v[-1], c.astype(np.float64))
        rng = np.random.default_rng(12345)
        best = np.inf
        for _ in range(n_rounds):
            half = n_candidates // 2
            cands = np.concatenate([
                np.sort(rng.random((half, 4)), axis=1),
                np.sort(np.exp(rng.uniform(np.log(1e-3), 0.0, (half, 4))), axis=1),
            ])
            errs = data.sse(cands, bits)
            for idx in np.argsort(errs)[:n_descents]:
                best = min(best, local_descent(data, cands[idx], bits)[1])
        random_error = float(np.sqrt(best * v[-1] ** 2 / np.sum(x**2)))
        print(f"| {name} | {q.error:.6f} | {random_error:.6f} | {q.error / random_error:.7f} "
              f"| {q.binary_grid_error:.6f} | {q.error / q.binary_grid_error:.4f} | {q.lower_bound:.6f} |", flush=True)


def fmt(x, spec=".4f", none="—"):
    return none if x is None else format(x, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the 256x256 cases; Rockpool timeout 120 s")
    parser.add_argument("--timeout", type=float, default=None, help="Rockpool timeout per case (s)")
    parser.add_argument("--epochs", type=int, default=100_000, help="epochs of the fixed-epoch Rockpool run")
    parser.add_argument("--case", nargs=2, metavar=("IMPL", "NAME"), help="run one case (IMPL: rockpool or ours), print JSON")
    parser.add_argument("--search-check", action="store_true", help="compare ours with a dense random search instead")
    args = parser.parse_args()
    if args.search_check:
        search_check(["gauss-256", "lognormal-256", "laplace-256", "mixture-256", "net-16"])
        return
    if args.case:
        impl, name = args.case
        print(json.dumps(run_rockpool(name, args.epochs) if impl == "rockpool" else run_ours(name)))
        return

    timeout = args.timeout or (120.0 if args.quick else 600.0)
    cases = ["uniform-64", "gauss-64", "lognormal-64", "net-16"]
    if not args.quick:
        cases += ["uniform-256", "gauss-256", "lognormal-256"]
    cases += ["chip-1024"]

    from rockpool_dynapse2.transform import quantize_magnitudes

    quantize_magnitudes(np.random.default_rng(0).random(100))  # warm-up: imports, caches

    print(
        f"{'--quick' if args.quick else 'full'} run; Rockpool timeout {timeout:.0f} s per case and variant; "
        f"RP-conv: Rockpool's defaults (stop at convergence); RP-{args.epochs}: fixed_epoch=True, "
        f"num_epoch={args.epochs}. Errors: relative Frobenius.\n"
    )
    print(
        f"| case | weights (non-zero) | cores | ours | time (s) | binary grid | lower bound | ours / bound "
        f"| RP-conv | time (s) | RP-{args.epochs} | time (s) | ours / best RP | RP-conv time / ours |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in cases:
        ours = run_ours(name)
        if name.startswith("chip"):
            conv = fixed = {"error": None, "time": None, "note": "not run"}
        else:
            conv = rockpool_in_subprocess(name, 0, timeout)
            fixed = rockpool_in_subprocess(name, args.epochs, timeout)
        rock_errors = [r["error"] for r in (conv, fixed) if r["error"] is not None]
        ratio_err = ours["error"] / min(rock_errors) if rock_errors else None
        ratio_time = conv["time"] / ours["time"] if conv["time"] else None
        print(
            f"| {name} | {ours['shape']} ({ours['nnz']}) | {ours['cores']} | {fmt(ours['error'])} | {fmt(ours['time'], '.3f')} "
            f"| {fmt(ours['binary'])} | {fmt(ours['bound'])} | {fmt(ours['error'] / ours['bound'], '.2f')} "
            f"| {fmt(conv['error'], '.4f', conv.get('note', '—'))} | {fmt(conv['time'], '.1f', '—')} "
            f"| {fmt(fixed['error'], '.4f', fixed.get('note', '—'))} | {fmt(fixed['time'], '.1f', '—')} "
            f"| {fmt(ratio_err, '.2f')} | {fmt(ratio_time, '.0f')} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
