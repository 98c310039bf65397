"""What a simulation module is built from, resolved and checked once for both backends.

:func:`build_module_spec` turns the constructor arguments of ``DynapSimJax`` /
``DynapSimTorch`` (shape, currents by Rockpool's names, layout constants, a
:class:`~rockpool_dynapse2.parameters.CoreParameters`, recurrent weights, ``dt``) into a
:class:`ModuleSpec` of float64 numpy arrays, raising named errors for anything wrong.
The backends only convert its arrays to their own types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from ..chip import SynapseType
from ..errors import ParameterValueError, ShapeError, Shown, UnknownParameterError
from ..parameters.core import CoreParameters
from ..parameters.validate import check_positive_finite, check_real, concrete, flag, instance, names as check_names, real_array, real_number
from .records import CURRENT_NAMES, LAYOUT_NAMES, SYNAPSE_NAMES, DynapState

__all__ = [
    "ALIASES",
    "PARAMETER_NAMES",
    "StateField",
    "STATE_FIELDS",
    "state_field",
    "state_trailing_shape",
    "ModuleSpec",
    "build_module_spec",
    "check_parameters",
    "check_state",
    "state_needs_broadcast",
    "check_values",
    "initial_state_values",
    "parse_shape",
]

ALIASES: Mapping[str, Tuple[str, ...]] = {
    "Itau_syn": tuple(f"Itau_{s}" for s in SYNAPSE_NAMES),
    "Igain_syn": tuple(f"Igain_{s}" for s in SYNAPSE_NAMES),
    "C_syn": tuple(f"C_{s}" for s in SYNAPSE_NAMES),
}
"""Rockpool DynapSim's merged-synapse names, each setting all four synapse types."""

PARAMETER_NAMES: Tuple[str, ...] = CURRENT_NAMES + LAYOUT_NAMES
"""Every per-neuron current and layout constant of a module, in registration order."""

_UNITS = {"I": "amperes", "C": "farads", "U": "volts", "V": "volts", "k": "dimensionless", "d": "seconds"}


@dataclass(frozen=True)
class ModuleSpec:
    """Resolved construction arguments of a simulation module.

    Attributes:
        size_in: input channels: ``N`` (signed weights) or ``4 N`` (one per synapse type).
        n_neurons: ``N``.
        signed: True for the signed single-synapse input layout.
        values: every current and layout constant, ``{name: float64 array (N,)}``.
        Iscale: current (A) of a weight of 1.0.
        dt: time step (s).
        max_spikes_per_dt: the most spikes a neuron emits in one step.
        feedback_gradient: the share of the positive feedback factor's derivative the
            backward pass keeps, in ``[0, 1]`` (see :mod:`.membrane`).
        has_rec: whether the module has recurrent weights.
        w_rec: recurrent weights ``(N, size_in)`` in units of ``Iscale``, or None for a
            random initialisation (``has_rec``) or no recurrence.
        trainable: names of currents/constants to register as trainable parameters.
    """

    size_in: int
    n_neurons: int
    signed: bool
    values: Dict[str, np.ndarray]
    Iscale: float
    dt: float
    max_spikes_per_dt: float
    feedback_gradient: float
    has_rec: bool
    w_rec: Optional[np.ndarray]
    trainable: Tuple[str, ...]


def parse_shape(shape: Union[int, Sequence[int]]) -> Tuple[int, int, bool]:
    """``(size_in, N, signed)`` from ``N``, ``(N,)``, ``(N, N)`` or ``(4 N, N)`` (4: the
    number of synapse types)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, (bool, np.bool_)):
        dims: Tuple[Any, ...] = (shape,)
    elif isinstance(shape, (tuple, list)):
        dims = tuple(shape)
    else:
        raise ShapeError("shape", "N or a tuple (N,), (N, N) or (4 N, N) of positive integers", (repr(shape),))
    ok = len(dims) in (1, 2) and all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in dims)
    if ok:
        n = int(dims[-1])
        size_in = int(dims[0])
        if size_in == n:
            return n, n, True
        if size_in == len(SynapseType) * n:
            return size_in, n, False
    raise ShapeError("shape", "(N,), (N, N) for signed inputs or (4 N, N) for one input per synapse type, with N > 0", dims)


def check_values(name: str, value: Any) -> None:
    """Raise :class:`ParameterValueError` unless a current/constant is positive and finite
    (where concrete); the unit in the message from the name's first letter."""
    check_positive_finite(name, value, _UNITS.get(name[0], ""))


