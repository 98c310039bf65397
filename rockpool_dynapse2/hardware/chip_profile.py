"""A chip of its own for the virtual board: :class:`ChipProfile`, one board's frozen flaws.

Every DYNAP-SE2 differs from the next: each transistor is mismatched, some CAM entries
never match, some neurons never fire or never stop, and the bias generators of one board
differ from another's. A :class:`ChipProfile` holds one board's 4 chips of such flaws,
drawn once from a seed (:meth:`ChipProfile.draw`) or written by hand from measurements,
and kept in a JSON file (:meth:`ChipProfile.save`, :meth:`ChipProfile.load`) as users keep
per-board files. :class:`~.virtual.VirtualBoard` runs a configuration on it
(``VirtualBoard(profile=...)``; :mod:`.on_chip` applies it).

What a profile holds, for every neuron of the board (``(chip, core, neuron)``, 4 x 4 x 256):

* ``neuron_factors``: a factor on each of the simulator's currents
  (:data:`~rockpool_dynapse2.simulation.records.CURRENT_NAMES`) and layout constants
  (:data:`~rockpool_dynapse2.simulation.records.LAYOUT_NAMES`);
* ``weight_factors``: a factor on the weight of each synapse type (AMPA, NMDA, GABA, SHUNT)
  of the neuron;
* ``bias_gains``: per core, a factor on each bias generator's output
  (:data:`~rockpool_dynapse2.chip.BIAS_PARAMETERS`, the base weights included);
* ``dead_neurons`` (never fire), ``always_on_neurons`` (fire every step) and
  ``defective_cam_entries`` (``(chip, core, neuron, entry)``: never match).

:meth:`ChipProfile.defects` gives placement what to avoid on the chip (a
:class:`~rockpool_dynapse2.placement.Defects`: dead and always-on neurons as bad slots,
defective CAM entries as bad entries).

The mismatch follows Rockpool's convention and :mod:`rockpool_dynapse2.transform.mismatch`:
a drawn factor is ``max(1 + sigma N(0, 1), POSITIVE_FLOOR)`` with
``sigma = deviation / sigma_rule`` (:func:`~rockpool_dynapse2.transform.deviation.sigma_from_deviation`).

**Defaults are assumptions, not measurements**: 30 % mismatch at 3 sigma (the deviation this
package evaluates), bias-generator gains with 10 % at 3 sigma, 0.2 % dead neurons (8 of
4096), 0.1 % always-on neurons (4) and 0.1 % defective CAM entries (262 of 262,144); every
fraction may be 0. No published yield figures of the DYNAP-SE2 were found to replace them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from .._json import format_tag, json_list, json_numbers, json_object, loads, read_json_file, write_json_file
from ..chip import BIAS_PARAMETERS, GEOMETRY, SynapseType
from ..errors import ParameterValueError, Shown
from ..parameters.validate import real_number, seed as check_seed
from ..placement.defects import Defects
from ..simulation.records import CURRENT_NAMES, LAYOUT_NAMES
from ..transform.deviation import POSITIVE_FLOOR, sigma_from_deviation

__all__ = [
    "ChipProfile",
    "FORMAT",
    "NEURON_FACTOR_NAMES",
    "SYNAPSE_LABELS",
    "BIAS_NAMES",
    "BOARD_SHAPE",
    "neuron_index",
]

FORMAT = "rockpool-dynapse2/chip-profile/1"
"""The ``format`` tag of a profile's JSON."""

NEURON_FACTOR_NAMES: Tuple[str, ...] = CURRENT_NAMES + LAYOUT_NAMES
"""The per-neuron quantities a profile mismatches: currents then layout constants."""

SYNAPSE_LABELS: Tuple[str, ...] = tuple(s.label for s in SynapseType)
"""The synapse types of ``weight_factors``, in order."""

BIAS_NAMES: Tuple[str, ...] = tuple(p.name for p in BIAS_PARAMETERS)
"""The bias generators of ``bias_gains`` (samna's names), in order."""

BOARD_SHAPE: Tuple[int, int, int] = (GEOMETRY.n_chips, GEOMETRY.cores_per_chip, GEOMETRY.neurons_per_core)
"""``(chips, cores per chip, neurons per core)``: the shape of a per-neuron array."""

_N_NEURONS = int(np.prod(BOARD_SHAPE))
_N_CORES = BOARD_SHAPE[0] * BOARD_SHAPE[1]
_NEURON = Tuple[int, int, int]
_ENTRY = Tuple[int, int, int, int]
_LIMITS = BOARD_SHAPE + (GEOMETRY.cam_entries,)
_FIELDS = ("chip", "core", "neuron", "entry")


