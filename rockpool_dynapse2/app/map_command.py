"""``rockpool-dynapse2 map MODEL --out DIR``: a model from a file -> a chip configuration and a report.

:func:`run_map` reads a model (:func:`model_kind` tells which kind by the file's first
bytes, not its name), maps and quantizes it, places it on the board, and writes
``DIR/config.json.gz`` (a :class:`~rockpool_dynapse2.placement.MappedConfiguration`) and
``DIR/report.json`` (:class:`MapReport`). The kinds (:data:`MODEL_KINDS`):

* ``nir``: a NIR file (HDF5), read by :func:`rockpool_dynapse2.nir.spec_from_nir` with
  the reader's options (``dt``, ``time_scale``, ``reset``, ``discrete``, ``rtol``,
  ``if_tau``) and, given a calibration input, calibrated against NIR's semantics; then
  quantized (:func:`~rockpool_dynapse2.mapping.quantize_spec`);
* ``network``: a trained network, ``network.npz`` of
  :func:`~rockpool_dynapse2.training.save_parameters` (``rockpool-dynapse2 train`` writes
  it), as its chip-exact spec (:func:`~rockpool_dynapse2.mapping.spec_from_training`),
  with its class map (the output population's consecutive groups);
* ``network-spec``: a :class:`~rockpool_dynapse2.mapping.NetworkSpec` JSON
  (``NetworkSpec.to_json``, gzip-compressed or not), quantized unless it is;
* ``mapped-configuration``: a configuration this package wrote; kept as it is (for
  example to add a class map with ``classes``, or to compress it).

Given a board's defects (``MapOptions.defects``, ``--profile PROFILE.json``: a
:class:`~rockpool_dynapse2.hardware.ChipProfile`'s), placement puts neurons and synapses
around them and the report counts the defective slots and CAM entries it stepped over.

Nothing is lost silently: synapses quantized to zero are counted in the report, every
placed synapse is checked to have its CAM entry, a design-rule violation is written to
``report.json`` and raised (:class:`~rockpool_dynapse2.errors.Dynapse2DRCError`), and an
option that does not apply to the model's kind is refused.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._json import decompressed
from ..chip import GEOMETRY
from ..errors import CliError, Dynapse2DRCError
from .data import read_file_bytes, read_npy
from .train_pipeline import jsonable

__all__ = [
    "MODEL_KINDS", "NIR_OPTIONS", "MapOptions", "MapReport", "LoadedModel", "model_kind", "load_model", "run_map",
    "parse_classes", "resolve_classes", "load_spike_array",
]

MODEL_KINDS = ("nir", "network", "network-spec", "mapped-configuration")
"""The kinds of model file :func:`run_map` reads."""

NIR_OPTIONS = ("dt", "time_scale", "reset", "discrete", "rtol", "if_tau", "Iscale", "calibration_input", "per_neuron")
"""The :class:`MapOptions` fields that apply to NIR files only."""

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = b"PK\x03\x04"
_SNIFF = 4096
"""Bytes of a JSON document searched for its format tag (this package writes it first)."""

ClassMap = Union[int, Tuple[Tuple[int, ...], ...]]


@dataclass(frozen=True)
class MapOptions:
    """What ``rockpool-dynapse2 map`` is asked to do (see ``docs/cli.md``).

    Attributes:
        dt, time_scale, reset, discrete, rtol: the NIR reader's options
            (:func:`rockpool_dynapse2.nir.read_nir`); ``None``: the reader's default.
        if_tau: membrane time constant (s) of NIR IF neurons on the chip.
        Iscale: weight unit (A) of a NIR import.
        calibration_input: ``(B, T, n_inputs)`` spikes per step on which a NIR import is
            calibrated against NIR's semantics (strongly advised).
        per_neuron: calibrate one drive per neuron, not only per layer.
        chips: chips of the board (default: as many as the network needs).
        seed: seed of the weight quantization.
        classes: the class map to record: ``M`` consecutive output channels per class, or
            the channels of each class; default: the model's own (a trained network's).
        compress: write ``config.json.gz`` (else ``config.json``).
        defects: the board's unusable neuron slots and CAM entries
            (:class:`~rockpool_dynapse2.placement.Defects`, e.g. ``ChipProfile.defects()``),
            which placement avoids; ``None``: none.
    """

    dt: Optional[float] = None
    time_scale: Optional[float] = None
    reset: Optional[str] = None
    discrete: Optional[str] = None
    rtol: Optional[float] = None
    if_tau: Optional[float] = None
    Iscale: Optional[float] = None
    calibration_input: Optional[np.ndarray] = None
    per_neuron: bool = False
    chips: Optional[int] = None
    seed: int = 0
    classes: Optional[ClassMap] = None
    compress: bool = True
    defects: Any = None

    def __post_init__(self) -> None:
        from ..errors import ParameterValueError

        if self.defects is not None:
            from ..placement.defects import Defects
            from ..parameters.validate import instance

            instance("defects", self.defects, Defects, "a placement.Defects or None")

        for name, value, low in (("chips", self.chips, 1), ("seed", self.seed, 0)):
            if value is None and name == "chips":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ParameterValueError(f"--{name}", f"an integer >= {low}", value)

    def nir_options_given(self) -> List[str]:
        """The NIR-only options that are set."""
        return [name for name in NIR_OPTIONS if getattr(self, name) is not None and getattr(self, name) is not False]

    @property
    def max_cores(self) -> int:
        return GEOMETRY.cores_per_chip * (self.chips or GEOMETRY.n_chips)


@dataclass(frozen=True)
class LoadedModel:
    """A model read from its file, before placement.

    Attributes:
        kind: one of :data:`MODEL_KINDS`.
        spec: the network spec (``None`` for a mapped configuration).
        mapped: the mapped configuration (``mapped-configuration`` only).
        classes: the class map the model knows (a trained network's), else ``None``.
        readout_start: the readout window the model knows (a trained network's, a mapped
            configuration's; 0: the whole sample).
        quantization: what quantization changed, if the model says (a trained network).
        notes: what the reader approximated or could not do.
        calibration: the calibration report as text (a calibrated NIR import).
    """

    kind: str
    spec: Any = None
    mapped: Any = None
    classes: Optional[Tuple[Tuple[int, ...], ...]] = None
    readout_start: float = 0.0
    quantization: Optional[Dict[str, Any]] = None
    notes: Tuple[str, ...] = ()
    calibration: Optional[str] = None


@dataclass
class MapReport:
    """What ``map`` did: written as ``report.json`` and printed as :meth:`text`.

    Attributes:
        model, kind: the model file and its kind.
        config: the configuration written (``None`` if a design rule failed).
        inputs, outputs, neurons: the network's channels and neurons.
        layers: ``{layer name: neurons}``.
        cores: one entry per used core: chip, core, neurons, CAM entries, most per neuron.
        quantization: ``error`` (relative Frobenius error of the weights, ``None`` when
            nothing was quantized here), ``dropped`` (synapses quantized to 0 and
            removed) and ``dropped_synapses`` (each: table, source, target, float weight),
            ``per_core`` errors, ``how`` (what was compared).
        synapses: the spec's synapses and the configuration's used CAM entries (equal).
        design_rules: the violated rules (rule, limit, need, where); empty when it fits.
        classes: the class map recorded, or ``None``.
        notes: approximations, warnings.
        calibration: a NIR import's calibration report.
        defects: with a board's defects: the defective neuron slots and CAM entries of the
            board and those placement stepped over (``*_avoided``); ``None`` without.
    """

    model: str
    kind: str
    config: Optional[str] = None
    inputs: int = 0
    outputs: int = 0
    neurons: int = 0
    layers: Dict[str, int] = field(default_factory=dict)
    cores: List[Dict[str, int]] = field(default_factory=list)
    quantization: Dict[str, Any] = field(default_factory=dict)
    synapses: Dict[str, int] = field(default_factory=dict)
    design_rules: List[Dict[str, Any]] = field(default_factory=list)
    classes: Optional[List[List[int]]] = None
    notes: List[str] = field(default_factory=list)
    calibration: Optional[str] = None
    defects: Optional[Dict[str, int]] = None

    def to_dict(self) -> Dict[str, Any]:
        return jsonable(asdict(self))

    def text(self) -> str:
        """The report as a few lines of text."""
        lines = [f"{self.model}: {self.kind}; {self.inputs} input and {self.outputs} output channels, {self.neurons} neurons"]
        if self.layers:
            lines.append("layers: " + ", ".join(f"{name} {n}" for name, n in self.layers.items()))
        lines += [_core_line(c) for c in self.cores]
        lines.append(_quantization_line(self.quantization))
        if self.synapses:
            lines.append(f"synapses: {self.synapses['spec']} in the network, {self.synapses['placed']} CAM entries placed")
        if self.design_rules:
            lines.append(f"design rules: {len(self.design_rules)} broken")
            lines += [f"  - {v['where']}: {v['rule']} needs {v['actual']}; the chip allows {v['limit']}" for v in self.design_rules]
        else:
            lines.append("design rules: all hold")
        if self.defects is not None:
            lines.append(_defects_line(self.defects))
        lines.append("classes: " + ("none recorded" if self.classes is None else _classes_text(self.classes)))
        lines += [f"note: {n}" for n in self.notes]
        if self.calibration:
            lines += ["calibration against NIR's semantics:", self.calibration]
        return "\n".join(lines)


# --- reading the model --------------------------------------------------------------------------


def model_kind(path: Union[str, Path]) -> str:
    """The kind of model in a file (one of :data:`MODEL_KINDS`), told by its first bytes.

    Raises:
        CliError: no such file, or a file of no kind :func:`run_map` reads (the message
            lists them); a bare samna configuration (it has no channel maps).
    """
    from ..mapping.network_spec import FORMAT as SPEC_FORMAT
    from ..placement.mapped import FORMAT as MAPPED_FORMAT

    path = Path(path)
    data = read_file_bytes(path, "MODEL")
    if data.startswith(_HDF5_MAGIC):
        return "nir"
    if data.startswith(_ZIP_MAGIC):
        return "network"
    head = bytes(decompressed(data, "MODEL"))[:_SNIFF].decode("utf-8", errors="replace")
    if f'"{SPEC_FORMAT}"' in head:
        return "network-spec"
    if f'"{MAPPED_FORMAT}"' in head:
        return "mapped-configuration"
    if head.lstrip().startswith("{") and '"value0"' in head:
        raise CliError(
            f"`MODEL` must be a network or a configuration with channel maps; got {str(path)!r}, a bare samna "
            "configuration (no input or output channel maps): map the network it came from instead"
        )
    raise CliError(
        f"`MODEL` must be a NIR file (HDF5), a trained network (network.npz of training.save_parameters), a "
        f"network spec (NetworkSpec.to_json) or a mapped configuration (.json or .json.gz); got {str(path)!r}, "
        "which is none of these"
    )


def _load_nir(path: Path, options: MapOptions) -> LoadedModel:
    from ..nir import spec_from_nir

    read = {k: getattr(options, k) for k in ("dt", "time_scale", "reset", "discrete", "rtol") if getattr(options, k) is not None}
    extra = {k: getattr(options, k) for k in ("if_tau", "Iscale") if getattr(options, k) is not None}
    calibration = {"per_neuron": True} if options.per_neuron else None
    try:
        imported = spec_from_nir(str(path), calibration_input=options.calibration_input, calibration=calibration,
                                 max_cores=options.max_cores, **extra, **read)
    except ImportError as err:
        raise CliError(str(err)) from None
    except (OSError, KeyError, TypeError) as err:  # nir.read of an HDF5 file that is not a NIR graph
        raise CliError(f"`MODEL` must be a NIR graph nir can read; got {str(path)!r} ({type(err).__name__}: {err})") from None
    notes = list(imported.notes)
    if imported.report is None:
        notes.append("not calibrated: the analytic conversion alone fires a few % of NIR's spikes; "
                     "give --calibration-input X.npy (input like the network will see)")
    return LoadedModel("nir", spec=imported.spec, notes=tuple(notes),
                       calibration=None if imported.report is None else str(imported.report))


def _load_network(path: Path, options: MapOptions) -> LoadedModel:
    from ..mapping import spec_from_training
    from ..placement.mapped import consecutive_classes
    from ..training import load_parameters

    result = load_parameters(path)
    spec = spec_from_training(result)
    classes = consecutive_classes(spec.n_outputs, result.model.layout.per_class)
    return LoadedModel("network", spec=spec, classes=classes, readout_start=result.model.settings.readout_start,
                       quantization=_trained_quantization(result))


def _trained_quantization(result: Any) -> Dict[str, Any]:
    """How far the trained weights on the chip's levels are from the float weights training kept."""
    exact, free = result.chip_arrays(quantize=True), result.chip_arrays(quantize=False)
    q = np.concatenate([np.ravel(exact["w_in"]), np.ravel(exact["w_rec"])]).astype(np.float64)
    f = np.concatenate([np.ravel(free["w_in"]), np.ravel(free["w_rec"])]).astype(np.float64)
    norm = float(np.linalg.norm(f))
    dropped = [
        _dropped(table, int(source), int(target), float(free[key][source, target]))
        for table, key in (("input", "w_in"), ("recurrent", "w_rec"))
        for source, target in zip(*np.nonzero((np.asarray(free[key]) != 0) & (np.asarray(exact[key]) == 0)))
    ]
    return {
        "error": float(np.linalg.norm(q - f) / norm) if norm > 0 else 0.0,
        "dropped": len(dropped),
        "dropped_synapses": dropped,
        "per_core": None,
        "how": "trained on the chip's 16 levels per core: the level weights against the float weights training kept",
    }


def _dropped(table: str, source: int, target: int, weight: float) -> Dict[str, Any]:
    """One synapse quantized to 0: its table (``input``, ``recurrent``), source, target, float weight."""
    return {"table": table, "source": source, "target": target, "weight": weight}


def _load_spec(path: Path, options: MapOptions) -> LoadedModel:
    from ..mapping import NetworkSpec

    return LoadedModel("network-spec", spec=NetworkSpec.from_json(path.read_bytes()))


def _load_mapped(path: Path, options: MapOptions) -> LoadedModel:
    from ..placement import MappedConfiguration

    mapped = MappedConfiguration.from_json(path.read_bytes())
    return LoadedModel("mapped-configuration", mapped=mapped, classes=mapped.classes, readout_start=mapped.readout_start,
                       quantization={"error": None, "dropped": 0, "per_core": None,
                                     "how": "a configuration: its weights are the chip's already"})


_LOADERS: Dict[str, Callable[[Path, MapOptions], LoadedModel]] = {
    "nir": _load_nir,
    "network": _load_network,
    "network-spec": _load_spec,
    "mapped-configuration": _load_mapped,
}
"""One reader per model kind (:data:`MODEL_KINDS`)."""


def load_model(path: Union[str, Path], options: MapOptions = MapOptions()) -> LoadedModel:
    """Read a model file of any kind of :data:`MODEL_KINDS`.

    Raises:
        CliError: see :func:`model_kind`; a NIR-only option for another kind.
        Dynapse2Error: what the kind's reader raises (a malformed file, with its path).
    """
    path = Path(path)
    kind = model_kind(path)
    given = options.nir_options_given()
    if kind != "nir" and given:
        shown = ", ".join("--" + name.replace("_", "-").lower() for name in given)
        raise CliError(f"`{shown}` must be given only for a NIR file; got a {kind} ({str(path)!r})")
    return _LOADERS[kind](path, options)


# --- mapping, placement, the report -------------------------------------------------------------


def _quantized(spec: Any, seed: int) -> Tuple[Any, Dict[str, Any]]:
    """The chip-exact spec and what its quantization changed."""
    from ..mapping import quantize_spec

    if spec.quantized:
        return spec, {"error": None, "dropped": 0, "per_core": None, "how": "the spec was quantized already (masks and bases)"}
    q, report = quantize_spec(spec, seed=seed)
    return q, {"error": float(report.error), "dropped": int(report.dropped),
               "dropped_synapses": [_dropped(*entry) for entry in report.dropped_synapses],
               "per_core": [float(e) for e in report.core_error],
               "how": "the spec's float weights against the 4 base weights and 4-bit masks of each core"}


def resolve_classes(classes: Optional[ClassMap], n_outputs: int) -> Optional[Tuple[Tuple[int, ...], ...]]:
    """A class map from ``M`` (consecutive channels per class) or the channels of each class.

    Raises:
        ParameterValueError: ``M`` does not divide ``n_outputs``.
    """
    from ..placement.mapped import consecutive_classes

    if classes is None or not isinstance(classes, (int, np.integer)):
        return classes
    return consecutive_classes(n_outputs, int(classes))


def _cores(config: Any) -> List[Dict[str, int]]:
    return [
        {"chip": c.chip, "core": c.core, "neurons": c.neurons_used, "cam_entries": c.cam_entries_used,
         "max_cam_entries": c.max_cam_entries_used}
        for chip in config.summary().chips for c in chip.cores if c.neurons_used > 0
    ]


def _layers(spec: Any) -> Dict[str, int]:
    if spec is None or spec.layer_of_neuron is None or not spec.names:
        return {}
    counts = np.bincount(spec.layer_of_neuron, minlength=len(spec.names))
    return {name: int(n) for name, n in zip(spec.names, counts)}


def _violations(err: Any) -> List[Dict[str, Any]]:
    return [{"rule": v.rule, "limit": v.limit, "actual": v.actual, "where": v.where} for v in err.violations]


def _defects_report(mapped: Any, defects: Any) -> Optional[Dict[str, int]]:
    """The board's defects and those the placement of ``mapped`` stepped over; ``None`` without defects."""
    if defects is None:
        return None
    from ..placement.defects import avoided

    a = avoided(mapped.configuration, defects)
    return {"neuron_slots": len(defects.bad_neurons), "cam_entries": len(defects.bad_cam_entries),
            "neuron_slots_avoided": a.neuron_slots, "cam_entries_avoided": a.cam_entries}


def _place(spec: Any, chips: Optional[int], defects: Any = None) -> Any:
    """The mapped configuration of a quantized spec, every synapse checked to have its CAM entry.

    Raises:
        Dynapse2DRCError: the network breaks design rules.
        MappingError: a synapse without its CAM entry (a bug: placement lost it).
    """
    from ..errors import MappingError
    from ..placement import config_from_specification

    mapped = config_from_specification(spec, n_chips=chips, defects=defects)
    placed = sum(c.cam_entries_used for chip in mapped.configuration.summary().chips for c in chip.cores)
    expected = len(spec.input_synapses) + len(spec.recurrent_synapses)
    if placed != expected:
        raise MappingError(f"`configuration` must hold a CAM entry per synapse ({expected}); got {placed}")
    return mapped


def run_map(model: Union[str, Path], out_dir: Union[str, Path], options: MapOptions = MapOptions(),
            log: Callable[[str], None] = print) -> MapReport:
    """Map a model file onto the chip; write the configuration and ``report.json``.

    Args:
        model: the model file (a kind of :data:`MODEL_KINDS`).
        out_dir: where ``config.json.gz`` (or ``config.json``) and ``report.json`` go (created).
        options: the :class:`MapOptions`.
        log: receives a line per stage.

    Returns:
        The :class:`MapReport` (also in ``report.json``).

    Raises:
        CliError: a bad model path or format (see :func:`model_kind`), an option that
            does not apply.
        Dynapse2DRCError: the network breaks design rules (also listed in ``report.json``).
        Dynapse2Error: a malformed model, a bad class map (each with its path).
    """
    out = Path(out_dir)
    report = MapReport(model=str(model), kind=model_kind(model))
    out.mkdir(parents=True, exist_ok=True)
    try:  # the mapper (a NIR file) and placement check design rules
        loaded = load_model(model, options)
        log(f"read {model} ({loaded.kind})")
        mapped, report.quantization, spec = _mapped(loaded, options, report)
    except Dynapse2DRCError as err:
        report.design_rules = _violations(err)
        _write_report(out, report)
        raise
    mapped = replace(mapped, classes=resolve_classes(options.classes, mapped.n_outputs) or loaded.classes,
                     readout_start=loaded.readout_start)
    _fill(report, loaded, spec, mapped)
    path = out / ("config.json.gz" if options.compress else "config.json")
    report.config = str(mapped.save(path))
    _write_report(out, report)
    return report


def _mapped(loaded: LoadedModel, options: MapOptions, report: MapReport) -> Tuple[Any, Dict[str, Any], Any]:
    """``(mapped configuration, quantization, quantized spec or None)`` of a loaded model."""
    if loaded.mapped is not None:
        if options.defects is not None:
            raise CliError("`--profile` must be given only for a model that is placed; got a mapped configuration "
                           "(kept as it is: map its network spec or model instead)")
        return loaded.mapped, dict(loaded.quantization or {}), None
    report.layers = _layers(loaded.spec)
    spec, quantization = _quantized(loaded.spec, options.seed)
    if loaded.quantization is not None:
        quantization = dict(loaded.quantization)
    mapped = _place(spec, options.chips, options.defects)
    report.defects = _defects_report(mapped, options.defects)
    return mapped, quantization, spec


def _fill(report: MapReport, loaded: LoadedModel, spec: Any, mapped: Any) -> None:
    report.inputs, report.outputs, report.neurons = mapped.n_inputs, mapped.n_outputs, len(mapped.neurons)
    report.cores = _cores(mapped.configuration)
    report.classes = None if mapped.classes is None else [list(c) for c in mapped.classes]
    report.notes = list(loaded.notes)
    report.calibration = loaded.calibration
    if spec is not None:
        placed = sum(c["cam_entries"] for c in report.cores)
        report.synapses = {"spec": len(spec.input_synapses) + len(spec.recurrent_synapses), "placed": placed}
    dropped = report.quantization.get("dropped", 0)
    if dropped:
        listed = report.quantization.get("dropped_synapses", [])[:5]
        shown = ", ".join(f"{d['table']} {d['source']} -> {d['target']} ({d['weight']:.3g})" for d in listed)
        more = " ..." if dropped > len(listed) else ""
        report.notes.append(f"{dropped} synapse(s) quantized to weight 0 (the nearest level of their core) and removed: "
                            f"{shown}{more} (report.json lists them all)")


def _write_report(out: Path, report: MapReport) -> None:
    try:
        (out / "report.json").write_text(json.dumps(report.to_dict(), indent=2))
    except OSError as err:
        raise CliError(f"cannot write {str(out / 'report.json')!r}: {err.strerror or err}") from None


# --- text -------------------------------------------------------------------------------------


def _core_line(c: Dict[str, int]) -> str:
    return (f"chip {c['chip']}, core {c['core']}: {c['neurons']} neurons, {c['cam_entries']} CAM entries "
            f"(at most {c['max_cam_entries']} of {GEOMETRY.cam_entries} per neuron)")


def _quantization_line(q: Dict[str, Any]) -> str:
    if not q:
        return "quantization: not reached"
    error = "no error measured" if q.get("error") is None else f"weight error {q['error']:.2%}"
    return f"quantization: {error}, {q.get('dropped', 0)} synapse(s) dropped ({q.get('how', '')})"


def _defects_line(d: Dict[str, int]) -> str:
    return (f"defects: placement stepped over {d['neuron_slots_avoided']} of the board's {d['neuron_slots']} defective "
            f"neuron slots and {d['cam_entries_avoided']} of its {d['cam_entries']} defective CAM entries")


def _classes_text(classes: Sequence[Sequence[int]]) -> str:
    shown = "; ".join(f"{k}: {', '.join(map(str, c))}" for k, c in enumerate(classes[:16]))
    return f"{len(classes)} (class: output channels) {shown}" + (" ..." if len(classes) > 16 else "")


# --- command-line values ----------------------------------------------------------------------


def parse_classes(tokens: Sequence[str]) -> ClassMap:
    """``--classes``: one integer ``M`` (``M`` consecutive output channels per class), or
    one comma-separated list of output channels per class (``0,1 2,3``).

    Raises:
        CliError: anything else.
    """
    tokens = list(tokens)
    rule = "M (output channels per class, consecutive) or the channels of each class, e.g. `0,1 2,3`"
    try:
        if len(tokens) == 1 and "," not in tokens[0]:
            return int(tokens[0])
        return tuple(tuple(int(c) for c in t.split(",")) for t in tokens)
    except ValueError:
        raise CliError(f"`--classes` must be {rule}; got {' '.join(tokens)!r}") from None


def load_spike_array(path: Union[str, Path], what: str) -> np.ndarray:
    """A ``.npy`` file of spike counts, ``(T, C)`` or ``(B, T, C)``, as ``(B, T, C)`` float32.

    Raises:
        CliError: no such file, not one numpy array, not 2 or 3 dimensions, not numbers.
    """
    x = read_npy(path, what)
    if x.ndim not in (2, 3) or not np.issubdtype(x.dtype, np.number):
        got = f"shape {x.shape}, dtype {x.dtype}"
        raise CliError(f"`{what}` must hold spike counts (T, C) or (B, T, C); got {got}")
    return x.reshape((-1,) + x.shape[-2:]).astype(np.float32)
