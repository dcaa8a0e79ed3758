"""The flags every subcommand shares and how they become a Spec and RunOptions.

Errors in what the user typed exit with status 2 and one line naming the field, never a
traceback.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import Any, NoReturn

from rnnviz.config.budget import parse_bytes
from rnnviz.config.options import INIT_KINDS, INPUT_KINDS, SEEDINGS, STEPPERS, RunOptions
from rnnviz.config.presets import preset
from rnnviz.config.spec import CELLS, NONLINEARITIES, Spec, SpecError

EXIT_USAGE = 2


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


#: What argparse should take as a negative number rather than a flag (see `_Parser`).
_NEGATIVE_NUMBER = re.compile(
    r"^-(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?|inf(inity)?|nan)$", re.IGNORECASE
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (status 2) like every other rnnviz error,
    instead of the whole usage block followed by the message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # An abbreviated flag (--hidden for --hidden-size) is refused, not guessed: a guess
        # that a preset then overrides would vanish silently.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        # argparse takes only -3 and -.5 for negative numbers; -inf, -nan and -1e-3 would be
        # read as unknown flags ("expected one argument") instead of values the field refuses
        # or accepts with its own message. No rnnviz flag looks like these.
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
        # `--out=--` hands argparse the explicit value "--", which it then drops as the
        # end-of-options marker and passes an empty list on as the value (a traceback later).
        # The value after "=" is always the value.
        if arg_strings == ["--"] and action.option_strings and action.nargs is None:
            value = self._get_value(action, "--")
            self._check_value(action, value)
            return value
        return super()._get_values(action, arg_strings)


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


#: Smallest and largest window accepted by --size (a window smaller than this cannot show the
#: configuration form; larger ones are no screen).
MIN_WINDOW, MAX_WINDOW = (640, 480), (16384, 16384)


def _size(text: str) -> tuple[int, int]:
    """'1280x720' → (1280, 720); an argparse error for anything else or out of range."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be WIDTHxHEIGHT like 1280x720, got {text!r}"
        ) from None
    if not (MIN_WINDOW[0] <= w <= MAX_WINDOW[0] and MIN_WINDOW[1] <= h <= MAX_WINDOW[1]):
        raise argparse.ArgumentTypeError(
            f"must be from {MIN_WINDOW[0]}x{MIN_WINDOW[1]} to {MAX_WINDOW[0]}x{MAX_WINDOW[1]}, "
            f"got {text!r}"
        )
    return w, h


def add_spec_flags(p: argparse.ArgumentParser) -> None:
    """The spec flags every subcommand shares."""
    g = p.add_argument_group("configuration")
    g.add_argument("--cell", choices=CELLS, default="lstm")
    g.add_argument("--nonlinearity", choices=NONLINEARITIES, default="tanh", help="rnn only")
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
    g.add_argument(
        "--preset",
        default=None,
        help="start from a tutorial preset (see `rnnviz presets`); flags given "
        "explicitly still apply on top",
    )
    g.add_argument(
        "--memory-budget",
        default=None,
        help="refuse configurations estimated above this, e.g. 4G (default: half "
        "of available memory, or $RNNVIZ_MEMORY_BUDGET)",
    )


def add_run_flags(p: argparse.ArgumentParser) -> None:
    """Flags for how a spec is run (seed, input, initial state)."""
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=_int, default=0)
    g.add_argument("--input", dest="input_kind", choices=INPUT_KINDS, default="randn")
    g.add_argument("--init", choices=INIT_KINDS, default="zeros")
    g.add_argument("--weight-scale", type=_float, default=1.0)
    add_stepper_flag(g)
    g.add_argument(
        "--seeding",
        choices=SEEDINGS,
        default="separate",
        help="tutorial: torch.manual_seed(seed); build; x = randn; h0 = randn, the order "
        "the tutorials' code draws in (the tutorial presets' default)",
    )


def add_stepper_flag(g: Any) -> None:
    """--stepper: run the module, or step its *Cell (shared by shapes and the run flags)."""
    g.add_argument(
        "--stepper",
        choices=STEPPERS,
        default="module",
        help="cell: nn.RNNCell/LSTMCell/GRUCell called once per step (one layer, forward)",
    )


#: Run-option dests of the run flags (RunOptions field names).
RUN_FLAGS = ("seed", "input_kind", "init", "weight_scale", "stepper", "seeding")


_SPEC_FLAGS = {
    "cell": "cell",
    "nonlinearity": "nonlinearity",
    "input_size": "input_size",
    "hidden_size": "hidden_size",
    "num_layers": "num_layers",
    "bidirectional": "bidirectional",
    "batch_first": "batch_first",
    "dropout": "dropout",
    "proj_size": "proj_size",
    "seq_len": "seq_len",
    "batch_size": "batch_size",
}


def spec_from_args(args: argparse.Namespace, explicit: set[str] | None = None) -> Spec:
    """The Spec the flags describe (on top of --preset when given); SpecError if invalid."""
    fields: dict[str, Any] = {f: getattr(args, a) for a, f in _SPEC_FLAGS.items()}
    fields["bias"] = not args.no_bias
    if args.preset is not None:  # --preset '' is a preset name too: refused, not ignored
        try:
            base = preset(args.preset).spec.to_dict()
        except KeyError as exc:
            raise SpecError("preset", str(exc.args[0])) from None
        base.pop("version")
        keep = set(explicit or ())
        if "no_bias" in keep:  # the flag's dest is no_bias, the field it sets is bias
            keep.add("bias")
        fields = {k: (fields[k] if k in keep else v) for k, v in base.items()}
    return Spec(**fields)


def budget_from_args(args: argparse.Namespace) -> int | None:
    """The --memory-budget in bytes, or None for the default; SpecError if unparsable."""
    if getattr(args, "memory_budget", None) is None:
        return None
    try:
        budget = parse_bytes(args.memory_budget)
    except ValueError:
        raise SpecError(
            "memory_budget", f"must be a size like 4G or 512M, got {args.memory_budget!r}"
        ) from None
    return budget


def options_from_args(args: argparse.Namespace, explicit: set[str] | None = None) -> RunOptions:
    """The RunOptions the run flags describe (preset's options unless given explicitly)."""
    fields = {k: getattr(args, k) for k in RUN_FLAGS if hasattr(args, k)}
    if args.preset is not None:
        base = preset(args.preset).options.to_dict()
        keep = explicit or set()
        fields = {k: (fields[k] if k in keep and k in fields else v) for k, v in base.items()}
    return RunOptions(**fields)


def _explicit(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """Dest names of the flags that appear literally in argv (so a preset yields to them)."""
    dests = set()
    for action in parser._actions:  # argparse offers no public view of this
        if any(
            opt in argv or any(a.startswith(opt + "=") for a in argv)
            for opt in action.option_strings
        ):
            dests.add(action.dest)
    return dests