def neuron_index(chip: int, core: int, neuron: int) -> int:
    """The flat index of a neuron in the JSON lists: ``(chip * 4 + core) * 256 + neuron``."""
    return (chip * BOARD_SHAPE[1] + core) * BOARD_SHAPE[2] + neuron


# --- checks ---------------------------------------------------------------------------------


def _check_factors(where: str, values: np.ndarray, shape: Tuple[int, ...]) -> np.ndarray:
    """A frozen float64 array of ``shape`` of finite positive factors."""
    a = np.array(values, dtype=np.float64)
    if a.shape != shape:
        raise ParameterValueError(where, f"an array of shape {shape}", Shown(f"shape {a.shape}"))
    bad = ~(np.isfinite(a) & (a > 0))
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ParameterValueError(f"{where}[{first}]", "a finite factor > 0", float(a[first]))
    a.setflags(write=False)
    return a


def _check_addresses(where: str, items: Any, width: int) -> Tuple[Tuple[int, ...], ...]:
    """Sorted distinct addresses of ``width`` integers, each within the board."""
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != width:
            raise ParameterValueError(f"{where}[{i}]", f"a list of {width} integers ({', '.join(_FIELDS[:width])})", Shown(repr(item)))
        for f, (value, limit) in enumerate(zip(item, _LIMITS)):
            if type(value) not in (int, np.int64) or not 0 <= value < limit:
                raise ParameterValueError(f"{where}[{i}][{f}]", f"an integer {_FIELDS[f]} in 0..{limit - 1}", Shown(repr(value)))
        out.append(tuple(int(v) for v in item))
    if len(set(out)) != len(out):
        twice = next(a for a in out if out.count(a) > 1)
        raise ParameterValueError(where, "distinct addresses", Shown(f"{list(twice)} twice"))
    return tuple(sorted(out))


