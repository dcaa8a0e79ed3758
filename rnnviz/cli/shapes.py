"""`rnnviz shapes`: the shape and parameter report, as a table or JSON."""

from __future__ import annotations

import argparse
import json

from rnnviz.analysis.shapes import shapes
from rnnviz.analysis.tables import shape_table_text
from rnnviz.cli.args import budget_from_args, options_from_args
from rnnviz.config.budget import BudgetError, check_budget
from rnnviz.config.spec import Spec


def cmd_shapes(args: argparse.Namespace, spec: Spec) -> int:
    """`rnnviz shapes`: the shape/parameter report as a table, or one JSON object."""
    # Shapes are arithmetic, so even a configuration far too big to build gets its answer;
    # the table says when building or tracing it would be refused.
    options = options_from_args(args, args._explicit)
    report = shapes(spec, options.api)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(shape_table_text(report))
    try:
        check_budget(spec, budget_from_args(args), graph=False)  # what a trace would need
    except BudgetError as exc:
        print(f"\nnote: tracing or building it would be refused: {exc.message}")
    return 0
