"""The network specification: what the mapper produces and the chip configuration is built from.

A :class:`NetworkSpec` describes one recurrent population of N DYNAP-SE2 neurons fed by
external input channels:

* two sparse synapse tables (:class:`Synapses`), input -> neuron and neuron -> neuron:
  for each synapse its source, target neuron, synapse type (a
  :class:`~rockpool_dynapse2.chip.SynapseType` value: 0 AMPA, 1 NMDA, 2 GABA, 3 SHUNT; the
  sign of a weight is its type) and weight magnitude in units of ``Iscale``;
  once quantized, also its 4-bit mask;
* ``core_of_neuron`` ``(N,)`` and ``cores``: the logical core of every neuron and the
  parameter set each logical core shares;
* ``output_neurons``: which neuron is output channel ``j`` (input channel ``i`` is
  source ``i`` of the input synapses);
* ``bases`` (once quantized): the 4 base weights of each logical core
  (:data:`BASE_WEIGHT_BIASES`).

Synapse tables are canonical: sorted by (target, type, source), one entry per
(source, target, type), weights > 0. ``to_dict``/``from_dict`` (and JSON) round-trip exactly.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, Union

import numpy as np

from .._json import format_tag, json_int, json_ints, json_list, json_number, json_numbers, json_object, json_string, loads
from ..chip import BASE_WEIGHT_BIASES, BIAS_PARAMETERS, GEOMETRY, CircuitConstants, SynapseType
from ..errors import ParameterValueError, ShapeError, Shown
from ..parameters.core import CoreParameters
from ..parameters.validate import indices, instance, integer, real_array, real_number

__all__ = ["Synapses", "NetworkSpec", "level_table", "BASE_WEIGHT_BIASES"]

_N_TYPES = len(SynapseType)
FORMAT = "rockpool-dynapse2/network-spec/1"

_SPEC_KEYS = (
    "format", "n_inputs", "n_neurons", "input_synapses", "recurrent_synapses", "core_of_neuron", "cores",
    "output_neurons", "Iscale", "dt", "bases", "neuron_deviation", "names", "layer_of_neuron",
)
"""The keys of a spec's JSON document, in the order :meth:`NetworkSpec.to_dict` writes them."""

_SYNAPSE_KEYS = ("source", "target", "kind", "weight", "mask")
_CURRENT_NAMES = tuple(p.current for p in BIAS_PARAMETERS)
_CONSTANT_NAMES = tuple(f.name for f in dataclasses.fields(CircuitConstants))


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(arr)
    arr.setflags(write=False)
    return arr


def _check_shape(name: str, a: np.ndarray, shape: Tuple[int, ...], expected: str) -> np.ndarray:
    """``a``, or :class:`ShapeError` if its shape is not ``shape``."""
    if a.shape != shape:
        raise ShapeError(name, expected, a.shape)
    return a


def level_table(bases: np.ndarray) -> np.ndarray:
    """``(n_cores, 16)``: the weight every 4-bit mask selects in every core (bit k selects base k)."""
    bits = (np.arange(GEOMETRY.weight_levels)[:, None] >> np.arange(GEOMETRY.base_weights)[None, :]) & 1  # (16, 4)
    bases = real_array("bases", bases, shape=(None, GEOMETRY.base_weights), low=0.0)
    return bases @ bits.T.astype(np.float64)


