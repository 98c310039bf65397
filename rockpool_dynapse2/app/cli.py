"""The ``rockpool-dynapse2`` command line.

Commands:

* ``demo``: train a network with and without mismatch injection on a built-in task,
  quantize, map, write the chip configuration and report the accuracy at every stage;
* ``map MODEL --out DIR``: a NIR file or a network saved by this package -> the chip
  configuration (``config.json.gz``) and a report (``report.json``): cores used,
  quantization error, dropped synapses, design rules (:mod:`.map_command`);
* ``inspect CONFIG.json``: what a configuration holds (use per core and chip, every used
  core's parameters in high-level units with their bias codes, channel and class maps);
* ``deploy CONFIG.json --input RASTER.npy [--labels LABELS.npy]``: run a raster of input
  spike counts on the virtual board (or a board) and write the output raster; with a
  class map, each sample's class and, given labels, the accuracy; input events that would
  reach no neuron are refused (``LostInputsError``) unless ``--allow-lost-inputs`` is given;
  ``--calibration-input U.npy`` (or ``--readout-calibration CAL.json``) calibrates the
  chip's readout on unlabelled input first and prints the classes both ways
  (:mod:`.deploy_command`);
* ``yield (--task NAME | --data DATA.npz) --chips N --out DIR``: one trained network on N
  virtual chips with their own flaws, before and after per-chip tuning, here or on Ray
  (:mod:`.yield_command`).

Configuration files may be gzip-compressed (``config.json.gz``); they are read by their
first bytes, whatever their name.

Errors a user can act on (a missing or malformed file, a raster of the wrong shape, no
board or no samna) print one line ``error: ...`` on stderr and exit with status 2;
usage errors are argparse's (also status 2), with the usage of the command they concern
(an option ``demo`` does not know shows ``demo``'s options, not the command list).

See ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from ..errors import CliError

__all__ = ["main", "CliError", "BoardRequest", "board_request"]

EXIT_ERROR = 2


# --- helpers ------------------------------------------------------------------------------


def _is_mapped(text: bytes) -> bool:
    """Whether a JSON text is a MappedConfiguration (its format tag comes first)."""
    from ..placement.mapped import FORMAT

    head = text[:2000].decode("utf-8", errors="replace")
    return '"format"' in head and FORMAT in head


def load_configuration(path: str) -> Tuple[Any, Any]:
    """Read a configuration file: ``(MappedConfiguration or None, Configuration)``.

    Accepts this package's mapped configuration (``MappedConfiguration.to_json``) and a
    bare configuration in samna's JSON format (``Configuration.to_json``, samna's
    ``Dynapse2Configuration.to_json``), each gzip-compressed or not (told by the file's
    first bytes, whatever its name: ``config.json.gz``).

    Raises:
        CliError: a missing or unreadable file.
        ParameterValueError: malformed JSON or content (from the readers), a corrupt gzip stream.
    """
    from .._json import decompressed
    from ..config import Configuration
    from ..placement import MappedConfiguration
    from .data import read_file_bytes

    text = bytes(decompressed(read_file_bytes(path, "CONFIG"), "configuration file"))  # gzip's or not, by its magic bytes
    if _is_mapped(text):
        mapped = MappedConfiguration.from_json(text)
        return mapped, mapped.configuration
    return None, Configuration.from_json(text)


@dataclass(frozen=True)
class BoardRequest:
    """The board the command line asks for: a kind of the board registry with its options.

    Attributes:
        kind: one of :func:`rockpool_dynapse2.hardware.board_kinds`.
        options: the kind's options (keywords of its factory).
        label: how reports name the board (``"virtual board"``, ``"DYNAP-SE2 board 0"``).
    """

    kind: str
    options: Dict[str, Any]
    label: str

    def check(self) -> None:
        """Fail early (before minutes of training) where opening the board surely would.

        Raises:
            UnknownParameterError: an unknown kind or option.
            SamnaNotAvailableError: the kind needs samna, which is missing or only PyPI's stub.
            ParameterValueError: a bad option (e.g. a negative board index).
        """
        from ..hardware import check_board

        check_board(self.kind, **self.options)

    def factory(self) -> Callable[[], Any]:
        """A function that opens the board (see :func:`rockpool_dynapse2.hardware.board_factory`)."""
        from ..hardware import board_factory

        return board_factory(self.kind, **self.options)


BOARD_INDEX_KIND = "samna"
"""The board kind ``--board N`` asks for, with the option ``index=N``."""

DEFAULT_BOARD_KIND = "virtual"
"""The board kind without ``--board``, with the option ``backend`` of ``--backend``."""


def board_request(board: Optional[int], backend: str) -> BoardRequest:
    """What ``--board`` and ``--backend`` ask for: :data:`BOARD_INDEX_KIND` board ``board``,
    or without ``board`` a :data:`DEFAULT_BOARD_KIND` board of ``backend``."""
    if board is None:
        return BoardRequest(DEFAULT_BOARD_KIND, {"backend": backend}, f"{DEFAULT_BOARD_KIND} board")
    return BoardRequest(BOARD_INDEX_KIND, {"index": board}, f"DYNAP-SE2 board {board}")


def _progress(enabled: bool) -> Callable[..., Any]:
    from tqdm.auto import tqdm

    def wrap(iterable: Any, **kwargs: Any) -> Any:
        return tqdm(iterable, disable=not enabled, leave=False, file=sys.stderr, dynamic_ncols=True, **kwargs)

    return wrap


# --- demo ---------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import DemoSettings, injection_note, run_demo, summary_table

    board = board_request(args.board, args.backend)
    board.check()
    preset = "smoke" if args.smoke else ("quick" if args.quick else "default")
    overrides = dict(task=args.task, backend=args.backend, seed=args.seed)
    if args.per_class is not None:
        overrides["neurons_per_class"] = args.per_class
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    settings = DemoSettings.preset(preset, **overrides)
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise CliError(f"--out {args.out!r} exists and is not a directory")
    bars = not args.no_progress and sys.stderr.isatty()
    # Progress bars draw only on a terminal: to a file or a pipe, a line every tenth of the epochs.
    summaries = not bars or not sys.stdout.isatty()
    log = (lambda msg: print(msg, flush=True)) if not args.quiet else (lambda msg: None)
    log(f"rockpool-dynapse2 demo ({preset} settings) -> {out_dir}")
    result = run_demo(settings, out_dir, board_factory=board.factory(), board_name=board.label,
                      progress=_progress(bars), log=log, epoch_summaries=summaries)
    print()
    print(summary_table(result))
    note = injection_note(result)
    if note:
        print(note)
    print()
    for name, path in result.files.items():
        print(f"{name}: {path}")
    print(f"run it again on the board: rockpool-dynapse2 deploy {out_dir / 'config.json.gz'} --input {out_dir / 'x_test.npy'} --labels {out_dir / 'y_test.npy'}")
    return 0


# --- train --------------------------------------------------------------------------------


def _cmd_train(args: argparse.Namespace) -> int:
    from .data import load_dataset
    from .train_pipeline import TrainJob, interval_text, run_training

    board = board_request(args.board, args.backend)
    board.check()
    hidden = tuple(args.hidden) if args.hidden else None
    job = TrainJob(backend=args.backend, quick=args.quick, hidden=hidden, per_class=args.per_class, epochs=args.epochs,
                   seed=args.seed, inject=not args.no_injection, n_chips=args.chips, board_samples=args.board_samples,
                   compile=args.compile, readout_start=args.readout_start, parallel=args.parallel,
                   hidden_taus=tuple(args.hidden_taus) if args.hidden_taus else None,
                   initial_drive=args.initial_drive, inject_ramp=args.inject_ramp, batch_size=args.batch_size,
                   learning_rate=args.learning_rate, chips_per_step=args.chips_per_step, average=args.average,
                   workers=args.workers, logits=args.logits, temperature=args.temperature,
                   margin_ratio=args.margin_ratio, margin_accuracy=args.margin_accuracy,
                   level_pull=args.level_pull, keep_tolerance=args.keep_tolerance,
                   feedback_gradient=args.feedback_gradient, chip_clip=args.chip_clip,
                   validation_chips=args.validation_chips, extend=args.extend)
    task = load_dataset(args.data)
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise CliError(f"--out {args.out!r} exists and is not a directory")
    log = (lambda msg: print(msg, flush=True)) if not args.quiet else (lambda msg: None)
    log(f"rockpool-dynapse2 train {args.data} -> {out_dir}")
    results = run_training(task, job, out_dir, board_factory=board.factory(), log=log)
    acc = results["accuracy"]
    print()
    print(f"{'stage':<22}test accuracy")
    print(f"{'float':<22}{acc['float']:.1%} (the trained network, rounded as in training: the mismatch stages' reference)")
    print(f"{'unrounded':<22}{acc['unrounded']:.1%} (the latent values training rounds; a diagnostic)")
    print(f"{'quantized':<22}{acc['quantized']:.1%}")
    for dev, m in acc["mismatch"].items():
        print(f"{'mismatch ' + dev:<22}{m['mean']:.1%} mean, {m['worst']:.1%} worst of {len(m['chips'])} chips, "
              f"yield {m['yield']:.0%} (chips within 5 points of float; {interval_text(m)})")
    for dev, m in acc.get("mismatch_calibrated", {}).items():
        print(f"{'  readout calibrated':<22}{m['mean']:.1%} mean, {m['worst']:.1%} worst, yield {m['yield']:.0%} (each "
              f"chip's readout calibrated on unlabelled inputs; deviation {dev})")
    print(f"{board.label:<22}{acc['board']:.1%} ({results['board_samples']} samples)")
    print()
    for name, path in results["files"].items():
        print(f"{name}: {path}")
    print(f"results: {out_dir / 'results.json'}")
    return 0


# --- map ----------------------------------------------------------------------------------


def _cmd_map(args: argparse.Namespace) -> int:
    from .map_command import MapOptions, load_spike_array, parse_classes, run_map

    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise CliError(f"--out {args.out!r} exists and is not a directory")
    x = None if args.calibration_input is None else load_spike_array(args.calibration_input, "--calibration-input")
    defects = None
    if args.profile is not None:
        from ..hardware.chip_profile import ChipProfile

        defects = ChipProfile.load(args.profile).defects()
    options = MapOptions(
        dt=args.dt, time_scale=args.time_scale, reset=args.reset, discrete=args.discrete, rtol=args.rtol, if_tau=args.if_tau,
        Iscale=args.iscale, calibration_input=x, per_neuron=args.per_neuron, chips=args.chips, seed=args.seed,
        classes=None if args.classes is None else parse_classes(args.classes), compress=not args.uncompressed,
        defects=defects,
    )
    log = (lambda msg: print(msg, flush=True)) if not args.quiet else (lambda msg: None)
    report = run_map(args.model, out_dir, options, log=log)
    print(report.text())
    print(f"configuration: {report.config}")
    print(f"report: {out_dir / 'report.json'}")
    return 0


# --- inspect ------------------------------------------------------------------------------


def _core_table(core: Any) -> str:
    from ..chip import BIAS_PARAMETERS
    from ..parameters import CoreParameters

    codes = core.codes()
    known = {p.name: codes[p.name] for p in BIAS_PARAMETERS if p.name in codes}
    missing = [p.name for p in BIAS_PARAMETERS if p.name not in codes]
    if missing:
        lines = [f"  (no high-level view: the core lacks {', '.join(missing)}); its codes:"]
        lines += [f"  {name:<16} {code.coarse} {code.fine:3d}" for name, code in sorted(codes.items())]
        return "\n".join(lines)
    table = CoreParameters.from_codes(known).table()
    others = sorted(set(codes) - set(known))
    if others:
        table += "\n  other parameters (not simulated): " + ", ".join(f"{n} {codes[n].coarse}/{codes[n].fine}" for n in others)
    return table


def _cmd_inspect(args: argparse.Namespace) -> int:
    mapped, config = load_configuration(args.config)
    kind = "mapped configuration (rockpool-dynapse2)" if mapped is not None else "samna configuration (no channel maps)"
    print(f"{args.config}: {kind}, {len(config.chips)} chip(s)")
    if mapped is not None:
        print(
            f"channels: {mapped.n_inputs} input, {mapped.n_outputs} output; {len(mapped.neurons)} neurons; "
            f"dt {mapped.dt * 1e3:g} ms; Iscale {mapped.Iscale:.3g} A"
        )
        routes = sum(len(r) for r in mapped.inputs)
        print(f"input routes: {routes} (chip, core mask, tag) entries; output tags: {', '.join(map(str, mapped.outputs[:16]))}"
              + (" ..." if mapped.n_outputs > 16 else ""))
        classes = "; ".join(f"{k}: {', '.join(map(str, c))}" for k, c in enumerate((mapped.classes or ())[:16]))
        print(f"classes (class: output channels): {classes}" + (" ..." if mapped.n_classes > 16 else "")
              if mapped.classes is not None else "classes: none recorded (deploy --classes, or map --classes)")
    print()
    summary = config.summary()
    print(summary)
    used = [(c.chip, c.core) for chip in summary.chips for c in chip.cores if c.neurons_used > 0]
    if not used:
        print("\nno core is used")
    for chip, core in used:
        print(f"\nchip {chip}, core {core}: parameters")
        print(_core_table(config.core(chip, core)))
    return 0


# --- deploy -------------------------------------------------------------------------------


def _deployable(path: str) -> Any:
    """The mapped configuration of ``path``; a bare samna configuration is refused (no channel maps)."""
    mapped, _ = load_configuration(path)
    if mapped is None:
        raise CliError(
            f"{path!r} is a bare samna configuration without channel maps; deploy needs a "
            "configuration written by rockpool-dynapse2 (e.g. `rockpool-dynapse2 demo` writes config.json.gz)"
        )
    return mapped


def _cmd_deploy(args: argparse.Namespace) -> int:
    from . import deploy_command as dc
    from .demo import board_outputs

    request = board_request(args.board, args.backend)
    request.check()
    mapped = dc.with_classes(_deployable(args.config), args.classes, args.labels, args.config)
    raster = dc.load_raster(args.input, mapped.n_inputs)
    batched = raster.x
    labels = None if args.labels is None else dc.load_labels(args.labels, batched.shape[0], mapped.n_classes)
    lost = dc.check_lost_inputs(mapped, batched, args.allow_lost_inputs)  # before any board is opened
    wanted = dc.CalibrationRequest(args.calibration_input, args.readout_calibration, args.save_calibration)
    prepared = dc.prepare_calibration(wanted, mapped, args.config, args.allow_lost_inputs)  # likewise

    def run(x: Any) -> Any:
        return board_outputs(mapped, x, request.factory(), rest_steps=0)  # the raster as given

    calibration = None if prepared is None else dc.measure_calibration(prepared, wanted, mapped, run)  # the same board, first
    out = run(batched)
    print(
        f"ran {batched.shape[0]} sample(s) of {batched.shape[1]} steps ({batched.shape[1] * mapped.dt * 1e3:g} ms), "
        f"{int(batched.sum())} input spikes, on the {request.label}"
    )
    if lost.lost:
        print(f"lost inputs: {lost.lost} of {lost.sent} input events reached no neuron (--allow-lost-inputs): " + "; ".join(lost.where))
    result = out[0] if raster.single else out
    counts = _print_outputs(mapped, out, result.shape)
    if mapped.classes is not None:
        dc.print_classes(mapped, counts, labels, calibration)
    if args.output:
        _save_output(args.output, result)
    return 0


def _print_outputs(mapped: Any, out: Any, shape: Tuple[int, ...]) -> Any:
    """Print the output raster's spikes (``shape``: the raster's as written, in the input's
    layout; per channel; per sample, the most active channel in the readout window); return
    the counts in the window ``(B, n_outputs)``."""
    from .deploy_command import _SHOWN  # the samples or channels a printed line shows

    print(f"output raster {shape}: {int(out.sum())} spikes")
    per_channel = out.sum(axis=(0, 1))
    shown = ", ".join(f"{j}: {int(c)}" for j, c in enumerate(per_channel[:_SHOWN]))
    print(f"spikes per output channel: {shown}" + (" ..." if len(per_channel) > _SHOWN else ""))
    counts = mapped.readout_counts(out)  # the trained readout window (the whole sample without one)
    if mapped.readout_start > 0:
        from ..training import readout_step

        print(f"readout window (as trained): the output spikes from step {readout_step(mapped.readout_start, out.shape[1])} "
              f"of {out.shape[1]} on (readout_start {mapped.readout_start:g})")
    if out.shape[0] > 1:
        winners = counts.argmax(1)
        print(f"most active output channel per sample: {' '.join(map(str, winners[:_SHOWN]))}"
              + (" ..." if len(winners) > _SHOWN else ""))
    return counts


def _save_output(path: str, result: Any) -> None:
    import numpy as np

    try:
        np.save(path, result)
    except OSError as err:
        raise CliError(f"cannot write {path!r}: {err.strerror or err}") from None
    print(f"wrote {path}")


# --- yield ----------------------------------------------------------------------------------


def _cmd_yield(args: argparse.Namespace) -> int:
    from .yield_command import YieldOptions, run_yield, summary_table

    options = YieldOptions(
        out=args.out, task=args.task, data=args.data, chips=args.chips, mismatch=args.mismatch, tune=args.tune,
        network=args.network, epochs=args.epochs, train_epochs=args.train_epochs, workers=args.workers,
        ray_address=args.ray_address, seed=args.seed, first_chip=args.first_chip, test_samples=args.test_samples,
        samples=args.samples, backend=args.backend, resume=args.resume, gate=args.gate,
    )
    log = (lambda msg: print(msg, flush=True)) if not args.quiet else (lambda msg: None)
    log(f"rockpool-dynapse2 yield -> {args.out}")
    report = run_yield(options, log)
    print()
    print(summary_table(report))
    print()
    for name, path in report["files"].items():
        print(f"{name}: {path}")
    return 0


def _add_yield_parser(sub: Any) -> None:
    """The ``yield`` subcommand's options (the study checks their values: see :class:`.yield_command.YieldOptions`)."""
    from .tasks import TASKS

    cmd = sub.add_parser("yield", help="one trained network on many virtual chips: accuracy distribution before and after tuning",
                         description="Train a network once with mismatch injection (or load one with --network), deploy it "
                         "to N virtual chips with their own flaws (ChipProfile.draw), optionally tune it per chip and deploy "
                         "again; report mean, worst and yield (chips within 5 points of the float accuracy) before and after. "
                         "Runs here, in a process pool (--workers) or on Ray (--ray-address), one chip per task.")
    data = cmd.add_mutually_exclusive_group(required=True)
    data.add_argument("--task", choices=tuple(TASKS), default=None, help="a built-in task")
    data.add_argument("--data", default=None, metavar="DATA.npz", help="a data set, as train reads it (see docs/cli.md)")
    cmd.add_argument("--out", default="dynapse2-yield", metavar="DIR", help="output directory (default: ./dynapse2-yield)")
    cmd.add_argument("--chips", type=int, default=100, metavar="N", help="virtual chips (default: 100)")
    cmd.add_argument("--mismatch", type=float, default=0.3, metavar="F", help="their mismatch, a fraction (default: 0.3)")
    # The strategies are checked by the study (importing the twin package here would import
    # Rockpool for every command).
    cmd.add_argument("--tune", default="none", metavar="{none,oracle,fitted}",
                     help="per-chip tuning: none, oracle (fine-tune with the true profile), fitted (probe, fit, fine-tune)")
    cmd.add_argument("--network", default=None, metavar="DIR", help="reuse the network.npz (and config.json.gz) of a train or demo run")
    cmd.add_argument("--epochs", type=int, default=20, metavar="E", help="fine-tuning epochs per chip (default: 20)")
    cmd.add_argument("--train-epochs", type=int, default=None, metavar="E",
                     help="training epochs (default: 60, as train)")
    cmd.add_argument("--samples", type=int, default=None, metavar="N", help="samples of a built-in task, half for training (default: 600)")
    cmd.add_argument("--test-samples", type=int, default=None, metavar="N", help="test samples each chip runs (default: all)")
    cmd.add_argument("--workers", type=int, default=1, metavar="W",
                     help="processes here, or the CPUs of a local Ray instance (default: 1)")
    cmd.add_argument("--ray-address", default=None, metavar="A",
                     help="run on Ray: local (start an instance with --workers CPUs), auto (a running one, else local) "
                     "or a cluster's address; needs pip install \"rockpool-dynapse2[ray]\"")
    cmd.add_argument("--first-chip", type=int, default=1, metavar="S", help="seed of the first chip (default: 1)")
    cmd.add_argument("--backend", choices=("jax", "torch"), default="jax", help="training and virtual-board backend")
    cmd.add_argument("--seed", type=int, default=0, help="seed of the task and the training (default: 0)")
    cmd.add_argument("--gate", action="store_true",
                     help="with --tune, tune only the chips whose trained configuration scores more than 5 points below "
                     "float on 256 tuning samples run on the chip's board; the others keep it")
    cmd.add_argument("--resume", action="store_true",
                     help="keep the chips DIR/chips.jsonl holds from an earlier run of this study and run the others")
    cmd.add_argument("--quiet", action="store_true", help="print only the summary")
    cmd.set_defaults(func=_cmd_yield)


