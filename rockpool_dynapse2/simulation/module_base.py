"""What ``DynapSimJax`` and ``DynapSimTorch`` share besides the equations: registering the
parameters and states of a :class:`~.spec.ModuleSpec`, building from high-level values,
resetting a batched state, and the module's graph."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable, Dict, Tuple, Union

import numpy as np

from ..errors import ParameterValueError
from ..parameters.core import CoreHighLevel, CoreParameters
from .records import CURRENT_NAMES, LAYOUT_NAMES, DynapParams
from .module_spec import ModuleSpec, initial_state_values, kaiming_init

__all__ = ["DynapSimBase", "split_high_level"]

_HIGH_LEVEL = frozenset(f.name for f in fields(CoreHighLevel))


def split_high_level(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """Constructor keywords with the :class:`CoreHighLevel` ones turned into ``core=``."""
    high = {k: kwargs.pop(k) for k in list(kwargs) if k in _HIGH_LEVEL}
    for name, value in high.items():
        if np.ndim(value) != 0:
            raise ParameterValueError(
                name,
                "one value for the whole core (a core's neurons share its biases); for per-neuron "
                "values pass currents to the constructor, e.g. Itau_ampa=itau_from_tau(taus, ...) or Idc=array",
                f"an array of shape {np.shape(value)}",
            )
    if high:
        kwargs["core"] = CoreParameters.from_high_level(**high)
    return kwargs


class DynapSimBase:
    """Mixed into both simulation modules (before their Rockpool base class)."""

    _spec: ModuleSpec

    def _register(self, spec: ModuleSpec, cast: Callable, parameter: type, simulation: type, state: type, seed: Any) -> Any:
        """Register currents, layout constants, ``w_rec``, ``Iscale``, ``dt`` and the states.

        Returns:
            The initial recurrent weights (numpy), or None without recurrence.
        """
        self._spec = spec
        for name in CURRENT_NAMES + LAYOUT_NAMES:
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
        values = {name: getattr(self, name) for name in CURRENT_NAMES + LAYOUT_NAMES}
        return DynapParams(**values, Iscale=self.Iscale, w_rec=self.w_rec if self.has_rec else None)

    def as_graph(self):
        """A Rockpool graph of this module, for the hardware mapper."""
        from .graph import dynapsim_graph

        return dynapsim_graph(self)