@dataclass(frozen=True)
class Synapses:
    """A sparse synapse table: parallel arrays of length S.

    Attributes:
        source: ``(S,)`` input channel or presynaptic neuron.
        target: ``(S,)`` postsynaptic neuron.
        kind: ``(S,)`` synapse type 0..3 (AMPA, NMDA, GABA, SHUNT).
        weight: ``(S,)`` weight magnitude > 0 in units of ``Iscale``.
        mask: ``(S,)`` 4-bit mask 0..15 once quantized, else None.
    """

    source: np.ndarray
    target: np.ndarray
    kind: np.ndarray
    weight: np.ndarray
    mask: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        arrays = self._checked_arrays()
        order = np.lexsort((arrays["source"], arrays["kind"], arrays["target"]))
        keys = np.stack([arrays["target"][order], arrays["kind"][order], arrays["source"][order]], axis=1)
        if len(order) > 1 and (keys[1:] == keys[:-1]).all(axis=1).any():
            raise ParameterValueError("synapses", "one entry per (source, target, type)", "duplicate entries")
        for name, a in arrays.items():
            object.__setattr__(self, name, _frozen(a[order]))

    def _checked_arrays(self) -> Dict[str, np.ndarray]:
        """The columns as flat arrays of one length and their dtypes, each checked."""
        src = indices("synapses.source", self.source, rule="an input channel or neuron index >= 0").ravel()
        s = src.shape[0]
        levels = GEOMETRY.weight_levels
        arrays = {
            "source": src,
            "target": indices("synapses.target", self.target, rule="a neuron index >= 0").ravel(),
            "kind": indices("synapses.kind", self.kind, high=_N_TYPES, rule=f"a synapse type in 0..{_N_TYPES - 1}").ravel(),
            "weight": real_array("synapses.weight", self.weight, low=0.0, low_open=True).ravel(),
        }
        if self.mask is not None:
            rule = f"a 4-bit mask, an integer in 0..{levels - 1}"
            arrays["mask"] = indices("synapses.mask", self.mask, high=levels, rule=rule).ravel().astype(np.int8)
        for name, a in arrays.items():
            _check_shape(f"synapses.{name}", a, (s,), f"({s},) like synapses.source")
        return arrays

    @classmethod
    def from_dense(cls, w: np.ndarray) -> "Synapses":
        """From a dense ``(n_sources, N, 4)`` array of magnitudes (zeros are no synapse)."""
        w = real_array("w", w, shape=(None, None, _N_TYPES), expected="(n_sources, N, 4)", low=0.0)
        src, tgt, kind = np.nonzero(w)
        return cls(src, tgt, kind, w[src, tgt, kind])

    @classmethod
    def empty(cls, masked: bool = False) -> "Synapses":
        """A table without synapses; ``masked``: with an (empty) mask column, as a quantized table has."""
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z, np.zeros(0), z.copy() if masked else None)

    def __len__(self) -> int:
        return int(self.source.shape[0])

    def dense(self, n_sources: int, n_neurons: int, weights: Optional[np.ndarray] = None) -> np.ndarray:
        """``(n_sources, N, 4)`` dense magnitudes (``weights`` overrides the stored ones)."""
        out = np.zeros((n_sources, n_neurons, _N_TYPES))
        out[self.source, self.target, self.kind] = self.weight if weights is None else weights
        return out

    def replace(self, **changes: Any) -> "Synapses":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> Dict[str, Any]:
        d = {k: getattr(self, k).tolist() for k in ("source", "target", "kind", "weight")}
        d["mask"] = None if self.mask is None else self.mask.tolist()
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Synapses":
        """Rebuild a table from :meth:`to_dict`'s output, each column read by its JSON type.

        Raises:
            ParameterValueError, ShapeError: a missing or unknown key, a value of the wrong
                type or out of range, columns of different lengths (the path in the message).
        """
        return _read_synapses("synapses", d)


