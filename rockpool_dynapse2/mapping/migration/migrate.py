"""Migrate a network of Rockpool's ``DynapSim`` to this package, and fine-tune it.

:func:`migrate` reads the network (:mod:`.read`), makes it the training library's
:class:`~rockpool_dynapse2.training.ChipModel` with the trained quantities that stand
for it (:mod:`.convert`), and reports where the two simulators differ for it
(:mod:`.report`). Given inputs, it runs both simulations on them, and by default scales
each neuron's negative weights by the fraction of inhibition that acted in Rockpool
(:func:`~.convert.inhibition_scale`). :meth:`Migration.fine_tune` then trains the
migrated network with the training library to give Rockpool's classes on the inputs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

import numpy as np

from ...errors import ParameterValueError, ShapeError, UnknownParameterError
from ...parameters.validate import flag, mapping, real_array
from .convert import inhibition_scale, model_of, params_of, scale_inhibition
from .read import RockpoolNetwork, read_rockpool
from .report import Behaviour, Finding, MigrationReport, chip_findings, static_findings, weight_signs

__all__ = ["Migration", "migrate"]

_RATE_HEADROOM = 1.5
"""With inputs, the settings' ``max_rate`` is at least this times the highest mean spike
count per sample of a neuron in Rockpool's simulation (the rate penalty must not push
the network away from what it did in Rockpool)."""

_LEAST_ACTIVE = 0.5
"""Fine-tuning's default ``min_rate``: this times the mean spike count per sample of
Rockpool's least active output neuron."""


