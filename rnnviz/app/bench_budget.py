"""Child process of `rnnviz.bench.budget` for the outputs Qt draws (SVG/PNG/PDF diagrams and
gate heatmaps): makes the Qt application, which registers the drawers, then measures like
the core child."""

from __future__ import annotations

import json
import sys


def main(argv: list[str] | None = None) -> int:
    """`python -m rnnviz.app.bench_budget --child '[spec, output, fold]'`."""
    from rnnviz.app.drawing.render import ensure_qt_app
    from rnnviz.bench.budget import run_child

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "--child":
        print("usage: python -m rnnviz.app.bench_budget --child CASE", file=sys.stderr)
        return 2
    ensure_qt_app()
    spec_dict, output, fold = json.loads(args[1])
    print(json.dumps(run_child(spec_dict, output, fold)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
