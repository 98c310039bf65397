"""The DYNAP-SE2 chip configuration as a typed tree, mirroring samna's ``Dynapse2Configuration``.

::

    Configuration.chips[n]             (samna: Dynapse2Configuration)
      Chip.cores[4]                    (Dynapse2Chip; + global/shared/sADC parameter maps,
        Core.parameters {name: Param}   sADC enables, DVS interface, bio-amplifiers)
        Core.neurons[256]              (Dynapse2Core; + monitoring and sADC switches)
          Neuron.synapses[64]          (Dynapse2Neuron; + 14 latches, e.g. latch_so_dc)
          Neuron.destinations[4]
            Synapse / Destination / Parameter   (leaves, see :mod:`.records`;
                                                 Neuron is in :mod:`.neuron`)

Every node is a frozen dataclass, validated when built. Equal sub-trees may be shared:
:meth:`Configuration.empty` builds four chips in microseconds because all 4096 blank
neurons are one object. Change a tree with the ``with_*`` methods (or
:func:`dataclasses.replace`), which return a new tree and share everything unchanged.

JSON in samna's format: :meth:`Configuration.to_json` / :meth:`Configuration.from_json`
(:mod:`.json_io`). On a machine with SynSense's samna, :meth:`Configuration.to_samna`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterator, Mapping, NamedTuple, Optional, Tuple, Union

from ..chip import BIAS_PARAMETER_BY_NAME, BIAS_PARAMETERS, GEOMETRY
from ..errors import ParameterValueError, SamnaNotAvailableError, UnknownParameterError
from ..parameters.biasgen import BiasCode
from ._checks import UINT64_MAX, check_bool_fields, check_int, check_records, shown, verbatim
from .neuron import BLANK_NEURON, LATCHES, Neuron, check_index
from .records import (
    EMPTY_PARAMETER_MAP,
    Bioamps,
    ChipSadcEnables,
    CoreSadcEnables,
    Destination,
    DvsInterface,
    DvsMode,
    Parameter,
    ParameterMap,
    Synapse,
    Vec2,
    check_parameter_map,
)
from ._cereal import ObjectCodec
from .schema import parse_document, read_document, schema, write_document
from .summary import ConfigurationSummary, summarize

__all__ = [
    "Parameter",
    "Synapse",
    "Destination",
    "Vec2",
    "DvsMode",
    "CoreSadcEnables",
    "ChipSadcEnables",
    "DvsInterface",
    "Bioamps",
    "Neuron",
    "Core",
    "Chip",
    "Configuration",
    "EntryLocation",
    "default_core_parameters",
    "LATCHES",
]


def default_core_parameters() -> ParameterMap:
    """The parameter map of a blank core: every parameter of
    :data:`~rockpool_dynapse2.chip.BIAS_PARAMETERS` at code (0, 0), sorted by name.

    samna's default core holds more parameters (``SOIF_CC_N``, the delay and STP biases,
    ...) with addresses this package cannot know; see ``docs/configuration.md``.
    """
    return _DEFAULT_CORE_PARAMETERS


_DEFAULT_CORE_PARAMETERS: ParameterMap = MappingProxyType(
    {p.name: Parameter(p.transistor, 0, 0) for p in sorted(BIAS_PARAMETERS, key=lambda p: p.name)}
)


_BLANK_NEURONS: Tuple[Neuron, ...] = (BLANK_NEURON,) * GEOMETRY.neurons_per_core


@dataclass(frozen=True, repr=False)
class Core:
    """One core: 256 neurons and the bias parameters they share (samna's ``Dynapse2Core``).

    Attributes:
        neurons: exactly 256 :class:`Neuron`.
        parameters: ``{chip parameter name: Parameter}``; any names are allowed (samna
            has many more than the simulator models). Default:
            :func:`default_core_parameters`.
        neuron_monitoring_on: route the monitored neuron to the analog monitor.
        monitored_neuron: the monitored neuron, 0..255.
        sadc_enables: :class:`CoreSadcEnables`.
        enable_syaw_stdbuf_an, enable_pulse_extender_monitor1, enable_pulse_extender_monitor2:
            monitoring switches.
        core_id: samna's private ``_id``, a ``uint64`` (0 unless read from samna).
        cookie: samna's private ``_cookie``, a ``uint64``.

    Raises:
        ShapeError: if there are not 256 neurons.
        ParameterValueError: for a field of the wrong type or out of range.
    """

    neurons: Tuple[Neuron, ...] = _BLANK_NEURONS
    parameters: ParameterMap = field(default_factory=default_core_parameters)
    neuron_monitoring_on: bool = False
    monitored_neuron: int = 0
    sadc_enables: CoreSadcEnables = CoreSadcEnables()
    enable_syaw_stdbuf_an: bool = False
    enable_pulse_extender_monitor1: bool = False
    enable_pulse_extender_monitor2: bool = False
    core_id: int = 0
    cookie: int = 0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.neurons is not _BLANK_NEURONS:
            set_(self, "neurons", check_records("neurons", self.neurons, Neuron, GEOMETRY.neurons_per_core))
        if self.parameters is not _DEFAULT_CORE_PARAMETERS:
            set_(self, "parameters", check_parameter_map("parameters", self.parameters))
        set_(self, "monitored_neuron", check_index("monitored_neuron", self.monitored_neuron, GEOMETRY.neurons_per_core))
        if not isinstance(self.sadc_enables, CoreSadcEnables):
            raise ParameterValueError("sadc_enables", "a CoreSadcEnables", shown(self.sadc_enables))
        check_bool_fields(
            self,
            ("neuron_monitoring_on", "enable_syaw_stdbuf_an", "enable_pulse_extender_monitor1", "enable_pulse_extender_monitor2"),
        )
        set_(self, "core_id", check_int("core_id", self.core_id, 0, UINT64_MAX))
        set_(self, "cookie", check_int("cookie", self.cookie, 0, UINT64_MAX))

    def with_neuron(self, index: int, neuron: Neuron) -> "Core":
        """This core with neuron ``index`` (0..255) replaced."""
        return self.with_neurons({index: neuron})

    def with_neurons(self, neurons: Mapping[int, Neuron]) -> "Core":
        """This core with the neurons ``{index: Neuron}`` replaced."""
        new = list(self.neurons)
        for index, neuron in neurons.items():
            new[check_index("neuron index", index, GEOMETRY.neurons_per_core)] = neuron
        return dataclasses.replace(self, neurons=tuple(new))

    def with_parameters(self, parameters: Mapping[str, Union[Parameter, BiasCode, Tuple[int, int]]]) -> "Core":
        """This core with some parameters set; other parameters are kept.

        Args:
            parameters: ``{name: value}``; a :class:`Parameter` replaces the entry, a
                :class:`~rockpool_dynapse2.parameters.BiasCode` or ``(coarse, fine)`` sets the
                code of the entry, keeping its type and private fields (a name the core does
                not have yet takes its type from
                :data:`~rockpool_dynapse2.chip.BIAS_PARAMETERS`).

        Raises:
            UnknownParameterError: for a code given to a name that is neither in the core
                nor in ``BIAS_PARAMETERS`` (its transistor type is unknown).
            BiasCodeError: for a code out of range.
        """
        new = dict(self.parameters)
        for name, value in parameters.items():
            if not isinstance(value, Parameter):
                code = value if isinstance(value, BiasCode) else BiasCode(*value)
                if name in new:
                    value = new[name].with_code(code)
                elif name in BIAS_PARAMETER_BY_NAME:
                    value = Parameter(BIAS_PARAMETER_BY_NAME[name].transistor, code.coarse, code.fine)
                else:
                    raise UnknownParameterError("parameter", name, list(new) + sorted(BIAS_PARAMETER_BY_NAME))
            new[name] = value
        return dataclasses.replace(self, parameters=new)

    def codes(self) -> Mapping[str, BiasCode]:
        """``{name: BiasCode}`` of every parameter of the core."""
        return {name: p.code for name, p in self.parameters.items()}

    def __repr__(self) -> str:
        used = sum(n.is_used for n in self.neurons)
        return f"Core(neurons used={used}/256, parameters={len(self.parameters)}, core_id={self.core_id})"


_BLANK_CORES: Tuple[Core, ...] = tuple(Core() for _ in range(GEOMETRY.cores_per_chip))


@dataclass(frozen=True, repr=False)
class Chip:
    """One chip (samna's ``Dynapse2Chip``).

    Attributes:
        cores: exactly 4 :class:`Core`.
        global_parameters: ``{name: Parameter}`` of the chip (R2R monitor buffers).
        shared_parameters01, shared_parameters23: parameters shared by cores 0/1 and 2/3.
        sadc_group_parameters01, sadc_group_parameters23: one map per spiking-ADC group.
        sadc_enables: :class:`ChipSadcEnables`.
        dvs_if: :class:`DvsInterface`.
        bioamps: :class:`Bioamps`.
        enable_pg0_reference_monitor: parameter-generator switch.
        enable_pg1_reference_monitor: parameter-generator switch.
        param_gen0_powerdown: parameter-generator switch.
        param_gen1_powerdown: parameter-generator switch.

    samna's default chip-level maps are not public; a blank chip has them empty (see
    ``docs/configuration.md``).

    Raises:
        ShapeError: if there are not 4 cores.
        ParameterValueError: for a field of the wrong type.
    """

    cores: Tuple[Core, ...] = _BLANK_CORES
    global_parameters: ParameterMap = field(default_factory=lambda: EMPTY_PARAMETER_MAP)
    shared_parameters01: ParameterMap = field(default_factory=lambda: EMPTY_PARAMETER_MAP)
    shared_parameters23: ParameterMap = field(default_factory=lambda: EMPTY_PARAMETER_MAP)
    sadc_group_parameters01: Tuple[ParameterMap, ...] = ()
    sadc_group_parameters23: Tuple[ParameterMap, ...] = ()
    sadc_enables: ChipSadcEnables = ChipSadcEnables()
    dvs_if: DvsInterface = DvsInterface()
    bioamps: Bioamps = Bioamps()
    enable_pg0_reference_monitor: bool = False
    enable_pg1_reference_monitor: bool = False
    param_gen0_powerdown: bool = False
    param_gen1_powerdown: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.cores is not _BLANK_CORES:
            set_(self, "cores", check_records("cores", self.cores, Core, GEOMETRY.cores_per_chip))
        for name in ("global_parameters", "shared_parameters01", "shared_parameters23"):
            if getattr(self, name) is not EMPTY_PARAMETER_MAP:
                set_(self, name, check_parameter_map(name, getattr(self, name)))
        for name in ("sadc_group_parameters01", "sadc_group_parameters23"):
            maps = getattr(self, name)
            if not isinstance(maps, (tuple, list)):
                raise ParameterValueError(name, "a sequence of parameter maps", shown(maps))
            set_(self, name, tuple(check_parameter_map(f"{name}[{i}]", m) for i, m in enumerate(maps)))
        for name, cls in (("sadc_enables", ChipSadcEnables), ("dvs_if", DvsInterface), ("bioamps", Bioamps)):
            if not isinstance(getattr(self, name), cls):
                raise ParameterValueError(name, f"a {cls.__name__}", shown(getattr(self, name)))
        check_bool_fields(
            self,
            ("enable_pg0_reference_monitor", "enable_pg1_reference_monitor", "param_gen0_powerdown", "param_gen1_powerdown"),
        )

    def with_core(self, index: int, core: Core) -> "Chip":
        """This chip with core ``index`` (0..3) replaced."""
        index = check_index("core index", index, GEOMETRY.cores_per_chip)
        return dataclasses.replace(self, cores=self.cores[:index] + (core,) + self.cores[index + 1 :])

    def __repr__(self) -> str:
        return f"Chip(cores={list(self.cores)})"


_BLANK_CHIP = Chip()


class EntryLocation(NamedTuple):
    """Where a CAM or SRAM entry sits: chip, core (in the chip), neuron (in the core), entry."""

    chip: int
    core: int
    neuron: int
    entry: int


@dataclass(frozen=True, repr=False)
class Configuration:
    """The configuration of a board (samna's ``Dynapse2Configuration``): one :class:`Chip` per chip.

    Checked when built and when read from JSON: a configuration without a chip configures
    nothing and is refused.

    Attributes:
        chips: the chips, in samna's order: at least one (Rockpool's boards have up to 4).
            Default: one blank chip.

    Raises:
        ParameterValueError: if there is no chip or an entry is not a :class:`Chip`.
    """

    chips: Tuple[Chip, ...] = (_BLANK_CHIP,)

    def __post_init__(self) -> None:
        chips = check_records("chips", self.chips, Chip, None)
        if not chips:
            raise ParameterValueError("chips", "at least one Chip (a board has one or more chips)", verbatim("none"))
        object.__setattr__(self, "chips", chips)

    @classmethod
    def empty(cls, n_chips: int = 1, parameters: Optional[Mapping[str, Parameter]] = None) -> "Configuration":
        """A blank configuration: no CAM or SRAM entry used, all latches off.

        Args:
            n_chips: number of chips, 1..4.
            parameters: the parameter map of every core; default
                :func:`default_core_parameters` (the 23 simulator parameters at code (0, 0)).

        Raises:
            ParameterValueError: if ``n_chips`` is not in 1..4.
        """
        n_chips = check_int("n_chips", n_chips, 1, GEOMETRY.n_chips)
        chip = Chip()
        if parameters is not None:
            core = Core(parameters=parameters)
            chip = Chip(cores=(core,) * GEOMETRY.cores_per_chip)
        return cls((chip,) * n_chips)

    # --- access ---------------------------------------------------------------------------

    def chip(self, chip: int) -> Chip:
        """Chip ``chip``."""
        return self.chips[check_index("chip", chip, len(self.chips))]

    def core(self, chip: int, core: int) -> Core:
        """Core ``core`` (0..3) of chip ``chip``."""
        return self.chip(chip).cores[check_index("core", core, GEOMETRY.cores_per_chip)]

    def neuron(self, chip: int, core: int, neuron: int) -> Neuron:
        """Neuron ``neuron`` (0..255) of core ``core`` (0..3) of chip ``chip``."""
        return self.core(chip, core).neurons[check_index("neuron", neuron, GEOMETRY.neurons_per_core)]

    def placed_neurons(self) -> Iterator[Tuple[int, int, int, Neuron]]:
        """``(chip, core, neuron index, Neuron)`` of every neuron that is not the shared
        blank neuron (a blank neuron uses nothing), in (chip, core, neuron) order."""
        for i_chip, chip in enumerate(self.chips):
            for i_core, core in enumerate(chip.cores):
                for i_neuron, neuron in enumerate(core.neurons):
                    if neuron is not BLANK_NEURON:
                        yield i_chip, i_core, i_neuron, neuron


    def used_synapses(self) -> Iterator[Tuple[EntryLocation, Synapse]]:
        """Every used CAM entry (dendrite not ``NONE``), as ``(EntryLocation, Synapse)``."""
        for i_chip, i_core, i_neuron, neuron in self.placed_neurons():
            for i, synapse in enumerate(neuron.synapses):
                if synapse.is_used:
                    yield EntryLocation(i_chip, i_core, i_neuron, i), synapse

    def used_destinations(self) -> Iterator[Tuple[EntryLocation, Destination]]:
        """Every used SRAM entry (a non-empty core mask), as ``(EntryLocation, Destination)``."""
        for i_chip, i_core, i_neuron, neuron in self.placed_neurons():
            for i, destination in enumerate(neuron.destinations):
                if destination.is_used:
                    yield EntryLocation(i_chip, i_core, i_neuron, i), destination

    def summary(self) -> ConfigurationSummary:
        """Use of neurons, CAM entries and tags per core and chip
        (:class:`~rockpool_dynapse2.config.summary.ConfigurationSummary`; ``print`` it)."""
        return summarize(self)

    # --- change ---------------------------------------------------------------------------

    def with_chip(self, index: int, chip: Chip) -> "Configuration":
        """This configuration with chip ``index`` replaced."""
        index = check_index("chip", index, len(self.chips))
        return Configuration(self.chips[:index] + (chip,) + self.chips[index + 1 :])

    def with_core(self, chip: int, index: int, core: Core) -> "Configuration":
        """This configuration with core ``index`` of chip ``chip`` replaced."""
        return self.with_chip(chip, self.chip(chip).with_core(index, core))

    def with_neuron(self, chip: int, core: int, neuron: int, value: Neuron) -> "Configuration":
        """This configuration with one neuron replaced."""
        return self.with_core(chip, core, self.core(chip, core).with_neuron(neuron, value))

    def with_parameters(self, chip: int, core: int, parameters: Mapping[str, Any]) -> "Configuration":
        """This configuration with parameters of one core set (see :meth:`Core.with_parameters`)."""
        return self.with_core(chip, core, self.core(chip, core).with_parameters(parameters))

    # --- serialisation and deployment ------------------------------------------------------

    def to_json(self) -> str:
        """This configuration as JSON text in samna's (cereal) format; see :mod:`.json_io`."""
        return write_document(SCHEMA[Configuration], self)

    @classmethod
    def from_json(cls, text: str) -> "Configuration":
        """Read a configuration from JSON text in samna's format; see :mod:`.json_io`.

        Raises:
            ParameterValueError: for malformed JSON or a missing or wrong field (the message
                gives its path), or the field's own error with its path.
        """
        return read_document(SCHEMA[Configuration], parse_document(text))

    def to_samna(self) -> Any:
        """This configuration as a ``samna.dynapse2.Dynapse2Configuration``.

        Needs SynSense's samna; the conversion lives in
        ``rockpool_dynapse2._samna.adapter.configuration_to_samna`` and takes the
        JSON text of :meth:`to_json`. samna is imported only by that module, only here.

        Raises:
            SamnaNotAvailableError: if the samna adapter (or samna) is not available.
        """
        adapter = "rockpool_dynapse2._samna.adapter"
        try:
            from .._samna.adapter import configuration_to_samna
        except ModuleNotFoundError as error:
            if error.name not in (adapter, adapter.rpartition(".")[0]):
                raise
            raise SamnaNotAvailableError(
                "deployment needs SynSense's samna; this installation has no samna adapter "
                f"({adapter} is missing). Install the real samna from SynSense and a "
                "rockpool-dynapse2 with hardware support, or use Configuration.to_json() and "
                "load the text into samna's Dynapse2Configuration.from_json()."
            ) from error
        return configuration_to_samna(self.to_json())

    def __repr__(self) -> str:
        return f"Configuration(chips={len(self.chips)}, neurons used={sum(1 for n in self.placed_neurons() if n[3].is_used)})"


SCHEMA: Mapping[type, ObjectCodec] = MappingProxyType(schema(Configuration, Chip, Core))
"""samna's JSON schema: the cereal codec of every record class of the tree (:mod:`.schema`)."""
