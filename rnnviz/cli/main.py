"""The `rnnviz` command: shapes, trace, export, gui, code, presets and bench.

Every subcommand calls the same core functions the window uses; none of them reimplements a
computation. One module per subcommand; the shared flags live in `rnnviz.cli.args`.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from rnnviz.cli.args import (
    _SPEC_FLAGS,
    EXIT_USAGE,
    RUN_FLAGS,
    CliError,
    _explicit,
    _float,
    _int,
    _Parser,
    _size,
    add_run_flags,
    add_spec_flags,
    add_stepper_flag,
    budget_from_args,
    spec_from_args,
)
from rnnviz.config.budget import BudgetError, budget_limit
from rnnviz.config.spec import SpecError
from rnnviz.io.formats import FORMATS

#: Subcommand → (module, handler). Imported only when run, so `rnnviz shapes` never pays for
#: torch or Qt.
_HANDLERS = {
    "shapes": ("rnnviz.cli.shapes", "cmd_shapes"),
    "trace": ("rnnviz.cli.trace", "cmd_trace"),
    "export": ("rnnviz.cli.export", "cmd_export"),
    "gui": ("rnnviz.cli.gui", "cmd_gui"),
    "presets": ("rnnviz.cli.presets", "cmd_presets"),
    "bench": ("rnnviz.cli.bench", "cmd_bench"),
    "code": ("rnnviz.cli.code", "cmd_code"),
    "train": ("rnnviz.cli.train", "cmd_train"),
    "trace-run": ("rnnviz.cli.train", "cmd_trace_run"),
    "grad": ("rnnviz.cli.grad", "cmd_grad"),
    "grad-run": ("rnnviz.cli.grad", "cmd_grad_run"),
}


def _handler(command: str) -> Any:
    import importlib

    module, name = _HANDLERS[command]
    return getattr(importlib.import_module(module), name)


#: Per command, the flags that go with --run FILE (dest names); any other is refused there.
RUN_FILE_FLAGS: dict[str, frozenset[str]] = {
    "trace": frozenset({"run", "text", "out", "memory_budget"}),
    "grad": frozenset({"run", "text", "out", "memory_budget", "loss", "json", "csv", "plot"}),
}


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser for every subcommand."""
    parser = _Parser(
        prog="rnnviz",
        description="See inside nn.RNN, nn.LSTM and nn.GRU. With no subcommand, opens the window.",
    )
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("shapes", help="tensor shapes and parameter inventory")
    add_spec_flags(p)
    add_stepper_flag(p)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p = sub.add_parser("trace", help="run a seeded module and record every gate")
    add_spec_flags(p)
    add_run_flags(p)
    p.add_argument("--out", "-o", default=None, help="write the trace to FILE.npz")
    p.add_argument("--run", default=None, help="trace a trained text model's run file")
    p.add_argument("--text", default=None, help="with --run: the text to trace")
    p = sub.add_parser("export", help="export the unrolled graph or a table")
    add_spec_flags(p)
    add_run_flags(p)
    p.add_argument(
        "--format",
        "-f",
        required=True,
        choices=tuple(FORMATS),
    )
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--timestep", type=_int, default=None)
    p.add_argument("--fold", type=_int, default=None)
    p.add_argument("--scale", type=_float, default=1.0)
    p.add_argument(
        "--scale-mode",
        choices=("fixed", "stretched", "signed-log"),
        default=None,
        help="colour scale of gates-png/gates-svg, as the gate view's picker (default: the "
        "preset's, else fixed)",
    )
    p = sub.add_parser("gui", help="open the window")
    add_spec_flags(p)
    add_run_flags(p)
    p.add_argument("--timestep", type=_int, default=0)
    p.add_argument("--screenshot", default=None, help="render the window to a PNG and exit")
    p.add_argument("--session", default=None, help="open a saved session file")
    p.add_argument(
        "--size",
        type=_size,
        default=None,
        metavar="WxH",
        help="window size in pixels, e.g. 1280x720 (also the --screenshot size)",
    )
    p = sub.add_parser("code", help="print torch code that reproduces the traced numbers")
    add_spec_flags(p)
    add_run_flags(p)
    p = sub.add_parser("grad", help="gradients through time, verified against torch's backward")
    add_spec_flags(p)
    add_run_flags(p)
    from rnnviz.cli.grad import add_grad_flags

    add_grad_flags(p)
    p.add_argument("--run", default=None, help="gradients of a trained text model's run file")
    p.add_argument("--text", default=None, help="with --run: the text to differentiate on")
    sub.add_parser("presets", help="list the tutorial presets")
    p = sub.add_parser("bench", help="run the benchmark suite")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quick", action="store_true", help="fewer repeats")
    from rnnviz.cli.train import add_train_flags

    add_train_flags(sub.add_parser("train", help="train a text model (tutorial 001/003)"))
    return parser


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Print a warning (e.g. torch's about dropout on a one-layer RNN) as one plain line,
    not the file path and source line of torch's internals."""
    text = str(message).strip().splitlines()[0] if str(message).strip() else category.__name__
    print(f"rnnviz: warning: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `rnnviz`; returns the exit status.

    Ctrl-C prints one line and returns 130; SIGTERM/SIGHUP return 128 + the signal number,
    after every partly written output has been removed (`rnnviz.cli.signals`).
    """
    from rnnviz.cli.signals import Interrupted, cleanup_on_signals

    try:
        with cleanup_on_signals():
            return _run(argv)
    except KeyboardInterrupt:
        print("rnnviz: interrupted", file=sys.stderr)
        return 130
    except Interrupted as exc:
        print(f"rnnviz: terminated by {exc.name}", file=sys.stderr)
        return 128 + exc.signum


def _run(argv: Sequence[str] | None = None) -> int:
    """`main` without the signal handling."""
    warnings.showwarning = _one_line_warning
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["gui", *argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    args._explicit = (
        _explicit(sub.choices[args.command], argv) if args.command in sub.choices else set()
    )
    try:
        if args.command in ("presets", "bench", "train"):
            return int(_handler(args.command)(args))
        if args.command in RUN_FILE_FLAGS and args.run is not None:
            # The model, its sizes and its weights come from the file: a configuration or
            # run flag beside --run would be silently ignored, so it is refused.
            ignored = sorted(args._explicit - RUN_FILE_FLAGS[args.command])
            if ignored:
                names = ", ".join("--" + name.replace("_", "-") for name in ignored)
                raise CliError(f"--run takes the model from the file; drop {names}")
            with budget_limit(budget_from_args(args)):
                return int(_handler(f"{args.command}-run")(args))
        if args.command in RUN_FILE_FLAGS and args.text is not None:
            raise CliError("--text needs --run FILE (a trained text model)")
        explicit = args._explicit - {"memory_budget"}
        spec_given = bool(explicit & (set(_SPEC_FLAGS.values()) | {"no_bias", "preset"}))
        if args.command == "gui" and not spec_given:
            # Run flags still apply, on top of whatever configuration the window opens.
            args.overrides = {k: getattr(args, k) for k in RUN_FLAGS if k in explicit}
            return int(_handler("gui")(args, None))
        spec = spec_from_args(args, explicit)
        handler = _handler(args.command)
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
