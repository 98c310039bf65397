"""What ``DynapSimJax`` and ``DynapSimTorch`` share besides the equations: the constructor's
arguments (resolved by :func:`~.module_spec.build_module_spec`), registering the parameters
and states of a :class:`~.module_spec.ModuleSpec`, building from high-level values, the
checks of a call (parameters, input, stored state), resetting a batched state, the record
dictionary and the module's graph."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from ..errors import ParameterValueError, ShapeError, Shown
from ..parameters.core import CoreHighLevel, CoreParameters
from ..parameters.validate import check_real, concrete, integer, seed as check_seed
from .records import CURRENT_NAMES, DynapParams, DynapState
from .module_spec import (
    PARAMETER_NAMES,
    ModuleSpec,
    build_module_spec,
    check_parameters,
    check_state,
    check_values,
    initial_state_values,
    kaiming_init,
    state_field,
    state_needs_broadcast,
)

__all__ = ["DTYPES", "DynapSimBase", "split_high_level", "check_input", "record_dict"]

DTYPES: Tuple[str, ...] = ("float32", "float64")
"""The floating-point types a simulation module computes in."""

_HIGH_LEVEL = frozenset(f.name for f in fields(CoreHighLevel))


def split_high_level(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """Constructor keywords with the :class:`CoreHighLevel` ones turned into ``core=``."""
    high = {k: kwargs.pop(k) for k in list(kwargs) if k in _HIGH_LEVEL}
    for name, value in high.items():
        if np.ndim(value) != 0:
            raise ParameterValueError(
                name,
                "one value for the whole core (a core's neurons share its biases: for per-neuron "
                "values pass currents to the constructor, e.g. Itau_ampa=itau_from_tau(taus, ...) or Idc=array)",
                Shown(f"an array of shape {np.shape(value)}"),
            )
    if high:
        kwargs["core"] = CoreParameters.from_high_level(**high)
    return kwargs


def check_input_type(x: Any, dtype: str) -> Optional[np.ndarray]:
    """A call's input before it is cast to the module's ``dtype``: real numbers that the
    dtype can hold, or booleans (a spike raster), as numpy where concrete.

    Raises:
        ParameterValueError: ``None``, a string, a boolean scalar, complex numbers, objects,
            NaN, or a number too large for ``dtype`` (1e300 in float32).
    """
    arr = concrete(x) if x is not None and not isinstance(x, (str, bytes)) else None
    if arr is not None and arr.dtype.kind == "b" and arr.ndim > 0:
        return arr
    largest = float(np.finfo(dtype).max)
    return check_real("input_data", x, low=-largest, high=largest, finite=False,
                      what="an array of real numbers (T, N_in) or (B, T, N_in)")


def check_input(x: Any, size_in: int, given: Optional[np.ndarray] = None) -> Any:
    """A call's input, an array of the backend ``(T, N_in)`` or ``(B, T, N_in)``, as ``(B, T, N_in)``.

    Args:
        x: the input, cast to the module's dtype.
        size_in: the module's input channels.
        given: the input as given (before the cast), to show in an error.

    Raises:
        ShapeError: another shape, or no time step or batch element.
        ParameterValueError: a NaN or infinite input, or one that overflows the dtype
            (where concrete).
    """
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[-1] != size_in or x.shape[1] == 0 or x.shape[0] == 0:
        raise ShapeError("input_data", f"(T, {size_in}) or (B, T, {size_in}) with B, T >= 1", tuple(x.shape))
    arr = concrete(x)
    if arr is not None and not np.isfinite(arr).all():
        shown = arr if given is None or given.size != arr.size else given.reshape(arr.shape)
        raise ParameterValueError("input_data", f"finite in {arr.dtype}", shown, ~np.isfinite(arr))
    return x


def check_outcome(spikes: Any, state: DynapState) -> None:
    """Raise :class:`ParameterValueError` if a call's spikes or final state are not finite
    (where concrete): parameters far outside the circuits' range (a gain of 1e300, a
    capacitance of 1e-300 F) make the equations overflow, and the call must not return
    NaN spikes or store a NaN state.
    """
    rule = "finite after the call (the module's parameters drive the circuit equations out of range)"
    for name, value in zip(DynapState._fields, state):
        arr = concrete(value)
        if arr is not None and not np.isfinite(arr).all():
            raise ParameterValueError(f"state {name}", rule, arr, ~np.isfinite(arr))
    arr = concrete(spikes)
    if arr is not None and not np.isfinite(arr).all():
        raise ParameterValueError("spikes", rule, arr, ~np.isfinite(arr))


def record_dict(ys: DynapState, zeros_like: Callable[[Any], Any]) -> Dict[str, Any]:
    """The record dictionary of a call from every state over time as the time loop carries it
    (per-synapse fields as tuples, None for an idle type: recorded as zeros).

    Returns:
        ``{name: (B, T, N)}``; per-synapse fields under their :attr:`~.module_spec.StateField.record_names`.
    """
    zero = zeros_like(ys.imem)
    rec: Dict[str, Any] = {}
    for name, value in zip(DynapState._fields, ys):
        layout = state_field(name)
        if layout.per_synapse:
            rec.update({key: zero if v is None else v for key, v in zip(layout.record_names, value)})
        else:
            rec[name] = value
    return rec


def _check_representable(spec: ModuleSpec, dtype: np.dtype) -> None:
    """Raise :class:`ParameterValueError` for a current, constant, ``Iscale`` or ``dt`` that
    the module's dtype cannot hold (it would become 0 or inf: 1e-300 A or 1e300 A in
    float32), or recurrent weights that overflow it."""
    info = np.finfo(dtype)
    rule = f"representable in {dtype.name}, in [{info.tiny:.4g}, {info.max:.4g}]"
    values = {**spec.values, "Iscale": np.asarray(spec.Iscale), "dt": np.asarray(spec.dt)}
    for name, value in values.items():
        bad = (value < info.tiny) | (value > info.max)
        if bad.any():
            raise ParameterValueError(name, rule, value, bad)
    if spec.w_rec is not None:
        bad = np.abs(spec.w_rec) > info.max
        if bad.any():
            raise ParameterValueError("w_rec", f"representable in {dtype.name}, |w| <= {info.max:.4g}", spec.w_rec, bad)


class DynapSimBase:
    """Mixed into both simulation modules (before their Rockpool base class).

    A backend gives :meth:`_state_array` (a stored state as its array type) and
    :meth:`_broadcast` (an array broadcast to a shape, without copying).
    """

    _spec: ModuleSpec

    @staticmethod
    def _module_spec(
        shape: Union[int, Tuple[int, ...]], dtype: str, arguments: Mapping[str, Any], chunk: Any = None, seed: Any = None
    ) -> ModuleSpec:
        """Check ``dtype``, ``chunk`` (None or an integer >= 1) and ``seed`` (None or an
        integer >= 0), and resolve the other constructor arguments (``core``, ``w_rec``,
        ``has_rec``, ``dt``, ``Iscale``, ``max_spikes_per_dt``, ``feedback_gradient``,
        ``trainable``, currents and layout constants: see :func:`~.module_spec.build_module_spec`)."""
        if not (isinstance(dtype, str) and dtype in DTYPES):
            raise ParameterValueError("dtype", " or ".join(repr(d) for d in DTYPES), dtype if isinstance(dtype, str) else type(dtype).__name__)
        if chunk is not None:
            integer("chunk", chunk, low=1)
        if seed is not None:
            check_seed("seed", seed)
        spec = build_module_spec(shape, **arguments)
        _check_representable(spec, np.dtype(dtype))
        return spec

    @staticmethod
    def _state_array(value: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def _broadcast(value: Any, shape: Tuple[int, ...]) -> Any:
        raise NotImplementedError

    def _check_call(self, p: DynapParams, rows: Optional[int] = None) -> None:
        """Check the parameters of a call (see :func:`~.module_spec.check_parameters`) and ``dt``."""
        check_parameters(p, self.size_in, self.size_out, rows=rows)
        check_values("dt", self.dt)

    def _batched_state(self, B: int) -> DynapState:
        """The stored state for a batch of B: each field ``(N, ...)`` broadcast to
        ``(B, N, ...)``, or a batched one checked against B.

        Raises:
            ShapeError: a state of another shape.
            ParameterValueError: a NaN or infinite state.
        """
        values = {}
        for name in DynapState._fields:
            value = self._state_array(getattr(self, name))
            check_state(name, value)
            needs = state_needs_broadcast(name, value.shape, B, self.size_out)
            values[name] = self._broadcast(value, (B,) + tuple(value.shape)) if needs else value
        return DynapState(**values)

    def _register(self, spec: ModuleSpec, cast: Callable, parameter: type, simulation: type, state: type, seed: Any) -> Any:
        """Register currents, layout constants, ``w_rec``, ``Iscale``, ``dt`` and the states.

        Returns:
            The initial recurrent weights (numpy), or None without recurrence.
        """
        self._spec = spec
        for name in PARAMETER_NAMES:
            kind = parameter if name in spec.trainable else simulation
            family = "currents" if name in CURRENT_NAMES else "layout"
            setattr(self, name, kind(cast(spec.values[name]), family=family, cast_fn=cast))
        w_rec = None
        if spec.has_rec:
            w_rec = spec.w_rec if spec.w_rec is not None else kaiming_init(np.random.default_rng(seed))((spec.n_neurons, spec.size_in))
            self.w_rec = parameter(cast(w_rec), family="weights", cast_fn=cast)
        self.Iscale = simulation(cast(spec.Iscale), cast_fn=cast)
        self.dt = simulation(spec.dt)
        for name, value in initial_state_values(spec.values["Io"]).items():
            rest = cast(value)
            setattr(self, name, state(rest, init_func=lambda _, rest=rest: rest))
        return w_rec

    @classmethod
    def from_high_level(cls, shape: Union[int, Tuple[int, ...]], **kwargs: Any):
        """Build from high-level values, e.g. ``from_high_level(8, tau_mem=30e-3, gain_ampa=50)``.

        Keywords that are fields of :class:`~rockpool_dynapse2.parameters.CoreHighLevel`
        (time constants, pulse widths, gain ratios, ``Ispkthr``, ...) go through the
        parameter mapping; the rest go to the constructor.
        """
        return cls(shape, **split_high_level(kwargs))

    def reset_state(self):
        """Return every neuron to rest (and drop the batch dimension of the state)."""
        self._force_set_attributes = True
        try:
            mod = super().reset_state()
        finally:
            self._force_set_attributes = False
        mod._force_set_attributes = False
        return mod

    @property
    def has_rec(self) -> bool:
        return self._spec.has_rec

    @property
    def signed(self) -> bool:
        """True for the signed input layout (``N`` inputs), False for ``4 N`` inputs."""
        return self._spec.signed

    def parameters_record(self) -> DynapParams:
        """The module's parameters as a :class:`~.records.DynapParams` of arrays."""
        values = {name: getattr(self, name) for name in PARAMETER_NAMES}
        return DynapParams(**values, Iscale=self.Iscale, w_rec=self.w_rec if self.has_rec else None)

    def as_graph(self):
        """A Rockpool graph of this module, for the hardware mapper."""
        from .graph import dynapsim_graph

        return dynapsim_graph(self)