@dataclass
class Migration:
    """A Rockpool ``DynapSim`` network as this package's training library holds it.

    Attributes:
        network: the network as read (:class:`~.read.RockpoolNetwork`).
        model: the :class:`~rockpool_dynapse2.training.ChipModel`: a population per
            layer, the network's synapses, its ``Iscale`` and ``dt``, its core parameters.
        params: the trained quantities of the migrated network (the weights, with the
            negative ones scaled if :func:`migrate` compensated them; each core's trained
            quantities).
        report: the :class:`~.report.MigrationReport`.
        original: the trained quantities as Rockpool holds them (no weight scaled).
        inputs: the inputs given to :func:`migrate` ``(B, T, C)``, or None.
        reference: Rockpool's spike counts of every neuron on them ``(B, N)``, or None.
    """

    network: RockpoolNetwork
    model: Any
    params: Dict[str, Any] = field(repr=False)
    report: MigrationReport = field(repr=False)
    original: Dict[str, Any] = field(default_factory=dict, repr=False)
    inputs: Optional[np.ndarray] = field(default=None, repr=False)
    reference: Optional[np.ndarray] = field(default=None, repr=False)

    def counts(self, x: np.ndarray, params: Optional[Dict[str, Any]] = None, quantize: Optional[bool] = None,
               snap: Optional[bool] = None) -> np.ndarray:
        """Spike counts of every neuron ``(B, N)`` on inputs ``x`` ``(B, T, C)``, on the
        nominal chip (the settings' bias codes and weight levels unless overridden)."""
        from ...training.jax_trainer import counts_jax

        return counts_jax(self.model, self.params if params is None else params, np.asarray(x, np.float32),
                          quantize=quantize, snap=snap)

    def output_counts(self, counts: np.ndarray) -> np.ndarray:
        """The output layer's columns ``(B, n_outputs)`` of every neuron's counts ``(B, N)``."""
        return np.asarray(counts)[:, self.network.output]

    def result(self) -> Any:
        """The migrated network as a :class:`~rockpool_dynapse2.training.TrainResult` (no
        history): ``result().to_rockpool()`` is the ``DynapSimJax`` network the chip runs,
        and ``mapping.spec_from_training(result())`` its network spec."""
        from ...training.result import TrainResult

        return TrainResult(model=self.model, params=self.params, backend="jax")

    def targets(self) -> np.ndarray:
        """Rockpool's classes on the inputs: the output neuron that fired most per sample.

        Raises:
            ParameterValueError: no inputs were given, or Rockpool's output is tied on a sample.
        """
        if self.reference is None:
            raise ParameterValueError("inputs", "given to migrate() to fine-tune towards Rockpool's classes", None)
        classes = Behaviour.classes(self.output_counts(self.reference))
        tied = np.flatnonzero(classes < 0)
        if len(tied):
            raise ParameterValueError("inputs", "samples on which Rockpool's output has one most active neuron "
                                      "(or pass labels= to fine_tune)", f"ties on samples {tied.tolist()}")
        return classes

    def fine_tune(self, labels: Optional[np.ndarray] = None, params: Optional[Dict[str, Any]] = None,
                  progress: Optional[Callable[[Any], None]] = None, **settings: Any) -> Any:
        """Train the migrated network with the training library (JAX) towards Rockpool's
        classes on the inputs given to :func:`migrate`.

        Args:
            labels: ``(B,)`` classes to train for instead of Rockpool's.
            params: the trained quantities to start from (default :attr:`params`; e.g.
                :attr:`original`, Rockpool's weights as they are).
            progress: called with every epoch's record.
            **settings: :class:`~rockpool_dynapse2.training.TrainSettings` fields to change
                for the fine-tuning (e.g. ``epochs``, ``inject``, ``learning_rate``). Unless
                given, ``chips_per_step`` is at most the number of training samples (each
                injected chip simulates at least one), and ``min_rate`` is half the mean
                spike count of Rockpool's least active output neuron (training keeps the
                outputs about as active as Rockpool's, not merely ahead of each other).

        Returns:
            The :class:`~rockpool_dynapse2.training.TrainResult` (its ``to_rockpool()``
            is the fine-tuned ``DynapSimJax`` network).
        """
        from ...training.jax_trainer import train_jax
        from ...training.model import ChipModel
        from ...training.result import split_validation
        from .convert import FROM_NETWORK

        if self.inputs is None:
            raise ParameterValueError("inputs", "given to migrate() (the samples to fine-tune on)", None)
        _check_setting_names(settings)
        y = self.targets() if labels is None else self.model.check_labels("labels", labels, len(self.inputs))
        params = self.params if params is None else mapping("params", params, "the trained quantities (a dict)")
        for key in settings:
            if key in FROM_NETWORK:
                raise ParameterValueError(f"settings[{key!r}]", "a TrainSettings field the migration does not set", settings[key])
            if key == "trainable":
                raise ParameterValueError("settings['trainable']", "given to migrate() (the trained quantities follow it)", settings[key])
        if "min_rate" not in settings and self.reference is not None:
            least = float(self.output_counts(self.reference).mean(0).min())
            settings = {**settings, "min_rate": max(self.model.settings.min_rate, _LEAST_ACTIVE * least)}
        tuned = dataclasses.replace(self.model.settings, **settings)
        if "chips_per_step" not in settings:
            (x_train, _), _ = split_validation(self.inputs, y, tuned.validation_fraction, tuned.seed)
            tuned = dataclasses.replace(tuned, chips_per_step=max(1, min(tuned.chips_per_step, len(x_train))))
        model = ChipModel(self.model.layout, tuned, self.model.connections)
        return train_jax(model, self.inputs, y, progress=progress, params=params)


def migrate(net: Any, inputs: Optional[np.ndarray] = None, compensate: bool = True, **settings: Any) -> Migration:
    """Migrate a Rockpool network of ``LinearJax`` and Rockpool ``DynapSim`` layers.

    Args:
        net: the Rockpool network, or its graph (``net.as_graph()``; without its modules,
            nothing can be run).
        inputs: input spike counts ``(B, T, C)`` the network was made for: both
            simulations run them, and the report measures what the differences do.
        compensate: with inputs, scale each neuron's negative weights by the fraction of
            its inhibitory drive that acted in Rockpool (:func:`~.convert.inhibition_scale`).
        **settings: :class:`~rockpool_dynapse2.training.TrainSettings` fields (not
            ``Iscale``, ``dt``, ``fixed``: they come from the network), e.g. ``quantize``;
            with inputs, ``max_rate`` is by default 1.5 times the highest mean spike count
            of a neuron in Rockpool's simulation (at least the default 40). Core
            quantities whose value differs between layers are added to ``trainable``.

    Returns:
        The :class:`Migration`.

    Raises:
        MappingError: the network is not made of linear layers and Rockpool ``DynapSim``
            layers (see :func:`~.read.read_rockpool`).
        ParameterValueError: inputs not ``(B, T, C)``, or a setting the migration sets.
    """
    compensate = flag("compensate", compensate)
    _check_setting_names(settings)
    network = read_rockpool(net)
    x = None if inputs is None else _checked_inputs(inputs, network.n_inputs)
    spikes = None if x is None else network.run(x)
    if spikes is not None and "max_rate" not in settings:
        highest = float(spikes.sum(1).mean(0).max())
        settings = {**settings, "max_rate": max(_RATE_HEADROOM * highest, 40.0)}
    model, values, dropped = model_of(network, settings)
    params = params_of(network, model, values)
    report = MigrationReport(weight_signs=weight_signs(network), findings=static_findings(network, model, values, dropped))
    report.findings += chip_findings(model, params)
    migration = Migration(network, model, params, report, params, x, None if spikes is None else model.readout_counts(spikes))
    if spikes is not None:
        report.inhibition_acted = inhibition_scale(network, x, spikes)
        if np.any(report.inhibition_acted < 1):
            report.findings.append(_acted_finding(network, report.inhibition_acted, compensate))
        if compensate:
            migration.params = scale_inhibition(params, report.inhibition_acted)
        report.behaviour = _behaviour(migration, params, spikes)
        report.findings += _spike_limit_findings(report.behaviour.most_spikes_per_step, model.settings.max_spikes)
    return migration