@dataclass(frozen=True)
class NetworkSpec:
    """One recurrent population of DYNAP-SE2 neurons with external inputs (see the module docs).

    Raises:
        ShapeError, ParameterValueError: inconsistent sizes, sources or targets out of
            range, core indices out of range, non-positive ``Iscale``/``dt``, masks
            without bases or bases without masks.
    """

    n_inputs: int
    n_neurons: int
    input_synapses: Synapses
    recurrent_synapses: Synapses
    core_of_neuron: np.ndarray
    cores: Tuple[CoreParameters, ...]
    output_neurons: np.ndarray
    Iscale: float = 1e-8
    dt: float = 1e-3
    bases: Optional[np.ndarray] = None
    """``(n_cores, 4)`` base weights ``Iw_0..Iw_3`` (units of ``Iscale``) once quantized."""
    neuron_deviation: Optional[np.ndarray] = None
    """``(N,)``: each neuron's largest relative distance between its own currents and its core's."""
    names: Tuple[str, ...] = ()
    """Labels of the source neuron modules (layers), for reports."""
    layer_of_neuron: Optional[np.ndarray] = None
    """``(N,)``: index into ``names`` of the neuron module each neuron came from."""

    def __post_init__(self) -> None:
        self._check_sizes()
        self._check_cores()
        self._check_synapse_tables()
        out = indices("output_neurons", self.output_neurons, high=self.n_neurons, shape=(None,), expected="(n_outputs,)",
                      rule=f"neuron indices in 0..{self.n_neurons - 1}")
        self._set("output_neurons", _frozen(out))
        for name, unit in (("Iscale", "amperes"), ("dt", "seconds")):
            self._set(name, real_number(name, getattr(self, name), low=0.0, low_open=True, unit=unit))
        self._check_bases()
        self._check_layers()

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _check_sizes(self) -> None:
        for name in ("n_inputs", "n_neurons"):
            self._set(name, integer(name, getattr(self, name), low=0))

    def _check_cores(self) -> None:
        if not isinstance(self.cores, (list, tuple)):
            raise ParameterValueError("cores", "a list of CoreParameters", Shown(f"a {type(self.cores).__name__}"))
        self._set("cores", tuple(self.cores))
        for i, c in enumerate(self.cores):
            instance(f"cores[{i}]", c, CoreParameters)
        n, n_cores = self.n_neurons, len(self.cores)
        core = indices("core_of_neuron", self.core_of_neuron, high=n_cores, shape=(n,), expected=f"({n},)",
                       rule=f"an index into cores, in 0..{n_cores - 1}")
        self._set("core_of_neuron", _frozen(core))

    def _check_synapse_tables(self) -> None:
        n = self.n_neurons
        for name, n_src in (("input_synapses", self.n_inputs), ("recurrent_synapses", n)):
            syn = getattr(self, name)
            instance(name, syn, Synapses, "a Synapses table")
            for field_, high in (("source", n_src), ("target", n)):
                indices(f"{name}.{field_}", getattr(syn, field_), high=high)

    def _check_bases(self) -> None:
        """Bases and masks come together: a quantized spec has both, an unquantized neither."""
        masked = [s.mask is not None for s in (self.input_synapses, self.recurrent_synapses)]
        if self.bases is None:
            if any(masked):
                raise ParameterValueError("bases", "given when synapse masks are", None)
            return
        shape = (len(self.cores), GEOMETRY.base_weights)
        b = real_array("bases", self.bases, shape=shape, low=0.0)
        self._set("bases", _frozen(b))
        if not all(masked):
            raise ParameterValueError("synapses.mask", "set on every synapse table when `bases` is", "missing masks")

    def _check_layers(self) -> None:
        n = self.n_neurons
        if self.neuron_deviation is not None:
            d = real_array("neuron_deviation", self.neuron_deviation, shape=(n,), low=0.0)
            self._set("neuron_deviation", _frozen(d))
        if not isinstance(self.names, (list, tuple)) or not all(isinstance(x, str) for x in self.names):
            raise ParameterValueError("names", "a list of layer names (strings)", Shown(f"a {type(self.names).__name__}"))
        self._set("names", tuple(self.names))
        if self.layer_of_neuron is not None:
            rule = f"an index into names, in 0..{len(self.names) - 1}"
            layer = indices("layer_of_neuron", self.layer_of_neuron, high=max(len(self.names), 1), shape=(n,), rule=rule)
            self._set("layer_of_neuron", _frozen(layer))

    # --- derived ---------------------------------------------------------------------------

    @property
    def n_outputs(self) -> int:
        return int(self.output_neurons.shape[0])

    @property
    def n_cores(self) -> int:
        return len(self.cores)

    @property
    def quantized(self) -> bool:
        return self.bases is not None

    def synapse_counts(self) -> np.ndarray:
        """``(N,)``: CAM entries each neuron needs (one per source and synapse type)."""
        return np.bincount(self.input_synapses.target, minlength=self.n_neurons) + np.bincount(
            self.recurrent_synapses.target, minlength=self.n_neurons
        )

    def weights(self, table: Synapses) -> np.ndarray:
        """The weights of one of the two synapse tables that the chip would use: the
        mask-selected sums of the target's core bases if quantized, else the float weights."""
        if not self.quantized:
            return table.weight
        return level_table(self.bases)[self.core_of_neuron[table.target], table.mask.astype(np.int64)]

    def dense_weights(self) -> Tuple[np.ndarray, np.ndarray]:
        """``(w_in (n_inputs, N, 4), w_rec (N, N, 4))``: dense magnitudes in units of ``Iscale``
        (quantized ones if the spec is quantized)."""
        return (
            self.input_synapses.dense(self.n_inputs, self.n_neurons, self.weights(self.input_synapses)),
            self.recurrent_synapses.dense(self.n_neurons, self.n_neurons, self.weights(self.recurrent_synapses)),
        )

    def replace(self, **changes: Any) -> "NetworkSpec":
        """A validated copy with some fields replaced."""
        return dataclasses.replace(self, **changes)

    # --- serialisation -------------------------------------------------------------------------

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-compatible dict; :meth:`from_dict` inverts it exactly."""
        return {
            "format": FORMAT,
            "n_inputs": self.n_inputs,
            "n_neurons": self.n_neurons,
            "input_synapses": self.input_synapses.to_dict(),
            "recurrent_synapses": self.recurrent_synapses.to_dict(),
            "core_of_neuron": self.core_of_neuron.tolist(),
            "cores": [{"currents": c.currents(), "constants": dataclasses.asdict(c.constants)} for c in self.cores],
            "output_neurons": self.output_neurons.tolist(),
            "Iscale": self.Iscale,
            "dt": self.dt,
            "bases": None if self.bases is None else self.bases.tolist(),
            "neuron_deviation": None if self.neuron_deviation is None else self.neuron_deviation.tolist(),
            "names": list(self.names),
            "layer_of_neuron": None if self.layer_of_neuron is None else self.layer_of_neuron.tolist(),
        }

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "NetworkSpec":
        """Rebuild a spec from :meth:`to_dict`'s output (a parsed JSON document).

        Every field is read by its JSON type (an integer is not a float or a boolean, a
        list is not an object), and exactly the keys :meth:`to_dict` writes are accepted.

        Raises:
            ParameterValueError: a wrong format tag, a missing or unknown key, a value of the
                wrong JSON type or out of range; the message names its path
                (``input_synapses.weight[3]``, ``cores[1].currents.Itau_mem``, ``bases[0][2]``).
            ShapeError: arrays whose lengths disagree (e.g. ``core_of_neuron`` and ``n_neurons``).
        """
        json_object("", format_tag(d, FORMAT, "spec"), _SPEC_KEYS)
        n_inputs, n_neurons = json_int("n_inputs", d["n_inputs"]), json_int("n_neurons", d["n_neurons"])
        fields = dict(
            input_synapses=_read_synapses("input_synapses", d["input_synapses"]),
            recurrent_synapses=_read_synapses("recurrent_synapses", d["recurrent_synapses"]),
            core_of_neuron=json_ints("core_of_neuron", d["core_of_neuron"]),
            cores=tuple(_read_core(f"cores[{c}]", core) for c, core in enumerate(json_list("cores", d["cores"]))),
            output_neurons=json_ints("output_neurons", d["output_neurons"]),
            Iscale=json_number("Iscale", d["Iscale"]),
            dt=json_number("dt", d["dt"]),
            bases=_optional(_read_bases, "bases", d["bases"]),
            neuron_deviation=_optional(json_numbers, "neuron_deviation", d["neuron_deviation"]),
            names=tuple(json_string(f"names[{k}]", x) for k, x in enumerate(json_list("names", d["names"]))),
            layer_of_neuron=_optional(json_ints, "layer_of_neuron", d["layer_of_neuron"]),
        )
        return cls(n_inputs=n_inputs, n_neurons=n_neurons, **fields)

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "NetworkSpec":
        """Rebuild a spec from :meth:`to_json`'s output (text, or its bytes, gzip-compressed or not).

        ``to_json(from_json(text))`` is ``text`` for any text :meth:`to_json` wrote.

        Raises:
            ParameterValueError: text that is not JSON, and see :meth:`from_dict`.
            ShapeError: see :meth:`from_dict`.
        """
        if not isinstance(text, (str, bytes)):
            raise ParameterValueError("spec JSON", "JSON text (a str, or its bytes)", Shown(f"a {type(text).__name__}"))
        d = loads(text, "spec JSON")
        return cls.from_dict(d)


# --- reading the JSON document ------------------------------------------------------------------
# Each reader takes the path of its node (``cores[1].currents``) and names it in its error.


def _optional(read: Callable[[str, Any], Any], where: str, node: Any) -> Any:
    """``None`` for JSON null, else ``read(where, node)``."""
    return None if node is None else read(where, node)


def _read_bases(where: str, node: Any) -> np.ndarray:
    """``(n_cores, 4)`` base weights: a list of rows of 4 numbers."""
    rows = [json_numbers(f"{where}[{c}]", row, GEOMETRY.base_weights) for c, row in enumerate(json_list(where, node))]
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), GEOMETRY.base_weights)


@contextmanager
def _renamed(old: str, new: str) -> Iterator[None]:
    """Errors raised inside name their field by its path: the prefix ``old`` of the field's
    name replaced by ``new`` (the error keeps its class, rule and value)."""
    try:
        yield
    except (ParameterValueError, ShapeError) as err:
        if err.name.startswith(old):
            name = new + err.name[len(old) :]
            err.args = (str(err).replace(f"`{err.name}`", f"`{name}`", 1),)
            err.name = name
        raise


def _read_synapses(where: str, node: Any) -> Synapses:
    """A synapse table: the columns of :meth:`Synapses.to_dict`."""
    d = json_object(where, node, _SYNAPSE_KEYS)
    columns = {k: json_ints(f"{where}.{k}", d[k]) for k in ("source", "target", "kind")}
    columns["weight"] = json_numbers(f"{where}.weight", d["weight"])
    columns["mask"] = _optional(json_ints, f"{where}.mask", d["mask"])
    with _renamed("synapses", where):
        return Synapses(**columns)


def _read_core(where: str, node: Any) -> CoreParameters:
    """One core's parameter set: ``{"currents": {name: A}, "constants": {name: SI value}}``."""
    d = json_object(where, node, ("currents", "constants"))
    currents = json_object(f"{where}.currents", d["currents"], _CURRENT_NAMES)
    constants = json_object(f"{where}.constants", d["constants"], _CONSTANT_NAMES)
    values = {k: json_number(f"{where}.constants.{k}", constants[k]) for k in _CONSTANT_NAMES}
    for k, v in values.items():
        if v <= 0:
            raise ParameterValueError(f"{where}.constants.{k}", "positive (a physical constant)", v)
    with _renamed("", f"{where}.currents."):
        return CoreParameters(
            constants=CircuitConstants(**values), **{k: json_number(k, currents[k]) for k in _CURRENT_NAMES}
        )
