"""Bias currents <-> the bias generator's (coarse, fine) codes.

Each named chip parameter (``SOIF_LEAK_N``, ``DEAM_ETAU_P``, ``SYAM_W0_P``, ...) is set by
a branch of the chip's bias generator: a transistor type (N or P), a coarse code
0..5 (roughly x8 per step) and a fine code 0..255. The current of every code was
measured by the chip's makers; that table ships in this package
(``data/biasgen_se2.npz``, extracted from Rockpool 3.1 by
``tools/extract_biasgen_table.py``). A parameter's current is the table value of its
transistor type times the parameter's measured scale factor:

:math:`I(\\text{name}, c, f) = T_{type(\\text{name})}[c, f] \\cdot s(\\text{name})`.

The inverse picks the code whose current is nearest to the requested one. Every code of
a transistor type has a distinct current (checked when the table loads), so
code -> current -> code is the identity for all 2 x 6 x 256 codes, even where the fine
sweep of one coarse range is not monotone (7 places per coarse range in the measured
table) and where coarse ranges overlap.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any, Dict, Mapping, NamedTuple, Tuple, Union

import numpy as np

from ..chip import (
    BIAS_PARAMETER_BY_CURRENT,
    BIAS_PARAMETER_BY_NAME,
    BIAS_PARAMETERS,
    GEOMETRY,
    BiasParameter,
    Transistor,
)
from ..errors import BiasCodeError, CurrentRangeError, ParameterValueError, ShapeError, Shown, UnknownParameterError
from .validate import check_positive_finite, concrete, flag, mapping, real_array

__all__ = [
    "BiasCode",
    "BiasCodes",
    "BiasTable",
    "bias_table",
    "bias_parameter",
    "current_from_code",
    "code_from_current",
    "currents_from_codes",
    "codes_from_currents",
    "current_range",
    "RANGE_TOLERANCE",
    "code_relative_error",
]

RANGE_TOLERANCE = 0.1
"""Currents up to 10% beyond either end of a branch's range take the end code.