def check_parameters(p: Any, size_in: int, n: int, rows: Optional[int] = None) -> None:
    """Check a module's parameters before a simulation: shapes always, values where concrete.

    Args:
        p: a :class:`~.records.DynapParams`.
        size_in: input channels of the module.
        n: neurons of the module.
        rows: the batch size, when per-row parameters are allowed: then a current or
            constant may also be ``(rows, N)`` and ``w_rec`` ``(rows, N, size_in)``.

    Raises:
        ShapeError: a current or constant not ``(N,)`` (or ``(rows, N)``), ``Iscale`` not a
            scalar, ``w_rec`` not ``(N, size_in)`` (or ``(rows, N, size_in)``).
        ParameterValueError: a non-positive, NaN or inf current or constant, or non-finite ``w_rec``.
    """
    for name in PARAMETER_NAMES:
        _check_shape(name, getattr(p, name), (n,), rows, f"({n},)")
        check_values(name, getattr(p, name))
    if tuple(np.shape(p.Iscale)) not in ((), (1,)):
        raise ShapeError("Iscale", "()", np.shape(p.Iscale))
    check_values("Iscale", p.Iscale)
    if p.w_rec is not None:
        _check_shape("w_rec", p.w_rec, (n, size_in), rows, f"(N, size_in) = ({n}, {size_in})")
        check_real("w_rec", p.w_rec, unit="units of Iscale")


def _check_shape(name: str, value: Any, shape: Tuple[int, ...], rows: Optional[int], expected: str) -> None:
    """Raise :class:`ShapeError` unless ``value`` is ``shape`` (or ``(rows,) + shape`` with ``rows``)."""
    got = tuple(value.shape)
    if got == shape or (rows and got == (rows,) + shape):
        return
    raise ShapeError(name, expected + (f" or {(rows,) + shape}" if rows else ""), value.shape)


def state_needs_broadcast(name: str, shape: Tuple[int, ...], B: int, n: int) -> bool:
    """Whether a stored state must be broadcast over the batch (True) or is already batched (False).

    Raises:
        ShapeError: unless the state is ``(N, ...)`` or ``(B, N, ...)`` (``...`` from
            :func:`state_trailing_shape`: ``4`` for ``isyn``).
    """
    per_neuron = (n,) + state_trailing_shape(name)
    shape = tuple(shape)
    if shape == per_neuron:
        return True
    if shape == (B,) + per_neuron:
        return False
    raise ShapeError(f"state {name}", f"{per_neuron} or {(B,) + per_neuron}", shape)


def check_state(name: str, value: Any) -> None:
    """Raise :class:`ParameterValueError` for a NaN or infinite state (where concrete)."""
    arr = concrete(value)
    if arr is not None and not np.isfinite(arr).all():
        raise ParameterValueError(f"state {name}", "finite (reset_state() returns the neurons to rest)", arr, ~np.isfinite(arr))


def _per_neuron(name: str, value: Any, n: int) -> np.ndarray:
    """A current or layout constant as ``(N,)`` float64: a positive finite number or ``(N,)``
    array of them (a ``(1,)`` array counts as a number)."""
    if concrete(value) is None:
        raise ParameterValueError(name, "a concrete value at construction", Shown("a traced value"))
    arr = real_array(name, value, low=0.0, low_open=True, unit=_UNITS.get(name[0], ""))
    if arr.shape not in ((), (1,), (n,)):
        raise ShapeError(name, f"() or ({n},)", arr.shape)
    return np.broadcast_to(arr.reshape(-1) if arr.ndim else arr, (n,)).copy()


