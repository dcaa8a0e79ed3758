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
    check_scale_mode,
    check_timestep,
    export_bytes,
    export_format,
    output_estimate,
    write_export,
)


def cmd_export(args: argparse.Namespace, spec: Spec) -> int:
    """`rnnviz export`: check the budget, then write the export; returns the exit status."""
    # What this format allocates (a table needs no trace; GraphML holds an ElementTree of the
    # whole graph; drawings fold), not one figure for every format.
    try:
        est = output_estimate(spec, args.format, args.fold, args.scale)
    except ExportError as exc:
        raise CliError(str(exc)) from None
    check_budget(spec, budget_from_args(args), estimate_of=est)
    return export_cli(args, spec, options_from_args(args, args._explicit))


def preset_scale_mode(args: argparse.Namespace) -> str | None:
    """The gate colour scale of the --preset, if one was given and it sets one, else None."""
    if not getattr(args, "preset", None):
        return None
    from rnnviz.config.presets import preset

    return preset(args.preset).gate_scale


def export_cli(args: argparse.Namespace, spec: Spec, options: RunOptions) -> int:
    """`rnnviz export`: render `args.format` of `spec` to `args.out`; returns the exit status.

    Gate heatmaps are coloured in --scale-mode, else the preset's gate scale, else fixed.
    Prints one line saying what was written. A bad timestep/fold/scale/scale mode or an
    unwritable path raises CliError (one line, exit status 2).
    """
    fmt = export_format(args.format)
    try:
        check_timestep(spec, args.timestep)
        check_fold(args.fold)
        check_scale(args.scale)
        scale_mode = getattr(args, "scale_mode", None)
        check_scale_mode(args.format, scale_mode)
        if scale_mode is None and fmt.kind == "gates":
            scale_mode = preset_scale_mode(args)
        if fmt.needs_qt:
            # The drawn formats are registered by the layer that can draw them.
            from rnnviz.app.drawing.formats import ensure_qt_app  # registers them too

            ensure_qt_app()
        options.check(spec)
        data = export_bytes(
            spec,
            args.format,
            options=options,
            timestep=args.timestep,
            fold=args.fold,
            scale=args.scale,
            scale_mode=scale_mode,
        )
        write_export(args.out, data)
    except (ExportError, WriteError) as exc:
        raise CliError(str(exc)) from None
    except ImportError as exc:  # no PySide6/pyqtgraph, or a view missing from this build
        raise CliError(f"{fmt.key} export needs the window's drawing code: {exc}") from None
    colours = f", {scale_mode or 'fixed'} colour scale" if fmt.kind == "gates" else ""
    print(
        f"{fmt.key}: {title(spec, options.api)} -> {args.out} ({len(data):,} bytes{colours})",
        file=sys.stderr if args.out == "-" else sys.stdout,  # "-": stdout holds the data
    )
    return 0
