"""`rnnviz trace`: trace a seeded module, print one line, optionally save the .npz."""

from __future__ import annotations

import argparse
import sys

from rnnviz.cli.args import CliError, budget_from_args, options_from_args
from rnnviz.config.budget import check_budget, estimate_for, human
from rnnviz.config.spec import Spec
from rnnviz.io.atomic import WriteError
from rnnviz.io.trace_file import save_trace

#: Exit status when the trace really disagrees with torch (verdict "differs").
EXIT_DIFFERS = 1


def cmd_trace(args: argparse.Namespace, spec: Spec) -> int:
    """`rnnviz trace`: trace a seeded module, print its one-line summary with the verdict
    (the window's words), optionally save .npz. Exit 0 unless the verdict is "differs" (1)."""
    options = options_from_args(args, args._explicit)
    options.check(spec)
    # No graph is built by a trace: the module, activations (the input twice), the gates and,
    # when saving, their contiguous copies count.
    check_budget(spec, budget_from_args(args), estimate_of=estimate_for(spec, "trace"))
    # torch loads only now (≈3 s on a busy machine): a refused configuration never waits for it.
    from rnnviz.engine.tracing import trace_spec

    result = trace_spec(spec, options)
    if args.out is not None:  # --out '' is refused by the writer, not taken as "no file"
        try:
            save_trace(result, args.out)
        except WriteError as exc:
            raise CliError(str(exc)) from None
    # With --out - the trace itself goes to stdout, so the summary goes to stderr.
    print(
        result.summary()
        + (f" -> {args.out}" if args.out is not None else "")
        + f" ({human(result.nbytes)} recorded, {result.seconds * 1000:.0f} ms)",
        file=sys.stderr if args.out == "-" else sys.stdout,
    )
    verdict = result.verdict
    if verdict.state != "ok":
        print(f"  {verdict.explanation}")
    return 0 if verdict.agrees else EXIT_DIFFERS
