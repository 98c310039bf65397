"""The chip's constraints inside the training loop, written once for JAX and torch.

Everything here maps the trained quantities to what the chip holds, in the forward pass,
with gradients that still reach the trained quantities:

* :func:`core_currents`: each core's parameters, trained as logarithms of high-level
  values (time constants in seconds, the threshold in amperes, ...), -> the simulator's
  currents of every neuron (a core's neurons share them). On a log scale, a gradient step
  changes a time constant by a fraction of itself, so the gradients of a 20 ms time
  constant and of a 100 nA threshold are of the same order as the weights'.
* :func:`snap_to_codes`: each current to the nearest current the bias generator makes
  (a coarse and a fine code), straight-through (the gradient of the unsnapped current).
* :func:`quantize_per_core`: every weight onto a neuron of core ``c`` to the nearest of
  the core's 16 levels (a 4-bit mask selects a sum of the 4 base weights ``Iw_k``, set to
  ``2^k`` times the core's largest weight / 15 and snapped to bias codes),
  straight-through; the sign picks the dendrite (AMPA excites, GABA inhibits), as a CAM
  entry does.
* :func:`typed_input`: signed weights ``(S, N)`` -> the simulator's typed layout
  ``(S, 4 N)`` (channel ``4 i + k`` drives synapse ``k`` of neuron ``i``).

The functions take an :class:`Ops` of the backend (:data:`JAX_OPS` needs jax,
:func:`torch_ops` torch; both are made on first use).
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..chip import BASE_WEIGHT_BIASES, BIAS_PARAMETER_BY_CURRENT, GEOMETRY, SIGNED_EXCITATORY, SIGNED_INHIBITORY, SynapseType
from ..errors import UnknownParameterError
from ..parameters.biasgen import bias_table, current_range
from ..chip import CONSTANTS
from ..parameters.core import CoreHighLevel
from ..parameters.core import currents_from_high_level

__all__ = [
    "Ops",
    "jax_ops",
    "torch_ops",
    "ops_for",
    "HIGH_LEVEL_NAMES",
    "DEFAULT_TRAINABLE",
    "core_currents",
    "snap_to_codes",
    "code_grid",
    "quantize_per_core",
    "WEIGHT_LEVELS",
    "BASE_CURRENTS",
    "typed_input",
]

WEIGHT_LEVELS = GEOMETRY.weight_levels - 1
"""Largest 4-bit mask: a core's weights are ``m * s_c``, ``m`` in 0..15."""

HIGH_LEVEL_NAMES: Tuple[str, ...] = tuple(CoreHighLevel.__dataclass_fields__)
"""The high-level quantities of a core (:class:`~rockpool_dynapse2.parameters.CoreHighLevel`)."""

DEFAULT_TRAINABLE: Tuple[str, ...] = ("tau_mem", "tau_ampa", "tau_gaba", "Ispkthr")
"""The core quantities trained by default: the membrane and synaptic time constants, the
threshold. Every other quantity of :data:`HIGH_LEVEL_NAMES` may be added."""


@dataclass(frozen=True)
class Ops:
    """The array operations the constraints need, from one backend."""

    name: str
    asarray: Callable[[Any], Any]
    exp: Callable[[Any], Any]
    log: Callable[[Any], Any]
    log1p: Callable[[Any], Any]
    abs: Callable[[Any], Any]
    sign: Callable[[Any], Any]
    round: Callable[[Any], Any]
    clip: Callable[[Any, Any, Any], Any]
    stop_gradient: Callable[[Any], Any]
    segment_max: Callable[[Any, Any, int], Any]
    """``segment_max(x (N,), segment (N,) ints, n)``: the largest ``x`` of each segment."""
    searchsorted: Callable[[Any, Any], Any]
    take: Callable[[Any, Any], Any]
    """``take(x, index)``: ``x[index]`` along the first axis."""
    concat: Callable[[Sequence[Any], int], Any]
    stack: Callable[[Sequence[Any], int], Any]
    zeros_like: Callable[[Any], Any]
    maximum: Callable[[Any, Any], Any]
    amax0: Callable[[Any], Any]
    """The largest entry along the first axis."""
    argmin_last: Callable[[Any], Any]
    """The index of the smallest entry along the last axis."""
    take_last: Callable[[Any, Any], Any]
    """``take_last(table (1, N, L), index (S, N))``: ``table[0, n, index[s, n]]``."""
    log_softmax: Callable[[Any], Any]
    """Along the last axis."""
    relu: Callable[[Any], Any]
    logsumexp: Callable[[Any], Any]
    """Of all entries."""
    sort: Callable[[Any], Any]
    """Along the last axis, ascending."""
    where: Callable[[Any, Any, Any], Any]


