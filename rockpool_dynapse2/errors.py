"""Named errors of rockpool-dynapse2.

Every error says what was wrong, what was expected and where, in one grammar:
`` "`name` must be <rule>; got <value>" ``. Catch them by type, never by message text.

Every error class of the package is defined here, by the layer that raises it:

* parameters and arrays: :class:`ParameterValueError`, :class:`CurrentRangeError`,
  :class:`BiasCodeError`, :class:`UnknownParameterError`, :class:`ShapeError`;
* mapping: :class:`MappingError`, :class:`CalibrationError`;
* the chip's limits, wherever they are met (the mapper, the calibration, placement):
  :class:`Dynapse2DRCError`, a Rockpool ``DRCError`` listing every broken design rule as a
  :class:`Violation` (limit, need, where); :class:`CoreCapacityError`, its subclass for a
  network with more neurons or cores than the board has. Both classes are made on first
  use, so that importing this module does not import Rockpool;
* NIR graphs (:mod:`rockpool_dynapse2.nir`): :class:`NIRError` and its kinds
  :class:`UnsupportedNodeError`, :class:`NIRGraphError`, :class:`TimeStepError`;
* boards: :class:`BoardError`, :class:`BoardTimeoutError`, :class:`BoardDisconnectedError`,
  :class:`BoardFailureError`, :class:`BoardNotFoundError`, :class:`BitfileError`,
  :class:`SamnaNotAvailableError`; input events that would reach no neuron:
  :class:`LostInputsError`;
* digital twins (:mod:`rockpool_dynapse2.twin`): :class:`StrategyNotAvailableError`, a
  tuning strategy whose code is not in this version; :class:`RayNotAvailableError`, a
  study on Ray without Ray installed;
* the command line: :class:`CliError`.

:class:`Shown` (not an error) marks a description of what was given, shown as written;
:func:`json_shown` is how a JSON reader shows a value it refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = [
    "Shown",
    "json_shown",
    "Dynapse2Error",
    "ParameterValueError",
    "CurrentRangeError",
    "BiasCodeError",
    "UnknownParameterError",
    "ShapeError",
    "SamnaNotAvailableError",
    "MappingError",
    "CalibrationError",
    "CoreCapacityError",
    "NIRError",
    "UnsupportedNodeError",
    "NIRGraphError",
    "TimeStepError",
    "Dynapse2DRCError",
    "Violation",
    "BoardError",
    "BoardTimeoutError",
    "BoardDisconnectedError",
    "BoardFailureError",
    "BoardNotFoundError",
    "LostInputsError",
    "BitfileError",
    "ProbeError",
    "TwinFitError",
    "StrategyNotAvailableError",
    "RayNotAvailableError",
    "CliError",
]


class Dynapse2Error(Exception):
    """Base class of every error this package raises on purpose."""


class Shown(str):
    """A description of what was given, shown verbatim after ``got`` (``"an array of dtype
    object"``, ``"a traced value"``) where a plain string would be quoted as a value."""


def json_shown(value: Any) -> Any:
    """``value`` as an error of a JSON reader shows it: a scalar as it is, anything else
    (an object, a list) by its type's name."""
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return value
    return type(value).__name__


def _describe(value: Any, bad: Optional[np.ndarray] = None) -> str:
    """A short description of a (possibly array) value, pointing at the first bad entry."""
    if isinstance(value, Shown):
        return str(value)
    arr = np.asarray(value) if not isinstance(value, (list, tuple)) else np.asarray(value, dtype=object)
    if arr.ndim == 0:
        return f"{arr.item()!r}"
    if bad is not None and bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = index[0] if len(index) == 1 else index
        return f"{arr[index].item()!r} at index {where} (of an array of shape {arr.shape})"
    return f"an array of shape {arr.shape}"


class _BrokenRule:
    """An error in the package's grammar, "`name` must be <rule>; got <value>", keeping the
    three parts as attributes."""

    def __init__(self, name: str, rule: str, value: Any, bad: Optional[np.ndarray] = None):
        self.name = name
        self.rule = rule
        self.value = value
        super().__init__(f"`{name}` must be {rule}; got {_describe(value, bad)}")


class ParameterValueError(_BrokenRule, Dynapse2Error, ValueError):
    """A parameter has a value outside its allowed domain (NaN, inf, non-positive, ...)."""


class CurrentRangeError(ParameterValueError):
    """A current cannot be produced by the bias generator branch of a chip parameter."""

    def __init__(
        self,
        name: str,
        value: Any,
        low: float,
        high: float,
        bad: Optional[np.ndarray] = None,
    ):
        self.low = low
        self.high = high
        super().__init__(
            name,
            f"a current the bias generator can produce, in [{low:.4g}, {high:.4g}] A",
            value,
            bad,
        )


class BiasCodeError(Dynapse2Error, ValueError):
    """A coarse or fine code is out of the bias generator's range."""

    def __init__(self, field: str, value: Any, low: int, high: int, where: str = ""):
        self.field = field
        self.value = value
        self.low = low
        self.high = high
        self.where = where
        loc = f" ({where})" if where else ""
        super().__init__(
            f"`{field}`{loc} must be an integer in {low}..{high}; got {value!r}"
        )


class UnknownParameterError(Dynapse2Error, KeyError):
    """A parameter name is not one the chip (or the simulator) knows."""

    def __init__(self, kind: str, name: Any, valid: Iterable[str]):
        self.kind = kind
        self.name = name
        self.valid = tuple(valid)
        self.message = (
            f"`{kind}` must be one of {', '.join(self.valid)}; got {name!r}"
        )
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return self.message


class ShapeError(Dynapse2Error, ValueError):
    """An array has the wrong shape."""

    def __init__(self, name: str, expected: str, shape: Any):
        self.name = name
        self.expected = expected
        self.shape = tuple(shape)
        super().__init__(f"`{name}` must have shape {expected}; got {self.shape}")


class SamnaNotAvailableError(Dynapse2Error, ImportError):
    """Deployment needs the real samna, which is not installed (or only its stub is)."""


class StrategyNotAvailableError(Dynapse2Error, NotImplementedError):
    """A strategy that is named and planned, but whose code is not part of this version
    (the message names what it waits for)."""


class RayNotAvailableError(Dynapse2Error, ImportError):
    """A study on Ray was asked for and Ray is not installed (the message gives the install command)."""


class MappingError(Dynapse2Error, ValueError):
    """A graph cannot be mapped onto DYNAP-SE2 neurons (unsupported module or wiring)."""


class CalibrationError(MappingError):
    """The calibration cannot run: no reference to compare with, or a spec it cannot change."""


class NIRError(MappingError):
    """A NIR graph cannot be read into, or written from, a DYNAP-SE2 network."""


class UnsupportedNodeError(NIRError):
    """A NIR node of a type (or in a place) the chip has no counterpart for; the message
    names the node, its type and what to do instead."""

    def __init__(self, node: str, node_type: str, instead: str, rule: str = "of a type the chip supports"):
        self.node = node
        self.node_type = node_type
        self.instead = instead
        super().__init__(f"NIR node `{node}` must be {rule}; got {node_type}. {instead}")


class NIRGraphError(NIRError):
    """A NIR graph whose structure is broken: an edge to a node that does not exist, a node
    without the edges it needs, sizes that do not match along an edge, a loop without a neuron."""


class TimeStepError(NIRError):
    """The time step of a NIR graph is undetermined, inconsistent between its nodes, or
    longer than one of its time constants."""


class BoardError(Dynapse2Error, RuntimeError):
    """A board failed or was used wrongly (e.g. closed).

    Raised by ``DynapseSamna.evolve`` while it runs a raster, the error keeps what the
    runs that finished gave (nothing is thrown away); elsewhere these stay at their
    defaults:

    Attributes:
        partial: the output raster ``(B, T, n_outputs)`` of the call, filled for every
            finished step and zero after (``None``: not raised by ``evolve``).
        samples_done: samples (batch entries) finished; ``partial[:samples_done]`` is complete.
        steps_done: steps of sample ``samples_done`` finished; ``partial[samples_done, :steps_done]``
            is complete too.
        record: the record so far, as ``evolve(..., record=True)`` returns it, plus
            ``"unfinished"``: the failed run's ``t0``, its ``input_events`` and the
            ``output_events`` that came back before it failed.
    """

    partial: Optional[np.ndarray] = None
    samples_done: int = 0
    steps_done: int = 0
    record: Optional[Dict[str, Any]] = None


class BoardTimeoutError(BoardError, TimeoutError):
    """A run did not finish (its end marker did not come back), or a board call did not
    return, in time."""


class BoardDisconnectedError(BoardError, ConnectionError):
    """The board went away during use; it has been closed."""


class BoardFailureError(BoardError):
    """A board raised an error that is not a :class:`BoardError` (an ``OSError``, a
    ``RuntimeError``, a ``ValueError``, ...); it has been closed. The board's own error is
    the ``__cause__``."""


class ProbeError(_BrokenRule, BoardError):
    """A board answered a probe with recordings that cannot be a chip's: no output event at
    all, or spikes of neurons the probe did not place (the message says which run and chip)."""


class TwinFitError(_BrokenRule, Dynapse2Error, ValueError):
    """Recordings a twin cannot be fitted from (a run missing, a neuron recorded twice,
    counts of the wrong shape), named by their place in the recordings."""


class LostInputsError(Dynapse2Error, ValueError):
    """Input events would reach no neuron: their routes send them to a tag no CAM entry
    of the target chip and cores listens to (the chip drops such events without a trace).

    Attributes:
        lost: input events that would be lost.
        sent: input events in all.
        where: one description per input route that loses events, with its count.
    """

    def __init__(self, lost: int, sent: int, where: Sequence[str], hint: str = ""):
        self.lost = int(lost)
        self.sent = int(sent)
        self.where = tuple(where)
        shown = "; ".join(self.where[:8]) + (f"; ... and {len(self.where) - 8} more routes" if len(self.where) > 8 else "")
        super().__init__(
            f"`input routes` must reach a neuron (a CAM entry listening to their tag on the target chip and cores); "
            f"got {self.lost} of {self.sent} input events lost: {shown}" + (f" ({hint})" if hint else "")
        )


class BoardNotFoundError(BoardError):
    """samna sees no DYNAP-SE2 board (or none that is not already open)."""


class BitfileError(BoardError):
    """The FPGA bitfile is not given, does not exist, or the FPGA refused it."""


class CliError(Exception):
    """An error the user of the command line can act on; printed as ``error: <message>``."""


@dataclass(frozen=True)
class Violation:
    """One broken design rule: what :class:`Dynapse2DRCError` lists.

    Attributes:
        rule: the rule's name, e.g. ``"cam_entries"``, ``"neurons"``, ``"cores"``.
        limit: what the chip (or board) allows: a number is a maximum; a text is a range.
        actual: what the network needs.
        where: location, e.g. ``"neuron 17 (chip 0, core 2, neuron 17)"``.
    """

    rule: str
    limit: Any
    actual: Any
    where: str

    def __str__(self) -> str:
        allows = f"at most {self.limit}" if isinstance(self.limit, (int, np.integer)) else str(self.limit)
        return f"{self.where}: {self.rule} needs {self.actual}; the chip allows {allows}"


_DRC_DOC = """The network breaks one or more design rules of the chip.

    ``violations`` lists them all, each a :class:`Violation` with the rule, the limit, what
    the network needs and where; ``rules`` their names. Also a Rockpool ``DRCError`` (and
    so a ``ValueError``), so ``except rockpool.typehints.DRCError`` catches it.
    """

_CORE_CAPACITY_DOC = """The network has more neurons (or needs more cores) than the board's cores hold.

    A :class:`Dynapse2DRCError` (and so a Rockpool ``DRCError`` and a ``ValueError``) whose
    violations name the limit, the need and where; raised by the mapper and the calibration,
    before placement. ``except CoreCapacityError`` and ``except Dynapse2DRCError`` both catch it.
    """


if TYPE_CHECKING:  # what type checkers and the API reference see; the class is made on first use

    from rockpool.typehints import DRCError

    class Dynapse2DRCError(Dynapse2Error, DRCError):
        """The network breaks one or more design rules of the chip.

        ``violations`` lists them all, each a :class:`~rockpool_dynapse2.placement.drc.Violation`
        with the rule, the limit, what the network needs and where; ``rules`` their names.
        Also a Rockpool ``DRCError``, so ``except rockpool.typehints.DRCError`` catches it.
        """

        violations: Tuple[Violation, ...]

        def __init__(self, violations: Union[Violation, Sequence[Violation]]) -> None: ...

        @property
        def rules(self) -> List[str]:
            """The names of the broken rules, one per violation."""

    class CoreCapacityError(Dynapse2DRCError):
        """The network has more neurons (or needs more cores) than the board's cores hold.

        A :class:`Dynapse2DRCError` (and so a Rockpool ``DRCError`` and a ``ValueError``)
        whose violations name the limit, the need and where; raised by the mapper and the
        calibration, before placement. ``except CoreCapacityError`` and
        ``except Dynapse2DRCError`` both catch it.
        """


def _make_drc_error() -> type:
    """:class:`Dynapse2DRCError`, a subclass of Rockpool's ``DRCError``: made on first use,
    because importing Rockpool imports jax and torch (seconds)."""
    from rockpool.typehints import DRCError

    def __init__(self: Any, violations: Union[Violation, Sequence[Violation]]) -> None:
        self.violations = (violations,) if isinstance(violations, Violation) else tuple(violations)
        shown = "\n".join(f"  - {v}" for v in self.violations[:20])
        more = f"\n  ... and {len(self.violations) - 20} more" if len(self.violations) > 20 else ""
        DRCError.__init__(
            self, f"the network must fit the chip; {len(self.violations)} design rule(s) broken:\n{shown}{more}"
        )

    def rules(self: Any) -> List[str]:
        """The names of the broken rules, one per violation."""
        return [v.rule for v in self.violations]

    def __reduce__(self: Any) -> Tuple[Any, ...]:  # pickles (e.g. across processes) with its violations
        return type(self), (self.violations,)

    namespace = {
        "__init__": __init__,
        "__reduce__": __reduce__,
        "rules": property(rules),
        "__doc__": _DRC_DOC,
        "__module__": __name__,
    }
    cls = type("Dynapse2DRCError", (Dynapse2Error, DRCError), namespace)
    cls.__qualname__ = "Dynapse2DRCError"
    return cls


def _make_core_capacity_error() -> type:
    """:class:`CoreCapacityError`, a subclass of :class:`Dynapse2DRCError`, made on first use."""
    namespace = {"__doc__": _CORE_CAPACITY_DOC, "__module__": __name__}
    cls = type("CoreCapacityError", (__getattr__("Dynapse2DRCError"),), namespace)
    cls.__qualname__ = "CoreCapacityError"
    return cls


_LAZY_CLASSES = {"Dynapse2DRCError": _make_drc_error, "CoreCapacityError": _make_core_capacity_error}


def __getattr__(name: str) -> Any:
    make = _LAZY_CLASSES.get(name)
    if make is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    cls = globals().get(name)
    if cls is None:
        cls = globals()[name] = make()
    return cls
