"""The NIR node types this package reads, declared once: :data:`NEURON_KINDS`, :data:`LINEAR_KINDS`.

A NIR node is recognised by its class name (``type(node).__name__``), so reading a graph
object needs no import of ``nir``. Every neuron type is read into one record,
:class:`NeuronParams`, whose per-neuron arrays cover them all:

| NIR type | `tau_mem` | `tau_syn` | `r` | `v_leak` | `v_threshold` | `v_reset` | `w_in` |
|---|---|---|---|---|---|---|---|
| LIF | `tau` | 0 (none) | `r` | `v_leak` | `v_threshold` | `v_reset` | 1 |
| CubaLIF | `tau_mem` | `tau_syn` | `r` | `v_leak` | `v_threshold` | `v_reset` | `w_in` |
| IF | inf (no leak) | 0 | `r` | 0 | `v_threshold` | `v_reset` | 1 |
| LI | `tau` | 0 | `r` | `v_leak` | inf (silent) | 0 | 1 |
| CubaLI | `tau_mem` | `tau_syn` | `r` | `v_leak` | inf | 0 | `w_in` |

Adding a neuron type is one :class:`NeuronKind` line in :data:`NEURON_KINDS` (its NIR
fields and the defaults of the fields it lacks); the reference simulator
(:mod:`.reference`) and the reader (:mod:`.reader`) work on :class:`NeuronParams` only.
Node types the chip has no counterpart for are named with what to do instead
(:data:`UNSUPPORTED`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from ..errors import NIRGraphError, ParameterValueError, UnsupportedNodeError

__all__ = [
    "NeuronKind",
    "NeuronParams",
    "NEURON_KINDS",
    "LINEAR_KINDS",
    "PASS_KINDS",
    "UNSUPPORTED",
    "node_type",
    "neuron_params",
    "linear_parts",
    "unsupported",
]

PARAMETER_NAMES: Tuple[str, ...] = ("tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "v_reset", "w_in")
"""The fields of :class:`NeuronParams`, in order."""


@dataclass(frozen=True)
class NeuronKind:
    """One NIR neuron type, declared.

    Attributes:
        name: the NIR class name (``"CubaLIF"``).
        fields: ``{NeuronParams field: NIR attribute}`` read from the node.
        defaults: ``{NeuronParams field: value}`` for the fields the type does not have.
        optional: NIR attributes that may be absent (``v_reset``: NIR's default is 0).
    """

    name: str
    fields: Mapping[str, str]
    defaults: Mapping[str, float] = field(default_factory=dict)
    optional: Tuple[str, ...] = ("v_reset", "w_in")

    @property
    def spiking(self) -> bool:
        """Whether the type emits spikes (LIF, CubaLIF, IF) or its membrane (LI, CubaLI)."""
        return "v_threshold" in self.fields


NEURON_KINDS: Dict[str, NeuronKind] = {
    k.name: k
    for k in (
        NeuronKind(
            "LIF",
            {"tau_mem": "tau", "r": "r", "v_leak": "v_leak", "v_threshold": "v_threshold", "v_reset": "v_reset"},
            {"tau_syn": 0.0, "w_in": 1.0},
        ),
        NeuronKind(
            "CubaLIF",
            {"tau_mem": "tau_mem", "tau_syn": "tau_syn", "r": "r", "v_leak": "v_leak",
             "v_threshold": "v_threshold", "v_reset": "v_reset", "w_in": "w_in"},
        ),
        NeuronKind(
            "IF",
            {"r": "r", "v_threshold": "v_threshold", "v_reset": "v_reset"},
            {"tau_mem": np.inf, "tau_syn": 0.0, "v_leak": 0.0, "w_in": 1.0},
        ),
        NeuronKind(
            "LI",
            {"tau_mem": "tau", "r": "r", "v_leak": "v_leak"},
            {"tau_syn": 0.0, "v_threshold": np.inf, "v_reset": 0.0, "w_in": 1.0},
        ),
        NeuronKind(
            "CubaLI",
            {"tau_mem": "tau_mem", "tau_syn": "tau_syn", "r": "r", "v_leak": "v_leak", "w_in": "w_in"},
            {"v_threshold": np.inf, "v_reset": 0.0},
        ),
    )
}
"""The neuron types, by NIR class name."""

LINEAR_KINDS: Tuple[str, ...] = ("Affine", "Linear", "Scale")
"""Linear node types: weights, composed along paths into one weight per (source, neuron layer)."""

PASS_KINDS: Tuple[str, ...] = ("Identity", "Flatten")
"""Node types that pass their input on unchanged (every signal here is a flat vector)."""

UNSUPPORTED: Dict[str, str] = {
    "Conv1d": "The chip has no weight sharing: export the convolution as an Affine or Linear node of its dense weight matrix",
    "Conv2d": "The chip has no weight sharing: export the convolution as an Affine or Linear node of its dense weight matrix",
    "SumPool2d": "Export the pooling as a Linear node of 0/1 weights",
    "AvgPool2d": "Export the pooling as a Linear node of 1/k weights",
    "Delay": "The chip has no programmable synaptic delays: remove the Delay node",
    "Threshold": "A spike rule without reset has no chip counterpart: use a LIF or IF node (which reset)",
    "I": "A non-leaky integrator without spikes has no chip counterpart: use IF (spiking) or an LI readout",
}
"""Node types the chip has no counterpart for, with what to do instead."""

_SUPPORTED = tuple(NEURON_KINDS) + LINEAR_KINDS + PASS_KINDS + ("Input", "Output", "NIRGraph")


def node_type(node: Any) -> str:
    """The NIR type name of ``node`` (its class name)."""
    return type(node).__name__


def unsupported(name: str, node: Any) -> UnsupportedNodeError:
    """The error for a node whose type this package does not read, with what to do instead."""
    kind = node_type(node)
    instead = UNSUPPORTED.get(kind, f"Supported node types: {', '.join(_SUPPORTED)}")
    return UnsupportedNodeError(name, kind, instead)


@dataclass(frozen=True)
class NeuronParams:
    """Per-neuron parameters of one NIR neuron node, ``(n,)`` float64 arrays each.

    Attributes:
        tau_mem: membrane time constant (s); ``inf`` for IF (no leak).
        tau_syn: synaptic time constant (s); 0 where the input current is not filtered.
        r: resistance (input current -> membrane).
        v_leak: leak (resting) potential.
        v_threshold: firing threshold; ``inf`` for LI and CubaLI (no spikes).
        v_reset: reset potential.
        w_in: input weight onto the synaptic current (CubaLIF, CubaLI); 1 otherwise.
    """

    tau_mem: np.ndarray
    tau_syn: np.ndarray
    r: np.ndarray
    v_leak: np.ndarray
    v_threshold: np.ndarray
    v_reset: np.ndarray
    w_in: np.ndarray

    @property
    def size(self) -> int:
        return int(self.r.shape[0])

    def scaled_time(self, factor: float) -> "NeuronParams":
        """The same neurons with every time constant multiplied by ``factor``."""
        return NeuronParams(**{**vars(self), "tau_mem": self.tau_mem * factor, "tau_syn": self.tau_syn * factor})


def _raw(name: str, node: Any, kind: NeuronKind) -> Dict[str, np.ndarray]:
    """The node's parameter arrays, flattened, with the type's defaults for missing ones."""
    out: Dict[str, np.ndarray] = {}
    for key in PARAMETER_NAMES:
        attr = kind.fields.get(key)
        value = getattr(node, attr, None) if attr is not None else None
        if value is None:
            if attr is not None and attr not in kind.optional:
                raise NIRGraphError(f"NIR node `{name}` ({kind.name}) must have `{attr}`; it has none")
            value = kind.defaults.get(key, 0.0 if key == "v_reset" else 1.0)
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        try:
            out[key] = np.asarray(value, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise ParameterValueError(f"{name}.{attr}", "a real number or array", type(value).__name__) from None
    return out


def _size(name: str, kind: NeuronKind, raw: Dict[str, np.ndarray], size: Optional[int]) -> int:
    """The node's neuron count: ``size`` (from its edges) or its parameters' common size."""
    sizes = {a.size for a in raw.values() if a.size != 1}
    if size is not None:
        sizes.add(size)
    if len(sizes) > 1:
        shapes = {k: a.size for k, a in raw.items() if a.size != 1}
        raise NIRGraphError(
            f"NIR node `{name}` ({kind.name}) must have parameters of one size (or scalars); "
            f"got sizes {shapes}" + (f" for a node of {size} neurons" if size is not None else "")
        )
    return sizes.pop() if sizes else 1


def _check(name: str, kind: NeuronKind, p: Dict[str, np.ndarray]) -> None:
    """NaN and out-of-domain parameters, named by node and NIR field."""

    def refuse_if(key: str, rule: str, bad: np.ndarray) -> None:
        if bad.any():
            raise ParameterValueError(f"{name}.{kind.fields.get(key, key)}", rule, p[key], bad)

    refuse_if("tau_mem", "positive (s)", ~(p["tau_mem"] > 0))  # NaN fails too; inf is IF's "no leak"
    if "tau_syn" in kind.fields:
        refuse_if("tau_syn", "positive and finite (s)", ~(p["tau_syn"] > 0) | ~np.isfinite(p["tau_syn"]))
    for key in ("r", "v_leak", "v_reset", "w_in"):
        refuse_if(key, "finite", ~np.isfinite(p[key]))
    if kind.spiking:
        refuse_if("v_threshold", "finite", ~np.isfinite(p["v_threshold"]))
        refuse_if("v_threshold", "above v_reset (else the neuron fires every step)", p["v_threshold"] <= p["v_reset"])


def neuron_params(name: str, node: Any, size: Optional[int] = None) -> NeuronParams:
    """The :class:`NeuronParams` of a NIR neuron node, scalars broadcast to its size.

    Args:
        name: the node's name in the graph (for errors).
        node: a NIR ``LIF``, ``CubaLIF``, ``IF``, ``LI`` or ``CubaLI`` node.
        size: its neuron count if known from its edges; default: its parameters' size.

    Raises:
        NIRGraphError: parameters of different sizes, or a size other than ``size``.
        ParameterValueError: a NaN, infinite or non-positive time constant, a NaN or
            infinite other parameter, a threshold at or below the reset potential.
    """
    kind = NEURON_KINDS[node_type(node)]
    raw = _raw(name, node, kind)
    n = _size(name, kind, raw, size)
    full = {k: np.broadcast_to(v, (n,)).astype(np.float64) for k, v in raw.items()}
    _check(name, kind, full)
    return NeuronParams(**full)


def linear_parts(name: str, node: Any) -> Tuple[Optional[np.ndarray], np.ndarray, np.ndarray]:
    """``(weight (out, in) or None for Scale, scale or bias (out,), is_scale)`` of a linear node.

    Raises:
        NIRGraphError: a weight that is not 2-D, or a bias of the wrong size.
        ParameterValueError: NaN or infinite weights, biases or scales.
    """
    kind = node_type(node)
    as_array = lambda v: np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v, dtype=np.float64)
    if kind == "Scale":
        scale = as_array(node.scale).ravel()
        _finite(f"{name}.scale", scale)
        return None, scale, np.array(True)
    weight = as_array(node.weight)
    if weight.ndim != 2:
        raise NIRGraphError(f"NIR node `{name}` ({kind}) must have a 2-D weight (out, in); got shape {weight.shape}")
    _finite(f"{name}.weight", weight)
    bias = as_array(getattr(node, "bias", 0.0) if kind == "Affine" else 0.0).ravel()
    if bias.size not in (1, weight.shape[0]):
        raise NIRGraphError(f"NIR node `{name}` (Affine) must have a bias of {weight.shape[0]} entries; got {bias.size}")
    _finite(f"{name}.bias", bias)
    return weight, np.broadcast_to(bias, (weight.shape[0],)).copy(), np.array(False)


def _finite(name: str, a: np.ndarray) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        raise ParameterValueError(name, "finite", a, bad)
