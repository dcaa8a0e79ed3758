"""`rnnviz export`: the diagram, gates or tables of a spec, in the chosen format.

Data formats come from the core (`rnnviz.io.export`); drawn formats (SVG/PNG/PDF and the gate
heatmaps) are registered there by the app's drawing code, which this handler imports only
when one of them is asked for, so the data formats work without Qt.
"""

from __future__ import annotations

import argparse
import sys

from rnnviz.cli.args import CliError, budget_from_args, options_from_args
from rnnviz.config.api import title
from rnnviz.config.budget import check_budget
from rnnviz.config.options import RunOptions
from rnnviz.config.spec import Spec
from rnnviz.io.atomic import WriteError
from rnnviz.io.export import (
    ExportError,
    check_fold,
    check_scale,
    check_timestep,
    export_bytes,
    export_format,
    write_export,
)
from rnnviz.io.formats import FORMATS


def cmd_export(args: argparse.Namespace, spec: Spec) -> int:
    """`rnnviz export`: check the budget for what this format needs, then write the export;
    returns the exit status."""
    check_export_budget(spec, args)
    return export_cli(args, spec, options_from_args(args, args._explicit))


def check_export_budget(spec: Spec, args: argparse.Namespace) -> None:
    """Refuse (BudgetError) only what the format really makes: tables are arithmetic and need
    nothing; graph data needs the graph (unfolded unless --fold); a drawn diagram needs its
    drawn, folded graph; gate heatmaps need the whole trace as well."""
    kind = FORMATS[args.format].kind
    if kind == "table":
        return
    budget = budget_from_args(args)
    if kind == "data":
        check_budget(spec, budget, trace=False, fold=args.fold or None)
        return
    fold = args.fold or None if args.fold is not None else _drawn_fold(spec)
    check_budget(spec, budget, trace=kind == "gates", fold=fold)


def _drawn_fold(spec: Spec) -> int | None:
    from rnnviz.io.export import drawn_fold

    return drawn_fold(spec, None)


def export_cli(args: argparse.Namespace, spec: Spec, options: RunOptions) -> int:
    """`rnnviz export`: render `args.format` of `spec` to `args.out`; returns the exit status.

    Prints one line saying what was written. A bad timestep/fold/scale or an unwritable path
    raises CliError (one line, exit status 2).
    """
    fmt = export_format(args.format)
    try:
        check_timestep(spec, args.timestep)
        check_fold(args.fold)
        check_scale(args.scale)
        if fmt.needs_qt:
            # The drawn formats are registered by the layer that can draw them.
            from rnnviz.app.drawing.render import ensure_qt_app

            ensure_qt_app()
        options.check(spec)
        data = export_bytes(
            spec,
            args.format,
            options=options,
            timestep=args.timestep,
            fold=args.fold,
            scale=args.scale,
        )
        write_export(args.out, data)
    except (ExportError, WriteError) as exc:
        raise CliError(str(exc)) from None
    except ImportError as exc:  # no PySide6/pyqtgraph, or a view missing from this build
        raise CliError(f"{fmt.key} export needs the window's drawing code: {exc}") from None
    print(
        f"{fmt.key}: {title(spec, options.api)} -> {args.out} ({len(data):,} bytes)",
        file=sys.stdout,
    )
    return 0
