"""A chip configuration together with what deployment needs beyond samna's tree.

samna's ``Dynapse2Configuration`` holds the chip state (CAMs, SRAMs, biases, latches), but
not which external input channel is which tag, nor which neuron is which output
channel of the trained network. A :class:`MappedConfiguration` keeps them together:

* ``configuration``: the :class:`~.tree.Configuration` (samna's JSON via its ``to_json``);
* ``inputs``: for input channel ``i``, the :class:`InputRoute` s on which to inject its
  events (chip, target core mask, tag);
* ``outputs``: for output channel ``j``, the tag its monitoring events carry;
* ``neurons``: the (chip, core, neuron) of every neuron of the spec, in spec order;
* ``dt`` and ``Iscale``: the time step and weight unit of the simulation it came from;
* ``classes`` (when known): for class ``k``, the output channels whose mean spike count
  is its score (:meth:`MappedConfiguration.predict` reads a sample's class from them);
* ``readout_start``: the trained network's readout window: a class is read from the
  output spikes at or after step ``readout_start * T`` of a ``T``-step sample
  (:meth:`MappedConfiguration.readout_counts`; 0, the whole sample, is not written).

Its own JSON (``to_json``/``from_json``) embeds samna's JSON of the configuration;
``save``/``load`` write and read files, gzip-compressed when the name ends in ``.gz``
(read by gzip's magic bytes, whatever the name).
Construction and loading check every map against the board (the path of the bad entry in
the error): a configuration with at least one chip; ``dt`` and ``Iscale`` positive and
finite; every input route on a chip of the board, with 4 booleans for its cores and a tag
that is not the control tag; distinct output tags, each the tag of a monitoring entry of
one of ``neurons``; distinct neuron addresses on the board; each class a non-empty list
of output channels, none in two classes. ``from_json`` reads JSON types exactly (``"3"``
is not an integer, ``1`` is not a boolean) and refuses unknown keys; a file written before
the class map existed (no ``"classes"`` key) loads with ``classes=None``, one without a
``"readout_start"`` key with ``readout_start=0.0``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from .._json import format_tag, json_int, json_list, json_number, json_object, loads, read_json_file, write_json_file
from ..chip import CONTROL_TAG, GEOMETRY, MONITOR_HOP
from ..errors import BiasCodeError, ParameterValueError, ShapeError, json_shown
from ..config.json_io import from_document
from ..config.tree import Configuration

__all__ = ["InputRoute", "NeuronAddress", "MappedConfiguration", "consecutive_classes", "trained_readout"]

FORMAT = "rockpool-dynapse2/mapped-configuration/1"

_KEYS = ("format", "dt", "Iscale", "inputs", "outputs", "neurons", "configuration")
"""The keys every JSON document has, in the order :meth:`MappedConfiguration.to_json` writes them."""

_OPTIONAL_KEYS = ("classes", "readout_start")
"""The keys a document may have (written before ``"configuration"`` when set)."""


@dataclass(frozen=True)
class InputRoute:
    """Where one input channel's events are injected: a chip, its target cores and a tag."""

    chip: int
    core_mask: Tuple[bool, bool, bool, bool]
    tag: int


@dataclass(frozen=True)
class NeuronAddress:
    """A neuron's place on the board."""

    chip: int
    core: int
    neuron: int


