"""The shape of a trainable chip network: populations, their cores, who may reach whom.

A :class:`NetworkLayout` is what the chip holds, before any weight is known:

* **populations** of DYNAP-SE2 neurons (an input-receiving hidden population, more hidden
  ones, an output population), each on its own core(s): every core's neurons share one
  parameter set, so a population is the unit of shared parameters;
* **projections** ``source -> target`` (the input channels or a population, to a
  population), each with a connection probability;
* the **fan-in limit**: a neuron has ``GEOMETRY.cam_entries`` (64) CAM entries, one per
  synapse it receives. :func:`connectivity` draws each neuron's sources once, at the
  start, so that no neuron ever needs more; training then only changes the weights of
  the drawn synapses (a fixed structural mask, see ``docs/training.md``).

All neurons form one recurrent layer in simulation (``N`` = the sum of the populations'
sizes): a projection between populations is a block of the recurrent weights and takes
one time step, as on the chip, where every synapse between neurons is a CAM entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..chip import GEOMETRY
from ..errors import ParameterValueError, Shown, UnknownParameterError
from ..parameters.validate import flag, instance, integer, names as checked_names, real_number, seed as check_seed
from .constraints import HIGH_LEVEL_NAMES

__all__ = ["INPUT", "Population", "Projection", "NetworkLayout", "Connectivity", "connectivity"]

INPUT = "input"
"""The name of the input channels as the source of a :class:`Projection`."""


@dataclass(frozen=True)
class Population:
    """A group of neurons that share one core's parameters (or several cores', if larger).

    Attributes:
        name: unique name (not ``"input"``).
        size: number of neurons, >= 1.
        start: the values its cores start from, ``{core quantity: value}`` (names of
            :class:`~rockpool_dynapse2.parameters.CoreHighLevel`, SI units, > 0), in place
            of the settings' (``TrainSettings.fixed``, else the default operating point):
            a trained quantity starts there, an untrained one stays there. Held as sorted
            ``(name, value)`` pairs (a mapping is accepted); empty: the settings' values.
    """

    name: str
    size: int
    start: Tuple[Tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or self.name == INPUT:
            raise ParameterValueError("Population.name", f"a non-empty name other than {INPUT!r}", self.name)
        object.__setattr__(self, "size", integer(f"Population({self.name!r}).size", self.size, low=1))
        object.__setattr__(self, "start", _start_values(f"Population({self.name!r}).start", self.start))

    @property
    def start_values(self) -> Dict[str, float]:
        """``{core quantity: value}`` its cores start from (see ``start``)."""
        return dict(self.start)


@dataclass(frozen=True)
class Projection:
    """Synapses from ``source`` (``"input"`` or a population) onto ``target`` (a population).

    Attributes:
        source: ``"input"`` or a population's name.
        target: a population's name.
        probability: chance that a given source reaches a given target neuron, in (0, 1];
            the fan-in limit may lower it (see :func:`connectivity`).
    """

    source: str
    target: str
    probability: float = 1.0

    def __post_init__(self) -> None:
        for end in ("source", "target"):
            if not isinstance(getattr(self, end), str) or not getattr(self, end):
                raise ParameterValueError(f"Projection.{end}", "a population's name" + (f" or {INPUT!r}" if end == "source" else ""),
                                          getattr(self, end))
        where = f"Projection({self.source!r} -> {self.target!r}).probability"
        object.__setattr__(self, "probability", real_number(where, self.probability, low=0.0, high=1.0, low_open=True))


@dataclass(frozen=True)
class NetworkLayout:
    """Populations, projections and the readout of a network to train for the chip.

    Attributes:
        n_inputs: input channels.
        populations: the populations, in the order of their neurons in the simulation.
        projections: who reaches whom.
        output: the population read out; its neurons are ``n_classes`` groups of
            ``size // n_classes`` neurons, group ``k`` voting for class ``k``.
        n_classes: number of classes.
        fan_in: most synapses a neuron receives (the chip's CAM entries, 64).
        neurons_per_core: neurons of one core (256).
    """

    n_inputs: int
    populations: Tuple[Population, ...]
    projections: Tuple[Projection, ...]
    output: str
    n_classes: int
    fan_in: int = GEOMETRY.cam_entries
    neurons_per_core: int = GEOMETRY.neurons_per_core

    def __post_init__(self) -> None:
        object.__setattr__(self, "populations", _records("populations", self.populations, Population))
        object.__setattr__(self, "projections", _records("projections", self.projections, Projection))
        if not isinstance(self.output, str):
            raise ParameterValueError("output", "a population's name", self.output)
        _check_count("n_inputs", self.n_inputs)
        _check_count("n_classes", self.n_classes)
        _check_count("fan_in", self.fan_in, high=GEOMETRY.cam_entries)
        _check_count("neurons_per_core", self.neurons_per_core, high=GEOMETRY.neurons_per_core)
        if not self.populations:
            raise ParameterValueError("populations", "at least one Population", "none")
        names = [p.name for p in self.populations]
        if len(set(names)) != len(names):
            raise ParameterValueError("populations", "populations with distinct names", names)
        for proj in self.projections:
            if proj.source != INPUT and proj.source not in names:
                raise UnknownParameterError("projection source", proj.source, [INPUT] + names)
            if proj.target not in names:
                raise UnknownParameterError("projection target", proj.target, names)
        if self.output not in names:
            raise UnknownParameterError("output population", self.output, names)
        out = self.population(self.output)
        if out.size % self.n_classes:
            raise ParameterValueError(
                f"population {self.output!r}.size",
                f"a multiple of n_classes = {self.n_classes} (one group of neurons per class)",
                out.size,
            )
        if not any(p.source == INPUT for p in self.projections):
            raise ParameterValueError("projections", "at least one projection from 'input'", [
                (p.source, p.target) for p in self.projections])
        if self.n_cores > GEOMETRY.n_cores:
            raise ParameterValueError(
                "populations", f"at most {GEOMETRY.n_cores} cores in all (a 4-chip board)", f"{self.n_cores} cores")

    # --- construction ------------------------------------------------------------------

    @classmethod
    def layered(
        cls,
        n_inputs: int,
        hidden: Sequence[int],
        n_classes: int,
        per_class: int = 4,
        recurrent: bool = True,
        input_probability: float = 1.0,
        recurrent_probability: float = 0.25,
        forward_probability: float = 1.0,
        parallel: bool = False,
        starts: Optional[Sequence[Mapping[str, float]]] = None,
    ) -> "NetworkLayout":
        """Input -> hidden populations (each recurrent) -> an output population.

        Args:
            n_inputs: input channels.
            hidden: sizes of the hidden populations (empty: input -> output directly).
            n_classes: classes.
            per_class: output neurons per class.
            recurrent: connections within each hidden population (and, with ``parallel``,
                between them).
            input_probability: connection probability of the input projections.
            recurrent_probability: connection probability within a hidden population, and
                between two of them with ``parallel``.
            forward_probability: connection probability of the projections towards the
                output (and between consecutive hidden populations in a chain).
            parallel: the hidden populations side by side rather than in a chain: each
                receives the input, reaches the output and (with ``recurrent``) every other
                hidden population. Each sits on its own core(s), so each can have its own
                time constants (``starts``).
            starts: one mapping per hidden population, the values its cores start from
                (:attr:`Population.start`), e.g. ``({"tau_ampa": 0.01}, {"tau_ampa": 0.15})``.
        """
        n_inputs, n_classes = integer("n_inputs", n_inputs, low=1), integer("n_classes", n_classes, low=1)
        per_class, recurrent = integer("per_class", per_class, low=1), flag("recurrent", recurrent)
        parallel = flag("parallel", parallel)
        if not isinstance(hidden, (list, tuple)):
            raise ParameterValueError("hidden", "a list of population sizes", Shown(f"a {type(hidden).__name__}"))
        starts = _per_hidden_starts(starts, len(hidden))
        hid = [Population(f"hidden{i}", n, start) for i, (n, start) in enumerate(zip(hidden, starts))]
        out = Population("output", n_classes * per_class)
        probabilities = (input_probability, recurrent_probability if recurrent else None, forward_probability)
        projs = _parallel_projections(hid, out, *probabilities) if parallel and hid else _chain_projections(hid, out, *probabilities)
        return cls(n_inputs, tuple(hid) + (out,), tuple(projs), "output", n_classes)

    # --- derived -------------------------------------------------------------------------

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations)

    def population(self, name: str) -> Population:
        for p in self.populations:
            if p.name == name:
                return p
        raise UnknownParameterError("population", name, [p.name for p in self.populations])

    def slice_of(self, name: str) -> slice:
        """The neurons of a population in the simulation's order."""
        start = 0
        for p in self.populations:
            if p.name == name:
                return slice(start, start + p.size)
            start += p.size
        raise UnknownParameterError("population", name, [p.name for p in self.populations])

    def cores_of(self, name: str) -> int:
        """How many cores a population takes (it never shares a core with another)."""
        return -(-self.population(name).size // self.neurons_per_core)

    @property
    def n_cores(self) -> int:
        return sum(self.cores_of(p.name) for p in self.populations)

    @property
    def core_of_neuron(self) -> np.ndarray:
        """``(N,)`` the core of every neuron: populations in order, ``neurons_per_core`` a core."""
        cores: List[np.ndarray] = []
        first = 0
        for p in self.populations:
            cores.append(first + np.arange(p.size) // self.neurons_per_core)
            first += self.cores_of(p.name)
        return np.concatenate(cores).astype(np.int64)

    @property
    def output_neurons(self) -> np.ndarray:
        """Indices of the output population's neurons, class ``k``'s group at ``k * per_class``."""
        return np.arange(self.n_neurons)[self.slice_of(self.output)]

    @property
    def per_class(self) -> int:
        return self.population(self.output).size // self.n_classes


@dataclass(frozen=True)
class Connectivity:
    """Which synapses exist: 0/1 masks of the input and recurrent weights.

    Attributes:
        input: ``(C, N)`` 1 where input channel ``c`` reaches neuron ``j``.
        recurrent: ``(N, N)`` 1 where neuron ``i`` reaches neuron ``j``.
    """

    input: np.ndarray = field(repr=False)
    recurrent: np.ndarray = field(repr=False)

    @property
    def fan_in(self) -> np.ndarray:
        """``(N,)`` synapses each neuron receives."""
        return self.input.sum(0).astype(np.int64) + self.recurrent.sum(0).astype(np.int64)


def connectivity(layout: NetworkLayout, seed: int = 0) -> Connectivity:
    """Draw the synapses of a layout, respecting the fan-in limit.

    Each projection connects each (source, target) pair with its probability. A neuron
    whose draws exceed ``layout.fan_in`` keeps a random subset of them, taken evenly
    over its projections (each projection keeps its share of the limit, rounded, with at
    least one synapse), so the limit holds for every neuron, always.

    Args:
        layout: the network layout.
        seed: seed of the draws.

    Returns:
        The :class:`Connectivity`.
    """
    instance("layout", layout, NetworkLayout)
    rng = np.random.default_rng(check_seed("seed", seed))
    n, c = layout.n_neurons, layout.n_inputs
    w_in = np.zeros((c, n), np.float32)
    w_rec = np.zeros((n, n), np.float32)
    blocks: Dict[str, List[Tuple[np.ndarray, slice, np.ndarray]]] = {p.name: [] for p in layout.populations}
    for proj in layout.projections:
        tgt = layout.slice_of(proj.target)
        n_src = c if proj.source == INPUT else layout.population(proj.source).size
        drawn = rng.random((n_src, tgt.stop - tgt.start)) < proj.probability
        target = w_in if proj.source == INPUT else w_rec
        src = slice(0, c) if proj.source == INPUT else layout.slice_of(proj.source)
        blocks[proj.target].append((target, src, drawn))
    for pop in layout.populations:
        _limit_fan_in(blocks[pop.name], layout.fan_in, rng)
        tgt = layout.slice_of(pop.name)
        for target, src, drawn in blocks[pop.name]:
            target[src, tgt] = np.maximum(target[src, tgt], drawn)
    return Connectivity(w_in, w_rec)


def _limit_fan_in(blocks: List[Tuple[np.ndarray, slice, np.ndarray]], limit: int, rng: np.random.Generator) -> None:
    """Thin the drawn synapses of one population's neurons to ``limit`` each (in place)."""
    if not blocks:
        return
    n_targets = blocks[0][2].shape[1]
    share = max(1, limit // len(blocks))
    for j in range(n_targets):
        counts = [int(b[2][:, j].sum()) for b in blocks]
        if sum(counts) <= limit:
            continue
        budget = _shares(counts, share, limit)
        for (_, _, drawn), keep in zip(blocks, budget):
            on = np.flatnonzero(drawn[:, j])
            if len(on) > keep:
                drawn[rng.choice(on, len(on) - keep, replace=False), j] = False


def _shares(counts: List[int], share: int, limit: int) -> List[int]:
    """Synapses each projection keeps: at most its count and an even share, the left-over
    budget handed to the projections that have more."""
    keep = [min(cnt, share) for cnt in counts]
    left = limit - sum(keep)
    for k in np.argsort(counts)[::-1]:
        extra = min(counts[k] - keep[k], left)
        keep[k] += extra
        left -= extra
    return keep


def _chain_projections(hidden: List[Population], out: Population, p_in: float, p_rec: Optional[float],
                       p_fwd: float) -> List[Projection]:
    """input -> hidden0 -> hidden1 -> ... -> output, each hidden one recurrent (``p_rec`` not None)."""
    pops = hidden + [out]
    projs = [Projection(INPUT, pops[0].name, p_in)]
    for i, pop in enumerate(pops[:-1]):
        if p_rec is not None:
            projs.append(Projection(pop.name, pop.name, p_rec))
        projs.append(Projection(pop.name, pops[i + 1].name, p_fwd))
    return projs


def _parallel_projections(hidden: List[Population], out: Population, p_in: float, p_rec: Optional[float],
                          p_fwd: float) -> List[Projection]:
    """input -> every hidden population -> output; each hidden population reaches every
    hidden one, itself included (``p_rec`` not None)."""
    projs = [Projection(INPUT, pop.name, p_in) for pop in hidden]
    if p_rec is not None:
        projs += [Projection(a.name, b.name, p_rec) for a in hidden for b in hidden]
    return projs + [Projection(pop.name, out.name, p_fwd) for pop in hidden]


def _per_hidden_starts(starts: Any, n_hidden: int) -> List[Any]:
    """``starts`` as one entry per hidden population (``()``: the settings' values)."""
    if starts is None:
        return [()] * n_hidden
    if not isinstance(starts, (list, tuple)) or len(starts) != n_hidden:
        raise ParameterValueError("starts", f"one mapping of start values per hidden population ({n_hidden})",
                                  starts if isinstance(starts, (list, tuple)) else Shown(f"a {type(starts).__name__}"))
    return list(starts)


def _start_values(name: str, value: Any) -> Tuple[Tuple[str, float], ...]:
    """Start values (a mapping or ``(name, value)`` pairs) as sorted pairs, each a core
    quantity with a positive value float32 holds; named errors otherwise."""
    pairs = list(value.items()) if isinstance(value, Mapping) else value
    if not isinstance(pairs, (list, tuple)) or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in pairs):
        raise ParameterValueError(name, "a mapping {core quantity: value}", Shown(f"a {type(value).__name__}"))
    keys = [k for k, _ in pairs]
    checked_names(name, keys, HIGH_LEVEL_NAMES, f"core quantity ({name})")
    if len(set(keys)) != len(keys):
        raise ParameterValueError(name, "each core quantity once", keys)
    bounds = dict(low=float(np.finfo(np.float32).tiny), high=float(np.finfo(np.float32).max))
    return tuple(sorted((k, real_number(f"{name}[{k!r}]", v, **bounds)) for k, v in pairs))


def _check_count(name: str, value: int, high: Optional[int] = None) -> None:
    integer(name, value, low=1, high=high)


def _records(name: str, value: Any, cls: type) -> Tuple[Any, ...]:
    """``value`` as a tuple of ``cls`` records, else :class:`ParameterValueError`."""
    if not isinstance(value, (list, tuple)):
        raise ParameterValueError(name, f"a list of {cls.__name__}", Shown(f"a {type(value).__name__}"))
    for k, item in enumerate(value):
        instance(f"{name}[{k}]", item, cls)
    return tuple(value)
