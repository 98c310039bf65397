"""Quantization-aware training: the chip's weight quantization as a straight-through transform.

The forward pass uses the weights the chip would store — per core, 4 shared base weights
and a 4-bit mask per synapse (:func:`~.quantization.quantize_weights`, input and
recurrent weights of a core's neurons together); the backward pass lets the gradient
through unchanged (the straight-through estimator), so training fine-tunes the float
weights for the 16 levels each core offers.

* :func:`quantize_ste` takes one or several weight matrices ``(pre, N)`` that end on the
  same N neurons and quantizes them jointly, per core. It works on jax arrays (also
  under ``jax.jit`` and ``jax.grad``: the quantizer runs on the host through
  ``jax.pure_callback``) and on torch tensors.
* :class:`QuantizeT` is the same, one matrix at a time, as a transform for Rockpool's
  ``make_param_T_config(net, QuantizeT(), "weights")`` in torch (each matrix then gets its
  own bases: an approximation of the chip, where a core's input and recurrent weights
  share them).

The quantizer is a search (tens to hundreds of milliseconds per core): use QAT to
fine-tune a trained network for a few epochs, not from scratch.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np

from ..errors import ParameterValueError, ShapeError, Shown
from ..parameters.validate import check_real, real_array, seed as check_seed
from .quantization import check_core_map, quantize_weights

__all__ = ["quantize_ste", "QuantizeT", "quantized_weights_numpy"]


def quantized_weights_numpy(weights: Sequence[np.ndarray], core_of_neuron: Optional[np.ndarray] = None, seed: int = 0) -> Tuple[np.ndarray, ...]:
    """Quantize matrices ``(pre_k, N)`` that end on the same N neurons, jointly per core.

    Args:
        weights: the matrices, signed, in any common unit.
        core_of_neuron: ``(N,)`` core of each neuron; default ``arange(N) // 256``.
        seed: seed of the quantizer.

    Returns:
        The quantized matrices, same shapes and dtypes.
    """
    weights = [np.asarray(w) for w in weights]
    n = weights[0].shape[1]
    core = np.arange(n) // 256 if core_of_neuron is None else check_core_map(core_of_neuron, n)
    stacked = np.concatenate([w.astype(np.float64) for w in weights], axis=0)
    q = quantize_weights(stacked, None, core, Iscale=1.0, seed=seed).w_in
    out, start = [], 0
    for w in weights:
        out.append(q[start : start + w.shape[0]].astype(w.dtype))
        start += w.shape[0]
    return tuple(out)


def _check_weights(weights: Any) -> list:
    """The matrices of :func:`quantize_ste` as a list: 2-D, real, ending on the same N
    neurons, all torch tensors or none (values checked where concrete).

    Raises:
        ParameterValueError: not a list or tuple of arrays, not real numbers, or torch
            tensors mixed with other arrays.
        ShapeError: a matrix that is not 2-D or ends on another number of neurons.
    """
    if not isinstance(weights, (list, tuple)):
        raise ParameterValueError("weights", "a list of weight matrices (pre, N)", Shown(f"a {type(weights).__name__}"))
    out: list = []
    for k, w in enumerate(weights):
        name = f"weights[{k}]"
        if not (hasattr(w, "shape") and hasattr(w, "dtype")):
            w = real_array(name, w)
        check_real(name, w, what="an array of real numbers")
        n = out[0].shape[1] if out else None
        if len(w.shape) != 2 or (n is not None and w.shape[1] != n):
            raise ShapeError(name, "(pre, N)" + (f" with N = {n}, as weights[0]" if n is not None else ""), tuple(w.shape))
        out.append(w)
    if len({hasattr(w, "detach") for w in out}) > 1:
        raise ParameterValueError("weights", "all torch tensors or all jax (or numpy) arrays", Shown("a mix"))
    return out


def _quantize_ste_jax(weights: Sequence[Any], core_of_neuron: Optional[np.ndarray], seed: int) -> Tuple[Any, ...]:
    import jax
    import jax.numpy as jnp

    weights = [jnp.asarray(w) for w in weights]  # float64 numpy -> float32 without x64
    shapes = tuple(jax.ShapeDtypeStruct(w.shape, w.dtype) for w in weights)

    def host(*ws):
        return quantized_weights_numpy(ws, core_of_neuron, seed)

    @jax.custom_vjp
    def q(*ws):
        return jax.pure_callback(host, shapes, *ws)

    def fwd(*ws):
        return q(*ws), None

    def bwd(_, g):
        return tuple(g)

    q.defvjp(fwd, bwd)
    return tuple(q(*weights))


def quantize_ste(weights: Sequence[Any], core_of_neuron: Optional[np.ndarray] = None, seed: int = 0) -> Tuple[Any, ...]:
    """The chip's weights in the forward pass, the identity in the backward pass.

    Args:
        weights: matrices ``(pre_k, N)`` ending on the same N neurons (e.g. the input
            weights of a linear layer and the neurons' ``w_rec``), all jax arrays or all
            torch tensors.
        core_of_neuron: ``(N,)`` core of each neuron; default ``arange(N) // 256``.
        seed: seed of the quantizer.

    Returns:
        The quantized matrices (same types, shapes and dtypes), whose gradients flow to
        the float ones unchanged.

    Examples:
        >>> w_in_q, w_rec_q = quantize_ste([params["0_LinearJax"]["weight"], params["1_DynapSimJax"]["w_rec"]])
    """
    weights = _check_weights(weights)
    if not weights:
        return ()
    seed = check_seed("seed", seed)
    if core_of_neuron is not None:
        core_of_neuron = check_core_map(core_of_neuron, weights[0].shape[1])
    if hasattr(weights[0], "detach"):  # torch
        import torch

        q = quantized_weights_numpy([w.detach().cpu().numpy() for w in weights], core_of_neuron, seed)
        return tuple(w + (torch.as_tensor(qk, device=w.device) - w).detach() for w, qk in zip(weights, q))
    return _quantize_ste_jax(weights, core_of_neuron, seed)


class QuantizeT:
    """A straight-through quantization transform of one weight matrix, for Rockpool's torch
    transform API: ``make_param_T_network(net, make_param_T_config(net, QuantizeT(), "weights"))``.

    Args:
        core_of_neuron: ``(N,)`` core of each column; default ``arange(N) // 256``.
        seed: seed of the quantizer.
    """

    def __init__(self, core_of_neuron: Optional[np.ndarray] = None, seed: int = 0):
        if core_of_neuron is not None:
            core_of_neuron = real_array("core_of_neuron", core_of_neuron, shape=(None,), low=0.0)
        self.core_of_neuron = core_of_neuron
        self.seed = check_seed("seed", seed)

    def __call__(self, w: Any) -> Any:
        if w.ndim != 2:
            return w
        return quantize_ste([w], self.core_of_neuron, self.seed)[0]