@dataclass(frozen=True)
class MappedConfiguration:
    """A configuration with its input and output channel maps (see the module docs).

    Raises:
        ParameterValueError: for a map that points at something the board does not have,
            with the path of the entry (``inputs[2][0].tag``, ``outputs[1]``, ``neurons[5].chip``).
    """

    configuration: Configuration
    inputs: Tuple[Tuple[InputRoute, ...], ...]
    outputs: Tuple[int, ...]
    neurons: Tuple[NeuronAddress, ...]
    dt: float = 1e-3
    Iscale: float = 1e-8
    classes: Optional[Tuple[Tuple[int, ...], ...]] = None
    """For class ``k``, the output channels whose mean spike count is its score; ``None``:
    unknown (see :func:`consecutive_classes` for ``M`` channels per class in order)."""
    readout_start: float = 0.0
    """The readout window: classes are read from the output spikes at or after step
    ``readout_start * T`` of a sample (a fraction in ``[0, 1)``; 0: the whole sample), as
    the network was trained (``TrainSettings.readout_start``)."""

    def __post_init__(self) -> None:
        """Every map must point at something the board has: checked here, on construction
        and on load, with the path of the bad entry in the error."""
        set_ = object.__setattr__
        for name in ("dt", "Iscale"):
            set_(self, name, _positive(name, getattr(self, name)))
        if not isinstance(self.configuration, Configuration):
            raise ParameterValueError("configuration", "a Configuration", type(self.configuration).__name__)
        n_chips = len(self.configuration.chips)  # >= 1: a Configuration has a chip
        set_(self, "inputs", tuple(_routes(f"inputs[{i}]", r, n_chips) for i, r in enumerate(_sequence("inputs", self.inputs))))
        set_(self, "neurons", _addresses(self.neurons, n_chips))
        set_(self, "outputs", _output_tags(self.outputs, _monitoring_tags(self.configuration, self.neurons)))
        if self.classes is not None:
            set_(self, "classes", _class_map(self.classes, len(self.outputs)))
        set_(self, "readout_start", _readout_start(self.readout_start))

    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    @property
    def n_outputs(self) -> int:
        return len(self.outputs)

    @property
    def n_classes(self) -> int:
        """Classes of the class map (0 without one)."""
        return 0 if self.classes is None else len(self.classes)

    def class_scores(self, counts: Any) -> np.ndarray:
        """``(B, n_classes)``: the mean spike count of each class's output channels, from
        output spike counts ``(B, n_outputs)`` (summed over a sample's steps).

        Raises:
            ParameterValueError: the configuration has no class map.
            ShapeError: ``counts`` is not ``(B, n_outputs)``.
        """
        if self.classes is None:
            raise ParameterValueError("classes", "set to score classes (e.g. consecutive_classes(n_outputs, M))", None)
        counts = np.asarray(counts, dtype=np.float64)
        if counts.ndim != 2 or counts.shape[1] != self.n_outputs:
            raise ShapeError("counts", f"(B, {self.n_outputs}): spike counts per sample and output channel", counts.shape)
        return np.stack([counts[:, list(channels)].mean(1) for channels in self.classes], axis=1)

    def readout_counts(self, raster: Any) -> np.ndarray:
        """``(B, n_outputs)``: each output channel's spikes in the readout window, from a
        board's output raster ``(B, T, n_outputs)``
        (:func:`~rockpool_dynapse2.training.readout_counts` with :attr:`readout_start`).

        Raises:
            ShapeError: ``raster`` is not ``(B, T, n_outputs)``.
            ParameterValueError: a sample too short to keep a step in the window.
        """
        from ..training.model import readout_counts

        raster = np.asarray(raster)
        if raster.ndim != 3 or raster.shape[2] != self.n_outputs:
            raise ShapeError("raster", f"(B, T, {self.n_outputs}): spikes per sample, step and output channel", raster.shape)
        return readout_counts(raster, self.readout_start)

    def predict(self, counts: Any, calibration: Any = None) -> np.ndarray:
        """``(B,)``: each sample's class, the one whose channels fire most on average; -1
        where the top score is tied (a silent network predicts nothing, not class 0).

        Args:
            counts: ``(B, n_outputs)`` output spike counts (summed over each sample's steps).
            calibration: the chip's :class:`~rockpool_dynapse2.training.ReadoutCalibration`
                (one per output channel): compare the calibrated counts ``(count - mean) /
                spread`` instead (as ``ChipModel.output_predict`` does; default: the raw counts).

        Raises:
            ParameterValueError, ShapeError: see :meth:`class_scores`; a ``calibration``
                that is not a ``ReadoutCalibration`` or has another number of output
                channels; counts a calibration refuses (negative, not finite).
        """
        if calibration is not None:
            counts = self._calibrated(counts, calibration)
        scores = self.class_scores(counts)
        tied = (scores == scores.max(1, keepdims=True)).sum(1) > 1
        return np.where(tied, -1, scores.argmax(1))

    def _calibrated(self, counts: Any, calibration: Any) -> np.ndarray:
        """``calibration.apply(counts)``, after checking that it calibrates these output channels."""
        from ..training import ReadoutCalibration

        return ReadoutCalibration.checked("calibration", calibration, self.n_outputs, "the configuration").apply(counts)

    def _maps(self) -> Dict[str, Any]:
        return {
            "format": FORMAT,
            "dt": self.dt,
            "Iscale": self.Iscale,
            "inputs": [[[r.chip, list(r.core_mask), r.tag] for r in routes] for routes in self.inputs],
            "outputs": list(self.outputs),
            "neurons": [[a.chip, a.core, a.neuron] for a in self.neurons],
            **({} if self.classes is None else {"classes": [list(c) for c in self.classes]}),
            **({} if self.readout_start == 0 else {"readout_start": self.readout_start}),
        }

    def to_json(self) -> str:
        """JSON text: the maps, and samna's JSON of the configuration under ``"configuration"``.

        ``to_json(from_json(text))`` is ``text`` for any text this method wrote.
        """
        maps = json.dumps(self._maps())
        return maps[:-1] + ', "configuration": ' + self.configuration.to_json() + "}"

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "MappedConfiguration":
        """Read :meth:`to_json`'s output.

        Raises:
            ParameterValueError: malformed JSON, a wrong format tag, a missing or unknown
                key, a value of the wrong JSON type or out of range (the message gives the
                path, e.g. ``inputs[0][1].tag`` or ``configuration.value0.chips[0]...``).
            ShapeError, BiasCodeError: a record of the configuration the tree rejects, with
                its path.
        """
        document = format_tag(loads(text, "configuration file"), FORMAT, "mapped configuration")
        d = json_object("", document, _KEYS, optional=_OPTIONAL_KEYS)
        maps = _read_maps(d)  # the small part first: a bad map fails before the configuration is read
        return cls(configuration=_configuration(d["configuration"]), **maps)

    def save(self, path: Union[str, Path], compress: Optional[bool] = None) -> Path:
        """Write :meth:`to_json` to ``path``, gzip-compressed if ``compress`` (default: if
        the name ends in ``.gz``, e.g. ``config.json.gz``: about 65 times smaller).

        Raises:
            ParameterValueError: the file cannot be written.
        """
        return write_json_file(path, self.to_json(), compress)

    @classmethod
    def load(cls, path: Union[str, Path]) -> "MappedConfiguration":
        """Read a file :meth:`save` wrote, gzip-compressed or not (told by its first bytes).

        Raises:
            ParameterValueError: no such file, and see :meth:`from_json`.
        """
        return cls.from_json(read_json_file(path, "configuration file"))


