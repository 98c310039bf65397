"""Write the NIR test files of ``tests/data/nir/`` with the frameworks that make them.

Each network is built in its framework with fixed seeds, exported with the framework's own
NIR exporter, written with ``nir.write`` and run by the framework on a fixed Poisson input;
``<name>.npz`` keeps that input and the framework's own spikes, so that the test suite
(which needs none of the frameworks) can measure where a framework's simulation departs
from the NIR semantics of the file it wrote. Run each part in an environment that has its
framework (``tests/data/nir/README.md`` gives the versions)::

    python tools/make_nir_test_data.py snntorch norse     # torch, snntorch, norse, nir, nirtorch
    python tools/make_nir_test_data.py spyx               # jax, flax, spyx, nir

``<name>.npz`` holds ``x`` ``(B, T, 16)`` uint8 input spikes and ``spikes:<node>``
``(B, T, n)`` uint8, the spikes of every spiking layer as the framework simulated them,
by the name of its node in the NIR graph.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from typing import Callable, Dict

import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "nir"
N_IN, N_HID, N_OUT = 16, 32, 8
BATCH, STEPS, RATE = 2, 400, 0.1


def poisson_input(seed: int) -> np.ndarray:
    """``(BATCH, STEPS, N_IN)`` uint8 spikes: each channel fires with probability RATE per step."""
    return (np.random.default_rng(seed).random((BATCH, STEPS, N_IN)) < RATE).astype(np.uint8)


def save(name: str, graph, x: np.ndarray, spikes: Dict[str, np.ndarray], compression="gzip") -> None:
    import nir

    nir.write(OUT / f"{name}.nir", graph, compression=compression)
    arrays = {"x": x, **{f"spikes:{k}": np.asarray(v, dtype=np.uint8) for k, v in spikes.items()}}
    np.savez_compressed(OUT / f"{name}.npz", **arrays)
    rates = {k: round(float(np.mean(v)), 4) for k, v in spikes.items()}
    print(f"{name}: nodes {list(graph.nodes)}; spike rates per step {rates}")


# --- snnTorch ---------------------------------------------------------------------------------


def _snntorch_run(net, x: np.ndarray, layers: Dict[str, object]) -> Dict[str, np.ndarray]:
    """Run an snnTorch ``Sequential`` (``init_hidden=True``) step by step; the spikes of ``layers``."""
    import snntorch.utils
    import torch

    record = {k: [] for k in layers}
    hooks = [
        mod.register_forward_hook(lambda m, i, out, k=k: record[k].append((out[0] if isinstance(out, tuple) else out).detach()))
        for k, mod in layers.items()
    ]
    snntorch.utils.reset(net)
    with torch.no_grad():
        xt = torch.as_tensor(x, dtype=torch.float32)
        for t in range(xt.shape[1]):
            net(xt[:, t])
    for h in hooks:
        h.remove()
    return {k: torch.stack(v, dim=1).numpy() for k, v in record.items()}


def _snntorch_scale(net, gains) -> None:
    import torch

    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for lin, g in zip(linears, gains):
            lin.weight.mul_(g)
            lin.bias.zero_()


def snntorch_networks() -> None:
    """Leaky, Synaptic (feed-forward) and RLeaky (recurrent) networks, 16 -> 32 -> 8."""
    import snntorch as snn
    import torch
    from snntorch.export_nir import export_to_nir

    full = lambda v, n: torch.full((n,), float(v))  # snnTorch 1.0's exporter needs per-neuron vectors
    builders = {
        "snntorch_leaky": lambda: torch.nn.Sequential(
            torch.nn.Linear(N_IN, N_HID), snn.Leaky(beta=full(0.9, N_HID), threshold=full(1, N_HID), init_hidden=True),
            torch.nn.Linear(N_HID, N_OUT), snn.Leaky(beta=full(0.85, N_OUT), threshold=full(1, N_OUT), init_hidden=True),
        ),
        "snntorch_synaptic": lambda: torch.nn.Sequential(
            torch.nn.Linear(N_IN, N_HID),
            snn.Synaptic(alpha=full(0.8, N_HID), beta=full(0.9, N_HID), threshold=full(1, N_HID), init_hidden=True),
            torch.nn.Linear(N_HID, N_OUT),
            snn.Synaptic(alpha=full(0.7, N_OUT), beta=full(0.85, N_OUT), threshold=full(1, N_OUT), init_hidden=True),
        ),
        "snntorch_rleaky": lambda: torch.nn.Sequential(
            torch.nn.Linear(N_IN, N_HID),
            snn.RLeaky(beta=full(0.9, N_HID), threshold=full(1, N_HID), linear_features=N_HID, init_hidden=True),
            torch.nn.Linear(N_HID, N_OUT), snn.Leaky(beta=full(0.85, N_OUT), threshold=full(1, N_OUT), init_hidden=True),
        ),
    }
    gains = {"snntorch_leaky": (3.0, 4.0), "snntorch_synaptic": (1.0, 1.5), "snntorch_rleaky": (3.0, 5.0)}
    for k, (name, build) in enumerate(builders.items()):
        torch.manual_seed(k)
        net = build()
        _snntorch_scale(net, gains[name])
        if name == "snntorch_rleaky":
            with torch.no_grad():
                net[1].recurrent.weight.mul_(0.5)
                net[1].recurrent.bias.zero_()
        graph = export_to_nir(net, torch.zeros(1, N_IN), ignore_dims=[0])
        neurons = {n: net[int(n.split(".")[0])] for n in graph.nodes if type(graph.nodes[n]).__name__ in ("LIF", "CubaLIF")}
        x = poisson_input(100 + k)
        save(name, graph, x, _snntorch_run(net, x, neurons))


# --- norse ------------------------------------------------------------------------------------


def _numpy_nodes(graph) -> None:
    """norse 1.1 leaves torch tensors in the nodes, which ``nir.write`` cannot store: numpy (values unchanged)."""
    for node in graph.nodes.values():
        for key, value in list(vars(node).items()):
            if hasattr(value, "detach"):
                setattr(node, key, value.detach().cpu().numpy())
            elif isinstance(value, np.generic):
                setattr(node, key, np.asarray(value))


def _norse_run(net, x: np.ndarray, cells: Dict[str, object]) -> Dict[str, np.ndarray]:
    import torch

    record = {k: [] for k in cells}
    hooks = [mod.register_forward_hook(lambda m, i, out, k=k: record[k].append(out[0].detach())) for k, mod in cells.items()]
    state = None
    with torch.no_grad():
        xt = torch.as_tensor(x, dtype=torch.float32)
        for t in range(xt.shape[1]):
            _, state = net(xt[:, t], state)
    for h in hooks:
        h.remove()
    return {k: torch.stack(v, dim=1).numpy() for k, v in record.items()}


def norse_networks() -> None:
    """LIFCell (NIR CubaLIF) layers, and LIFBoxCell (NIR LIF) with a LIBoxCell (NIR LI) readout."""
    import norse.torch as norse
    import torch
    from norse.torch.utils.export_nir import to_nir

    builders = {
        "norse_lif": (lambda: norse.SequentialState(
            torch.nn.Linear(N_IN, N_HID, bias=False), norse.LIFCell(), torch.nn.Linear(N_HID, N_OUT, bias=False), norse.LIFCell()
        ), (8.0, 8.0)),
        "norse_lifbox_li": (lambda: norse.SequentialState(
            torch.nn.Linear(N_IN, N_HID, bias=False), norse.LIFBoxCell(), torch.nn.Linear(N_HID, 4, bias=False), norse.LIBoxCell()
        ), (25.0, 1.0)),
    }
    for k, (name, (build, gains)) in enumerate(builders.items()):
        torch.manual_seed(10 + k)
        net = build()
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        with torch.no_grad():
            for lin, g in zip(linears, gains):
                lin.weight.mul_(g)
        graph = to_nir(net, torch.zeros(1, N_IN))
        _numpy_nodes(graph)
        spiking = {n: net[int(n)] for n in graph.nodes if type(graph.nodes[n]).__name__ in ("LIF", "CubaLIF")}
        x = poisson_input(200 + k)
        save(name, graph, x, _norse_run(net, x, spiking), compression=None)  # h5py cannot compress 0-d arrays


# --- spyx -------------------------------------------------------------------------------------


def _spyx_run(model, x: np.ndarray) -> Dict[str, np.ndarray]:
    """Run a spyx ``nnx.Sequential`` step by step (state per neuron layer); spikes by ``layer_<i>``."""
    import jax.numpy as jnp

    states = {i: layer.initial_state(x.shape[0]) for i, layer in enumerate(model.layers) if hasattr(layer, "initial_state")}
    record = {i: [] for i in states}
    for t in range(x.shape[1]):
        h = jnp.asarray(x[:, t], dtype=jnp.float32)
        for i, layer in enumerate(model.layers):
            if i in states:
                h, states[i] = layer(h, states[i])
                record[i].append(np.asarray(h))
            else:
                h = layer(h)
    return {f"layer_{i}": np.stack(v, axis=1) for i, v in record.items()}


def spyx_networks() -> None:
    """LIF layers (feed-forward) and an RLIF layer (a recurrent NIR subgraph), 16 -> 32 -> 8."""
    import spyx
    import spyx.nn as snn
    from flax import nnx

    def lif(rngs):
        return nnx.Sequential(
            nnx.Linear(N_IN, N_HID, use_bias=False, rngs=rngs), snn.LIF((N_HID,), beta=0.9, rngs=rngs),
            nnx.Linear(N_HID, N_OUT, use_bias=False, rngs=rngs), snn.LIF((N_OUT,), beta=0.85, rngs=rngs),
        )

    def rlif(rngs):
        return nnx.Sequential(
            nnx.Linear(N_IN, N_HID, use_bias=False, rngs=rngs), snn.RLIF((N_HID,), beta=0.9, rngs=rngs),
            nnx.Linear(N_HID, N_OUT, use_bias=False, rngs=rngs), snn.LIF((N_OUT,), beta=0.85, rngs=rngs),
        )

    for k, (name, build, gains) in enumerate((("spyx_lif", lif, (1.5, 2.5)), ("spyx_rlif", rlif, (1.5, 1.5)))):
        model = build(nnx.Rngs(20 + k))
        linears = [m for m in model.layers if isinstance(m, nnx.Linear)]
        for lin, g in zip(linears, gains):
            lin.kernel[...] = lin.kernel[...] * g
        for layer in model.layers:
            if hasattr(layer, "recurrent_w"):
                layer.recurrent_w[...] = layer.recurrent_w[...] * 30.0  # flax initialises it with std 0.01
        graph = spyx.nir.to_nir(model, {"input": np.array([N_IN])}, {"output": np.array([N_OUT])}, dt=1)
        x = poisson_input(300 + k)
        save(name, graph, x, _spyx_run(model, x))


PARTS: Dict[str, Callable[[], None]] = {"snntorch": snntorch_networks, "norse": norse_networks, "spyx": spyx_networks}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="+", choices=sorted(PARTS))
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    for part in args.parts:
        PARTS[part]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