# --- parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``rockpool-dynapse2``."""
    from .._version import __version__
    from .tasks import TASKS

    parser = argparse.ArgumentParser(
        prog="rockpool-dynapse2",
        description="DYNAP-SE2 for Rockpool: train with mismatch injection, quantize, map, deploy.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser("demo", help="train with and without mismatch injection; report accuracy at every stage",
                          description="Train one network with and one without dynamic mismatch injection on a built-in "
                          "task with the training library, quantize and map both, write the chip configuration, and "
                          "report the test accuracy in float simulation, quantized, on simulated mismatched chips and on "
                          "the virtual board.")
    demo.add_argument("--backend", choices=("jax", "torch"), default="jax", help="training backend (default: jax)")
    demo.add_argument("--out", default="dynapse2-demo", metavar="DIR", help="output directory (default: ./dynapse2-demo)")
    demo.add_argument("--quick", action="store_true", help="fewer simulated chips and board samples (torch: shorter training)")
    demo.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)  # tiny sizes, for tests
    demo.add_argument("--task", choices=tuple(TASKS), default="frozen-noise", help="built-in task")
    demo.add_argument("--epochs", type=int, default=None, metavar="E",
                      help="training epochs (default: 100; torch: 40, --quick 20)")
    demo.add_argument("--per-class", "--neurons-per-class", dest="per_class", type=int, default=None, metavar="M",
                      help="output neurons per class (default: 8 up to 8 classes, 4 up to 16, else 2)")
    demo.add_argument("--seed", type=int, default=0, help="seed of everything random (default: 0)")
    demo.add_argument("--board", type=int, default=None, metavar="N",
                      help="run the board stage on DYNAP-SE2 board N (needs samna) instead of the virtual board")
    demo.add_argument("--no-progress", action="store_true", help="no progress bars (a training summary every tenth of the epochs instead)")
    demo.add_argument("--quiet", action="store_true", help="print only the summary")
    demo.set_defaults(func=_cmd_demo)

    train = sub.add_parser("train", help="train a network on your data, quantize, map, deploy; report accuracy",
                           description="Train a network of DYNAP-SE2 neurons on a data set (an .npz file with x_train "
                           "(n, T, C) spike counts per step, y_train (n,) labels 0..K-1, x_test, y_test, optionally dt) "
                           "with mismatch injection and the chip's constraints in the loop; then quantize, map, write the "
                           "configuration, run it on the virtual board and report the test accuracy at every stage.")
    train.add_argument("--data", required=True, metavar="DATA.npz", help="the data set (see docs/cli.md)")
    train.add_argument("--out", default="dynapse2-train", metavar="DIR", help="output directory (default: ./dynapse2-train)")
    train.add_argument("--backend", choices=("jax", "torch"), default="jax", help="training backend (default: jax)")
    train.add_argument("--quick", action="store_true", help="fewer epochs and chips: a few minutes on a laptop CPU")
    train.add_argument("--epochs", type=int, default=None, help="training epochs (default: 60; --quick: 40, with --backend torch 25)")
    train.add_argument("--hidden", type=int, nargs="+", default=None, metavar="N",
                       help="sizes of the hidden populations (default: three of clip(8 K, 32, 128) neurons side by side; "
                       "given, they form a chain unless --parallel)")
    train.add_argument("--parallel", action=argparse.BooleanOptionalAction, default=None,
                       help="the hidden populations side by side (each fed by the input, each reaching the output and "
                       "the others) rather than in a chain (default: side by side without --hidden); --no-parallel "
                       "without --hidden: one hidden population (the default before session 10)")
    train.add_argument("--hidden-taus", type=float, nargs="+", default=None, metavar="S",
                       help="the synaptic (AMPA and GABA) time constant each hidden population starts from, in seconds, "
                       "one per hidden population (default: 0.01 0.05 0.15 for the three default ones, else 0.01 for all)")
    train.add_argument("--initial-drive", type=float, default=None, metavar="D",
                       help="the mean net input weight per step a hidden neuron starts with; the initial input weights "
                       "are scaled to it from the data (default: 0.025 for the three default hidden populations, else 0.25)")
    train.add_argument("--per-class", type=int, default=None, metavar="M", help="output neurons per class (default: 8 up to 8 classes, 4 up to 16, else 2)")
    train.add_argument("--chips", type=int, default=None, metavar="N",
                       help="simulated mismatched chips per deviation (default: 64; --quick: 16)")
    train.add_argument("--no-injection", action="store_true", help="train without mismatch injection")
    train.add_argument("--inject-ramp", type=int, default=None, metavar="E",
                       help="grow the injected mismatch linearly from 0 to its whole over the first E epochs (default: a "
                       "third of the epochs, 20 of 60, 13 of --quick's 40; 0: the whole from the first step)")
    train.add_argument("--batch-size", type=int, default=None, metavar="N",
                       help="training samples per Adam step (default: 16; --quick: 8)")
    train.add_argument("--chips-per-step", type=int, default=None, metavar="K",
                       help="with injection, mismatched chips drawn per training step, the step's samples split between "
                       "them (default: 8; --quick: 4)")
    train.add_argument("--learning-rate", type=float, default=None, metavar="LR",
                       help="Adam's peak learning rate, reached after 3 warm-up epochs, then a cosine decay to 5 %% of it "
                       "over the run (default: 0.01)")
    train.add_argument("--average", type=float, default=None, metavar="D",
                       help="keep an exponential moving average of the trained quantities with decay D per step, and "
                       "validate, keep and deploy it (0: none, the last step's; default: 0)")
    train.add_argument("--readout-start", type=float, default=None, metavar="F",
                       help="read the class from the output spikes at or after fraction F of each sample, in training, "
                       "on the board and in deploy (default: 0, the whole sample; 0.5: its last half, e.g. temporal XOR)")
    train.add_argument("--logits", choices=("log", "counts"), default=None,
                       help="what the loss's softmax sees of each output group's mean spike count s: counts, T s, an "
                       "absolute margin (the default); log, T log(1 + s), a margin relative to the groups' common rate, "
                       "which a chip's mismatch scales (docs/results.md)")
    train.add_argument("--temperature", type=float, default=None, metavar="T",
                       help="the scale T of the logits (default: 4 with --logits log, 1 with counts)")
    train.add_argument("--margin-ratio", type=float, default=None, metavar="R",
                       help="also ask every sample for a relative margin: where the right output group's 1 + s is less "
                       "than R times the best other group's, the loss gains 4 log(R / ratio) (a hinge, 0 once met; "
                       "with either --logits), trained from the injection ramp's end. R: 0 (off) or above 1; default 2 with "
                       "injection and a ramp of more than one epoch, else 0")
    train.add_argument("--margin-accuracy", type=float, default=None, metavar="G",
                       help="the margin waits, past the ramp's end, for an epoch whose validation accuracy is G of the "
                       "way from chance to 1 (default 0.5: 67 %% on 3 classes, 75 %% on 2; 0: no wait)")
    train.add_argument("--extend", type=int, default=None, metavar="E",
                       help="after the scheduled epochs, train E more from the kept one at the whole injected deviation, "
                       "with the margin, at 0.3 of the peak learning rate (default: 0, none)")
    train.add_argument("--level-pull", type=float, default=None, metavar="F",
                       help="after every step, move each weight's unrounded value this fraction of the way to the "
                            "level the chip holds for it (default: 0), so that 'unrounded' stays the network trained")
    train.add_argument("--keep-tolerance", type=float, default=None, metavar="L",
                       help="keep the later epoch where its validation loss is within L (nats) of the lowest so far "
                            "(default: 0.01; 0: the lowest)")
    train.add_argument("--feedback-gradient", type=float, default=None, metavar="F",
                       help="keep this share (0..1) of the derivative of the membrane's positive feedback factor in the "
                            "backward pass (default: 1, exact); less bounds the gradient of large recurrent networks on "
                            "mismatched chips (docs/training.md). The simulation itself is the same")
    train.add_argument("--chip-clip", type=float, default=None, metavar="M",
                       help="with injection, clip each chip's gradient, before summing them, to M times the step's "
                            "median chip's gradient per unit of loss, times its own loss, so that one chip whose gradient "
                            "explodes does not steer a step alone (default: 0, off; docs/training.md)")
    train.add_argument("--validation-chips", type=int, default=None, metavar="N",
                       help="with injection, keep the epoch whose validation loss, averaged over N mismatched chips at "
                            "the whole deviation (drawn once), is lowest, rather than the nominal chip's (default: 0, the "
                            "nominal chip; docs/training.md)")
    train.add_argument("--board", type=int, default=None, metavar="N",
                       help="run the board stage on DYNAP-SE2 board N (needs samna) instead of the virtual board")
    train.add_argument("--board-samples", type=int, default=None, metavar="N",
                       help="test samples sent to the board (default: all; --quick: 100)")
    train.add_argument("--compile", action="store_true", help="torch: compile the time loop (slow first step)")
    train.add_argument("--workers", type=int, default=None, metavar="N",
                       help="jax: threads that simulate each training step's chips in parallel, on separate cores (the same "
                       "step up to the rounding of a sum; default: 1, --quick: 2)")
    train.add_argument("--seed", type=int, default=0, help="seed of everything random (default: 0)")
    train.add_argument("--quiet", action="store_true", help="print only the summary")
    train.set_defaults(func=_cmd_train)

    _add_map_parser(sub)

    inspect = sub.add_parser("inspect", help="what a configuration file holds",
                             description="Show what a configuration holds: neurons, CAM and tag use per core and chip; "
                             "every used core's parameters in high-level units with their bias codes; channel counts.")
    inspect.add_argument("config", metavar="CONFIG.json", help="a configuration written by rockpool-dynapse2, or samna's JSON")
    inspect.set_defaults(func=_cmd_inspect)

    deploy = sub.add_parser("deploy", help="run an input raster through a configuration on a board",
                            description="Run a raster of input spike counts, (T, C) or (B, T, C) in a .npy file, through "
                            "the configuration on the virtual board (default) or a DYNAP-SE2 board.")
    deploy.add_argument("config", metavar="CONFIG.json", help="a configuration written by rockpool-dynapse2")
    deploy.add_argument("--input", required=True, metavar="RASTER.npy", help="input spike counts (T, C) or (B, T, C)")
    where = deploy.add_mutually_exclusive_group()
    where.add_argument("--virtual", action="store_true", help="use the virtual board (the default)")
    where.add_argument("--board", type=int, default=None, metavar="N", help="use DYNAP-SE2 board N (needs samna)")
    deploy.add_argument("--backend", choices=("jax", "torch"), default="jax", help="simulation backend of the virtual board")
    deploy.add_argument("--output", metavar="OUT.npy", help="write the output raster (same layout as the input)")
    deploy.add_argument("--allow-lost-inputs", action="store_true",
                        help="run even if input events would reach no neuron (their count is printed)")
    deploy.add_argument("--labels", metavar="LABELS.npy", help="each sample's class (B,): print the accuracy (needs a class map)")
    deploy.add_argument("--classes", nargs="+", metavar="M|CHANNELS",
                        help="the class map, if the configuration has none (or to replace it): M consecutive output "
                        "channels per class, or the channels of each class (0,1 2,3)")
    calibrate = deploy.add_mutually_exclusive_group()
    calibrate.add_argument("--calibration-input", metavar="U.npy",
                           help="unlabelled input (B, T, C), B >= 2 samples, run on the board first to calibrate the "
                           "readout (each output channel's mean and spread); the classes are then printed raw and "
                           "calibrated (needs a class map)")
    calibrate.add_argument("--readout-calibration", metavar="CAL.json",
                           help="a readout calibration saved with --save-calibration, for this configuration's output channels")
    deploy.add_argument("--save-calibration", metavar="CAL.json", help="write the calibration measured on --calibration-input")
    deploy.set_defaults(func=_cmd_deploy)
    _add_yield_parser(sub)
    for command in sub.choices.values():  # who reports an option the command does not know (see _parse)
        command.set_defaults(command_parser=command)
    return parser


