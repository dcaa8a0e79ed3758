"""`rnnviz bench`: the whole benchmark suite in one process, printed as one table.

The core's measures (trace ÷ forward, memory, cancel) come from `rnnviz.bench.suite`; the
window's latencies from `rnnviz.app.bench_gui`, skipped with a reason when Qt cannot start.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from rnnviz.bench.suite import Measure, run, table


def all_measures(quick: bool = False) -> list[Measure]:
    """Every benchmark: the core's, then the GUI latencies when Qt can start."""
    results = run(quick)
    try:
        from rnnviz.app.bench_gui import _app, gui_measures, xvfb_measures
        from rnnviz.app.bench_training import training_frame_measures
    except ImportError as exc:  # pragma: no cover - depends on the install
        print(f"(GUI benchmarks skipped: {exc})")
    else:
        results += gui_measures(quick)
        results += training_frame_measures(_app(), 100 if quick else 300)
        results += xvfb_measures(quick)
    return results


def cmd_bench(args: argparse.Namespace) -> int:
    """Print the table (or JSON); exit 0 even when a target is missed."""
    results = all_measures(quick=args.quick)
    if args.json:
        print(json.dumps([asdict(r) | {"ok": r.ok} for r in results], indent=2))
    else:
        print(table(results))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m rnnviz.cli.bench")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true")
    raise SystemExit(cmd_bench(parser.parse_args()))