The lowest codes sit near the dark current ``Io`` (0.5 pA), which is also the value the
simulator uses for "off" (``Idc``, ``If_nmda``, ``Iw_ahp`` by default); for N-type
branches with a scale factor above 1 the lowest code is slightly above ``Io``. Anything
further out raises :class:`~rockpool_dynapse2.errors.CurrentRangeError`.
"""

_N_COARSE = GEOMETRY.coarse_values
_N_FINE = GEOMETRY.fine_values


def _check_code_field(field: str, value: Any, high: int, where: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise BiasCodeError(field, value, 0, high, where)
    if not 0 <= int(value) <= high:
        raise BiasCodeError(field, value, 0, high, where)
    return int(value)


@dataclass(frozen=True, order=True)
class BiasCode:
    """A bias generator setting: ``coarse`` in 0..5 and ``fine`` in 0..255.

    Raises:
        BiasCodeError: if either value is not an integer in its range.
    """

    coarse: int
    fine: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "coarse", _check_code_field("coarse", self.coarse, _N_COARSE - 1, ""))
        object.__setattr__(self, "fine", _check_code_field("fine", self.fine, _N_FINE - 1, ""))

    def __iter__(self):
        yield self.coarse
        yield self.fine


class BiasCodes(NamedTuple):
    """Codes for an array of currents: integer arrays ``coarse`` and ``fine`` of one shape."""

    coarse: np.ndarray
    fine: np.ndarray


@dataclass(frozen=True)
class BiasTable:
    """The measured bias generator table.

    Attributes:
        currents: for each transistor type, an array of shape (6, 256): the current (A)
            of every (coarse, fine) code, before the parameter's scale factor.
        provenance: where the table comes from.
    """

    currents: Mapping[Transistor, np.ndarray]
    provenance: str

    def __post_init__(self) -> None:
        mapping("currents", self.currents, "a mapping {Transistor: (6, 256) array}")
        missing = [t.value for t in Transistor if t not in self.currents]
        if missing or len(self.currents) != len(Transistor):
            raise ParameterValueError("currents", f"one table per transistor type ({', '.join(t.value for t in Transistor)})", list(self.currents))
        for transistor, table in self.currents.items():
            name = f"currents[{transistor.value}]"
            arr = real_array(name, table, shape=(_N_COARSE, _N_FINE), low=0.0, low_open=True, unit="amperes")
            if np.unique(arr).size != arr.size:
                raise ParameterValueError(name, "distinct currents (one per code)", f"{arr.size - np.unique(arr).size} repeated")

    @functools.cached_property
    def _sorted(self) -> Dict[Transistor, Tuple[np.ndarray, np.ndarray]]:
        """Per transistor type: the flattened currents in ascending order and their flat codes."""
        out = {}
        for transistor, table in self.currents.items():
            flat = table.ravel()
            order = np.argsort(flat, kind="stable")
            out[transistor] = (flat[order], order)
        return out


@functools.lru_cache(maxsize=None)
def bias_table() -> BiasTable:
    """The DYNAP-SE2 bias generator table shipped with the package (loaded once)."""
    with resources.files("rockpool_dynapse2").joinpath("data/biasgen_se2.npz").open("rb") as f:
        data = np.load(f)
        currents = {t: np.array(data[t.value], dtype=np.float64) for t in Transistor}
        provenance = str(data["provenance"])
    for table in currents.values():
        table.setflags(write=False)
    return BiasTable(MappingProxyType(currents), provenance)


def bias_parameter(name: Union[str, BiasParameter]) -> BiasParameter:
    """The :class:`~rockpool_dynapse2.chip.BiasParameter` for a chip name ("SOIF_LEAK_N") or a simulator current ("Itau_mem").

    Raises:
        UnknownParameterError: if the name is neither; the message lists the valid names.
    """
    if isinstance(name, BiasParameter):
        return name
    if not isinstance(name, str):
        valid = [p.name for p in BIAS_PARAMETERS] + [p.current for p in BIAS_PARAMETERS]
        raise UnknownParameterError("bias parameter", name, valid)
    if name in BIAS_PARAMETER_BY_NAME:
        return BIAS_PARAMETER_BY_NAME[name]
    if name in BIAS_PARAMETER_BY_CURRENT:
        return BIAS_PARAMETER_BY_CURRENT[name]
    valid = [p.name for p in BIAS_PARAMETERS] + [p.current for p in BIAS_PARAMETERS]
    raise UnknownParameterError("bias parameter", name, valid)


def current_range(name: Union[str, BiasParameter]) -> Tuple[float, float]:
    """The smallest and largest current (A) the parameter's branch can produce."""
    p = bias_parameter(name)
    table = bias_table().currents[p.transistor]
    return float(table.min() * p.scale_factor), float(table.max() * p.scale_factor)


def currents_from_codes(name: Union[str, BiasParameter], coarse: Any, fine: Any) -> np.ndarray:
    """Currents (A) of arrays of codes, vectorised.

    Args:
        name: chip parameter or simulator current name.
        coarse: integer array (any shape) of coarse codes in 0..5.
        fine: integer array, broadcastable with ``coarse``, of fine codes in 0..255.

    Returns:
        float64 array of the broadcast shape: the parameter's current for every code.

    Raises:
        BiasCodeError: if any code is out of range or not an integer.
    """
    p = bias_parameter(name)
    coarse = np.asarray(coarse)
    fine = np.asarray(fine)
    for field, arr, high in (("coarse", coarse, _N_COARSE - 1), ("fine", fine, _N_FINE - 1)):
        if arr.dtype.kind not in "iu":
            raise BiasCodeError(field, f"an array of dtype {arr.dtype}", 0, high, p.name)
        bad = (arr < 0) | (arr > high)
        if bad.any():
            raise BiasCodeError(field, arr[bad].ravel()[0].item(), 0, high, p.name)
    try:
        np.broadcast_shapes(coarse.shape, fine.shape)
    except ValueError:
        raise ShapeError("fine", f"broadcastable with coarse's {coarse.shape}", fine.shape) from None
    return bias_table().currents[p.transistor][coarse, fine] * p.scale_factor


