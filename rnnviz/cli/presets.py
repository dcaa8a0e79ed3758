"""`rnnviz presets`: the tutorial presets, one entry each."""

from __future__ import annotations

import argparse

from rnnviz.config.presets import PRESETS


def cmd_presets(args: argparse.Namespace) -> int:
    """`rnnviz presets`: list the tutorial presets."""
    for p in PRESETS:
        print(f"{p.key:14} {p.name}\n{'':14} {p.description}")
    return 0
