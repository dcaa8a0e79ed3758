"""`rnnviz gui`: open the window, or render it to a PNG and exit."""

from __future__ import annotations

import argparse

from rnnviz.cli.args import CliError, budget_from_args, options_from_args
from rnnviz.config.budget import check_budget
from rnnviz.config.spec import Spec


def cmd_gui(args: argparse.Namespace, spec: Spec | None) -> int:
    """`rnnviz gui`: open the window (or render it to --screenshot and exit)."""
    from rnnviz.app.launch import launch, start_child

    # The first trace's child process starts before anything else: its torch import is
    # what the first trace waits for, and the checks below import networkx and numpy.
    child = start_child(args.screenshot)
    options = None
    try:
        from rnnviz.cli.export import preset_scale_mode

        if spec is not None:
            from rnnviz.io.export import ExportError, check_timestep

            options = options_from_args(args, args._explicit)
            options.check(spec)
            try:  # refused like `rnnviz export --timestep`, never silently clamped
                check_timestep(spec, args.timestep)
            except ExportError as exc:
                raise CliError(str(exc)) from None
            check_budget(spec, budget_from_args(args))
    except BaseException:
        if child is not None:
            child.close()
        raise
    return launch(
        spec,
        options,
        timestep=args.timestep,
        screenshot=args.screenshot,
        session=args.session,
        size=getattr(args, "size", None),
        scale_mode=preset_scale_mode(args) if spec is not None else None,
        overrides=getattr(args, "overrides", None),
        child=child,
    )