def current_from_code(name: Union[str, BiasParameter], code: Union[BiasCode, Tuple[int, int]]) -> float:
    """Current (A) of one code of a chip parameter.

    Args:
        name: chip parameter ("SOIF_LEAK_N") or simulator current ("Itau_mem") name.
        code: a :class:`BiasCode` or a ``(coarse, fine)`` pair.

    Examples:
        >>> current_from_code("SOIF_LEAK_N", BiasCode(0, 10)) > 0
        True
    """
    p = bias_parameter(name)
    if not isinstance(code, BiasCode):
        try:
            coarse, fine = code
        except (TypeError, ValueError):
            raise ParameterValueError(
                f"code of {p.name}", "a BiasCode or a (coarse, fine) pair", repr(code)
            ) from None
        _check_code_field("coarse", coarse, _N_COARSE - 1, p.name)
        _check_code_field("fine", fine, _N_FINE - 1, p.name)
        code = BiasCode(coarse, fine)
    return float(bias_table().currents[p.transistor][code.coarse, code.fine] * p.scale_factor)


def codes_from_currents(
    name: Union[str, BiasParameter], currents: Any, clip: bool = False
) -> BiasCodes:
    """Nearest codes to an array of currents, vectorised.

    The nearest code minimises the absolute (equivalently, for one target, the
    relative) difference between its current and the requested one.

    Args:
        name: chip parameter or simulator current name.
        currents: currents in amperes, any shape; positive and finite.
        clip: if True, currents outside the branch's range take the nearest end code
            instead of raising.

    Returns:
        :class:`BiasCodes` with integer arrays shaped like ``currents``.

    Raises:
        ParameterValueError: for NaN, inf or non-positive currents.
        CurrentRangeError: for currents more than :data:`RANGE_TOLERANCE` outside
            :func:`current_range` (unless ``clip``).
    """
    p = bias_parameter(name)
    clip = flag("clip", clip)
    check_positive_finite(p.current, currents, "amperes")
    arr = concrete(currents)
    if arr is None:
        raise ParameterValueError(p.current, "a concrete array (codes cannot be traced)", Shown("a traced value"))
    arr = np.asarray(arr, dtype=np.float64)
    low, high = current_range(p)
    outside = (arr < low / (1 + RANGE_TOLERANCE)) | (arr > high * (1 + RANGE_TOLERANCE))
    if outside.any() and not clip:
        raise CurrentRangeError(p.current + f" ({p.name})", arr, low, high, outside)

    values, flat_codes = bias_table()._sorted[p.transistor]
    values = values * p.scale_factor
    pos = np.clip(np.searchsorted(values, arr), 1, values.size - 1)
    below = values[pos - 1]
    above = values[pos]
    nearest = np.where(arr - below <= above - arr, pos - 1, pos)
    flat = flat_codes[nearest]
    return BiasCodes(
        coarse=(flat // _N_FINE).astype(np.int64), fine=(flat % _N_FINE).astype(np.int64)
    )


def code_from_current(name: Union[str, BiasParameter], current: float, clip: bool = False) -> BiasCode:
    """Nearest code to one current (A). See :func:`codes_from_currents`."""
    check_positive_finite(bias_parameter(name).current, current, "amperes")
    arr = concrete(current)
    if arr is not None and np.size(arr) != 1:
        raise ShapeError("current", "a scalar (use codes_from_currents for arrays)", np.shape(arr))
    codes = codes_from_currents(name, current if arr is None else np.asarray(arr, dtype=np.float64).reshape(()), clip)
    return BiasCode(int(codes.coarse), int(codes.fine))


def code_relative_error(name: Union[str, BiasParameter], currents: Any, clip: bool = False) -> np.ndarray:
    """Relative error ``(I_code - I) / I`` the nearest code costs, for an array of currents (A)."""
    codes = codes_from_currents(name, currents, clip)
    arr = concrete(currents)
    arr = np.asarray(arr, dtype=np.float64)
    return (currents_from_codes(name, codes.coarse, codes.fine) - arr) / arr
