"""`rnnviz gui`: open the window, or render it to a PNG and exit."""

from __future__ import annotations

import argparse

from rnnviz.cli.args import CliError, budget_from_args, options_from_args
from rnnviz.config.budget import check_budget
from rnnviz.config.spec import Spec


def cmd_gui(args: argparse.Namespace, spec: Spec | None) -> int:
    """`rnnviz gui`: open the window (or render it to --screenshot and exit)."""
    from rnnviz.app.launch import launch
    from rnnviz.config.presets import preset
    from rnnviz.io.export import ExportError, check_timestep

    options = None
    if spec is not None:
        options = options_from_args(args, args._explicit)
        options.check(spec)
        try:  # refused like `rnnviz export --timestep`, never silently clamped
            check_timestep(spec, args.timestep)
        except ExportError as exc:
            raise CliError(str(exc)) from None
        check_budget(spec, budget_from_args(args))
    scale = preset(args.preset).gate_scale if getattr(args, "preset", None) else None
    return launch(
        spec,
        options,
        timestep=args.timestep,
        screenshot=args.screenshot,
        session=args.session,
        overrides=getattr(args, "overrides", None),
        gate_scale=scale,
    )