@functools.lru_cache(maxsize=None)
def jax_ops() -> Ops:
    """:class:`Ops` of jax.numpy."""
    import jax
    import jax.numpy as jnp

    return Ops(
        name="jax",
        asarray=lambda x: jnp.asarray(x, dtype=jnp.float32),
        exp=jnp.exp,
        log=jnp.log,
        log1p=jnp.log1p,
        abs=jnp.abs,
        sign=jnp.sign,
        round=jnp.round,
        clip=jnp.clip,
        stop_gradient=jax.lax.stop_gradient,
        segment_max=lambda x, seg, n: jax.ops.segment_max(x, jnp.asarray(seg), num_segments=n),
        searchsorted=lambda grid, x: jnp.searchsorted(grid, x),
        take=lambda x, i: jnp.take(x, jnp.asarray(i), axis=0),
        concat=lambda xs, axis: jnp.concatenate(xs, axis=axis),
        stack=lambda xs, axis: jnp.stack(xs, axis=axis),
        zeros_like=jnp.zeros_like,
        maximum=jnp.maximum,
        amax0=lambda x: jnp.max(x, axis=0),
        argmin_last=lambda x: jnp.argmin(x, axis=-1),
        take_last=lambda table, i: jnp.take_along_axis(jnp.broadcast_to(table, i.shape + table.shape[-1:]), i[..., None], axis=-1)[..., 0],
        log_softmax=jax.nn.log_softmax,
        relu=jax.nn.relu,
        logsumexp=jax.nn.logsumexp,
        sort=lambda x: jnp.sort(x, axis=-1),
        where=jnp.where,
    )


@functools.lru_cache(maxsize=None)
def torch_ops() -> Ops:
    """:class:`Ops` of torch."""
    import torch

    def segment_max(x: Any, seg: Any, n: int) -> Any:
        index = torch.as_tensor(seg, dtype=torch.int64)
        out = torch.full((n,) + tuple(x.shape[1:]), float("-inf"), dtype=x.dtype)
        return out.scatter_reduce(0, index, x, reduce="amax", include_self=True)

    return Ops(
        name="torch",
        asarray=lambda x: torch.as_tensor(np.asarray(x), dtype=torch.float32),
        exp=torch.exp,
        log=torch.log,
        log1p=torch.log1p,
        abs=torch.abs,
        sign=torch.sign,
        round=torch.round,
        clip=lambda x, lo, hi: torch.clamp(x, lo, hi),
        stop_gradient=lambda x: x.detach(),
        segment_max=segment_max,
        searchsorted=lambda grid, x: torch.searchsorted(grid, x.contiguous()),
        take=lambda x, i: x[torch.as_tensor(i, dtype=torch.int64)],
        concat=lambda xs, axis: torch.cat(list(xs), dim=axis),
        stack=lambda xs, axis: torch.stack(list(xs), dim=axis),
        zeros_like=torch.zeros_like,
        maximum=torch.maximum,
        amax0=lambda x: x.amax(0),
        argmin_last=lambda x: x.argmin(-1),
        take_last=lambda table, i: torch.gather(table.expand(i.shape + table.shape[-1:]), -1, i[..., None])[..., 0],
        log_softmax=lambda z: torch.log_softmax(z, dim=-1),
        relu=torch.relu,
        logsumexp=lambda z: torch.logsumexp(z.reshape(-1), dim=0),
        sort=lambda x: torch.sort(x, dim=-1).values,
        where=torch.where,
    )


def ops_for(backend: str) -> Ops:
    """The :class:`Ops` of ``"jax"`` or ``"torch"``."""
    if backend == "jax":
        return jax_ops()
    if backend == "torch":
        return torch_ops()
    raise UnknownParameterError("backend", backend, ("jax", "torch"))


# --- core parameters --------------------------------------------------------------------


def core_currents(
    ops: Ops, log_values: Mapping[str, Any], fixed: Mapping[str, float], core_of_neuron: np.ndarray
) -> Dict[str, Any]:
    """Every simulator current of every neuron, from its core's high-level values.

    Args:
        ops: the backend.
        log_values: ``{quantity: (n_cores,) log of its value}`` for the trained quantities
            (names of :data:`HIGH_LEVEL_NAMES`).
        fixed: ``{quantity: value}`` for the others, one value for every core or ``(n_cores,)``
            values (default: the default operating point).
        core_of_neuron: ``(N,)`` the core of every neuron.

    Returns:
        ``{current name: (N,) current (A)}``, one entry per bias parameter.
    """
    n_cores = int(np.max(core_of_neuron)) + 1
    values: Dict[str, Any] = {}
    for name in HIGH_LEVEL_NAMES:
        if name in log_values:
            values[name] = ops.exp(log_values[name])
        else:
            default = fixed.get(name, getattr(CoreHighLevel(), name))
            values[name] = ops.asarray(np.broadcast_to(np.asarray(default, np.float32), (n_cores,)).copy())
    per_core = currents_from_high_level(SimpleNamespace(**values), CONSTANTS)
    return {name: ops.take(current, core_of_neuron) for name, current in per_core.items()}