def _add_map_parser(sub: Any) -> None:
    """The ``map`` subcommand's options (the NIR reader checks its own: importing it here
    would import Rockpool for every command)."""
    cmd = sub.add_parser("map", help="a NIR file or a saved network -> chip configuration and report",
                         description="Map a model onto the chip: a NIR file, a trained network (network.npz), a network "
                         "spec JSON or a mapped configuration (kind told by the file's bytes). Quantize it, place it, "
                         "write DIR/config.json.gz and DIR/report.json (cores used, quantization error, dropped synapses, "
                         "design rules) and print the report.")
    cmd.add_argument("model", metavar="MODEL", help="model.nir, network.npz, a network spec .json or a configuration .json(.gz)")
    cmd.add_argument("--out", default="dynapse2-map", metavar="DIR", help="output directory (default: ./dynapse2-map)")
    nir = cmd.add_argument_group("NIR files (see docs/nir.md)")
    nir.add_argument("--dt", type=float, default=None, metavar="S", help="time step (s); default: the one the graph implies")
    nir.add_argument("--time-scale", type=float, default=None, metavar="F", help="factor on every time constant (norse: 1/dt)")
    nir.add_argument("--reset", default=None, help="reset rule of spiking layers: zero (NIR's) or subtract (snnTorch, spyx)")
    nir.add_argument("--discrete", default=None, help="couplings read as an exporter's discrete model: none, synapse, "
                     "membrane or both")
    nir.add_argument("--rtol", type=float, default=None, help="tolerance within which implied time steps agree (1e-3)")
    nir.add_argument("--if-tau", type=float, default=None, metavar="S", help="membrane time constant of IF neurons (100 steps)")
    nir.add_argument("--iscale", type=float, default=None, metavar="A", help="weight unit of the spec (1e-8 A)")
    nir.add_argument("--calibration-input", default=None, metavar="X.npy",
                     help="input (B, T, C) on which to calibrate against NIR's semantics (strongly advised)")
    nir.add_argument("--per-neuron", action="store_true", help="calibrate one drive per neuron, not only per layer")
    cmd.add_argument("--chips", type=int, default=None, metavar="N", help="chips of the board (default: as many as needed)")
    cmd.add_argument("--classes", nargs="+", default=None, metavar="M|CHANNELS",
                     help="record the class map: M consecutive output channels per class, or the channels of each "
                     "class (0,1 2,3); default: the model's own (a trained network's)")
    cmd.add_argument("--profile", default=None, metavar="PROFILE.json",
                     help="a chip profile (ChipProfile JSON): place neurons and synapses around its dead and always-on "
                     "neurons and defective CAM entries")
    cmd.add_argument("--seed", type=int, default=0, help="seed of the weight quantization (default: 0)")
    cmd.add_argument("--uncompressed", action="store_true", help="write config.json instead of config.json.gz")
    cmd.add_argument("--quiet", action="store_true", help="print only the report")
    cmd.set_defaults(func=_cmd_map)


def _parse(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parse; an option the chosen command does not know is reported with that command's
    usage (argparse reports it with the top-level usage, which lists no option of it)."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        command = getattr(args, "command_parser", None) or parser
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (0 success, 2 error).

    Args:
        argv: arguments without the program name (default: ``sys.argv[1:]``).
    """
    from ..errors import Dynapse2Error

    parser = build_parser()
    args = _parse(parser, argv)
    try:
        return args.func(args)
    except (CliError, Dynapse2Error) as err:
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
