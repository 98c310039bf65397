"""The ``rockpool-dynapse2`` command line.

Commands:

* ``demo``: train a network with and without mismatch injection on a built-in task,
  quantize, map, write the chip configuration and report the accuracy at every stage;
* ``inspect CONFIG.json``: what a configuration holds (use per core and chip, every used
  core's parameters in high-level units with their bias codes, channel maps);
* ``deploy CONFIG.json --input RASTER.npy``: run a raster of input spike counts on the
  virtual board (or a board) and write the output raster; input events that would reach
  no neuron are refused (``LostInputsError``) unless ``--allow-lost-inputs`` is given.

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


def _read_text(path: str, what: str) -> str:
    p = Path(path)
    if not p.exists():
        raise CliError(f"{what} {path!r} does not exist")
    if p.is_dir():
        raise CliError(f"{what} {path!r} is a directory, not a file")
    try:
        return p.read_text()
    except UnicodeDecodeError:
        raise CliError(f"{what} {path!r} is not a text (JSON) file") from None
    except OSError as err:
        raise CliError(f"cannot read {what} {path!r}: {err.strerror or err}") from None


def _is_mapped(text: str) -> bool:
    """Whether a JSON text is a MappedConfiguration (its format tag comes first)."""
    from ..placement.mapped import FORMAT

    return '"format"' in text[:2000] and FORMAT in text[:2000]


def load_configuration(path: str) -> Tuple[Any, Any]:
    """Read a configuration file: ``(MappedConfiguration or None, Configuration)``.

    Accepts this package's mapped configuration (``MappedConfiguration.to_json``) and a
    bare configuration in samna's JSON format (``Configuration.to_json``, samna's
    ``Dynapse2Configuration.to_json``).

    Raises:
        CliError: a missing or unreadable file.
        ParameterValueError: malformed JSON or content (from the readers).
    """
    from ..config import Configuration
    from ..placement import MappedConfiguration

    text = _read_text(path, "configuration file")
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
    print(f"run it again on the board: rockpool-dynapse2 deploy {out_dir / 'config.json'} --input {out_dir / 'x_test.npy'}")
    return 0


# --- train --------------------------------------------------------------------------------


def _cmd_train(args: argparse.Namespace) -> int:
    from .data import load_dataset
    from .train_pipeline import TrainJob, run_training

    board = board_request(args.board, args.backend)
    board.check()
    hidden = tuple(args.hidden) if args.hidden else None
    job = TrainJob(backend=args.backend, quick=args.quick, hidden=hidden, per_class=args.per_class, epochs=args.epochs,
                   seed=args.seed, inject=not args.no_injection, n_chips=args.chips, board_samples=args.board_samples,
                   compile=args.compile)
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
    print(f"{'float':<22}{acc['float']:.1%}")
    print(f"{'quantized':<22}{acc['quantized']:.1%}")
    for dev, m in acc["mismatch"].items():
        print(f"{'mismatch ' + dev:<22}{m['mean']:.1%} mean, {m['worst']:.1%} worst of {len(m['chips'])} chips")
    for dev, m in acc.get("mismatch_calibrated", {}).items():
        print(f"{'  readout calibrated':<22}{m['mean']:.1%} mean, {m['worst']:.1%} worst (each chip's readout "
              f"calibrated on unlabelled inputs; deviation {dev})")
    print(f"{board.label:<22}{acc['board']:.1%} ({results['board_samples']} samples)")
    print()
    for name, path in results["files"].items():
        print(f"{name}: {path}")
    print(f"results: {out_dir / 'results.json'}")
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


def _load_raster(path: str, n_inputs: int) -> Any:
    import numpy as np

    p = Path(path)
    if not p.exists():
        raise CliError(f"input raster {path!r} does not exist")
    try:
        raster = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise CliError(f"input raster {path!r} must be a .npy array file; numpy cannot read it ({err})") from None
    if not isinstance(raster, np.ndarray):
        raise CliError(f"input raster {path!r} must hold one array (a .npy file), not an archive of several")
    if raster.ndim not in (2, 3) or raster.shape[-1] != n_inputs or raster.shape[-2] == 0:
        raise CliError(
            f"input raster must have shape (T, {n_inputs}) or (B, T, {n_inputs}) (the configuration has "
            f"{n_inputs} input channels); got {raster.shape}"
        )
    if not np.issubdtype(raster.dtype, np.number):
        raise CliError(f"input raster must hold numbers (spike counts); got dtype {raster.dtype}")
    return raster


def _lost_inputs(mapped: Any, raster: Any, allow: bool) -> Any:
    """The raster's input events that no neuron would receive; refused unless ``allow``.

    Raises:
        LostInputsError: events would be lost and ``allow`` is false.
    """
    from ..errors import LostInputsError
    from ..hardware import lost_inputs

    lost = lost_inputs(raster, mapped)
    if lost.lost and not allow:
        raise LostInputsError(lost.lost, lost.sent, lost.where, hint="--allow-lost-inputs runs it anyway")
    return lost


def _cmd_deploy(args: argparse.Namespace) -> int:
    import numpy as np

    from .demo import board_outputs

    request = board_request(args.board, args.backend)
    request.check()
    mapped, _ = load_configuration(args.config)
    if mapped is None:
        raise CliError(
            f"{args.config!r} is a bare samna configuration without channel maps; deploy needs a "
            "configuration written by rockpool-dynapse2 (e.g. `rockpool-dynapse2 demo` writes config.json)"
        )
    raster = _load_raster(args.input, mapped.n_inputs)
    batched = raster.reshape((-1,) + raster.shape[-2:]).astype(np.float32)
    lost = _lost_inputs(mapped, batched, args.allow_lost_inputs)  # before any board is opened
    out = board_outputs(mapped, batched, request.factory(), rest_steps=0)  # the raster as given
    result = out[0] if raster.ndim == 2 else out
    print(
        f"ran {batched.shape[0]} sample(s) of {batched.shape[1]} steps ({batched.shape[1] * mapped.dt * 1e3:g} ms), "
        f"{int(batched.sum())} input spikes, on the {request.label}"
    )
    if lost.lost:
        print(f"lost inputs: {lost.lost} of {lost.sent} input events reached no neuron (--allow-lost-inputs): " + "; ".join(lost.where))
    print(f"output raster {result.shape}: {int(out.sum())} spikes")
    per_channel = out.sum(axis=(0, 1))
    shown = ", ".join(f"{j}: {int(c)}" for j, c in enumerate(per_channel[:32]))
    print(f"spikes per output channel: {shown}" + (" ..." if len(per_channel) > 32 else ""))
    if batched.shape[0] > 1:
        winners = out.sum(1).argmax(1)
        print(f"most active output channel per sample: {' '.join(map(str, winners[:32]))}" + (" ..." if len(winners) > 32 else ""))
    if args.output:
        try:
            np.save(args.output, result)
        except OSError as err:
            raise CliError(f"cannot write {args.output!r}: {err.strerror or err}") from None
        print(f"wrote {args.output}")
    return 0


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
                      help="output neurons per class (default: 4)")
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
    train.add_argument("--epochs", type=int, default=None, help="training epochs (default: 60; --quick: 25)")
    train.add_argument("--hidden", type=int, nargs="+", default=None, metavar="N",
                       help="sizes of the hidden populations (default: one of clip(8 K, 32, 128) neurons)")
    train.add_argument("--per-class", type=int, default=None, metavar="M", help="output neurons per class (default: 4)")
    train.add_argument("--chips", type=int, default=None, metavar="N",
                       help="simulated mismatched chips per deviation (default: 64; --quick: 16)")
    train.add_argument("--no-injection", action="store_true", help="train without mismatch injection")
    train.add_argument("--board", type=int, default=None, metavar="N",
                       help="run the board stage on DYNAP-SE2 board N (needs samna) instead of the virtual board")
    train.add_argument("--board-samples", type=int, default=None, metavar="N",
                       help="test samples sent to the board (default: all; --quick: 100)")
    train.add_argument("--compile", action="store_true", help="torch: compile the time loop (slow first step)")
    train.add_argument("--seed", type=int, default=0, help="seed of everything random (default: 0)")
    train.add_argument("--quiet", action="store_true", help="print only the summary")
    train.set_defaults(func=_cmd_train)

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
    deploy.set_defaults(func=_cmd_deploy)
    for command in sub.choices.values():  # who reports an option the command does not know (see _parse)
        command.set_defaults(command_parser=command)
    return parser


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
