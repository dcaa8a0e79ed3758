"""`rnnviz trace`: trace a seeded module, print one line, optionally save the .npz."""

from __future__ import annotations

import argparse

from rnnviz.cli.args import CliError, budget_from_args, options_from_args
from rnnviz.config.budget import check_budget, human
from rnnviz.config.spec import Spec
from rnnviz.io.atomic import WriteError


def cmd_trace(args: argparse.Namespace, spec: Spec) -> int:
    """`rnnviz trace`: trace a seeded module, print a one-line summary, optionally save .npz."""
    options = options_from_args(args, args._explicit)
    options.check(spec)
    # No graph is built by a trace, so only the module, activations and gates count.
    check_budget(spec, budget_from_args(args), graph=False)
    # torch loads only now (≈3 s on a busy machine): a refused configuration never waits for it.
    from rnnviz.engine.tracing import trace_spec

    result = trace_spec(spec, options)
    if args.out:
        try:
            result.save(args.out)
        except WriteError as exc:
            raise CliError(str(exc)) from None
    print(
        result.summary()
        + (f" -> {args.out}" if args.out else "")
        + f" ({human(result.nbytes)} recorded, {result.seconds * 1000:.0f} ms)"
    )
    return 0
