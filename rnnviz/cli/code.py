"""`rnnviz code`: print a short torch-only script that rebuilds the module and input and
prints the same output and h_n the window and `rnnviz trace` show."""

from __future__ import annotations

import argparse

from rnnviz.analysis.code import CodeError, code_for
from rnnviz.cli.args import CliError, options_from_args
from rnnviz.config.spec import Spec


def cmd_code(args: argparse.Namespace, spec: Spec) -> int:
    """`rnnviz code`: the snippet for the spec and run flags on stdout; status 0."""
    options = options_from_args(args, args._explicit)
    try:
        print(code_for(spec, options), end="")
    except CodeError as exc:
        raise CliError(str(exc)) from None
    return 0