@functools.lru_cache(maxsize=None)
def code_grid(current: str) -> np.ndarray:
    """The sorted logarithms of every current the bias generator makes for one simulator
    current (all ``6 x 256`` codes), for :func:`snap_to_codes`."""
    p = BIAS_PARAMETER_BY_CURRENT[current]
    grid = np.unique(bias_table().currents[p.transistor].ravel() * p.scale_factor)
    return np.log(grid).astype(np.float32)


def snap_to_codes(ops: Ops, currents: Mapping[str, Any], names: Sequence[str]) -> Dict[str, Any]:
    """The currents ``names`` snapped to their nearest bias code (nearest on a log scale),
    straight-through; the others unchanged. A current outside the branch's range is first
    clipped into it (the chip cannot do more).

    Args:
        ops: the backend.
        currents: ``{current name: (N,) current}``.
        names: the currents to snap.
    """
    out = dict(currents)
    for name in names:
        grid = ops.asarray(code_grid(name))
        low, high = current_range(name)
        x = ops.log(ops.clip(currents[name], low, high))
        i = ops.clip(ops.searchsorted(grid, ops.stop_gradient(x)), 1, len(code_grid(name)) - 1)
        below, above = ops.take(grid, i - 1), ops.take(grid, i)
        nearest = below + (above - below) * (x - below > above - x)
        out[name] = ops.exp(x + ops.stop_gradient(nearest - x))
    return out


# --- weights -------------------------------------------------------------------------------


BASE_CURRENTS: Tuple[str, ...] = tuple(p.current for p in BASE_WEIGHT_BIASES)
"""The simulator currents of a core's 4 base weights (a 4-bit mask selects their sum)."""

_BITS = ((np.arange(GEOMETRY.weight_levels)[:, None] >> np.arange(GEOMETRY.base_weights)[None, :]) & 1).astype(np.float32)  # (16, 4)


def quantize_per_core(
    ops: Ops, weights: Sequence[Any], core_of_neuron: np.ndarray, Iscale: Optional[float] = None
) -> Tuple[Tuple[Any, ...], Any]:
    """Weight matrices ``(S_k, N)`` onto the same N neurons, each weight on one of its
    target core's 16 levels (straight-through).

    Each core's base weights are ``s_c (1, 2, 4, 8)``, ``s_c`` = the core's largest weight
    / 15; with ``Iscale`` they are then snapped to the bias generator's currents (as the
    chip sets them), so the 16 sums are exactly the chip's. Every weight takes the level
    nearest its magnitude and keeps its sign.

    Args:
        ops: the backend.
        weights: signed weights ``(S_k, N)``.
        core_of_neuron: ``(N,)`` core of every neuron.
        Iscale: current (A) of a weight of 1.0; None: the bases are not snapped.

    Returns:
        ``(quantized matrices, bases)``: ``bases`` ``(n_cores, 4)`` in units of ``Iscale``.
    """
    n_cores = int(np.max(core_of_neuron)) + 1
    per_target = ops.amax0(ops.stack([ops.amax0(ops.abs(w)) for w in weights], 0))  # (N,)
    largest = ops.stop_gradient(ops.maximum(ops.segment_max(per_target, core_of_neuron, n_cores), ops.asarray(1e-6)))
    bases = (largest / WEIGHT_LEVELS)[:, None] * ops.asarray(2.0 ** np.arange(GEOMETRY.base_weights))
    if Iscale is not None:
        snapped = snap_to_codes(ops, {name: bases[:, k] * Iscale for k, name in enumerate(BASE_CURRENTS)}, BASE_CURRENTS)
        bases = ops.stack([snapped[name] / Iscale for name in BASE_CURRENTS], 1)
    levels = ops.take(bases @ ops.asarray(_BITS.T), core_of_neuron)  # (N, 16)
    out = []
    for w in weights:
        a = ops.stop_gradient(ops.abs(w))
        index = ops.argmin_last(ops.abs(a[..., None] - levels[None]))  # (S, N)
        q = ops.sign(w) * ops.take_last(levels[None], index)
        out.append(w + ops.stop_gradient(q - w))
    return tuple(out), bases


def typed_input(ops: Ops, w: Any) -> Any:
    """Signed weights ``(S, N)`` -> typed weights ``(S, 4 N)`` in Rockpool's order (channel
    ``4 i + k`` drives synapse ``k`` of neuron ``i``): a positive weight drives the
    excitatory synapse (AMPA), a negative one the inhibitory synapse (GABA) with its
    magnitude; NMDA and SHUNT get nothing."""
    zero = ops.zeros_like(w)
    by_type = {SIGNED_EXCITATORY: ops.maximum(w, zero), SIGNED_INHIBITORY: ops.maximum(-w, zero)}
    stacked = ops.stack([by_type.get(k, zero) for k in SynapseType], -1)
    return stacked.reshape(w.shape[0], w.shape[1] * len(SynapseType))