def build_module_spec(
    shape: Union[int, Sequence[int]],
    *,
    core: Optional[CoreParameters] = None,
    w_rec: Any = None,
    has_rec: bool = False,
    dt: float = 1e-3,
    Iscale: Optional[float] = None,
    max_spikes_per_dt: float = float("inf"),
    feedback_gradient: float = 1.0,
    trainable: Sequence[str] = (),
    **values: Any,
) -> ModuleSpec:
    """Resolve and check the constructor arguments of a simulation module.

    Args:
        shape: ``N``/``(N,)``/``(N, N)`` (signed input per neuron: positive weights drive
            AMPA, negative GABA) or ``(4 N, N)`` (input channel ``4 i + k`` drives synapse
            ``k`` = AMPA, NMDA, GABA, SHUNT of neuron ``i``).
        core: parameter set to take the currents from; defaults to the chip's default
            operating point. Explicit currents override it.
        w_rec: recurrent weights ``(N, size_in)`` in units of ``Iscale``; implies ``has_rec``.
        has_rec: give the module recurrent weights (randomly initialised if ``w_rec`` is None).
        dt: time step (s), > 0.
        Iscale: current (A) of a weight of 1.0; default 10 nA.
        max_spikes_per_dt: the most spikes one neuron emits in one step (default unbounded,
            as Rockpool's DynapSim).
        feedback_gradient: the share of the positive feedback factor
            ``I_mem + Igain_mem``'s derivative the backward pass keeps, in ``[0, 1]``
            (default 1, the exact derivative; see :mod:`.membrane`). The forward pass is
            the same at every value.
        trainable: names of currents or layout constants to train.
        **values: currents (``Itau_mem=...``) and layout constants (``C_mem=...``), scalar or
            ``(N,)``; Rockpool's merged names ``Itau_syn``, ``Igain_syn``, ``C_syn`` set all
            four synapse types.

    Raises:
        ShapeError: a shape other than the above, or ``w_rec`` not ``(N, size_in)``.
        ParameterValueError: a current, layout constant, ``dt`` or ``Iscale`` that is not
            positive and finite; ``max_spikes_per_dt`` below 1; ``feedback_gradient``
            outside ``[0, 1]``; a ``w_rec`` that is not
            finite or not concrete.
        UnknownParameterError: a keyword or a ``trainable`` name that is not a current or
            a layout constant.
    """
    size_in, n, signed = parse_shape(shape)
    if core is not None:
        instance("core", core, CoreParameters, "a CoreParameters (or None: the default operating point)")
    has_rec = flag("has_rec", has_rec)
    trainable = _check_names(values, trainable)
    resolved = _resolve_values(core if core is not None else CoreParameters(), values, n)
    dt = real_number("dt", dt, low=0.0, low_open=True, unit="seconds")
    Iscale = real_number("Iscale", 1e-8 if Iscale is None else Iscale, low=0.0, low_open=True, unit="amperes")
    max_spikes_per_dt = real_number("max_spikes_per_dt", max_spikes_per_dt, low=1.0, finite=False)
    feedback_gradient = real_number("feedback_gradient", feedback_gradient, low=0.0, high=1.0)
    w = None if w_rec is None else _check_w_rec(w_rec, n, size_in)
    has_rec = has_rec or w is not None

    return ModuleSpec(
        size_in=size_in,
        n_neurons=n,
        signed=signed,
        values=resolved,
        Iscale=Iscale,
        dt=dt,
        max_spikes_per_dt=max_spikes_per_dt,
        feedback_gradient=feedback_gradient,
        has_rec=bool(has_rec),
        w_rec=w,
        trainable=trainable,
    )


def _check_names(values: Mapping[str, Any], trainable: Sequence[str]) -> Tuple[str, ...]:
    """``trainable`` as a tuple; :class:`UnknownParameterError` for a keyword or a
    ``trainable`` name that is not a current, a layout constant (or, for keywords, a
    merged alias), :class:`ParameterValueError` for a ``trainable`` that is not names."""
    valid = PARAMETER_NAMES + tuple(ALIASES)
    for key in values:
        if key not in valid:
            raise UnknownParameterError("parameter", key, valid + ("Iscale", "dt", "w_rec", "has_rec", "feedback_gradient"))
    return check_names("trainable", trainable, PARAMETER_NAMES)


