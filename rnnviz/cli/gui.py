"""`rnnviz gui`: open the window, or render it to a PNG and exit."""

from __future__ import annotations

import argparse

from rnnviz.cli.args import budget_from_args, options_from_args
from rnnviz.cli.export import preset_scale_mode
from rnnviz.config.budget import check_budget
from rnnviz.config.spec import Spec


def cmd_gui(args: argparse.Namespace, spec: Spec | None) -> int:
    """`rnnviz gui`: open the window (or render it to --screenshot and exit)."""
    from rnnviz.app.launch import launch

    if spec is not None:
        check_budget(spec, budget_from_args(args))
    options = options_from_args(args, args._explicit) if spec is not None else None
    return launch(
        spec,
        options,
        timestep=args.timestep,
        screenshot=args.screenshot,
        session=args.session,
        size=getattr(args, "size", None),
        scale_mode=preset_scale_mode(args) if spec is not None else None,
    )