def _acted_finding(network: RockpoolNetwork, acted: np.ndarray, compensate: bool) -> Finding:
    per_layer = "; ".join(f"{layer.name} {_percent(acted[layer.neurons])}" for layer in network.layers)
    done = ("each neuron's negative weights are scaled by it (compensate=True)" if compensate
            else "the weights are kept as they are (compensate=False)")
    return Finding("inhibition that acted", (
        f"on the inputs, the share of the inhibitory drive that met excitation in the same step (all that acted in "
        f"Rockpool) per neuron: {per_layer}; {done}."))


def _percent(values: np.ndarray) -> str:
    lo, hi = float(values.min()), float(values.max())
    return f"{lo:.0%}" if round(lo * 100) == round(hi * 100) else f"{lo:.0%}..{hi:.0%}"


def _spike_limit_findings(most: float, limit: float) -> list:
    if most <= limit:
        return []
    return [Finding("spikes per step", (
        f"in Rockpool a neuron emitted up to {most:.0f} spikes in one step (it has no limit); the chip model emits at "
        f"most max_spikes = {limit:.0f} (a setting of migrate())."))]


def _checked_inputs(inputs: Any, n_inputs: int) -> np.ndarray:
    """Input spike counts ``(B, T, C)``, finite and >= 0, as float32; named errors else."""
    x = real_array("inputs", inputs, low=0.0, what="an array of spike counts")
    if x.ndim != 3 or x.shape[2] != n_inputs or 0 in x.shape:
        raise ShapeError("inputs", f"(B, T, C) = (B, T, {n_inputs}) with B, T >= 1", x.shape)
    return x.astype(np.float32)


def _check_setting_names(settings: Dict[str, Any]) -> None:
    """Refuse keywords that are not training settings (by name, not a raw TypeError)."""
    from ...training.model import TrainSettings

    valid = tuple(f.name for f in dataclasses.fields(TrainSettings))
    for key in settings:
        if key not in valid:
            raise UnknownParameterError("setting (TrainSettings field)", key, valid)


def _behaviour(migration: Migration, params: Dict[str, Any], spikes: np.ndarray) -> Behaviour:
    """Both simulations on the migration's inputs; ``params`` are the uncompensated ones."""
    net, x, out = migration.network, migration.inputs, migration.output_counts
    excitatory = {**params, "w_in": np.maximum(params["w_in"], 0), "w_rec": np.maximum(params["w_rec"], 0)}
    exact = dict(quantize=False, snap=False)
    return Behaviour(
        rockpool=out(migration.model.readout_counts(spikes)),
        ours=out(migration.counts(x, params, **exact)),
        chip=out(migration.counts(x, params)),
        migrated=out(migration.counts(x)),
        rockpool_without_inhibition=out(migration.model.readout_counts(net.run(x, np.maximum(net.w_in, 0), np.maximum(net.w_rec, 0)))),
        ours_without_inhibition=out(migration.counts(x, excitatory, **exact)),
        most_spikes_per_step=float(spikes.max()),
    )