# --- the record --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ChipProfile:
    """One board's frozen flaws (see the module docs); every field is checked on construction.

    Attributes:
        neuron_factors: ``(4, 4, 256, len(NEURON_FACTOR_NAMES))`` factors (> 0) on each
            neuron's currents and layout constants, in :data:`NEURON_FACTOR_NAMES` order.
        weight_factors: ``(4, 4, 256, 4)`` factors (> 0) on the weights of each neuron's
            synapse types, in :data:`SYNAPSE_LABELS` order.
        bias_gains: ``(4, 4, len(BIAS_NAMES))`` factors (> 0) on each core's bias
            generators, in :data:`BIAS_NAMES` order.
        dead_neurons: ``(chip, core, neuron)`` of neurons that never fire.
        always_on_neurons: ``(chip, core, neuron)`` of neurons that fire every step
            (none of them dead).
        defective_cam_entries: ``(chip, core, neuron, entry)`` of CAM entries that never match.
        seed: the seed it was drawn from (``None``: written by hand); a record, not used.
        drawn_with: the other arguments of :meth:`draw` (a record, not used).

    Raises:
        ParameterValueError: a field of the wrong shape, a factor that is not finite and
            positive, an address outside the board or given twice, a neuron both dead
            and always on (the error names the field as the JSON path, e.g.
            ``dead_neurons[2][1]``).
    """

    neuron_factors: np.ndarray
    weight_factors: np.ndarray
    bias_gains: np.ndarray
    dead_neurons: Tuple[_NEURON, ...] = ()
    always_on_neurons: Tuple[_NEURON, ...] = ()
    defective_cam_entries: Tuple[_ENTRY, ...] = ()
    seed: Optional[int] = None
    drawn_with: Dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        put("neuron_factors", _check_factors("neuron_factors", self.neuron_factors, BOARD_SHAPE + (len(NEURON_FACTOR_NAMES),)))
        put("weight_factors", _check_factors("weight_factors", self.weight_factors, BOARD_SHAPE + (len(SYNAPSE_LABELS),)))
        put("bias_gains", _check_factors("bias_gains", self.bias_gains, BOARD_SHAPE[:2] + (len(BIAS_NAMES),)))
        put("dead_neurons", _check_addresses("dead_neurons", self.dead_neurons, 3))
        put("always_on_neurons", _check_addresses("always_on_neurons", self.always_on_neurons, 3))
        put("defective_cam_entries", _check_addresses("defective_cam_entries", self.defective_cam_entries, 4))
        both = sorted(set(self.dead_neurons) & set(self.always_on_neurons))
        if both:
            raise ParameterValueError("always_on_neurons", "neurons that are not dead", Shown(f"{list(both[0])}, also in dead_neurons"))
        if self.seed is not None:
            put("seed", check_seed("seed", self.seed))
        put("drawn_with", {str(k): real_number(f"drawn_with.{k}", v) for k, v in dict(self.drawn_with).items()})

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def ideal(cls) -> "ChipProfile":
        """The ideal chip: every factor 1, no defect (runs as ``VirtualBoard()`` without a profile)."""
        return cls(
            np.ones(BOARD_SHAPE + (len(NEURON_FACTOR_NAMES),)),
            np.ones(BOARD_SHAPE + (len(SYNAPSE_LABELS),)),
            np.ones(BOARD_SHAPE[:2] + (len(BIAS_NAMES),)),
        )

    @classmethod
    def draw(
        cls,
        seed: int,
        mismatch: float = 0.3,
        sigma_rule: float = 3.0,
        gain_mismatch: float = 0.1,
        dead_fraction: float = 0.002,
        always_on_fraction: float = 0.001,
        cam_defect_fraction: float = 0.001,
    ) -> "ChipProfile":
        """A board drawn from ``seed``: the same seed and arguments give the same profile.

        Args:
            seed: the board's seed (an integer >= 0).
            mismatch: per-neuron deviation of currents, layout constants and weights,
                reached at ``sigma_rule`` standard deviations (a fraction: 0.3 for 30 %).
            sigma_rule: how many standard deviations ``mismatch`` and ``gain_mismatch`` are.
            gain_mismatch: deviation of each core's bias-generator gains.
            dead_fraction: fraction of the board's 4096 neurons that never fire.
            always_on_fraction: fraction that fire every step (drawn among the living).
            cam_defect_fraction: fraction of the 262,144 CAM entries that never match.

        Counts are ``round(fraction x total)``; every fraction is in [0, 1].

        Raises:
            ParameterValueError: a seed, deviation or fraction out of its range.
        """
        seed = check_seed("seed", seed)
        sigma = sigma_from_deviation(mismatch, sigma_rule)
        gain_sigma = sigma_from_deviation(gain_mismatch, sigma_rule)
        fractions = {k: real_number(k, v, low=0.0, high=1.0, what="a fraction")
                     for k, v in (("dead_fraction", dead_fraction), ("always_on_fraction", always_on_fraction),
                                  ("cam_defect_fraction", cam_defect_fraction))}
        rng = np.random.default_rng(seed)
        factor = lambda shape, s: np.maximum(1.0 + s * rng.standard_normal(shape), POSITIVE_FLOOR)  # noqa: E731
        neuron_factors = factor(BOARD_SHAPE + (len(NEURON_FACTOR_NAMES),), sigma)
        weight_factors = factor(BOARD_SHAPE + (len(SYNAPSE_LABELS),), sigma)
        bias_gains = factor(BOARD_SHAPE[:2] + (len(BIAS_NAMES),), gain_sigma)
        dead, on = _draw_bad_neurons(rng, fractions["dead_fraction"], fractions["always_on_fraction"])
        n_entries = _N_NEURONS * GEOMETRY.cam_entries
        cam = rng.choice(n_entries, int(round(fractions["cam_defect_fraction"] * n_entries)), replace=False)
        drawn_with = {"mismatch": mismatch, "sigma_rule": sigma_rule, "gain_mismatch": gain_mismatch, **fractions}
        return cls(neuron_factors, weight_factors, bias_gains, dead, on, _addresses(cam, _LIMITS), seed, drawn_with)

    # --- views --------------------------------------------------------------------------------

    def neuron_factor(self, name: str) -> np.ndarray:
        """``(4, 4, 256)``: the factor on one quantity of :data:`NEURON_FACTOR_NAMES`."""
        return self.neuron_factors[..., NEURON_FACTOR_NAMES.index(name)]

    def bias_gain(self, name: str) -> np.ndarray:
        """``(4, 4)``: each core's gain on one bias generator of :data:`BIAS_NAMES`."""
        return self.bias_gains[..., BIAS_NAMES.index(name)]

    def defects(self) -> Defects:
        """What placement must avoid on this chip
        (:func:`~rockpool_dynapse2.placement.config_from_specification`'s ``defects``):
        the dead and the always-on neurons as bad slots, the defective CAM entries as bad entries."""
        return Defects(
            bad_neurons=frozenset(self.dead_neurons) | frozenset(self.always_on_neurons),
            bad_cam_entries=frozenset(self.defective_cam_entries),
        )

    # --- JSON -------------------------------------------------------------------------------

    def to_dict(self) -> Dict[str, Any]:
        """The JSON document: per-neuron lists of 4096 factors by name (index
        :func:`neuron_index`), per-core lists of 16 gains by bias name, address lists."""
        flat = lambda a: a.reshape(-1).tolist()  # noqa: E731
        return {
            "format": FORMAT,
            "seed": self.seed,
            "drawn_with": dict(self.drawn_with),
            "neuron_factors": {k: flat(self.neuron_factors[..., i]) for i, k in enumerate(NEURON_FACTOR_NAMES)},
            "weight_factors": {k: flat(self.weight_factors[..., i]) for i, k in enumerate(SYNAPSE_LABELS)},
            "bias_gains": {k: flat(self.bias_gains[..., i]) for i, k in enumerate(BIAS_NAMES)},
            "dead_neurons": [list(a) for a in self.dead_neurons],
            "always_on_neurons": [list(a) for a in self.always_on_neurons],
            "defective_cam_entries": [list(a) for a in self.defective_cam_entries],
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text; :meth:`from_json` reads it back identically."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: Any) -> "ChipProfile":
        """A profile from :meth:`to_dict`'s document, checked; errors name the JSON path.

        Raises:
            ParameterValueError: a missing or unknown key, a value of the wrong JSON type or
                length, or what the constructor refuses (named by its path).
        """
        d = json_object("", format_tag(d, FORMAT, "chip profile"), _KEYS)
        return cls(
            neuron_factors=_table("neuron_factors", d["neuron_factors"], NEURON_FACTOR_NAMES, BOARD_SHAPE),
            weight_factors=_table("weight_factors", d["weight_factors"], SYNAPSE_LABELS, BOARD_SHAPE),
            bias_gains=_table("bias_gains", d["bias_gains"], BIAS_NAMES, BOARD_SHAPE[:2]),
            dead_neurons=json_list("dead_neurons", d["dead_neurons"]),
            always_on_neurons=json_list("always_on_neurons", d["always_on_neurons"]),
            defective_cam_entries=json_list("defective_cam_entries", d["defective_cam_entries"]),
            seed=d["seed"],
            drawn_with=json_object("drawn_with", d["drawn_with"]),
        )

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "ChipProfile":
        """A profile from :meth:`to_json`'s text (or its bytes, gzip-compressed or not).

        Raises:
            ParameterValueError: text that is not JSON, and see :meth:`from_dict`.
        """
        if not isinstance(text, (str, bytes)):
            raise ParameterValueError("chip profile JSON", "JSON text (a str, or its bytes)", Shown(f"a {type(text).__name__}"))
        d = loads(text, "chip profile JSON")
        return cls.from_dict(d)

    def save(self, path: Union[str, Path], compress: Optional[bool] = None) -> Path:
        """Write the JSON to ``path`` (gzip-compressed if the name ends in ``.gz``; a drawn
        board is about 3.0 MB of JSON, 1.3 MB compressed)."""
        return write_json_file(path, self.to_json(), compress)

    @classmethod
    def load(cls, path: Union[str, Path]) -> "ChipProfile":
        """Read a profile that :meth:`save` wrote (see :meth:`from_json`)."""
        return cls.from_json(read_json_file(path, "chip profile file"))


_KEYS = ("format", "seed", "drawn_with", "neuron_factors", "weight_factors", "bias_gains",
         "dead_neurons", "always_on_neurons", "defective_cam_entries")


def _draw_bad_neurons(rng: np.random.Generator, dead: float, on: float) -> Tuple[Tuple[_NEURON, ...], Tuple[_NEURON, ...]]:
    """Disjoint sets of dead and always-on neurons, ``round(fraction x 4096)`` of each."""
    n_dead = int(round(dead * _N_NEURONS))
    n_on = min(int(round(on * _N_NEURONS)), _N_NEURONS - n_dead)
    picked = rng.choice(_N_NEURONS, n_dead + n_on, replace=False)
    return _addresses(picked[:n_dead], BOARD_SHAPE), _addresses(picked[n_dead:], BOARD_SHAPE)


def _addresses(flat: np.ndarray, shape: Tuple[int, ...]) -> Tuple[Tuple[int, ...], ...]:
    return tuple(sorted(tuple(int(v) for v in a) for a in zip(*np.unravel_index(np.asarray(flat, dtype=np.int64), shape))))


# --- reading the JSON document ----------------------------------------------------------------


def _table(where: str, node: Any, names: Tuple[str, ...], shape: Tuple[int, ...]) -> np.ndarray:
    """``{name: flat list}`` -> an array ``shape + (len(names),)``; a bad value is named by
    its JSON path (``neuron_factors.Idc[17]``)."""
    d = json_object(where, node, names)
    n = int(np.prod(shape))
    columns = [json_numbers(f"{where}.{k}", d[k], n) for k in names]
    for k, column in zip(names, columns):
        bad = np.flatnonzero(column <= 0)  # finite: json_numbers refused NaN and infinities
        if bad.size:
            raise ParameterValueError(f"{where}.{k}[{int(bad[0])}]", "a factor > 0", float(column[bad[0]]))
    return np.stack(columns, axis=-1).reshape(shape + (len(names),))
