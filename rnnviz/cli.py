"""The `rnnviz` command: shapes, trace, export, gui (and bench). Every subcommand calls the
same core functions the window uses; none of them reimplements a computation.

Errors in what the user typed exit with status 2 and one line naming the field, never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from rnnviz.budget import BudgetError, budget_limit, check_budget, human, parse_bytes
from rnnviz.spec import CELLS, NONLINEARITIES, Spec, SpecError

EXIT_USAGE = 2


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (status 2) like every other rnnviz error,
    instead of the whole usage block followed by the message."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


def add_spec_flags(p: argparse.ArgumentParser) -> None:
    """The spec flags every subcommand shares."""
    g = p.add_argument_group("configuration")
    g.add_argument("--cell", choices=CELLS, default="lstm")
    g.add_argument("--nonlinearity", choices=NONLINEARITIES, default="tanh",
                   help="rnn only")
    g.add_argument("--input-size", type=_int, default=5)
    g.add_argument("--hidden-size", type=_int, default=6)
    g.add_argument("--num-layers", type=_int, default=1)
    g.add_argument("--bidirectional", action="store_true")
    g.add_argument("--batch-first", action="store_true")
    g.add_argument("--no-bias", action="store_true")
    g.add_argument("--dropout", type=_float, default=0.0)
    g.add_argument("--proj-size", type=_int, default=0, help="lstm only, < hidden size")
    g.add_argument("--seq-len", type=_int, default=3)
    g.add_argument("--batch-size", type=_int, default=1)
    g.add_argument("--preset", default=None,
                   help="start from a tutorial preset (see `rnnviz presets`); flags given "
                        "explicitly still apply on top")
    g.add_argument("--memory-budget", default=None,
                   help="refuse configurations estimated above this, e.g. 4G (default: half "
                        "of available memory, or $RNNVIZ_MEMORY_BUDGET)")


def add_run_flags(p: argparse.ArgumentParser) -> None:
    """Flags for how a spec is run (seed, input, initial state)."""
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=_int, default=0)
    g.add_argument("--input", dest="input_kind", choices=("randn", "zeros", "ones"),
                   default="randn")
    g.add_argument("--init", choices=("zeros", "randn"), default="zeros")
    g.add_argument("--weight-scale", type=_float, default=1.0)
    g.add_argument("--stepper", choices=("module", "cell"), default="module")


_SPEC_FLAGS = {"cell": "cell", "nonlinearity": "nonlinearity", "input_size": "input_size",
               "hidden_size": "hidden_size", "num_layers": "num_layers",
               "bidirectional": "bidirectional", "batch_first": "batch_first",
               "dropout": "dropout", "proj_size": "proj_size", "seq_len": "seq_len",
               "batch_size": "batch_size"}


def spec_from_args(args: argparse.Namespace, explicit: set[str] | None = None) -> Spec:
    """The Spec the flags describe (on top of --preset when given); SpecError if invalid."""
    fields: dict[str, Any] = {f: getattr(args, a) for a, f in _SPEC_FLAGS.items()}
    fields["bias"] = not args.no_bias
    if args.preset:
        from rnnviz.presets import preset

        try:
            base = preset(args.preset).spec.to_dict()
        except KeyError as exc:
            raise SpecError("preset", str(exc.args[0])) from None
        base.pop("version")
        keep = explicit or set()
        fields = {k: (fields[k] if k in keep else v) for k, v in base.items()}
    return Spec(**fields)


def budget_from_args(args: argparse.Namespace) -> int | None:
    """The --memory-budget in bytes, or None for the default; SpecError if unparsable."""
    if getattr(args, "memory_budget", None) is None:
        return None
    try:
        budget = parse_bytes(args.memory_budget)
    except ValueError:
        raise SpecError("memory_budget", f"must be a size like 4G or 512M, got "
                        f"{args.memory_budget!r}") from None
    return budget


def options_from_args(args: argparse.Namespace, explicit: set[str] | None = None) -> Any:
    """The RunOptions the run flags describe (preset's options unless given explicitly)."""
    from rnnviz.options import RunOptions

    fields = {k: getattr(args, k) for k in ("seed", "input_kind", "init", "weight_scale",
                                            "stepper")}
    if args.preset:
        from rnnviz.presets import preset

        base = preset(args.preset).options.to_dict()
        keep = explicit or set()
        fields = {k: (fields[k] if k in keep else v) for k, v in base.items()}
    return RunOptions(**fields)


def _explicit(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """Dest names of the flags that appear literally in argv (so a preset yields to them)."""
    dests = set()
    for action in parser._actions:  # argparse offers no public view of this
        if any(opt in argv or any(a.startswith(opt + "=") for a in argv)
               for opt in action.option_strings):
            dests.add(action.dest)
    return dests


# ---- subcommands -----------------------------------------------------------------------------
def cmd_shapes(args: argparse.Namespace, spec: Spec) -> int:
    """`rnnviz shapes`: the shape/parameter report as a table, or one JSON object."""
    from rnnviz.shapes import shapes
    from rnnviz.tables import shape_table_text

    # Shapes are arithmetic, so even a configuration far too big to build gets its answer;
    # the table says when building or tracing it would be refused.
    report = shapes(spec)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(shape_table_text(report))
    try:
        check_budget(spec, budget_from_args(args), graph=False)
    except BudgetError as exc:
        print(f"\nnote: tracing or building it would be refused: {exc.message}")
    return 0


def cmd_trace(args: argparse.Namespace, spec: Spec) -> int:
    """`rnnviz trace`: trace a seeded module, print a one-line summary, optionally save .npz."""
    from rnnviz.atomic import WriteError
    from rnnviz.tracing import trace_spec

    options = options_from_args(args, args._explicit)
    options.check(spec)
    # No graph is built by a trace, so only the module, activations and gates count.
    check_budget(spec, budget_from_args(args), graph=False)
    result = trace_spec(spec, options)
    if args.out:
        try:
            result.save(args.out)
        except WriteError as exc:
            raise CliError(str(exc)) from None
    print(result.summary() + (f" -> {args.out}" if args.out else "")
          + f" ({human(result.nbytes)} recorded, {result.seconds * 1000:.0f} ms)")
    return 0


def cmd_export(args: argparse.Namespace, spec: Spec) -> int:
    """`rnnviz export`: write the diagram, gates or tables in the chosen format."""
    from rnnviz.export import export_cli

    check_budget(spec, budget_from_args(args))
    return export_cli(args, spec, options_from_args(args, args._explicit))


def cmd_gui(args: argparse.Namespace, spec: Spec | None) -> int:
    """`rnnviz gui`: open the window (or render it to --screenshot and exit)."""
    from rnnviz.app.launch import launch

    if spec is not None:
        check_budget(spec, budget_from_args(args))
    options = options_from_args(args, args._explicit) if spec is not None else None
    return launch(spec, options, timestep=args.timestep, screenshot=args.screenshot,
                  session=args.session)


def cmd_presets(args: argparse.Namespace) -> int:
    """`rnnviz presets`: list the tutorial presets."""
    from rnnviz.presets import PRESETS

    for p in PRESETS:
        print(f"{p.key:14} {p.name}\n{'':14} {p.description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser for every subcommand."""
    parser = _Parser(
        prog="rnnviz", description="See inside nn.RNN, nn.LSTM and nn.GRU. With no "
        "subcommand, opens the window.")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("shapes", help="tensor shapes and parameter inventory")
    add_spec_flags(p)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p = sub.add_parser("trace", help="run a seeded module and record every gate")
    add_spec_flags(p)
    add_run_flags(p)
    p.add_argument("--out", "-o", default=None, help="write the trace to FILE.npz")
    p = sub.add_parser("export", help="export the unrolled graph or a table")
    add_spec_flags(p)
    add_run_flags(p)
    p.add_argument("--format", "-f", required=True,
                   choices=("svg", "png", "pdf", "graphml", "dot", "json", "md", "csv",
                            "gates-png", "gates-svg"))
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--timestep", type=_int, default=None)
    p.add_argument("--fold", type=_int, default=None)
    p.add_argument("--scale", type=_float, default=1.0)
    p = sub.add_parser("gui", help="open the window")
    add_spec_flags(p)
    add_run_flags(p)
    p.add_argument("--timestep", type=_int, default=0)
    p.add_argument("--screenshot", default=None, help="render the window to a PNG and exit")
    p.add_argument("--session", default=None, help="open a saved session file")
    sub.add_parser("presets", help="list the tutorial presets")
    p = sub.add_parser("bench", help="run the benchmark suite")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quick", action="store_true", help="fewer repeats")
    return parser


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str,
                      lineno: int, file: Any = None, line: str | None = None) -> None:
    """Print a warning (e.g. torch's about dropout on a one-layer RNN) as one plain line,
    not the file path and source line of torch's internals."""
    text = str(message).strip().splitlines()[0] if str(message).strip() else category.__name__
    print(f"rnnviz: warning: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `rnnviz`; returns the exit status."""
    warnings.showwarning = _one_line_warning
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["gui", *argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    args._explicit = _explicit(sub.choices[args.command], argv) if args.command in sub.choices \
        else set()
    try:
        if args.command == "presets":
            return cmd_presets(args)
        if args.command == "bench":
            from rnnviz.bench import bench_cli

            return bench_cli(args)
        explicit = args._explicit - {"memory_budget"}
        spec_given = bool(explicit & (set(_SPEC_FLAGS.values()) | {"no_bias", "preset"}))
        if args.command == "gui" and not spec_given:
            return cmd_gui(args, None)
        spec = spec_from_args(args, explicit)
        handler = {"shapes": cmd_shapes, "trace": cmd_trace, "export": cmd_export,
                   "gui": cmd_gui}[args.command]
        # A bad --memory-budget is an error whatever the command; a good one also holds for
        # the trace's own check inside the core.
        with budget_limit(budget_from_args(args)):
            return handler(args, spec)
    except BudgetError as exc:
        print(f"rnnviz: refused: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SpecError as exc:
        print(f"rnnviz: invalid {exc.field}: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except CliError as exc:
        print(f"rnnviz: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (`rnnviz shapes --json | head`): not an error of ours. Point
        # stdout at devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
