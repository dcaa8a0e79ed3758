"""`rnnviz trace`: trace a seeded module, print one line, optionally save the .npz."""

from __future__ import annotations

import argparse

from rnnviz.cli.args import CliError, budget_from_args, options_from_args
from rnnviz.config.budget import check_budget, human
from rnnviz.config.spec import Spec
from rnnviz.io.atomic import WriteError

#: Exit status when the trace really disagrees with torch (verdict "differs").
EXIT_DIFFERS = 1


def cmd_trace(args: argparse.Namespace, spec: Spec) -> int:
    """`rnnviz trace`: trace a seeded module, print its one-line summary with the verdict
    (the window's words), optionally save .npz. Exit 0 unless the verdict is "differs" (1)."""
    options = options_from_args(args, args._explicit)
    options.check(spec)
    # No graph is built by a trace, so only the module, activations and gates count. The
    # refusal comes before torch is imported (a second or more), so it answers at once.
    check_budget(spec, budget_from_args(args), graph=False)
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
    verdict = result.verdict
    if verdict.state != "ok":
        print(f"  {verdict.explanation}")
    return 0 if verdict.agrees else EXIT_DIFFERS