def trained_readout(mapped: "MappedConfiguration", model: Any) -> "MappedConfiguration":
    """``mapped`` with a trained network's readout: the class map of its output groups
    (:func:`consecutive_classes`) and its readout window (``model.settings.readout_start``).

    Args:
        mapped: the network's configuration (output channels in the model's output order).
        model: the :class:`~rockpool_dynapse2.training.ChipModel` it was trained as.
    """
    from dataclasses import replace

    return replace(mapped, classes=consecutive_classes(mapped.n_outputs, model.layout.per_class),
                   readout_start=model.settings.readout_start)


def consecutive_classes(n_outputs: int, per_class: int) -> Tuple[Tuple[int, ...], ...]:
    """The class map of ``per_class`` consecutive output channels per class, in order
    (class ``k``: channels ``k M .. k M + M - 1``), as ``rockpool-dynapse2 train`` lays them out.

    Raises:
        ParameterValueError: ``per_class`` is not a whole divisor of ``n_outputs``.
    """
    ok = not isinstance(per_class, bool) and isinstance(per_class, (int, np.integer)) and per_class >= 1
    if not ok or n_outputs % per_class or n_outputs == 0:
        raise ParameterValueError("per_class", f"an integer >= 1 that divides the {n_outputs} output channels", json_shown(per_class))
    return tuple(tuple(range(k * per_class, (k + 1) * per_class)) for k in range(n_outputs // per_class))


# --- checks of the maps -------------------------------------------------------------------------


def _readout_start(value: Any) -> float:
    """``value`` (a real number in ``[0, 1)``) as a float."""
    real = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if not real or not 0 <= value < 1:
        raise ParameterValueError("readout_start", "a fraction of the sample in [0, 1)", json_shown(value))
    return float(value)


def _positive(name: str, value: Any) -> float:
    """``value`` (a Python or numpy real number) as a positive finite float."""
    real = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if not real or not math.isfinite(value) or value <= 0:
        raise ParameterValueError(name, "a positive finite number", json_shown(value))
    return float(value)


def _check_index(where: str, value: Any, n: int) -> int:
    """``value`` must be an integer (numpy's included, bools not) in ``0 .. n-1``; returned as an ``int``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not 0 <= value < n:
        raise ParameterValueError(where, f"an integer in 0..{n - 1}", json_shown(value))
    return int(value)


def _sequence(where: str, value: Any) -> tuple:
    """``value`` (a tuple or list) as a tuple."""
    if not isinstance(value, (tuple, list)):
        raise ParameterValueError(where, "a sequence", json_shown(value))
    return tuple(value)


def _routes(where: str, routes: Any, n_chips: int) -> Tuple[InputRoute, ...]:
    """One input channel's routes, each on a chip of the board with a core mask and a tag."""
    out = []
    for k, route in enumerate(_sequence(where, routes)):
        at = f"{where}[{k}]"
        if not isinstance(route, InputRoute):
            raise ParameterValueError(at, "an InputRoute", json_shown(route))
        chip = _check_index(f"{at}.chip", route.chip, n_chips)
        mask = route.core_mask
        if not isinstance(mask, (tuple, list)) or len(mask) != GEOMETRY.cores_per_chip or not all(isinstance(b, bool) for b in mask):
            raise ParameterValueError(f"{at}.core_mask", f"{GEOMETRY.cores_per_chip} booleans", json_shown(mask))
        out.append(InputRoute(chip, tuple(mask), _check_index(f"{at}.tag", route.tag, CONTROL_TAG)))
    return tuple(out)


def _addresses(neurons: Any, n_chips: int) -> Tuple[NeuronAddress, ...]:
    """The neurons' addresses, each on the board and each once."""
    out: List[NeuronAddress] = []
    first: Dict[NeuronAddress, int] = {}
    for j, a in enumerate(_sequence("neurons", neurons)):
        if not isinstance(a, NeuronAddress):
            raise ParameterValueError(f"neurons[{j}]", "a NeuronAddress", json_shown(a))
        address = NeuronAddress(
            _check_index(f"neurons[{j}].chip", a.chip, n_chips),
            _check_index(f"neurons[{j}].core", a.core, GEOMETRY.cores_per_chip),
            _check_index(f"neurons[{j}].neuron", a.neuron, GEOMETRY.neurons_per_core),
        )
        if address in first:
            rule = f"an address no other neuron has (neurons[{first[address]}] has it)"
            raise ParameterValueError(f"neurons[{j}]", rule, f"chip {address.chip}, core {address.core}, neuron {address.neuron}")
        first[address] = j
        out.append(address)
    return tuple(out)


def _monitoring_tags(configuration: Configuration, neurons: Tuple[NeuronAddress, ...]) -> Dict[int, int]:
    """``{tag: index into neurons}`` of the neurons' monitoring entries (hops -7, -7)."""
    tags: Dict[int, int] = {}
    for j, a in enumerate(neurons):
        for d in configuration.neuron(a.chip, a.core, a.neuron).destinations:
            if d.is_used and d.x_hop == MONITOR_HOP and d.y_hop == MONITOR_HOP:
                tags.setdefault(d.tag, j)
    return tags


def _class_map(classes: Any, n_outputs: int) -> Tuple[Tuple[int, ...], ...]:
    """The class map: at least one class, each a non-empty list of output channels, none in two classes."""
    classes = _sequence("classes", classes)
    if not classes or not n_outputs:
        rule = "at least one class (a list of output channels), or None" if n_outputs else "None: there is no output channel"
        raise ParameterValueError("classes", rule, f"a list of {len(classes)}")
    out: List[Tuple[int, ...]] = []
    owner: Dict[int, int] = {}
    for k, channels in enumerate(classes):
        channels = channels.tolist() if isinstance(channels, np.ndarray) and channels.ndim == 1 else channels
        channels = tuple(_check_index(f"classes[{k}][{i}]", c, n_outputs) for i, c in enumerate(_sequence(f"classes[{k}]", channels)))
        if not channels:
            raise ParameterValueError(f"classes[{k}]", "a non-empty list of output channels", "an empty list")
        for i, channel in enumerate(channels):
            if channel in owner:
                rule = f"an output channel of no other class (classes[{owner[channel]}] has it)"
                raise ParameterValueError(f"classes[{k}][{i}]", rule, channel)
            owner[channel] = k
        out.append(channels)
    return tuple(out)


def _output_tags(outputs: Any, monitored: Dict[int, int]) -> Tuple[int, ...]:
    """The output tags: distinct, not the control tag, each sent by a neuron's monitoring entry."""
    out: List[int] = []
    for j, tag in enumerate(_sequence("outputs", outputs)):
        tag = _check_index(f"outputs[{j}]", tag, CONTROL_TAG)
        if tag in out:
            raise ParameterValueError(f"outputs[{j}]", f"a tag no other output has (outputs[{out.index(tag)}] has it)", tag)
        if tag not in monitored:
            rule = f"the tag of a monitoring entry (hops {MONITOR_HOP}, {MONITOR_HOP}) of one of `neurons`"
            raise ParameterValueError(f"outputs[{j}]", rule, tag)
        out.append(tag)
    return tuple(out)


# --- reading the JSON document ------------------------------------------------------------------


def _configuration(document: Any) -> Configuration:
    """The embedded samna configuration, its errors' paths starting at ``configuration.``."""
    try:
        return from_document(document)
    except BiasCodeError as err:
        raise BiasCodeError(err.field, err.value, err.low, err.high, where=f"configuration.{err.where}") from None
    except ShapeError as err:
        raise ShapeError(f"configuration.{err.name}", err.expected, err.shape) from None
    except ParameterValueError as err:
        raise ParameterValueError(f"configuration.{err.name}", err.rule, err.value) from None


def _read_maps(d: Dict[str, Any]) -> Dict[str, Any]:
    """The channel maps, ``dt`` and ``Iscale`` of the document, each of its JSON type."""
    return dict(
        inputs=tuple(
            tuple(_read_route(f"inputs[{i}][{k}]", route) for k, route in enumerate(json_list(f"inputs[{i}]", routes)))
            for i, routes in enumerate(json_list("inputs", d["inputs"]))
        ),
        outputs=tuple(json_int(f"outputs[{j}]", t) for j, t in enumerate(json_list("outputs", d["outputs"]))),
        neurons=tuple(_read_address(f"neurons[{j}]", a) for j, a in enumerate(json_list("neurons", d["neurons"]))),
        dt=json_number("dt", d["dt"]),
        Iscale=json_number("Iscale", d["Iscale"]),
        classes=_read_classes(d["classes"]) if "classes" in d else None,
        readout_start=json_number("readout_start", d["readout_start"]) if "readout_start" in d else 0.0,
    )


def _read_classes(node: Any) -> Tuple[Tuple[int, ...], ...]:
    """``[[channel, ...], ...]``: a list per class (JSON null is refused: a file without a
    class map has no ``"classes"`` key)."""
    return tuple(
        tuple(json_int(f"classes[{k}][{i}]", c) for i, c in enumerate(json_list(f"classes[{k}]", channels)))
        for k, channels in enumerate(json_list("classes", node))
    )


def _read_route(where: str, node: Any) -> InputRoute:
    """``[chip, [4 booleans], tag]``."""
    items = json_list(where, node, 3, "items [chip, [4 booleans], tag]")
    mask = json_list(f"{where}.core_mask", items[1])
    for b, bit in enumerate(mask):
        if type(bit) is not bool:
            raise ParameterValueError(f"{where}.core_mask[{b}]", "a JSON boolean", json_shown(bit))
    return InputRoute(json_int(f"{where}.chip", items[0]), tuple(mask), json_int(f"{where}.tag", items[2]))


def _read_address(where: str, node: Any) -> NeuronAddress:
    """``[chip, core, neuron]``."""
    items = json_list(where, node, 3, "items [chip, core, neuron]")
    return NeuronAddress(*(json_int(f"{where}.{name}", v) for name, v in zip(("chip", "core", "neuron"), items)))