def _resolve_values(core: CoreParameters, values: Mapping[str, Any], n: int) -> Dict[str, np.ndarray]:
    """Every current and layout constant as ``(N,)`` float64: ``core``'s, overridden by the
    merged aliases, overridden by the explicit keywords."""
    base: Dict[str, Any] = {name: getattr(core, name) for name in CURRENT_NAMES}
    base.update({name: getattr(core.constants, name) for name in LAYOUT_NAMES})
    for alias, names in ALIASES.items():
        if alias in values:
            base.update({name: values[alias] for name in names if name not in values})
    base.update({k: v for k, v in values.items() if k not in ALIASES})
    return {name: _per_neuron(name, base[name], n) for name in PARAMETER_NAMES}


def _check_w_rec(w_rec: Any, n: int, size_in: int) -> np.ndarray:
    """Recurrent weights as a float64 ``(N, size_in)`` array; named errors unless concrete,
    real, of that shape and finite."""
    if concrete(w_rec) is None:
        raise ParameterValueError("w_rec", "a concrete array at construction", Shown("a traced value"))
    return real_array("w_rec", w_rec, shape=(n, size_in), expected=f"(N, size_in) = ({n}, {size_in})", unit="units of Iscale")


def _synapses_at_rest(Io: np.ndarray) -> np.ndarray:
    """Synaptic currents at rest, ``(N, 4)``: AMPA at ``Io`` (its drive is floored at the dark
    current), the other types at 0 (no drive without input spikes)."""
    isyn = np.zeros((Io.shape[0], len(SynapseType)))
    isyn[:, SynapseType.AMPA] = Io
    return isyn


class StateField(NamedTuple):
    """How a field of :class:`~.records.DynapState` is stored, started and recorded."""

    per_synapse: bool = False
    """One value per synapse type: stored ``(..., N, 4)`` (4 = ``len(SynapseType)``), carried
    by the time loop as a tuple of ``(..., N)`` arrays (None for an idle type, see
    :func:`.step.loop_state`) and recorded as one entry per type."""
    at_rest: Callable[[np.ndarray], np.ndarray] = np.zeros_like
    """The stored value at rest from the dark currents ``Io`` ``(N,)``."""
    record_names: Optional[Tuple[str, ...]] = None
    """Names in a record dictionary, one per synapse type for a per-synapse field (None:
    the field's name)."""


STATE_FIELDS: Mapping[str, StateField] = {
    "isyn": StateField(
        per_synapse=True, at_rest=_synapses_at_rest, record_names=tuple(f"i{s.label}" for s in SynapseType)
    ),
    "iahp": StateField(at_rest=np.copy),
    "imem": StateField(at_rest=np.copy),
    "vmem": StateField(),
    "timer_ref": StateField(),
    "spikes": StateField(),
}
"""The one table of the state's layout, by :class:`~.records.DynapState` field. A field
missing here is per neuron, 0 at rest and recorded under its name (:func:`state_field`):
adding such a state to ``DynapState`` needs no edit of the modules."""


def state_field(name: str) -> StateField:
    """The layout of state ``name`` (:data:`STATE_FIELDS`, or the default :class:`StateField`)."""
    return STATE_FIELDS.get(name, _PER_NEURON)


_PER_NEURON = StateField()


def state_trailing_shape(name: str) -> Tuple[int, ...]:
    """The stored shape of state ``name`` after its neuron axis: ``(4,)`` per synapse type, else ``()``."""
    return (len(SynapseType),) if state_field(name).per_synapse else ()


def initial_state_values(Io: np.ndarray) -> Dict[str, np.ndarray]:
    """Initial state of N neurons with dark currents ``Io`` ``(N,)``: the neuron at rest,
    ``{field: array}`` for every field of :class:`~.records.DynapState` (values from
    :data:`STATE_FIELDS`: AMPA, AHP and membrane currents at ``Io``, the rest at 0)."""
    return {name: state_field(name).at_rest(Io) for name in DynapState._fields}


def kaiming_init(rng: np.random.Generator) -> Callable[[Tuple[int, ...]], np.ndarray]:
    """Kaiming-uniform initialiser for recurrent weights (as Rockpool's ``kaiming``)."""

    def init(shape: Tuple[int, ...]) -> np.ndarray:
        lim = np.sqrt(2.0 / shape[0])
        return rng.uniform(-lim, lim, size=shape)

    return init
