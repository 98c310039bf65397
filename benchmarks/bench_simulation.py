"""Speed and memory of the simulation modules, side by side with Rockpool's DynapSim.

Every case runs in its own Python process (so peak memory is that case's alone) and
reports the median wall time of ``--repeats`` calls after one warm-up call (which
includes compilation). Cases:

* ``fwd``: ``jax.jit``-compiled forward pass of ``Sequential(Linear((64, N)), neurons)``,
  the neurons with trainable recurrent weights (``has_rec=True``), as in training;
* ``fwd-norec``: the same without recurrent weights (Rockpool's DynapSim then multiplies
  by a constant zero matrix that XLA folds away);
* ``grad``: ``jax.jit(jax.value_and_grad)`` of an MSE loss on the spike counts, with
  respect to all trainable parameters, the linear and the recurrent weights (torch:
  ``loss.backward()``);
* ``direct``: a plain call of the neuron module with no user ``jax.jit``;
* ``mem``: peak resident memory of one forward+gradient (``ru_maxrss`` of the process).

Run from the repository root; figures go to ``docs/benchmarks.md`` by hand::

    python benchmarks/bench_simulation.py            # the full table (about 15-25 min)
    python benchmarks/bench_simulation.py --quick    # N = 64, 256 only
    python benchmarks/bench_simulation.py --case ours-jax grad 256 16 1000   # one case

``BENCH_TORCH_THREADS`` sets torch's threads (default: all cores).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

IMPLS = ("rockpool", "ours-jax", "ours-torch", "ours-torch-compiled")


def _input(B: int, T: int, n_in: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return (rng.random((B, T, n_in)) < 0.05).astype("float32") * 2.0


def _jax_case(impl: str, kind: str, N: int, B: int, T: int, repeats: int):
    rec = not kind.endswith("-norec")
    kind = kind.replace("-norec", "")
    import logging

    logging.disable(logging.WARNING)  # Rockpool's device package logs about samna
    import jax
    import jax.numpy as jnp
    import numpy as np
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearJax

    if impl == "rockpool":
        from rockpool.devices.dynapse import DynapSim

        neurons = DynapSim((N, N), rng_key=jax.random.PRNGKey(0), has_rec=rec)
    else:
        from rockpool_dynapse2 import DynapSimJax

        neurons = DynapSimJax((N,), has_rec=rec, seed=0)
    n_in = 64
    x = _input(B, T, n_in)
    w = np.random.default_rng(1).normal(0, 1.0, (n_in, N)).astype("float32")
    net = Sequential(LinearJax((n_in, N), weight=w), neurons)

    if kind == "direct":
        xn = _input(B, T, N)
        fn = lambda: neurons(xn)[0]
    elif kind == "fwd":
        f = jax.jit(lambda p, x: net.set_attributes(p)(x)[0])
        p = net.parameters()
        fn = lambda: f(p, x)
    else:  # grad, mem

        def loss(p, x):
            out = net.set_attributes(p)(x)[0]
            return jnp.mean((out - 0.05) ** 2)

        g = jax.jit(jax.value_and_grad(loss))
        p = net.parameters()
        fn = lambda: g(p, x)
    return lambda: jax.block_until_ready(fn()), repeats


def _torch_case(impl: str, kind: str, N: int, B: int, T: int, repeats: int):
    import numpy as np
    import torch
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LinearTorch

    from rockpool_dynapse2 import DynapSimTorch

    torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", os.cpu_count() or 1)))
    rec = not kind.endswith("-norec")
    kind = kind.replace("-norec", "")
    neurons = DynapSimTorch((N,), compile=impl == "ours-torch-compiled", has_rec=rec, seed=0)
    n_in = 64
    x = torch.as_tensor(_input(B, T, n_in))
    w = torch.as_tensor(np.random.default_rng(1).normal(0, 1.0, (n_in, N)).astype("float32"))
    net = Sequential(LinearTorch((n_in, N), weight=w), neurons)

    def run():
        neurons.reset_state()
        if kind == "direct":
            with torch.no_grad():
                return neurons(torch.as_tensor(_input(B, T, N)))[0]
        if kind == "fwd":
            with torch.no_grad():
                return net(x)[0]
        for _, param in net.named_parameters():  # Rockpool's parameters() is a dict
            param.grad = None
        out = net(x)[0]
        loss = torch.mean((out - 0.05) ** 2)
        loss.backward()
        return loss

    return run, repeats


def run_case(impl: str, kind: str, N: int, B: int, T: int, repeats: int) -> dict:
    """Time one case in this process; returns a JSON-able dict."""
    maker = _jax_case if impl in ("rockpool", "ours-jax") else _torch_case
    fn, repeats = maker(impl, kind, N, B, T, repeats)
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(0 if kind == "mem" else repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # GiB (ru_maxrss is KiB)
    return {
        "impl": impl,
        "kind": kind,
        "N": N,
        "B": B,
        "T": T,
        "first_s": first,
        "median_s": statistics.median(times) if times else None,
        "peak_gib": peak,
    }


def _subprocess(impl: str, kind: str, N: int, B: int, T: int, repeats: int, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--case", impl, kind, str(N), str(B), str(T), "--repeats", str(repeats)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"impl": impl, "kind": kind, "N": N, "B": B, "T": T, "error": f"timeout {timeout:.0f} s"}
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"impl": impl, "kind": kind, "N": N, "B": B, "T": T, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(lines[-1])


def _fmt(r: dict) -> str:
    if "error" in r:
        return f"error: {r['error']}"
    if r["kind"] == "mem":
        return f"{r['peak_gib']:.2f} GiB"
    return f"{r['median_s'] * 1e3:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", nargs=5, metavar=("IMPL", "KIND", "N", "B", "T"), help="run one case in this process")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="N = 64 and 256 only")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per case")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    if args.case:
        impl, kind, N, B, T = args.case
        print(json.dumps(run_case(impl, kind, int(N), int(B), int(T), args.repeats)))
        return

    sizes = (64, 256) if args.quick else (64, 256, 1024)
    cases = []
    for N in sizes:
        for B in (1, 16):
            for kind in ("fwd", "grad"):
                for impl in IMPLS:
                    if impl == "ours-torch-compiled" and not (N == 256 and B == 16):
                        continue  # compiling takes minutes per shape: one representative case
                    cases.append((impl, kind, N, B, 1000))
    cases += [(impl, "fwd-norec", 256, 1, 1000) for impl in ("rockpool", "ours-jax")]
    cases += [(impl, "direct", 256, 1, 1000) for impl in ("rockpool", "ours-jax")]
    cases += [(impl, "mem", 256, 16, 10000) for impl in ("rockpool", "ours-jax", "ours-torch")]
    cases += [(impl, "mem", 1024, 16, 1000) for impl in ("rockpool", "ours-jax", "ours-torch")]

    results = []
    for case in cases:
        r = _subprocess(*case, repeats=args.repeats, timeout=args.timeout)
        results.append(r)
        print(f"{case[0]:>20} {case[1]:>6} N={case[2]:<5} B={case[3]:<3} T={case[4]:<6} {_fmt(r)}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
